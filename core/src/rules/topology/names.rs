//! TOP080–TOP081: DNS names and certificate SANs.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::{IfAddr, check_dns_name};

/// TOP080.
pub const INVALID_CERT_SAN: Rule = Rule {
    code: "TOP080",
    name: "invalid-cert-san",
    severity: Severity::Error,
    summary: "A certSANs entry is neither an IP address nor a DNS name",
    explain: "\
## What it checks
That every `apiServer.certSANs` entry is an IP address or a DNS name (a leading `*.`
wildcard label is allowed).

## Why it matters
kubeadm puts each entry into the API server certificate as an IP or DNS SAN. An entry
that is neither (a URL, an address with a port, a typo) matches no client, so clients
that dial that name get a TLS error.

## Example
```yaml
apiServer:
  certSANs: [\"https://k8s.example.com:6443\"]
```

## Fix
Write the bare name or address: `k8s.example.com`, `192.168.2.250`.
",
};

/// TOP081.
pub const INVALID_DNS_NAME: Rule = Rule {
    code: "TOP081",
    name: "invalid-dns-name",
    severity: Severity::Error,
    summary: "controlPlaneEndpoint.dns or networking.dnsDomain is not a DNS name",
    explain: "\
## What it checks
That `controlPlaneEndpoint.dns` and `networking.dnsDomain` are DNS names.

## Why it matters
The endpoint name goes into kubeadm's `controlPlaneEndpoint`, every kubeconfig and the
API server certificate; the DNS domain into every Pod's resolv.conf. A name with a port,
a scheme or an underscore breaks them.

## Example
```yaml
controlPlaneEndpoint:
  dns: api.k8s.local:8443      # the port belongs in `port`
```

## Fix
Write the bare name (`api.k8s.local`) and put the port in `controlPlaneEndpoint.port`.
",
};

/// TOP080.
pub fn invalid_cert_san(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(sans) = cx
        .spec
        .api_server
        .as_ref()
        .and_then(|a| a.cert_sans.as_ref())
    else {
        return;
    };
    for (i, san) in sans.iter().enumerate() {
        let text = san.get().as_str();
        if IfAddr::parse(text).is_ok_and(|a| a.prefix.is_none()) {
            continue;
        }
        if let Err(why) = check_dns_name(text, true) {
            out.push(
                Diagnostic::new(
                    &INVALID_CERT_SAN,
                    format!("certSANs entry is neither an IP address nor a DNS name: {why}"),
                )
                .at(san.span(), format!("spec.apiServer.certSANs[{i}]"))
                .help("write a bare DNS name or IP address, without scheme, port or prefix"),
            );
        }
    }
}

/// TOP081.
pub fn invalid_dns_name(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let dns = cx
        .endpoint()
        .and_then(|e| e.dns.as_ref())
        .map(|d| (d, "spec.controlPlaneEndpoint.dns"));
    let domain = cx
        .spec
        .networking
        .as_ref()
        .and_then(|n| n.dns_domain.as_ref())
        .map(|d| (d, "spec.networking.dnsDomain"));
    for (value, path) in dns.into_iter().chain(domain) {
        if let Err(why) = check_dns_name(value.get(), false) {
            out.push(
                Diagnostic::new(&INVALID_DNS_NAME, format!("not a DNS name: {why}"))
                    .at(value.span(), path)
                    .help("write a bare DNS name such as api.k8s.local (the port goes in controlPlaneEndpoint.port)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn sans_and_names() {
        let with_sans = |s: &str| topology(&format!("apiServer:\n  certSANs: {s}"), &THREE_CP);
        assert!(
            codes(&with_sans(
                "[k8s.example.com, \"*.k8s.example.com\", 192.168.2.250, \"fd00::1\"]"
            ))
            .is_empty()
        );
        assert_eq!(
            codes(&with_sans("[\"https://k8s.example.com:6443\"]")),
            vec!["TOP080"]
        );
        assert_eq!(codes(&with_sans("[10.0.0.0/24]")), vec!["TOP080"]);
        let dns = topology(
            "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  dns: api.k8s.local:8443\n  port: 8443",
            &THREE_CP,
        );
        assert_eq!(codes(&dns), vec!["TOP081"]);
        let domain = topology("networking:\n  dnsDomain: cluster_local", &THREE_CP);
        assert_eq!(codes(&domain), vec!["TOP081"]);
    }
}
