//! KAD rules: kubeadm configuration files (InitConfiguration, ClusterConfiguration,
//! JoinConfiguration, … in one or several YAML documents).
//!
//! Unknown fields are found against `fields.txt`, a trimmed copy of
//! `shared/reference/kubeadm-fields.json` (every json field of v1beta3 and v1beta4,
//! from the Go types); older API versions are only checked for removal.

mod join;
mod values;

pub use join::{
    CA_CERT_HASH_MALFORMED, CA_VERIFICATION_SKIPPED, EXTERNAL_ETCD_PLAINTEXT, TOKEN_NEVER_EXPIRES,
    VERSION_END_OF_LIFE, WELL_KNOWN_TOKEN,
};

use super::yaml::{self, Node, Value};
use super::{Ctx, Kind, at, general};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use crate::version::KubeVersion;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A single-file kubeadm rule.
pub type CheckFn = fn(&yaml::Yaml, &Ctx<'_>, &mut Diagnostics);

/// Every single-file KAD rule with its check, sorted by code. KAD006 (which also
/// compares the endpoint with the topology's nodes) and KAD007 are in
/// [`cross::RULES`](super::cross::RULES).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&API_VERSION_UNSUPPORTED, api_version_unsupported),
    (&API_VERSION_DEPRECATED, api_version_deprecated),
    (&UNKNOWN_FIELD, unknown_field),
    (&WRONG_SHAPE, wrong_shape),
    (&NO_CONTROL_PLANE_ENDPOINT, no_control_plane_endpoint),
    (&WRONG_VALUE_TYPE, wrong_value_type),
    (&INVALID_VALUE, invalid_value),
    (&CA_CERT_HASH_MALFORMED, join::ca_cert_hash_malformed),
    (&CA_VERIFICATION_SKIPPED, join::ca_verification_skipped),
    (&WELL_KNOWN_TOKEN, join::well_known_token),
    (&TOKEN_NEVER_EXPIRES, join::token_never_expires),
    (&EXTERNAL_ETCD_PLAINTEXT, join::external_etcd_plaintext),
    (&VERSION_END_OF_LIFE, join::version_end_of_life),
];

/// Parses and checks one kubeadm YAML file.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<yaml::Yaml> {
    let y = yaml::parse(&ctx.file.text);
    if let Some((msg, span)) = &y.error {
        out.push(general::unparseable(
            Kind::Kubeadm,
            Some(*span),
            format!("invalid YAML: {msg}"),
        ));
        return None;
    }
    super::run_checks(RULES, &y, ctx, out);
    Some(y)
}

/// KAD001.
pub const API_VERSION_UNSUPPORTED: Rule = Rule {
    code: "KAD001",
    name: "kubeadm-api-version-unsupported",
    severity: Severity::Error,
    summary: "A kubeadm API version the target kubeadm no longer (or not yet) reads",
    explain: "\
## What it checks
Each document's `apiVersion` in the `kubeadm.k8s.io` group against the Kubernetes
version in force (`--kubernetes-version`, `--topology`, else the file's own
`kubernetesVersion`, else the versions supported today): v1beta1 was removed in 1.22,
v1beta2 in 1.27, v1beta3 in 1.37; v1beta4 exists from 1.31. A file that pins a
release past its end of life (KAD016) is also judged by the kubeadm releases still
supported, and the message says both: upgrading means moving the API version too.

## Why it matters
`kubeadm init --config` stops with `no kind \"ClusterConfiguration\" is registered for
version \"kubeadm.k8s.io/v1beta2\"`: the cluster is never created, or an upgrade
runbook fails half way.

## Example
```yaml
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
kubernetesVersion: v1.30.4
```

## Fix
`kubeadm config migrate --old-config old.yaml --new-config new.yaml` with a kubeadm
that still reads the old version, or re-render with `hagen render`.
",
};

