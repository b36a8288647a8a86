//! TOP020–TOP024: control-plane count and node roles.

use super::Ctx;
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::topology::EtcdType;

/// TOP020.
pub const NO_CONTROL_PLANE: Rule = Rule {
    code: "TOP020",
    name: "no-control-plane",
    severity: Severity::Error,
    summary: "No node has the control-plane role",
    explain: "\
## What it checks
That at least one node has `roles: [control-plane]`.

## Why it matters
Without a control plane there is no API server, no scheduler and no controller manager:
nothing to `kubeadm init` on.

## Example
```yaml
nodes:
  - {name: w1, address: 10.0.0.31, roles: [worker]}
```

## Fix
Give three nodes the `control-plane` role.
",
};

/// TOP021.
pub const TWO_STACKED_CONTROL_PLANES: Rule = Rule {
    code: "TOP021",
    name: "two-stacked-control-planes",
    severity: Severity::Error,
    summary: "Two control planes with stacked etcd: less available than one",
    explain: "\
## What it checks
That a stacked-etcd cluster does not have exactly two control-plane nodes.

## Why it matters
Each stacked control plane carries an etcd member. Two members need both for quorum, so
losing either machine stops etcd and with it every API server: twice the machines, twice
the chance of an outage, and no failure tolerated. This is the most common
\"HA\" mistake.

## Example
```yaml
nodes:
  - {name: m1, address: 10.0.0.11, roles: [control-plane]}
  - {name: m2, address: 10.0.0.12, roles: [control-plane]}
```

## Fix
Use three control planes (tolerates one failure), or one if high availability is not the
goal.
",
};

/// TOP022.
pub const SINGLE_CONTROL_PLANE: Rule = Rule {
    code: "TOP022",
    name: "single-control-plane",
    severity: Severity::Warning,
    summary: "One control plane: the API is not highly available",
    explain: "\
## What it checks
That there are at least two control-plane nodes.

## Why it matters
With one API server, its machine's reboot or failure makes the API unreachable: no
scheduling, no scaling, no `kubectl`. A load balancer in front of one server only moves
the single point of failure.

## Example
One node with `roles: [control-plane]`.

## Fix
Add control planes: three with stacked etcd, or two or more with external etcd.
",
};

/// TOP023.
pub const NODE_WITHOUT_ROLES: Rule = Rule {
    code: "TOP023",
    name: "node-without-roles",
    severity: Severity::Error,
    summary: "A node has no roles, so hagen does not know what to make for it",
    explain: "\
## What it checks
That every node lists at least one role: `control-plane`, `worker` or `etcd`.

## Why it matters
Roles decide every file a node gets (kubeadm init or join, a proxy, certificates). A node
without roles would get nothing and silently not be part of the cluster.

## Example
```yaml
nodes:
  - {name: w1, address: 10.0.0.31, roles: []}
```

## Fix
Add the node's role, for example `roles: [worker]`, or remove the node.
",
};

/// TOP024.
pub const DUPLICATE_ROLE: Rule = Rule {
    code: "TOP024",
    name: "duplicate-role",
    severity: Severity::Warning,
    summary: "A node lists the same role twice",
    explain: "\
## What it checks
That no role appears twice in one node's `roles`.

## Why it matters
It changes nothing, but it is usually a copy-paste slip where another role was meant.

## Example
```yaml
roles: [control-plane, control-plane]
```

## Fix
Remove the repeated role, or write the role that was meant.
",
};

/// TOP020.
pub fn no_control_plane(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if cx.control_planes().count() == 0 && !cx.nodes.is_empty() {
        out.push(
            Diagnostic::new(&NO_CONTROL_PLANE, "no node has the `control-plane` role")
                .at(cx.nodes_span(), "spec.nodes")
                .help("give three nodes `roles: [control-plane]`"),
        );
    }
    if cx.nodes.is_empty() {
        out.push(
            Diagnostic::new(&NO_CONTROL_PLANE, "`spec.nodes` is empty")
                .at(cx.nodes_span(), "spec.nodes")
                .help("list the cluster's machines, three of them with `roles: [control-plane]`"),
        );
    }
}

/// TOP021.
pub fn two_stacked_control_planes(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let cps: Vec<_> = cx.control_planes().collect();
    if cps.len() == 2 && cx.etcd == EtcdType::Stacked {
        out.push(
            Diagnostic::new(
                &TWO_STACKED_CONTROL_PLANES,
                format!(
                    "2 control planes with stacked etcd ({} and {}): etcd quorum needs both, so losing either stops the cluster",
                    cps[0].name(),
                    cps[1].name()
                ),
            )
            .at(cps[1].node.name.span(), cps[1].path("name"))
            .label(cps[0].node.name.span(), "the other etcd member")
            .help("use 3 control planes (or 1 if HA is not the goal)"),
        );
    }
}

/// TOP022.
pub fn single_control_plane(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let cps: Vec<_> = cx.control_planes().collect();
    if let [only] = cps.as_slice() {
        out.push(
            Diagnostic::new(
                &SINGLE_CONTROL_PLANE,
                format!(
                    "one control plane ({}): the API goes down with that machine",
                    only.name()
                ),
            )
            .at(only.node.name.span(), only.path("name"))
            .help("add two more control-plane nodes"),
        );
    }
}

/// TOP023.
pub fn node_without_roles(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for n in &cx.nodes {
        if n.node.roles.is_empty() {
            out.push(
                Diagnostic::new(
                    &NODE_WITHOUT_ROLES,
                    format!("node `{}` has no roles", n.name()),
                )
                .at(n.node.roles.span(), n.path("roles"))
                .help("add `control-plane`, `worker` or `etcd`"),
            );
        }
    }
}

/// TOP024.
pub fn duplicate_role(cx: &Ctx<'_>, out: &mut Diagnostics) {
    for n in &cx.nodes {
        for (i, role) in n.node.roles.iter().enumerate() {
            if let Some(first) = n.node.roles[..i].iter().find(|r| ***r == **role) {
                out.push(
                    Diagnostic::new(
                        &DUPLICATE_ROLE,
                        format!("node `{}` lists a role twice", n.name()),
                    )
                    .at(role.span(), n.path(&format!("roles[{i}]")))
                    .label(first.span(), "first listed here")
                    .help("remove the repeated role"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn counts() {
        assert!(codes(&topology("", &["w1 10.0.0.31 worker"])).contains(&"TOP020"));
        let two = &THREE_CP[..2];
        assert_eq!(codes(&topology("", two)), vec!["TOP021"]);
        // Two control planes are fine when etcd lives elsewhere.
        let ext = [
            two,
            &[
                "e1 10.0.0.21 etcd",
                "e2 10.0.0.22 etcd",
                "e3 10.0.0.23 etcd",
            ],
        ]
        .concat();
        assert!(codes(&topology("etcd:\n  type: external", &ext)).is_empty());
        assert!(codes(&topology("", &THREE_CP[..1])).contains(&"TOP022"));
    }

    #[test]
    fn roles() {
        let t = topology("", &THREE_CP).replace(
            "roles: [control-plane]\n    - name: cp3",
            "roles: [control-plane, control-plane]\n    - name: cp3",
        );
        assert_eq!(codes(&t), vec!["TOP024"]);
        let t = topology(
            "",
            &[THREE_CP.as_slice(), &["w1 10.0.0.31 worker"]].concat(),
        )
        .replace("[worker]", "[]");
        assert_eq!(codes(&t), vec!["TOP023"]);
    }
}
