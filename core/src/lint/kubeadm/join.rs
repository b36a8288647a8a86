//! KAD rules about how nodes join and trust the cluster: the CA pin of the discovery
//! (`caCertHashes`, `unsafeSkipCAVerification`), bootstrap tokens (the documentation's
//! example, no expiry) and the transport to an external etcd.

use super::documents;
use crate::diag::{Diagnostics, Rule, Severity};
use crate::lint::yaml::{self, Node};
use crate::lint::{Ctx, at};

/// KAD010.
pub const CA_CERT_HASH_MALFORMED: Rule = Rule {
    code: "KAD010",
    name: "ca-cert-hash-malformed",
    severity: Severity::Error,
    summary: "A `caCertHashes` entry is not `sha256:` and 64 hex digits",
    explain: "\
## What it checks
Each `discovery.bootstrapToken.caCertHashes` entry of a JoinConfiguration: `sha256:`
followed by 64 hexadecimal digits, as `kubeadm token create --print-join-command` prints
it. A doubled `sha256:sha256:`, a cut or quoted-twice hash is reported.

## Why it matters
kubeadm parses the pin before it connects and stops the join with `invalid hash`; a
node that cannot join is found only when the cluster needs it.

## Example
```yaml
caCertHashes:
  - sha256:sha256:8d6c...   # pasted after a `sha256:` already in the file
```

## Fix
Print the hash again (`openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl rsa
-pubin -outform der | openssl dgst -sha256`) and write `sha256:<64 hex>` once.
",
};

/// KAD011.
pub const CA_VERIFICATION_SKIPPED: Rule = Rule {
    code: "KAD011",
    name: "ca-verification-skipped",
    severity: Severity::Warning,
    summary: "`unsafeSkipCAVerification: true`: joining nodes trust any API server",
    explain: "\
## What it checks
`discovery.bootstrapToken.unsafeSkipCAVerification: true` in a JoinConfiguration.

## Why it matters
Without a CA pin a joining node accepts whatever answers at the endpoint: anyone who can
take the address (a VIP is easy to claim on a flat network) receives the bootstrap
token and hands the node a kubelet configuration of their own.

## Example
```yaml
discovery:
  bootstrapToken:
    unsafeSkipCAVerification: true
```

## Fix
Pin the CA with `caCertHashes: [sha256:<hash>]` and drop the flag.
",
};

/// KAD012.
pub const WELL_KNOWN_TOKEN: Rule = Rule {
    code: "KAD012",
    name: "well-known-bootstrap-token",
    severity: Severity::Warning,
    summary: "The bootstrap token is the documentation's example `abcdef.0123456789abcdef`",
    explain: "\
## What it checks
Bootstrap tokens (`bootstrapTokens[].token`, `discovery.bootstrapToken.token`) equal to
the example in kubeadm's documentation and `kubeadm config print` output.

## Why it matters
A bootstrap token lets a machine join the cluster as a node. The example token is in
every guide: anyone who can reach the API server can join while it is valid.

## Example
```yaml
bootstrapTokens:
  - token: abcdef.0123456789abcdef
```

## Fix
`kubeadm token generate`, and a `ttl` of hours, not days.
",
};

/// KAD013.
pub const TOKEN_NEVER_EXPIRES: Rule = Rule {
    code: "KAD013",
    name: "bootstrap-token-never-expires",
    severity: Severity::Warning,
    summary: "A bootstrap token with `ttl: 0` never expires",
    explain: "\
## What it checks
`bootstrapTokens[].ttl` of `0` (or `0s`) in an InitConfiguration.

## Why it matters
The token stays valid for good: whoever reads it from a repository, a log or a shell
history can join machines to the cluster years later.

## Example
```yaml
bootstrapTokens:
  - token: 7x3k9q.4f8w2m6n1p5r0t3v
    ttl: \"0\"
```

## Fix
Leave the default 24h (`kubeadm token create` makes a new one when a node joins later).
",
};

/// KAD014.
pub const EXTERNAL_ETCD_PLAINTEXT: Rule = Rule {
    code: "KAD014",
    name: "external-etcd-plaintext",
    severity: Severity::Error,
    summary: "An external etcd endpoint over `http://`: the cluster's state in clear text",
    explain: "\
## What it checks
`etcd.external.endpoints` of a ClusterConfiguration that use `http://` on an address that
is not loopback.

## Why it matters
Every object of the cluster, Secrets included, crosses the network unencrypted, and
etcd over http has no client authentication: anyone who reaches the port reads and
writes the cluster's state.

## Example
```yaml
etcd:
  external:
    endpoints: [http://10.0.0.21:2379]
```

## Fix
Serve etcd over TLS with client-certificate auth and set `https://` endpoints with
`caFile`, `certFile` and `keyFile`.
",
};