/// KAD002.
pub const API_VERSION_DEPRECATED: Rule = Rule {
    code: "KAD002",
    name: "kubeadm-api-version-deprecated",
    severity: Severity::Warning,
    summary: "kubeadm.k8s.io/v1beta3 is deprecated from 1.31 and removed in 1.37",
    explain: "\
## What it checks
`apiVersion: kubeadm.k8s.io/v1beta3` when the target version is 1.31–1.36 (or unknown).

## Why it matters
kubeadm still reads it but logs a deprecation, and 1.37 removes it: the same file will
stop working at the next upgrades.

## Example
```yaml
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.32.1
```

## Fix
Migrate to v1beta4 (`kubeadm config migrate`); note that `extraArgs` become lists of
`{name, value}` and `timeoutForControlPlane` moves to `timeouts`.
",
};

/// KAD003.
pub const UNKNOWN_FIELD: Rule = Rule {
    code: "KAD003",
    name: "unknown-kubeadm-field",
    severity: Severity::Warning,
    summary: "A field kubeadm does not know for this API version is silently dropped",
    explain: "\
## What it checks
Every key of InitConfiguration, ClusterConfiguration, JoinConfiguration,
ResetConfiguration and UpgradeConfiguration documents (v1beta3 and v1beta4) against the
fields of the Go types of that version. Keys are case-sensitive.

## Why it matters
`kubeadm init` and `join` only log a warning and ignore the field: a misspelt
`certSANs`, a v1beta4-only field in a v1beta3 file or `criSocket` at the wrong level
has no effect, and the cluster is built without it (`kubeadm config validate` would
reject the file).

## Example
```yaml
apiServer:
  certSans: [10.0.0.100]   # certSANs
```

## Fix
Use the spelling and level the message suggests; check with `kubeadm config validate
--config FILE`.
",
};

/// KAD004.
pub const WRONG_SHAPE: Rule = Rule {
    code: "KAD004",
    name: "kubeadm-field-wrong-shape",
    severity: Severity::Error,
    summary: "A kubeadm field holds a mapping, list or scalar where the API expects another shape",
    explain: "\
## What it checks
That object fields hold mappings, list fields hold lists and scalar fields hold scalars
(a v1beta3-style `extraArgs` map in a v1beta4 file, for example).

## Why it matters
Unlike unknown fields, type mismatches are fatal in every kubeadm command:
`cannot unmarshal object into Go struct field ... of type []v1beta4.Arg`.

## Example
```yaml
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
    authorization-mode: Node,RBAC
```

## Fix
```yaml
  extraArgs:
    - name: authorization-mode
      value: Node,RBAC
```
",
};

/// KAD005.
pub const NO_CONTROL_PLANE_ENDPOINT: Rule = Rule {
    code: "KAD005",
    name: "no-control-plane-endpoint",
    severity: Severity::Warning,
    summary: "ClusterConfiguration has no controlPlaneEndpoint, so no other control plane can join",
    explain: "\
## What it checks
ClusterConfiguration documents without `controlPlaneEndpoint`.

## Why it matters
Without it, every kubeconfig and the cluster-info ConfigMap point at the first node's
address, and `kubeadm join --control-plane` refuses to run (`unable to add a new control
plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address`).
It cannot be added later without re-issuing certificates and kubeconfigs.

## Example
```yaml
kind: ClusterConfiguration
kubernetesVersion: v1.31.2
```

## Fix
`controlPlaneEndpoint: \"<VIP or DNS name>:<port>\"` pointing at the load balancer.
",
};

/// KAD006.
pub const ENDPOINT_IS_SINGLE_NODE: Rule = Rule {
    code: "KAD006",
    name: "endpoint-is-single-node",
    severity: Severity::Error,
    summary: "controlPlaneEndpoint points at one node, not at a load balancer or VIP",
    explain: "\
## What it checks
`controlPlaneEndpoint` equal to the node's own `localAPIEndpoint.advertiseAddress` in
the same file, to the address of a node anywhere in the run (a keepalived
`unicast_src_ip` or peer, an haproxy or nginx API server, another kubeadm file's
`advertiseAddress`), or (with `--topology`) to any node's address.

## Why it matters
Every client then depends on that one machine: when it is down the whole control plane
is unreachable, even with other API servers running.

## Example
```yaml
localAPIEndpoint: {advertiseAddress: 10.0.0.11}
---
controlPlaneEndpoint: 10.0.0.11:6443
```

## Fix
Point it at the VIP or a DNS name of the load balancer.
",
};

