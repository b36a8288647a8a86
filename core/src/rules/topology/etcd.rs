//! TOP010–TOP016: the etcd membership and the etcd release.

use super::{Ctx, quorum, tolerated_failures};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::topology::{EtcdType, Role};

/// TOP010.
pub const EVEN_ETCD_MEMBERS: Rule = Rule {
    code: "TOP010",
    name: "even-etcd-members",
    severity: Severity::Error,
    summary: "An even number of etcd members tolerates no more failures than one fewer",
    explain: "\
## What it checks
The number of etcd members: the control-plane nodes with stacked etcd, the `etcd`
nodes with external etcd. It fires when that number is even (4, 6, …; two stacked
control planes are TOP021).

## Why it matters
etcd needs a majority (quorum) of its members to accept writes. 4 members need 3, so
they survive 1 failure: exactly as many as 3 members, with one more machine that can
break and a larger majority to reach on every write. An even count also lets a network
split leave both halves without quorum.

## Example
```yaml
nodes:   # four control planes, stacked etcd
  - {name: m1, address: 10.0.0.11, roles: [control-plane]}
  - {name: m2, address: 10.0.0.12, roles: [control-plane]}
  - {name: m3, address: 10.0.0.13, roles: [control-plane]}
  - {name: m4, address: 10.0.0.14, roles: [control-plane]}
```

## Fix
Use an odd number of members: 3 (tolerates 1 failure), 5 (2) or 7 (3). With stacked etcd
make the extra machine a worker; with external etcd add or remove one etcd node.
",
};

/// TOP011.
pub const SINGLE_ETCD_MEMBER: Rule = Rule {
    code: "TOP011",
    name: "single-etcd-member",
    severity: Severity::Warning,
    summary: "One etcd member: the cluster's state has no redundancy",
    explain: "\
## What it checks
That there is more than one etcd member.

## Why it matters
With one member, losing that machine (or its disk) loses the cluster's whole state and
stops every API server. That is fine for a lab, not for a highly available control plane.

## Example
One control-plane node with stacked etcd, or a single `etcd` node with external etcd.

## Fix
Use 3 members (control planes when stacked, `etcd` nodes when external).
",
};

/// TOP012.
pub const TOO_MANY_ETCD_MEMBERS: Rule = Rule {
    code: "TOP012",
    name: "too-many-etcd-members",
    severity: Severity::Warning,
    summary: "More than 7 etcd members: every write waits for a larger majority",
    explain: "\
## What it checks
That there are at most 7 etcd members.

## Why it matters
Every write is replicated to a majority, so each member added makes writes slower and
elections longer. etcd's own guidance is 3, 5 or 7 members; past 7 the extra
failure tolerance costs more than it gives.

## Example
Nine control planes with stacked etcd.

## Fix
Keep 5 or 7 etcd members. With stacked etcd, make the extra machines workers or use
external etcd on 5 dedicated hosts.
",
};

/// TOP013.
pub const EXTERNAL_ETCD_WITHOUT_MEMBERS: Rule = Rule {
    code: "TOP013",
    name: "external-etcd-without-members",
    severity: Severity::Error,
    summary: "etcd.type is external but no node has the etcd role",
    explain: "\
## What it checks
That external etcd has members: nodes with `roles: [etcd]`.

## Why it matters
With external etcd the API servers connect to the `etcd` nodes; with none there is no
datastore and `kubeadm init` cannot start.

## Example
```yaml
etcd:
  type: external
nodes:
  - {name: m1, address: 10.0.0.11, roles: [control-plane]}
```

## Fix
Add three nodes with `roles: [etcd]`, or use `etcd.type: stacked`.
",
};

/// TOP014.
pub const ETCD_ROLE_WITH_STACKED_ETCD: Rule = Rule {
    code: "TOP014",
    name: "etcd-role-with-stacked-etcd",
    severity: Severity::Error,
    summary: "A node has the etcd role but etcd is stacked on the control planes",
    explain: "\
## What it checks
That the `etcd` role is only used with `etcd.type: external`.

## Why it matters
With stacked etcd, kubeadm runs one etcd member on each control-plane node and nothing
else. A node marked `etcd` would get no etcd at all, and the etcd count you see in the
file would not be the one the cluster has.

## Example
```yaml
etcd:
  type: stacked
nodes:
  - {name: e1, address: 10.0.0.21, roles: [etcd]}
```

## Fix
Set `etcd.type: external` to run etcd on dedicated hosts, or remove the `etcd` role.
",
};

