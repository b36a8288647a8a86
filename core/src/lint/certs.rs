//! CRT rules: X.509 certificates in PEM files and in kubeconfigs
//! (`client-certificate-data`, `certificate-authority-data`), read with x509-parser.

use super::yaml;
use super::{Ctx, Kind, at, general};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use crate::source::Span;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// What the rules need from one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// Where it is (the PEM block or the kubeconfig value).
    pub span: Span,
    /// Subject, as `CN=…, O=…`.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Not before / not after, seconds since the epoch.
    pub not_before: i64,
    /// Not after.
    pub not_after: i64,
    /// A CA certificate.
    pub is_ca: bool,
    /// Has the serverAuth extended key usage.
    pub server_auth: bool,
    /// DNS names and IP addresses in the SAN extension (`None`: no extension).
    pub sans: Option<Vec<String>>,
    /// `RSA`, `EC`, …
    pub key_alg: &'static str,
    /// Key size in bits (0 if unknown).
    pub key_bits: usize,
    /// The signature algorithm uses SHA-1 or MD5.
    pub weak_signature: Option<&'static str>,
    /// The raw SubjectPublicKeyInfo, to tell CAs apart.
    pub spki: Vec<u8>,
}

/// A single-file certificate rule.
pub type CheckFn = fn(&[Cert], &Ctx<'_>, &mut Diagnostics);

/// Every single-file CRT rule with its check, sorted by code. CRT004 (which also
/// compares the API server's SANs with the topology) and CRT005 are in
/// [`cross::RULES`](super::cross::RULES).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&EXPIRED, expired),
    (&EXPIRING, expiring),
    (&WEAK_KEY, weak_key),
];

/// Decodes standard base64 (whitespace ignored); `None` on a bad character.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ if b.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Reads the certificates of a PEM text; `base` offsets the spans. Errors name the block.
pub fn from_pem(text: &str, base: usize, out: &mut Vec<Cert>) -> Result<(), (String, Span)> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut from = 0;
    while let Some(b) = text[from..].find(BEGIN) {
        let start = from + b;
        let body_start = start + BEGIN.len();
        let Some(e) = text[body_start..].find(END) else {
            return Err((
                "a certificate block has no END line".into(),
                Span::new(base + start, base + body_start),
            ));
        };
        let end = body_start + e + END.len();
        let span = Span::new(base + start, base + end);
        let der = base64(&text[body_start..body_start + e])
            .ok_or(("the certificate block is not base64".to_string(), span))?;
        out.push(from_der(&der, span).map_err(|m| (m, span))?);
        from = end;
    }
    Ok(())
}

fn from_der(der: &[u8], span: Span) -> Result<Cert, String> {
    let (_, x) =
        parse_x509_certificate(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let sans = x.subject_alternative_name().ok().flatten().map(|ext| {
        ext.value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                    16 => <[u8; 16]>::try_from(*b)
                        .ok()
                        .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    });
    let (key_alg, key_bits) = match x.public_key().parsed() {
        Ok(PublicKey::RSA(k)) => ("RSA", k.key_size()),
        Ok(PublicKey::EC(k)) => ("EC", k.key_size()),
        Ok(PublicKey::DSA(_)) => ("DSA", 0),
        _ => ("other", 0),
    };
    let sig = x.signature_algorithm.algorithm.to_id_string();
    let weak_signature = match sig.as_str() {
        "1.2.840.113549.1.1.4" => Some("MD5"),
        "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" => Some("SHA-1"),
        _ => None,
    };
    Ok(Cert {
        span,
        subject: x.subject().to_string(),
        issuer: x.issuer().to_string(),
        not_before: x.validity().not_before.timestamp(),
        not_after: x.validity().not_after.timestamp(),
        is_ca: x.is_ca(),
        server_auth: x
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|e| e.value.server_auth),
        sans,
        key_alg,
        key_bits,
        weak_signature,
        spki: x.public_key().raw.to_vec(),
    })
}