/// KAD007.
pub const VIP_MISSING_FROM_SANS: Rule = Rule {
    code: "KAD007",
    name: "vip-missing-from-cert-sans",
    severity: Severity::Warning,
    summary: "The VIP (or endpoint name) that clients use is not in apiServer.certSANs",
    explain: "\
## What it checks
With a VIP known from `--topology` or from the keepalived/kube-vip files of the same
run: when `controlPlaneEndpoint` is a DNS name, the VIP must be in
`apiServer.certSANs` (kubeadm adds the endpoint host itself, but not the address behind
it).

## Why it matters
Clients that reach the API by the VIP's address (kube-vip's own health checks, scripts,
`kubectl --server https://VIP:port`) fail TLS verification: `x509: certificate is valid
for …, not 10.0.0.100`.

## Example
```yaml
controlPlaneEndpoint: k8s-api.example.com:8443
apiServer:
  certSANs: [k8s-api.example.com]   # VIP 10.0.0.100 missing
```

## Fix
Add the VIP to `apiServer.certSANs` and regenerate the API server certificate
(`kubeadm init phase certs apiserver`).
",
};

/// KAD008.
pub const WRONG_VALUE_TYPE: Rule = Rule {
    code: "KAD008",
    name: "kubeadm-value-wrong-type",
    severity: Severity::Error,
    summary: "A kubeadm field holds a number, boolean or string where its Go type wants another",
    explain: "\
## What it checks
Every scalar of a v1beta3/v1beta4 document against the Go type of its field: strings,
integers, booleans, durations and times. Values are read as kubeadm reads them: YAML
1.1, where a bare `1.31` is a number and `yes`, `no`, `on` and `off` are booleans.

## Why it matters
kubeadm turns the YAML into JSON and decodes it strictly: a number in a string field
(`kubernetesVersion: 1.31`), a quoted `\"6443\"` in `bindPort` or a bare `24` in a
duration stops `kubeadm init`, `join` and `upgrade` with `json: cannot unmarshal number
into Go struct field ...`, before anything is done.

## Example
```yaml
kubernetesVersion: 1.31
localAPIEndpoint:
  bindPort: \"6443\"
```

## Fix
```yaml
kubernetesVersion: v1.31.2
localAPIEndpoint:
  bindPort: 6443
```
",
};

/// KAD009.
pub const INVALID_VALUE: Rule = Rule {
    code: "KAD009",
    name: "kubeadm-value-invalid",
    severity: Severity::Error,
    summary: "A kubeadm value of the right type that kubeadm still rejects: duration, time, enum, token or key",
    explain: "\
## What it checks
Durations (`ttl`, `timeouts.*`, `certificateValidityPeriod`) against Go's duration
syntax (units ns, us, ms, s, m, h; no days); times against RFC 3339; `imagePullPolicy`,
taint effects, `pathType` and `encryptionAlgorithm` against the values kubeadm takes;
bootstrap tokens against `[a-z0-9]{6}.[a-z0-9]{16}`; `certificateKey` against 64 hex
characters; in every API version, a `nodeRegistration.criSocket` of dockershim (gone
since 1.24: kubeadm cannot reach the container runtime).

## Why it matters
Each of these is read or validated before kubeadm does anything, and the command stops:
`time: unknown unit \"d\" in duration \"365d\"`, `invalid value for imagePullPolicy`,
`the bootstrap token ... was not of the form ...`.

## Example
```yaml
bootstrapTokens:
  - token: my-token
    ttl: 1d
nodeRegistration:
  imagePullPolicy: ifNotPresent
```

## Fix
```yaml
bootstrapTokens:
  - token: abcdef.0123456789abcdef   # kubeadm token generate
    ttl: 24h
nodeRegistration:
  imagePullPolicy: IfNotPresent
```
",
};

fn fields() -> &'static HashMap<(&'static str, &'static str), char> {
    static FIELDS: OnceLock<HashMap<(&'static str, &'static str), char>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        include_str!("fields.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.splitn(3, ' ');
                let (v, t, p) = (parts.next()?, parts.next()?, parts.next()?);
                Some(((v, p), t.chars().next()?))
            })
            .collect()
    })
}