/// TOP015.
pub const INVALID_ETCD_VERSION: Rule = Rule {
    code: "TOP015",
    name: "invalid-etcd-version",
    severity: Severity::Error,
    summary: "etcd.version is not an etcd release such as 3.5.24",
    explain: "\
## What it checks
That `spec.etcd.version`, when given, reads as `<major>.<minor>.<patch>` (a leading `v`
is allowed).

## Why it matters
The runbook downloads exactly this release (its tarball and its published checksum
file), and each node's `hagen-preflight` compares the installed etcd against it. A
label such as `latest` or a release without its patch names no file to download.

## Example
```yaml
etcd:
  type: external
  version: \"3.5\"
```

## Fix
Write the full release, such as `3.5.24`, or leave the key out to take the etcd that
kubeadm of your Kubernetes release runs itself.
",
};

/// TOP016.
pub const EXTERNAL_ETCD_TOO_OLD: Rule = Rule {
    code: "TOP016",
    name: "external-etcd-too-old",
    severity: Severity::Error,
    summary: "The external etcd release is older than kubeadm of this Kubernetes release accepts",
    explain: "\
## What it checks
With `etcd.type: external`, that `etcd.version` is not older than kubeadm's
`MinExternalEtcdVersion` for `kubernetesVersion` (3.5.x or higher from 1.28 on, rising
with patch releases: 3.5.24 for 1.33.6 and later, 3.6.4 for 1.34).

## Why it matters
`kubeadm init` asks every external etcd endpoint for its version and stops at preflight
with `[ERROR ExternalEtcdVersion]` below that minimum; skipping the check leaves an etcd
the API server is not tested against (1.31 and later rely on health endpoints that 3.5
has only from 3.5.11). Distribution packages are often older: Debian 12 ships 3.4.23.

## Example
```yaml
kubernetesVersion: v1.33.6
etcd:
  type: external
  version: 3.4.23
```

## Fix
Use the release the message names or newer, or leave `etcd.version` out: the default is
the etcd kubeadm of your Kubernetes release runs itself, and the runbook installs it from
the upstream release with its published checksum.
",
};