/// Reads and checks a PEM file or a kubeconfig.
pub fn lint(ctx: &Ctx<'_>, kind: Kind, out: &mut Diagnostics) -> Option<Vec<Cert>> {
    let text = &ctx.file.text;
    let mut certs = Vec::new();
    let result = if kind == Kind::Kubeconfig {
        from_kubeconfig(text, &mut certs)
    } else {
        from_pem(text, 0, &mut certs)
    };
    if let Err((msg, span)) = result {
        out.push(general::unparseable(kind, Some(span), msg));
        return None;
    }
    if certs.is_empty() && kind == Kind::Certificate {
        out.push(general::unparseable(
            kind,
            None,
            "no `BEGIN CERTIFICATE` block",
        ));
        return None;
    }
    super::run_checks(RULES, &certs, ctx, out);
    Some(certs)
}

fn from_kubeconfig(text: &str, certs: &mut Vec<Cert>) -> Result<(), (String, Span)> {
    let y = yaml::parse(text);
    if let Some((m, s)) = y.error {
        return Err((format!("invalid YAML: {m}"), s));
    }
    let mut err = None;
    for doc in &y.docs {
        doc.walk(&mut |n| {
            for (k, v) in n.entries() {
                if matches!(
                    k.text.as_str(),
                    "client-certificate-data" | "certificate-authority-data"
                ) && let Some(data) = v.str()
                    && err.is_none()
                {
                    let pem = base64(data).and_then(|b| String::from_utf8(b).ok());
                    let Some(pem) = pem else {
                        err = Some((format!("`{}` is not base64 PEM", k.text), v.span));
                        continue;
                    };
                    let mut found = Vec::new();
                    match from_pem(&pem, 0, &mut found) {
                        Ok(()) => certs.extend(found.into_iter().map(|mut c| {
                            c.span = v.span;
                            c
                        })),
                        Err((m, _)) => err = Some((format!("`{}`: {m}", k.text), v.span)),
                    }
                }
            }
        });
    }
    err.map_or(Ok(()), Err)
}

/// CRT001.
pub const EXPIRED: Rule = Rule {
    code: "CRT001",
    name: "certificate-expired",
    severity: Severity::Error,
    summary: "The certificate has expired (or is not valid yet)",
    explain: "\
## What it checks
Each certificate's validity period against the current time (the CLI passes it; core
reads no clock).

## Why it matters
TLS handshakes with an expired certificate fail: API servers, kubelets, etcd peers and
kubectl stop talking to each other. kubeadm's leaf certificates last one year.

## Example
A `apiserver.crt` whose notAfter was last month.

## Fix
`kubeadm certs renew all` on each control-plane node (then restart the static pods), or
re-issue from your CA.
",
};

/// CRT002.
pub const EXPIRING: Rule = Rule {
    code: "CRT002",
    name: "certificate-expiring-soon",
    severity: Severity::Warning,
    summary: "The certificate expires within the configured window (30 days by default)",
    explain: "\
## What it checks
Certificates that expire within `certExpiryDays` (default 30; `.hagen-lint.yaml` or
`--cert-expiry-days`).

## Why it matters
Renewal is easy before expiry and an outage after it.

## Example
A kubeconfig whose client certificate expires in 12 days.

## Fix
`kubeadm certs check-expiration`, then `kubeadm certs renew …`.
",
};

/// CRT003.
pub const WEAK_KEY: Rule = Rule {
    code: "CRT003",
    name: "weak-certificate-key",
    severity: Severity::Error,
    summary: "RSA key under 2048 bits, EC key under 256 bits, or a SHA-1/MD5 signature",
    explain: "\
## What it checks
The public key size and the signature algorithm of each certificate.

## Why it matters
Go (and so every Kubernetes component) rejects SHA-1 signatures, and RSA keys under
2048 bits are within reach of attackers; some TLS stacks refuse them outright.

## Example
A CA made with `openssl genrsa 1024`.

## Fix
Re-issue with RSA 2048+ or ECDSA P-256 and SHA-256.
",
};