/// The kubeadm documents of a file: (short version like `v1beta4`, kind, node).
pub fn documents(y: &yaml::Yaml) -> Vec<(&str, &str, &Node)> {
    y.docs
        .iter()
        .filter_map(|d| {
            let api = d.get("apiVersion")?.str()?;
            let v = api.strip_prefix("kubeadm.k8s.io/")?;
            Some((v, d.get("kind").and_then(Node::str).unwrap_or(""), d))
        })
        .collect()
}

/// The version in force for a file: options, topology, else the file's own.
pub fn target_version(y: &yaml::Yaml, ctx: &Ctx<'_>) -> Option<KubeVersion> {
    let given = ctx.options.kubernetes_version.as_ref().or(ctx
        .options
        .topology
        .as_ref()
        .map(|p| &p.version));
    if let Some(v) = given {
        return Some(v.clone());
    }
    documents(y)
        .iter()
        .find_map(|(_, _, d)| d.get("kubernetesVersion")?.str())
        .and_then(|v| KubeVersion::parse(v).ok())
        .or_else(|| ctx.version.cloned())
}

/// (first minor that reads it, first minor that does not) for an API version.
/// A Kubernetes minor version as (major, minor).
type Minor = (u32, u32);

fn window(v: &str) -> Option<(Minor, Option<Minor>)> {
    Some(match v {
        "v1alpha1" | "v1alpha2" | "v1alpha3" => ((1, 8), Some((1, 15))),
        "v1beta1" => ((1, 13), Some((1, 22))),
        "v1beta2" => ((1, 15), Some((1, 27))),
        "v1beta3" => ((1, 22), Some((1, 37))),
        "v1beta4" => ((1, 31), None),
        _ => return None,
    })
}

fn api_span(d: &Node) -> crate::source::Span {
    d.get("apiVersion").map_or(d.span, |n| n.span)
}

/// KAD001.
pub fn api_version_unsupported(y: &yaml::Yaml, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let target = target_version(y, ctx);
    // A file that pins a release past its end of life (KAD016) is judged by the
    // kubeadm releases still supported: the two findings together say both.
    let given = ctx.options.kubernetes_version.is_some() || ctx.options.topology.is_some();
    let mut pinned_eol = None;
    if !given
        && let Some(now) = ctx.options.now
        && let Some(t) = &target
        && t.major == 1
        && t.minor < join::first_supported_minor(now)
    {
        pinned_eol = Some(format!("1.{}", t.minor));
    }
    let first_supported = ctx
        .options
        .now
        .map_or((1, 32), |n| (1, join::first_supported_minor(n)));
    // Component configs in the same file have one valid version each.
    for d in &y.docs {
        let (Some(kind), Some(api)) = (
            d.get("kind").and_then(Node::str),
            d.get("apiVersion").and_then(Node::str),
        ) else {
            continue;
        };
        let want = match kind {
            "KubeletConfiguration" => "kubelet.config.k8s.io/v1beta1",
            "KubeProxyConfiguration" => "kubeproxy.config.k8s.io/v1alpha1",
            _ => continue,
        };
        if api != want {
            out.push(at(&API_VERSION_UNSUPPORTED, api_span(d), format!("{kind} has apiVersion `{api}`; kubeadm only reads `{want}` and stops with `no kind is registered`")).path(format!("{kind}.apiVersion")).help(format!("use `apiVersion: {want}`")));
        }
    }
    let mut seen = Vec::new();
    for (v, kind, d) in documents(y) {
        if seen.contains(&v) {
            continue;
        }
        let Some((from, until)) = window(v) else {
            out.push(
                at(
                    &API_VERSION_UNSUPPORTED,
                    api_span(d),
                    format!("`kubeadm.k8s.io/{v}` is not a kubeadm API version"),
                )
                .help("use kubeadm.k8s.io/v1beta4 (Kubernetes 1.31+) or v1beta3"),
            );
            seen.push(v);
            continue;
        };
        let msg = match (&target, until) {
            (_, Some(u))
                if u <= first_supported
                    && let Some(p) = &pinned_eol =>
            {
                Some(format!(
                    "{kind} uses kubeadm.k8s.io/{v}, removed in {}.{}: no supported kubeadm reads it, and the Kubernetes {p} it pins is past end of life",
                    u.0, u.1
                ))
            }
            (Some(t), Some(u)) if (t.major, t.minor) >= u => Some(format!(
                "{kind} uses kubeadm.k8s.io/{v}, which kubeadm {}.{} no longer reads (removed in {}.{})",
                t.major, t.minor, u.0, u.1
            )),
            (Some(t), _) if (t.major, t.minor) < from => Some(format!(
                "{kind} uses kubeadm.k8s.io/{v}, which kubeadm {}.{} does not read yet (added in {}.{})",
                t.major, t.minor, from.0, from.1
            )),
            // Unknown target: judge by what is supported today.
            (None, Some(u)) if u <= first_supported => Some(format!(
                "{kind} uses kubeadm.k8s.io/{v}, removed in {}.{}: no supported kubeadm reads it",
                u.0, u.1
            )),
            _ => None,
        };
        if let Some(msg) = msg {
            seen.push(v);
            out.push(
                at(&API_VERSION_UNSUPPORTED, api_span(d), msg)
                    .path(format!("{kind}.apiVersion"))
                    .help("migrate with `kubeadm config migrate`, or re-render with hagen"),
            );
        }
    }
}

