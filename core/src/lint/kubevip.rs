//! KVP rules: kube-vip static pods and DaemonSets (the VIP and the API load balancer
//! in one container, configured by environment variables).

use super::yaml::{self, Node};
use super::{Ctx, Kind, at, general};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use crate::source::Span;
use crate::version::KubeVersion;

/// The kube-vip container of a manifest: its environment and kubeconfig mount.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `name` → (value, span of the name, span of the value) for every env variable.
    pub env: Vec<(String, String, Span, Span)>,
    /// The hostPath of the volume mounted as the kubeconfig, with its span.
    pub kubeconfig: Option<(String, Span)>,
    /// `kind` of the document (Pod, DaemonSet).
    pub kind: String,
    /// The span of the container's image (or of the document).
    pub span: Span,
}

impl Manifest {
    /// The value of an env variable.
    pub fn get(&self, name: &str) -> Option<&(String, String, Span, Span)> {
        self.env.iter().find(|e| e.0 == name)
    }
    /// True if the variable is `true`.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|e| e.1.eq_ignore_ascii_case("true"))
    }
    /// The VIP: `address`, else the deprecated `vip_address`.
    pub fn vip(&self) -> Option<&(String, String, Span, Span)> {
        self.get("address")
            .or(self.get("vip_address"))
            .filter(|e| !e.1.is_empty())
    }
}

/// A single-file kube-vip rule.
pub type CheckFn = fn(&Manifest, &Ctx<'_>, &mut Diagnostics);

/// Every single-file KVP rule with its check, sorted by code. KVP003 (which also
/// compares the manifests of a run) is in [`cross::RULES`](super::cross::RULES).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&DEPRECATED_VARIABLE, deprecated_variable),
    (&ARP_WITHOUT_LEADER_ELECTION, arp_without_leader_election),
    (&NO_ADDRESS, no_address),
    (&OLD_MASTER_LABEL, old_master_label),
];

/// KVP005.
pub const OLD_MASTER_LABEL: Rule = Rule {
    code: "KVP005",
    name: "kube-vip-selects-old-master-role",
    severity: Severity::Warning,
    summary: "The kube-vip DaemonSet selects or tolerates only `node-role.kubernetes.io/master`",
    explain: "\
## What it checks
A kube-vip DaemonSet whose `nodeSelector` or required node affinity asks for the
`node-role.kubernetes.io/master` label (kubeadm stopped setting it in 1.24), or for
`node-role.kubernetes.io/control-plane: \"true\"` (kubeadm sets that label with an empty
value); and one that tolerates the old `master` taint but not the `control-plane` one.

## Why it matters
The DaemonSet then schedules on no control plane: no pod announces the VIP, and the
endpoint is unreachable from the first upgrade or the first new cluster on.

## Example
```yaml
nodeSelector:
  node-role.kubernetes.io/master: \"true\"
```

## Fix
Select `node-role.kubernetes.io/control-plane` with `operator: Exists` and tolerate the
`node-role.kubernetes.io/control-plane` taint (keep `master` too for old nodes).
",
};

/// KVP005.
pub fn old_master_label(_: &Manifest, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    const MASTER: &str = "node-role.kubernetes.io/master";
    const CP: &str = "node-role.kubernetes.io/control-plane";
    let y = yaml::parse(&ctx.file.text);
    for doc in &y.docs {
        if doc.get("kind").and_then(Node::str) != Some("DaemonSet") {
            continue;
        }
        let Some(spec) = doc.at("spec.template.spec") else {
            continue;
        };
        // (key, value or operator, span)
        let mut selects: Vec<(String, Option<String>, Span)> = Vec::new();
        if let Some(sel) = spec.get("nodeSelector") {
            for (k, v) in sel.entries() {
                selects.push((k.text.clone(), v.str().map(str::to_string), k.span));
            }
        }
        if let Some(terms) = spec.at("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms") {
            for t in terms.items() {
                for e in t.get("matchExpressions").map(Node::items).unwrap_or(&[]) {
                    if let Some(k) = e.get("key") {
                        let op = e.get("operator").and_then(Node::str).unwrap_or("");
                        let vals: Vec<&str> = e.get("values").map(|v| v.items().iter().filter_map(Node::str).collect()).unwrap_or_default();
                        let v = (op == "In").then(|| vals.join(","));
                        selects.push((k.str().unwrap_or("").to_string(), v, k.span));
                    }
                }
            }
        }
        let cp_selected = selects
            .iter()
            .any(|(k, v, _)| k == CP && v.as_deref().is_none_or(str::is_empty));
        for (k, v, span) in &selects {
            let why = if k == MASTER && !cp_selected {
                Some(format!(
                    "selects `{MASTER}`, a label kubeadm no longer sets (since 1.24): the DaemonSet runs on no control plane"
                ))
            } else if k == CP && v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                Some(format!(
                    "selects `{CP}: \"true\"`, but kubeadm sets the label with an empty value: the DaemonSet runs on no control plane"
                ))
            } else {
                None
            };
            if let Some(why) = why {
                out.push(
                    at(&OLD_MASTER_LABEL, *span, format!("kube-vip {why}")).help(
                        "select `node-role.kubernetes.io/control-plane` with `operator: Exists`",
                    ),
                );
            }
        }
        let tol = spec.get("tolerations").map(Node::items).unwrap_or(&[]);
        let keys: Vec<(&str, Span)> = tol
            .iter()
            .map(|t| (t.get("key").and_then(Node::str).unwrap_or(""), t.span))
            .collect();
        let tolerates_all = tol.iter().any(|t| {
            t.get("key").is_none() && t.get("operator").and_then(Node::str) == Some("Exists")
        });
        if !tolerates_all
            && !keys.iter().any(|(k, _)| *k == CP)
            && let Some((_, span)) = keys.iter().find(|(k, _)| *k == MASTER)
        {
            out.push(at(&OLD_MASTER_LABEL, *span, format!("kube-vip tolerates only the old `{MASTER}` taint; kubeadm taints control planes with `{CP}` since 1.25, so the pods are not scheduled there")).help("add a toleration for `node-role.kubernetes.io/control-plane`"));
        }
    }
}