/// The documents of `kind`.
fn of_kind<'a>(y: &'a yaml::Yaml, kind: &str) -> Vec<&'a Node> {
    documents(y)
        .into_iter()
        .filter(|(_, k, _)| *k == kind)
        .map(|(_, _, d)| d)
        .collect()
}

/// KAD010.
pub fn ca_cert_hash_malformed(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    for d in of_kind(y, "JoinConfiguration") {
        let Some(hashes) = d.at("discovery.bootstrapToken.caCertHashes") else {
            continue;
        };
        for h in hashes.items() {
            let Some(text) = h.str() else { continue };
            let ok = text
                .strip_prefix("sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok && !crate::lint::placeholder_only(text) {
                let why = if text.starts_with("sha256:sha256:") {
                    "`sha256:` is written twice".to_string()
                } else if let Some(hex) = text.strip_prefix("sha256:") {
                    format!(
                        "{} characters after `sha256:` where kubeadm wants 64 hex digits",
                        hex.len()
                    )
                } else {
                    "it does not start with `sha256:`".to_string()
                };
                out.push(
                    at(&CA_CERT_HASH_MALFORMED, h.span, format!("`{text}` is not a CA pin kubeadm reads: {why}; the join stops with `invalid hash`"))
                        .path("JoinConfiguration.discovery.bootstrapToken.caCertHashes")
                        .help("write `sha256:` and the 64 hex digits once"),
                );
            }
        }
    }
}

/// KAD011.
pub fn ca_verification_skipped(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    for d in of_kind(y, "JoinConfiguration") {
        // v1alpha3 and older spelled it `discoveryTokenUnsafeSkipCAVerification`.
        let flag = d
            .at("discovery.bootstrapToken.unsafeSkipCAVerification")
            .map(|v| (v, "unsafeSkipCAVerification", "discovery.bootstrapToken."))
            .or_else(|| {
                d.get("discoveryTokenUnsafeSkipCAVerification")
                    .map(|v| (v, "discoveryTokenUnsafeSkipCAVerification", ""))
            });
        if let Some((v, key, parent)) = flag
            && v.str()
                .is_some_and(|s| matches!(s, "true" | "True" | "TRUE" | "yes" | "on"))
        {
            out.push(
                at(&CA_VERIFICATION_SKIPPED, v.span, format!("`{key}: true`: this node trusts whatever answers at the endpoint and hands it the bootstrap token"))
                    .path(format!("JoinConfiguration.{parent}{key}"))
                    .help("pin the CA with `caCertHashes: [sha256:<hash>]`"),
            );
        }
    }
}

/// The documentation's example token (`kubeadm config print init-defaults`).
const EXAMPLE_TOKEN: &str = "abcdef.0123456789abcdef";

/// KAD012.
pub fn well_known_token(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    let mut tokens: Vec<&Node> = Vec::new();
    for d in of_kind(y, "InitConfiguration") {
        if let Some(list) = d.get("bootstrapTokens") {
            tokens.extend(list.items().iter().filter_map(|t| t.get("token")));
        }
    }
    for d in of_kind(y, "JoinConfiguration") {
        tokens.extend(d.at("discovery.bootstrapToken.token"));
        tokens.extend(d.at("discovery.tlsBootstrapToken"));
        // v1alpha3 and older: top-level `token`, `discoveryToken`, `tlsBootstrapToken`.
        for old in ["token", "discoveryToken", "tlsBootstrapToken"] {
            tokens.extend(d.get(old));
        }
    }
    for d in of_kind(y, "MasterConfiguration") {
        tokens.extend(d.get("token"));
    }
    for t in tokens {
        if t.str() == Some(EXAMPLE_TOKEN) {
            out.push(
                at(&WELL_KNOWN_TOKEN, t.span, format!("`{EXAMPLE_TOKEN}` is the documentation's example token: anyone who reaches the API server can join a machine with it"))
                    .help("`kubeadm token generate` prints a new one"),
            );
        }
    }
}