/// KAD002.
pub fn api_version_deprecated(y: &yaml::Yaml, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let target = target_version(y, ctx).map(|t| (t.major, t.minor));
    if target.is_some_and(|t| !((1, 31)..(1, 37)).contains(&t)) {
        return;
    }
    if let Some((_, kind, d)) = documents(y).into_iter().find(|(v, ..)| *v == "v1beta3") {
        let when = target.map_or("for current Kubernetes".to_string(), |t| {
            format!("for Kubernetes {}.{}", t.0, t.1)
        });
        out.push(at(&API_VERSION_DEPRECATED, api_span(d), format!("{kind} uses kubeadm.k8s.io/v1beta3, deprecated {when} (since 1.31) and removed in 1.37")).path(format!("{kind}.apiVersion")).help("migrate to kubeadm.k8s.io/v1beta4 with `kubeadm config migrate`"));
    }
}

fn is_null(n: &Node) -> bool {
    matches!(&n.value, Value::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null")
}

fn shape(t: char) -> &'static str {
    match t {
        'o' | 'm' => "a mapping",
        'l' => "a list",
        _ => "a single value",
    }
}

/// KAD003.
pub fn unknown_field(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    super::only(&UNKNOWN_FIELD, out, |all| check_fields(y, all));
}

/// KAD004.
pub fn wrong_shape(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    super::only(&WRONG_SHAPE, out, |all| check_fields(y, all));
}

/// KAD008.
pub fn wrong_value_type(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    super::only(&WRONG_VALUE_TYPE, out, |all| check_fields(y, all));
}

/// KAD009.
pub fn invalid_value(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    super::only(&INVALID_VALUE, out, |all| check_fields(y, all));
    // In every API version (v1beta2 files are not in the field table): dockershim.
    for (_, kind, d) in documents(y) {
        if let Some(n) = d.at("nodeRegistration.criSocket")
            && let Some(sock) = n.str()
            && sock.contains("dockershim")
        {
            out.push(
                at(&INVALID_VALUE, n.span, format!("`{sock}`: dockershim was removed in Kubernetes 1.24, so no supported kubelet has this socket"))
                    .path(format!("{kind}.nodeRegistration.criSocket"))
                    .help("use containerd's (`unix:///run/containerd/containerd.sock`) or CRI-O's socket, or cri-dockerd's (`unix:///var/run/cri-dockerd.sock`)"),
            );
        }
    }
}

/// KAD003, KAD004, KAD008 and KAD009 in one walk of each v1beta3/v1beta4 document
/// against the field table: a value of the wrong shape is not looked into, so the
/// rules depend on one another and share the walk.
fn check_fields(y: &yaml::Yaml, out: &mut Diagnostics) {
    let table = fields();
    for (v, kind, d) in documents(y) {
        if !matches!(v, "v1beta3" | "v1beta4") || !table.contains_key(&(v, kind)) {
            continue;
        }
        walk(table, v, kind.to_string(), d, out);
    }
}