/// CRT004.
pub const SAN_MISSING: Rule = Rule {
    code: "CRT004",
    name: "certificate-san-missing",
    severity: Severity::Error,
    summary: "A server certificate without subjectAltNames, or without the VIP, endpoint name or node address",
    explain: "\
## What it checks
Server certificates (serverAuth) that have no subjectAltName extension; with
`--topology`, API server certificates (CN `kube-apiserver`) that lack the VIP, the
endpoint DNS name or the node addresses.

## Why it matters
Go ignores the Common Name since 1.15: a name or address missing from the SANs fails
verification (`x509: certificate is valid for …, not 10.0.0.100`), so clients that use
the VIP cannot connect.

## Example
An API server certificate with SANs `10.0.0.11, kubernetes, …` but not the VIP
`10.0.0.100`.

## Fix
Add the names to `apiServer.certSANs` and regenerate (`kubeadm init phase certs
apiserver`), or re-issue with the full SAN list.
",
};

/// CRT005.
pub const SEVERAL_CAS: Rule = Rule {
    code: "CRT005",
    name: "several-cas-for-one-cluster",
    severity: Severity::Error,
    summary: "Two CA certificates with the same name but different keys across the linted files",
    explain: "\
## What it checks
Across every certificate of one run: CA certificates with the same subject (for
example `CN=kubernetes`) but different public keys — typically each control-plane node
having generated its own CA.

## Why it matters
Certificates from one node do not verify on the others: joining fails, kubelets and
etcd peers reject each other.

## Example
`nodes/cp-1/pki/ca.crt` and `nodes/cp-2/pki/ca.crt` both `CN=kubernetes`, different keys.

## Fix
Generate the CA once and copy it (`kubeadm init --upload-certs` and join with the
certificate key, or `hagen render`).
",
};

fn days(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// CRT001.
pub fn expired(certs: &[Cert], ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(now) = ctx.options.now else { return };
    for c in certs {
        if c.not_after < now {
            out.push(
                at(
                    &EXPIRED,
                    c.span,
                    format!(
                        "`{}` expired {} days ago",
                        c.subject,
                        days(now - c.not_after)
                    ),
                )
                .help("renew it (`kubeadm certs renew`)"),
            );
        } else if c.not_before > now {
            out.push(
                at(
                    &EXPIRED,
                    c.span,
                    format!(
                        "`{}` is not valid for another {} days (check the clocks)",
                        c.subject,
                        days(c.not_before - now) + 1
                    ),
                )
                .help("check the clock of the machine that issued it"),
            );
        }
    }
}

/// CRT002.
pub fn expiring(certs: &[Cert], ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(now) = ctx.options.now else { return };
    let window = i64::from(ctx.options.cert_expiry_days) * 86_400;
    for c in certs {
        if c.not_after >= now && c.not_after - now <= window {
            out.push(
                at(
                    &EXPIRING,
                    c.span,
                    format!(
                        "`{}` expires in {} days (window: {} days)",
                        c.subject,
                        days(c.not_after - now),
                        ctx.options.cert_expiry_days
                    ),
                )
                .help("renew it now"),
            );
        }
    }
}

/// CRT003.
pub fn weak_key(certs: &[Cert], _: &Ctx<'_>, out: &mut Diagnostics) {
    for c in certs {
        let weak_key = match c.key_alg {
            "RSA" => c.key_bits < 2048,
            "EC" => c.key_bits > 0 && c.key_bits < 256,
            "DSA" => true,
            _ => false,
        };
        if weak_key {
            out.push(
                at(
                    &WEAK_KEY,
                    c.span,
                    format!("`{}` has a {}-bit {} key", c.subject, c.key_bits, c.key_alg),
                )
                .help("re-issue with RSA 2048+ or ECDSA P-256"),
            );
        }
        if let Some(alg) = c.weak_signature {
            out.push(
                at(
                    &WEAK_KEY,
                    c.span,
                    format!("`{}` is signed with {alg}, which Go rejects", c.subject),
                )
                .help("re-issue with a SHA-256 signature"),
            );
        }
    }
}

/// CRT004 within one file: server certificates without any SAN.
pub fn no_san(certs: &[Cert], out: &mut Diagnostics) {
    for c in certs {
        if c.server_auth && !c.is_ca && c.sans.as_ref().is_none_or(Vec::is_empty) {
            out.push(at(&SAN_MISSING, c.span, format!("server certificate `{}` has no subjectAltName: Go clients ignore the CN and reject it", c.subject)).help("re-issue with the DNS names and addresses clients use"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVs\nbG8").unwrap(), b"hello");
        assert!(base64("a*").is_none());
    }
}