/// Parses and checks a kube-vip manifest.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Manifest> {
    let y = yaml::parse(&ctx.file.text);
    if let Some((msg, span)) = &y.error {
        out.push(general::unparseable(
            Kind::KubeVip,
            Some(*span),
            format!("invalid YAML: {msg}"),
        ));
        return None;
    }
    let Some(m) = y.docs.iter().find_map(manifest) else {
        // A HelmChart, a ConfigMap of the kube-vip cloud provider, an Argo Application…
        // that mentions kube-vip is another kind of file, not a broken manifest.
        let other_kinds = y.docs.iter().all(|d| {
            d.get("kind")
                .and_then(Node::str)
                .is_some_and(|k| !matches!(k, "Pod" | "DaemonSet" | "Deployment"))
        });
        if other_kinds && !y.docs.is_empty() {
            out.push(general::unknown_kind(&ctx.file.name));
            return None;
        }
        out.push(general::unparseable(
            Kind::KubeVip,
            None,
            "no Pod, DaemonSet or Deployment with a kube-vip container",
        ));
        return None;
    };
    super::run_checks(RULES, &m, ctx, out);
    Some(m)
}

fn manifest(doc: &Node) -> Option<Manifest> {
    let kind = doc.get("kind")?.str()?.to_string();
    let spec = match kind.as_str() {
        "Pod" => doc.get("spec")?,
        "DaemonSet" | "Deployment" => doc.at("spec.template.spec")?,
        _ => return None,
    };
    let containers = spec.get("containers")?.items();
    let c = containers
        .iter()
        .find(|c| {
            c.get("image")
                .and_then(Node::str)
                .is_some_and(|i| i.contains("kube-vip"))
                || c.get("name").and_then(Node::str) == Some("kube-vip")
        })
        .or(containers.first())?;
    let env = c
        .get("env")
        .map(|e| e.items())
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| {
            let (_, n) = e.entry("name")?;
            let name = n.str()?.to_string();
            let (value, vspan) = match e.get("value") {
                Some(v) => (v.str().unwrap_or("").to_string(), v.span),
                None => (String::new(), n.span),
            };
            Some((name, value, n.span, vspan))
        })
        .collect();
    let mount = c
        .get("volumeMounts")
        .map(|m| m.items())
        .unwrap_or(&[])
        .iter()
        .find(|m| {
            m.get("mountPath")
                .and_then(Node::str)
                .is_some_and(|p| p.ends_with(".conf") || p.contains("kubeconfig"))
        });
    let kubeconfig = mount.and_then(|m| {
        let vol = m.get("name")?.str()?;
        spec.get("volumes")?
            .items()
            .iter()
            .find(|v| v.get("name").and_then(Node::str) == Some(vol))
            .and_then(|v| {
                let p = v.at("hostPath.path")?;
                Some((p.str()?.to_string(), p.span))
            })
    });
    Some(Manifest {
        env,
        kubeconfig,
        kind,
        span: c.get("image").map_or(c.span, |i| i.span),
    })
}

/// KVP001.
pub const DEPRECATED_VARIABLE: Rule = Rule {
    code: "KVP001",
    name: "kube-vip-deprecated-variable",
    severity: Severity::Warning,
    summary: "A kube-vip variable that newer releases renamed (`vip_cidr`, `vip_address`)",
    explain: "\
## What it checks
Environment variables kube-vip has renamed: `vip_cidr` → `vip_subnet`, `vip_address`
→ `address`.

## Why it matters
Old names are read only for compatibility and are being dropped: after an image upgrade
the VIP silently gets no address or a default prefix.

## Example
```yaml
- name: vip_address
  value: \"10.0.0.100\"
```

## Fix
Rename to `address` / `vip_subnet` (regenerate with `kube-vip manifest pod …` of the
image you run).
",
};