fn walk(
    table: &HashMap<(&str, &str), char>,
    v: &str,
    path: String,
    node: &Node,
    out: &mut Diagnostics,
) {
    let Some(&t) = table.get(&(v, path.as_str())) else {
        return;
    };
    if is_null(node) || matches!(node.value, Value::Alias) {
        return;
    }
    let actual = match &node.value {
        Value::Map(_) => 'o',
        Value::Seq(_) => 'l',
        _ => 's',
    };
    let expected = match t {
        'm' => 'o',
        'o' | 'l' => t,
        _ => 's',
    };
    if actual != expected {
        out.push(
            at(
                &WRONG_SHAPE,
                node.span,
                format!(
                    "`{path}` must be {} in {v}, not {}",
                    shape(t),
                    shape(actual)
                ),
            )
            .path(path.clone())
            .help(if path.ends_with("xtraArgs") && v == "v1beta4" {
                "in v1beta4 extra args are a list of `{name: ..., value: \"...\"}`"
            } else {
                "see the kubeadm API reference for this field"
            }),
        );
        return;
    }
    match &node.value {
        Value::Map(entries) if t == 'o' => {
            let prefix = format!("{path}.");
            let siblings: Vec<&str> = table
                .keys()
                .filter(|(tv, p)| {
                    *tv == v && p.starts_with(&prefix) && !p[prefix.len()..].contains(['.', '['])
                })
                .map(|(_, p)| &p[prefix.len()..])
                .collect();
            for (k, child) in entries {
                let cp = format!("{path}.{}", k.text);
                if table.contains_key(&(v, cp.as_str())) {
                    walk(table, v, cp, child, out);
                } else {
                    let mut d = at(&UNKNOWN_FIELD, k.span, format!("`{}` is not a field of `{path}` in kubeadm.k8s.io/{v}; kubeadm ignores it", k.text)).path(cp);
                    if let Some(s) = crate::parse::did_you_mean(&k.text, &siblings) {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else {
                        // The same key elsewhere in this version: probably the wrong level.
                        let suffix = format!(".{}", k.text);
                        let mut homes: Vec<&str> = table
                            .keys()
                            .filter(|(tv, p)| *tv == v && p.ends_with(&suffix))
                            .map(|(_, p)| &p[..p.len() - suffix.len()])
                            .collect();
                        homes.sort_unstable();
                        d = match homes.as_slice() {
                            [] => d.help("remove it; this API version has no such field"),
                            _ => d.help(format!(
                                "`{}` belongs under {}",
                                k.text,
                                homes
                                    .iter()
                                    .take(3)
                                    .map(|h| format!("`{h}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        };
                    }
                    out.push(d);
                }
            }
        }
        Value::Map(entries) => {
            for (_, child) in entries {
                walk(table, v, format!("{path}.*"), child, out);
            }
        }
        Value::Seq(items) => {
            for item in items {
                walk(table, v, format!("{path}[]"), item, out);
            }
        }
        _ => values::check(t, v, &path, node, out),
    }
}

/// The ClusterConfiguration's controlPlaneEndpoint: host, port and the value node.
pub fn endpoint(y: &yaml::Yaml) -> Option<(String, Option<u16>, &Node)> {
    documents(y)
        .into_iter()
        .find(|(_, k, _)| *k == "ClusterConfiguration")
        .and_then(|(_, _, d)| {
            let n = d.get("controlPlaneEndpoint")?;
            let text = n.str()?;
            let (h, p) = crate::net::split_host_port(text);
            Some((h.to_string(), p, n))
        })
}

/// The `advertiseAddress` of each Init/JoinConfiguration of a file, with its node.
pub fn advertise_addresses(y: &yaml::Yaml) -> Vec<(String, &Node)> {
    documents(y)
        .into_iter()
        .filter_map(|(_, kind, d)| match kind {
            "InitConfiguration" => d.at("localAPIEndpoint.advertiseAddress"),
            "JoinConfiguration" => d.at("controlPlane.localAPIEndpoint.advertiseAddress"),
            _ => None,
        })
        .filter_map(|n| Some((n.str()?.to_string(), n)))
        .collect()
}

/// KAD015.
pub const ADVERTISE_ADDRESS_IS_VIP: Rule = Rule {
    code: "KAD015",
    name: "advertise-address-is-vip",
    severity: Severity::Error,
    summary: "A node's `advertiseAddress` is the VIP, not the node's own address",
    explain: "\
## What it checks
`localAPIEndpoint.advertiseAddress` of an InitConfiguration or JoinConfiguration
against the VIPs of the keepalived.conf and kube-vip manifests linted in the same run.

## Why it matters
The API server advertises the VIP as its own address: the `kubernetes` Service's
endpoints point at the VIP instead of at each API server, etcd peers and certificates
are made for an address that moves, and the node stops working as soon as the VIP moves
to another node.

## Example
```yaml
localAPIEndpoint:
  advertiseAddress: 10.0.0.100   # the VIP in keepalived.conf
```

## Fix
Use the node's own address; put the VIP in `controlPlaneEndpoint`.
",
};

/// KAD005.
pub fn no_control_plane_endpoint(y: &yaml::Yaml, _: &Ctx<'_>, out: &mut Diagnostics) {
    for (_, kind, d) in documents(y) {
        if kind == "ClusterConfiguration"
            && d.get("controlPlaneEndpoint")
                .is_none_or(|n| n.str().is_none_or(str::is_empty))
        {
            let span = d.get("kind").map_or(d.span, |k| k.span);
            out.push(at(&NO_CONTROL_PLANE_ENDPOINT, span, "ClusterConfiguration has no `controlPlaneEndpoint`: no other control plane can join, and clients depend on the first node").path("ClusterConfiguration.controlPlaneEndpoint").help("set `controlPlaneEndpoint: \"<VIP or LB name>:<port>\"`"));
        }
    }
}

/// KAD006 within one file: the endpoint is this node's own advertiseAddress.
pub fn endpoint_is_own_address(y: &yaml::Yaml, out: &mut Diagnostics) {
    let Some((host, _, node)) = endpoint(y) else {
        return;
    };
    for (_, kind, d) in documents(y) {
        let adv = match kind {
            "InitConfiguration" => d.at("localAPIEndpoint.advertiseAddress"),
            "JoinConfiguration" => d.at("controlPlane.localAPIEndpoint.advertiseAddress"),
            _ => None,
        };
        if let Some(a) = adv
            && a.str() == Some(host.as_str())
        {
            out.push(
                at(&ENDPOINT_IS_SINGLE_NODE, node.span, format!("controlPlaneEndpoint `{host}` is this node's own advertiseAddress: the endpoint dies with this node"))
                    .label(a.span, "this node's address")
                    .path("ClusterConfiguration.controlPlaneEndpoint")
                    .help("point it at the VIP or the load balancer's DNS name"),
            );
            return;
        }
    }
    // The node's own name (`nodeRegistration.name: master01`, endpoint `master01:6443`).
    for (_, kind, d) in documents(y) {
        if !matches!(kind, "InitConfiguration" | "JoinConfiguration") {
            continue;
        }
        if let Some(n) = d.at("nodeRegistration.name")
            && n.str().is_some_and(|name| name.eq_ignore_ascii_case(&host))
        {
            out.push(
                at(&ENDPOINT_IS_SINGLE_NODE, node.span, format!("controlPlaneEndpoint `{host}` is this node's own name: the endpoint dies with this node"))
                    .label(n.span, "this node's name")
                    .path("ClusterConfiguration.controlPlaneEndpoint")
                    .help("point it at the VIP or the load balancer's DNS name"),
            );
            return;
        }
    }
}

/// `apiServer.certSANs` values.
pub fn cert_sans(y: &yaml::Yaml) -> Vec<String> {
    documents(y)
        .iter()
        .filter(|(_, k, _)| *k == "ClusterConfiguration")
        .filter_map(|(_, _, d)| d.at("apiServer.certSANs"))
        .flat_map(|n| n.items().iter().filter_map(|i| i.str().map(str::to_string)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_table_loads() {
        let f = fields();
        assert_eq!(
            f.get(&("v1beta4", "ClusterConfiguration.apiServer.certSANs")),
            Some(&'l')
        );
        assert_eq!(
            f.get(&("v1beta3", "ClusterConfiguration.apiServer.extraArgs")),
            Some(&'m')
        );
    }
}