fn members_label(cx: &Ctx<'_>) -> &'static str {
    match cx.etcd {
        EtcdType::Stacked => "control-plane nodes with stacked etcd",
        EtcdType::External => "external etcd nodes",
    }
}

/// TOP010.
pub fn even_etcd_members(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let n = cx.etcd_members().count();
    if n == 0 || n % 2 == 1 || (n == 2 && cx.etcd == EtcdType::Stacked) {
        return;
    }
    // Point at the member that makes the count even: removing it is one of the fixes.
    let Some(last) = cx.etcd_members().last() else {
        return;
    };
    let (span, path) = (last.node.name.span(), last.path("name"));
    out.push(
        Diagnostic::new(
            &EVEN_ETCD_MEMBERS,
            format!(
                "{n} etcd members ({}): quorum is {}, so they tolerate {} failure{}, the same as {}",
                members_label(cx),
                quorum(n),
                tolerated_failures(n),
                if tolerated_failures(n) == 1 { "" } else { "s" },
                n - 1
            ),
        )
        .at(span, path)
        .help(format!(
            "use {} or {} members; {} members tolerate {} failures",
            n - 1,
            n + 1,
            n + 1,
            tolerated_failures(n + 1)
        )),
    );
}

/// TOP011.
pub fn single_etcd_member(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let members: Vec<_> = cx.etcd_members().collect();
    if let [only] = members.as_slice() {
        out.push(
            Diagnostic::new(
                &SINGLE_ETCD_MEMBER,
                format!(
                    "one etcd member ({}): losing it stops the whole cluster",
                    only.name()
                ),
            )
            .at(only.node.name.span(), only.path("name"))
            .help("use 3 etcd members to survive the loss of one"),
        );
    }
}

/// TOP012.
pub fn too_many_etcd_members(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let n = cx.etcd_members().count();
    if n > 7 {
        let (span, path) = cx.etcd_span();
        out.push(
            Diagnostic::new(
                &TOO_MANY_ETCD_MEMBERS,
                format!(
                    "{n} etcd members ({}): every write waits for {} of them",
                    members_label(cx),
                    quorum(n)
                ),
            )
            .at(span, path)
            .help("keep 5 or 7 etcd members"),
        );
    }
}

/// TOP013.
pub fn external_etcd_without_members(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if cx.etcd == EtcdType::External && cx.etcd_members().count() == 0 {
        let (span, path) = cx.etcd_span();
        out.push(
            Diagnostic::new(
                &EXTERNAL_ETCD_WITHOUT_MEMBERS,
                "etcd is external but no node has the `etcd` role",
            )
            .at(span, path)
            .help("add nodes with `roles: [etcd]` (3 of them), or use `etcd.type: stacked`"),
        );
    }
}

/// TOP014.
pub fn etcd_role_with_stacked_etcd(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if cx.etcd != EtcdType::Stacked {
        return;
    }
    for n in &cx.nodes {
        for (i, role) in n.node.roles.iter().enumerate() {
            if **role == Role::Etcd {
                out.push(
                    Diagnostic::new(
                        &ETCD_ROLE_WITH_STACKED_ETCD,
                        format!("node `{}` has the `etcd` role, but etcd is stacked on the control planes", n.name()),
                    )
                    .at(role.span(), n.path(&format!("roles[{i}]")))
                    .help("set `spec.etcd.type: external` for dedicated etcd hosts, or remove this role"),
                );
            }
        }
    }
}

/// TOP015.
pub fn invalid_etcd_version(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let (Some(why), Some(v)) = (
        &cx.etcd_version_error,
        cx.spec.etcd.as_ref().and_then(|e| e.version.as_ref()),
    ) else {
        return;
    };
    out.push(
        Diagnostic::new(&INVALID_ETCD_VERSION, why.to_string())
            .at(v.span(), "spec.etcd.version")
            .help("write the full release, such as 3.5.24, or leave it out for kubeadm's own"),
    );
}

/// TOP016.
pub fn external_etcd_too_old(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let (Some(kube), Some(etcd)) = (&cx.version, cx.etcd_version) else {
        return;
    };
    let min = kube.min_external_etcd();
    if cx.etcd != EtcdType::External || etcd >= min {
        return;
    }
    let given = cx.spec.etcd.as_ref().and_then(|e| e.version.as_ref());
    let (span, path) = match given {
        Some(v) => (v.span(), "spec.etcd.version"),
        None => (cx.spec.kubernetes_version.span(), "spec.kubernetesVersion"),
    };
    out.push(
        Diagnostic::new(
            &EXTERNAL_ETCD_TOO_OLD,
            format!(
                "external etcd {etcd} is older than {min}, the oldest kubeadm {kube} accepts: `kubeadm init` stops at its ExternalEtcdVersion preflight check"
            ),
        )
        .at(span, path)
        .help(format!(
            "use etcd {min} or newer (kubeadm {kube} itself runs {}), or leave etcd.version out for that default",
            kube.default_etcd()
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn even_counts_carry_the_arithmetic() {
        let four = [THREE_CP.as_slice(), &["cp4 10.0.0.14 control-plane"]].concat();
        let m = messages(&topology("", &four), "TOP010");
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("4 etcd members")
                && m[0].contains("quorum is 3")
                && m[0].contains("tolerate 1 failure, the same as 3"),
            "{}",
            m[0]
        );
        assert!(codes(&topology("", &THREE_CP)).is_empty());
    }

    #[test]
    fn external_members_are_counted_not_control_planes() {
        let nodes = [
            "cp1 10.0.0.11 control-plane",
            "cp2 10.0.0.12 control-plane",
            "cp3 10.0.0.13 control-plane",
            "e1 10.0.0.21 etcd",
            "e2 10.0.0.22 etcd",
        ];
        let t = topology("etcd:\n  type: external", &nodes);
        assert_eq!(codes(&t), vec!["TOP010"]);
        assert!(messages(&t, "TOP010")[0].contains("2 etcd members (external etcd nodes)"));
    }

    #[test]
    fn single_many_none_and_misplaced() {
        assert!(codes(&topology("", &["cp1 10.0.0.11 control-plane"])).contains(&"TOP011"));
        let nine: Vec<String> = (1..=9)
            .map(|i| format!("cp{i} 10.0.0.{} control-plane", 10 + i))
            .collect();
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        assert!(codes(&topology("", &nine)).contains(&"TOP012"));
        assert!(codes(&topology("etcd:\n  type: external", &THREE_CP)).contains(&"TOP013"));
        let with_etcd = [THREE_CP.as_slice(), &["e1 10.0.0.21 etcd"]].concat();
        assert_eq!(codes(&topology("", &with_etcd)), vec!["TOP014"]);
    }

    #[test]
    fn etcd_versions() {
        let nodes = [
            "cp1 10.0.0.11 control-plane",
            "cp2 10.0.0.12 control-plane",
            "e1 10.0.0.21 etcd",
            "e2 10.0.0.22 etcd",
            "e3 10.0.0.23 etcd",
        ];
        let ext = |v: &str| topology(&format!("etcd:\n  type: external\n  version: {v}"), &nodes);
        assert!(codes(&topology("etcd:\n  type: external", &nodes)).is_empty());
        assert!(codes(&ext("3.5.24")).is_empty());
        assert_eq!(codes(&ext("latest")), vec!["TOP015"]);
        let m = messages(&ext("3.4.23"), "TOP016");
        assert_eq!(
            m,
            vec![
                "external etcd 3.4.23 is older than 3.5.11, the oldest kubeadm v1.31.2 accepts: `kubeadm init` stops at its ExternalEtcdVersion preflight check"
            ]
        );
        // Stacked etcd runs kubeadm's own image: the release is not checked.
        assert!(
            codes(&topology(
                "etcd:\n  type: stacked\n  version: 3.4.23",
                &THREE_CP
            ))
            .is_empty()
        );
    }
}