/// KVP002.
pub const ARP_WITHOUT_LEADER_ELECTION: Rule = Rule {
    code: "KVP002",
    name: "arp-without-leader-election",
    severity: Severity::Error,
    summary: "ARP mode for the control-plane VIP without leader election",
    explain: "\
## What it checks
`vip_arp=true` and `cp_enable=true` without `vip_leaderelection=true`.

## Why it matters
Without leader election every kube-vip instance claims the VIP and answers ARP for it:
clients flap between nodes and connections reset.

## Example
```yaml
- {name: vip_arp, value: \"true\"}
- {name: cp_enable, value: \"true\"}
```

## Fix
```yaml
- {name: vip_leaderelection, value: \"true\"}
```
",
};

/// KVP003.
pub const KUBECONFIG_FOR_VERSION: Rule = Rule {
    code: "KVP003",
    name: "kube-vip-kubeconfig-for-version",
    severity: Severity::Error,
    summary: "kube-vip mounts super-admin.conf where it does not exist, or no node mounts it on 1.29+",
    explain: "\
## What it checks
The kubeconfig kube-vip mounts from the host, against the Kubernetes version:
- before 1.29, `super-admin.conf` does not exist (error);
- on 1.29+, across the kube-vip manifests of one run: the node that runs `kubeadm init`
  must mount `super-admin.conf` (none does: warning), and only that one (several do:
  warning, joining nodes have no such file).

## Why it matters
On 1.29+ `admin.conf` has no rights until kubeadm creates the `kubeadm:cluster-admins`
binding, so kube-vip cannot take its lease, the VIP never comes up and `kubeadm init`
times out waiting for the endpoint (kube-vip issue #684). A missing hostPath file makes
the kubelet create a directory there, and kube-vip fails to start.

## Example
```yaml
volumes:
- name: kubeconfig
  hostPath: {path: /etc/kubernetes/admin.conf}   # on the init node, 1.29+
```

## Fix
Mount `/etc/kubernetes/super-admin.conf` on the init node during `kubeadm init`, then
switch it back to `admin.conf`; joining nodes use `admin.conf`.
",
};

/// KVP004.
pub const NO_ADDRESS: Rule = Rule {
    code: "KVP004",
    name: "kube-vip-no-address",
    severity: Severity::Error,
    summary: "kube-vip serves the control plane but has no VIP address",
    explain: "\
## What it checks
`cp_enable=true` with neither `address` nor `vip_address` (nor DHCP `vip_ddns`).

## Why it matters
kube-vip has no VIP to announce: the control-plane endpoint never answers.

## Example
```yaml
- {name: cp_enable, value: \"true\"}
- {name: vip_interface, value: eth0}
```

## Fix
Add `- {name: address, value: \"<VIP>\"}`.
",
};

/// KVP001.
pub fn deprecated_variable(m: &Manifest, _: &Ctx<'_>, out: &mut Diagnostics) {
    for (old, new) in [("vip_cidr", "vip_subnet"), ("vip_address", "address")] {
        if let Some((_, _, span, _)) = m.get(old) {
            out.push(
                at(
                    &DEPRECATED_VARIABLE,
                    *span,
                    format!("`{old}` is deprecated; kube-vip now reads `{new}`"),
                )
                .help(format!("rename it to `{new}`")),
            );
        }
    }
}

/// KVP002.
pub fn arp_without_leader_election(m: &Manifest, _: &Ctx<'_>, out: &mut Diagnostics) {
    if m.is_true("vip_arp") && m.is_true("cp_enable") && !m.is_true("vip_leaderelection") {
        let span = m.get("vip_arp").map_or(m.span, |e| e.2);
        out.push(at(&ARP_WITHOUT_LEADER_ELECTION, span, "ARP mode for the control-plane VIP without `vip_leaderelection=true`: every node answers ARP for the VIP").help("add `vip_leaderelection: \"true\"`"));
    }
}

/// KVP003 within one manifest: super-admin.conf before 1.29 (`version`, if known).
pub fn super_admin_before_1_29(m: &Manifest, version: Option<&KubeVersion>, out: &mut Diagnostics) {
    let (Some(v), Some((path, span))) = (version, &m.kubeconfig) else {
        return;
    };
    if path.ends_with("super-admin.conf") && !v.has_super_admin_conf() {
        out.push(at(&KUBECONFIG_FOR_VERSION, *span, format!("`{path}` does not exist before Kubernetes 1.29 (target {v}); the kubelet creates a directory there and kube-vip fails")).help("mount /etc/kubernetes/admin.conf"));
    }
}

/// KVP004.
pub fn no_address(m: &Manifest, _: &Ctx<'_>, out: &mut Diagnostics) {
    if m.is_true("cp_enable") && m.vip().is_none() && !m.is_true("vip_ddns") {
        let span = m.get("cp_enable").map_or(m.span, |e| e.2);
        out.push(at(&NO_ADDRESS, span, "kube-vip serves the control plane (`cp_enable`) but sets no `address`: there is no VIP to announce").help("add `address` with the VIP"));
    }
}