/// KAD013.
pub fn token_never_expires(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    for d in of_kind(y, "InitConfiguration") {
        let Some(list) = d.get("bootstrapTokens") else {
            continue;
        };
        for t in list.items() {
            if let Some(ttl) = t.get("ttl")
                && ttl
                    .str()
                    .is_some_and(|s| matches!(s.trim(), "0" | "0s" | "0m" | "0h"))
            {
                out.push(
                    at(&TOKEN_NEVER_EXPIRES, ttl.span, "`ttl: 0`: this bootstrap token never expires; whoever reads it can join machines for good")
                        .path("InitConfiguration.bootstrapTokens[].ttl")
                        .help("leave the default 24h; `kubeadm token create` makes one when needed"),
                );
            }
        }
    }
}

/// KAD014.
pub fn external_etcd_plaintext(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    for d in of_kind(y, "ClusterConfiguration") {
        let Some(eps) = d.at("etcd.external.endpoints") else {
            continue;
        };
        for e in eps.items() {
            let Some(url) = e.str() else { continue };
            let Some(rest) = url.strip_prefix("http://") else {
                continue;
            };
            let host = crate::net::split_host_port(rest.split('/').next().unwrap_or(rest)).0;
            if crate::net::Host::parse(host).is_loopback() || host == "localhost" {
                continue;
            }
            out.push(
                at(&EXTERNAL_ETCD_PLAINTEXT, e.span, format!("`{url}`: the API server talks to etcd in clear text, without client authentication"))
                    .path("ClusterConfiguration.etcd.external.endpoints")
                    .help("serve etcd over TLS and use https:// with caFile, certFile and keyFile"),
            );
        }
    }
}

/// KAD016.
pub const VERSION_END_OF_LIFE: Rule = Rule {
    code: "KAD016",
    name: "kubernetes-version-end-of-life",
    severity: Severity::Info,
    summary: "`kubernetesVersion` is a Kubernetes release past its end of support",
    explain: "\
## What it checks
The `kubernetesVersion` of a ClusterConfiguration against the end-of-support dates of
upstream Kubernetes releases (about 14 months after each minor release), on the date of
the run.

## Why it matters
A release past its end of life gets no security or bug fixes; kubeadm and the package
repositories of later releases stop accepting upgrades that skip minor versions, so the
way out grows longer. An info: distributions support some releases for longer.

## Example
```yaml
kubernetesVersion: v1.24.17
```

## Fix
Upgrade one minor version at a time (`kubeadm upgrade plan`) to a supported release.
",
};

/// End of upstream support of each minor release, as (minor, seconds since the epoch at
/// 00:00 UTC of that day). Releases before the first entry are past it too.
const END_OF_LIFE: &[(u32, i64, &str)] = &[
    (25, 1_698_451_200, "2023-10-28"),
    (26, 1_709_078_400, "2024-02-28"),
    (27, 1_719_532_800, "2024-06-28"),
    (28, 1_730_073_600, "2024-10-28"),
    (29, 1_740_700_800, "2025-02-28"),
    (30, 1_751_068_800, "2025-06-28"),
    (31, 1_761_609_600, "2025-10-28"),
    (32, 1_772_236_800, "2026-02-28"),
    (33, 1_782_604_800, "2026-06-28"),
    (34, 1_793_059_200, "2026-10-27"),
];

/// The first Kubernetes minor (1.x) still supported at `now`.
pub fn first_supported_minor(now: i64) -> u32 {
    END_OF_LIFE
        .iter()
        .find(|(_, at_s, _)| now < *at_s)
        .map_or(END_OF_LIFE[END_OF_LIFE.len() - 1].0 + 1, |(m, ..)| *m)
}

/// KAD016.
pub fn version_end_of_life(y: &yaml::Yaml, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(now) = ctx.options.now else { return };
    for d in of_kind(y, "ClusterConfiguration") {
        let Some(node) = d.get("kubernetesVersion") else {
            continue;
        };
        let Some(v) = node
            .str()
            .and_then(|t| crate::version::KubeVersion::parse(t).ok())
        else {
            continue;
        };
        if v.major != 1 {
            continue;
        }
        let ended = match END_OF_LIFE.iter().find(|(m, ..)| *m == v.minor) {
            Some((_, at_s, day)) => (now >= *at_s).then(|| format!("its support ended on {day}")),
            None if v.minor < END_OF_LIFE[0].0 => {
                Some(format!("its support ended before {}", END_OF_LIFE[0].2))
            }
            None => None,
        };
        if let Some(when) = ended {
            out.push(
                at(
                    &VERSION_END_OF_LIFE,
                    node.span,
                    format!(
                        "Kubernetes 1.{} is past end of life: {when}, so it gets no security fixes",
                        v.minor
                    ),
                )
                .path("ClusterConfiguration.kubernetesVersion")
                .help("upgrade one minor version at a time to a supported release"),
            );
        }
    }
}
