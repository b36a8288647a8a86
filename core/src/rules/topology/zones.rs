//! TOP030–TOP033: failure domains. For each zone: does losing it keep etcd quorum and
//! at least one API server?

use super::{Ctx, quorum, tolerated_failures};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// TOP030.
pub const ZONE_LOSS_BREAKS_ETCD_QUORUM: Rule = Rule {
    code: "TOP030",
    name: "zone-loss-breaks-etcd-quorum",
    severity: Severity::Error,
    summary: "Losing one zone takes away etcd's majority",
    explain: "\
## What it checks
For every zone, whether the etcd members outside it still form a majority of all
members. Only checked when nodes name two or more zones.

## Why it matters
Zones are declared so that a whole room, rack or availability zone can fail. If one zone
holds half or more of the etcd members, its loss stops etcd, and every API server with
it, in exactly the failure the zones were meant to survive.

With **two zones** no placement works: one zone always holds at least half of the
members, and losing that larger zone always breaks quorum (3 members as 2+1: losing
the 2 leaves 1 of 3). A third zone is needed, even if it only holds a single etcd
member as a tie-breaker.

## Example
```yaml
nodes:
  - {name: m1, address: 10.0.0.11, roles: [control-plane], zone: a}
  - {name: m2, address: 10.0.0.12, roles: [control-plane], zone: a}
  - {name: m3, address: 10.0.0.13, roles: [control-plane], zone: b}
```

## Fix
Spread the members over at least three zones so that no zone holds as many members as
the cluster can lose plus one: 3 members as 1+1+1, 5 as 2+2+1.
",
};

/// TOP031.
pub const ZONE_LOSS_REMOVES_ALL_API_SERVERS: Rule = Rule {
    code: "TOP031",
    name: "zone-loss-removes-all-api-servers",
    severity: Severity::Error,
    summary: "Every control plane is in one zone, so that zone's loss takes the API down",
    explain: "\
## What it checks
For every zone, whether at least one control-plane node is outside it. Only checked
when nodes name two or more zones.

## Why it matters
The endpoint can only forward to API servers that are alive. If all of them share a
zone, workers in the other zones lose the API when that zone fails.

## Example
Three control planes in zone `a`, workers in zone `b`.

## Fix
Place the control planes in different zones (one per zone with three zones).
",
};

/// TOP032.
pub const SINGLE_ZONE: Rule = Rule {
    code: "TOP032",
    name: "single-zone",
    severity: Severity::Warning,
    summary: "All control planes and etcd members are in one zone",
    explain: "\
## What it checks
That the nodes with a zone do not all name the same one while the cluster has several
control planes.

## Why it matters
Several control planes protect against one machine failing, but not against the zone
(rack, power feed, switch, availability zone) they share. If that is a deliberate
choice, zones add nothing; if not, the layout is less available than it looks.

## Example
Three control planes, all with `zone: a`.

## Fix
Spread the control planes over three zones, or remove the `zone` keys if there is
only one failure domain.
",
};

/// TOP033.
pub const NODE_MISSING_ZONE: Rule = Rule {
    code: "TOP033",
    name: "node-missing-zone",
    severity: Severity::Warning,
    summary: "Some nodes name a zone and this one does not",
    explain: "\
## What it checks
That when any node names a zone, every control-plane and etcd node does.

## Why it matters
The zone checks can only reason about nodes whose zone is known. A node without one
is assumed to survive every zone failure, which may hide a broken spread.

## Example
```yaml
nodes:
  - {name: m1, address: 10.0.0.11, roles: [control-plane], zone: a}
  - {name: m2, address: 10.0.0.12, roles: [control-plane]}
```

## Fix
Give the node its `zone`.
",
};

/// TOP030.
pub fn zone_loss_breaks_etcd_quorum(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let zones = cx.zones();
    let n = cx.etcd_members().count();
    if zones.len() < 2 || n < 2 {
        return;
    }
    for zone in &zones {
        let loss = cx.after_losing(|m| m.zone() == Some(zone));
        let (lost, left) = (&loss.etcd_lost, loss.etcd_left);
        if loss.etcd_ok {
            continue;
        }
        let first = lost[0];
        let Some(zone_value) = &first.node.zone else {
            continue;
        };
        let help = if zones.len() == 2 {
            format!(
                "with two zones one always holds at least half of the {n} members, so no placement survives losing the larger one: add a third zone (one etcd member there is enough)"
            )
        } else {
            format!(
                "put at most {} of the {n} members in any one zone",
                tolerated_failures(n)
            )
        };
        out.push(
            Diagnostic::new(
                &ZONE_LOSS_BREAKS_ETCD_QUORUM,
                format!(
                    "losing zone `{zone}` takes {} of {n} etcd members ({}), leaving {left}: short of the quorum of {}",
                    lost.len(),
                    lost.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
                    quorum(n)
                ),
            )
            .at(zone_value.span(), first.path("zone"))
            .help(help),
        );
    }
}

/// TOP031.
pub fn zone_loss_removes_all_api_servers(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let zones = cx.zones();
    let cps: Vec<_> = cx.control_planes().collect();
    if zones.len() < 2 || cps.is_empty() {
        return;
    }
    for zone in zones {
        if cx
            .after_losing(|c| c.zone() == Some(zone))
            .api_servers_left
            .is_empty()
        {
            let Some(zone_value) = &cps[0].node.zone else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    &ZONE_LOSS_REMOVES_ALL_API_SERVERS,
                    format!("all {} control planes are in zone `{zone}`; losing it leaves no API server", cps.len()),
                )
                .at(zone_value.span(), cps[0].path("zone"))
                .help("place the control planes in different zones"),
            );
        }
    }
}

/// TOP032.
pub fn single_zone(cx: &Ctx<'_>, out: &mut Diagnostics) {
    let zones = cx.zones();
    let cps: Vec<_> = cx.control_planes().collect();
    if zones.len() != 1 || cps.len() < 2 {
        return;
    }
    let Some(first) = cx.nodes.iter().find(|n| n.zone().is_some()) else {
        return;
    };
    let Some(zone_value) = &first.node.zone else {
        return;
    };
    out.push(
        Diagnostic::new(
            &SINGLE_ZONE,
            format!(
                "every node with a zone is in `{}`: the {} control planes do not survive that zone's loss",
                zones[0],
                cps.len()
            ),
        )
        .at(zone_value.span(), first.path("zone"))
        .help("spread the control planes over three zones, or drop `zone` if there is one failure domain"),
    );
}

/// TOP033.
pub fn node_missing_zone(cx: &Ctx<'_>, out: &mut Diagnostics) {
    if cx.zones().is_empty() {
        return;
    }
    let etcd: Vec<usize> = cx.etcd_members().map(|m| m.index).collect();
    for n in &cx.nodes {
        let matters = n.has(crate::topology::Role::ControlPlane) || etcd.contains(&n.index);
        if n.zone().is_none() && matters {
            out.push(
                Diagnostic::new(
                    &NODE_MISSING_ZONE,
                    format!(
                        "node `{}` has no zone, while other nodes name theirs",
                        n.name()
                    ),
                )
                .at(n.node.name.span(), n.path("name"))
                .help("add `zone:` to this node so the zone checks can count it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn three_zones_one_each_is_fine() {
        let nodes = [
            "cp1 10.0.0.11 control-plane a",
            "cp2 10.0.0.12 control-plane b",
            "cp3 10.0.0.13 control-plane c",
        ];
        assert!(codes(&topology("", &nodes)).is_empty());
    }

    #[test]
    fn two_zones_always_break_quorum() {
        let nodes = [
            "cp1 10.0.0.11 control-plane a",
            "cp2 10.0.0.12 control-plane a",
            "cp3 10.0.0.13 control-plane b",
        ];
        let t = topology("", &nodes);
        assert_eq!(codes(&t), vec!["TOP030"]);
        let m = messages(&t, "TOP030");
        assert!(m[0].contains("losing zone `a` takes 2 of 3 etcd members (cp1, cp2), leaving 1: short of the quorum of 2"), "{}", m[0]);
        let checked = crate::check(&crate::source::SourceFile::new("t", t.as_str()));
        let help = checked
            .diagnostics
            .iter()
            .next()
            .unwrap()
            .help
            .clone()
            .unwrap();
        assert!(help.contains("no placement survives"), "{help}");
    }

    #[test]
    fn five_over_three_zones() {
        let ok = [
            "m1 10.0.0.11 control-plane a",
            "m2 10.0.0.12 control-plane a",
            "m3 10.0.0.13 control-plane b",
            "m4 10.0.0.14 control-plane b",
            "m5 10.0.0.15 control-plane c",
        ];
        assert!(codes(&topology("", &ok)).is_empty());
        let bad = [
            "m1 10.0.0.11 control-plane a",
            "m2 10.0.0.12 control-plane a",
            "m3 10.0.0.13 control-plane a",
            "m4 10.0.0.14 control-plane b",
            "m5 10.0.0.15 control-plane c",
        ];
        assert_eq!(codes(&topology("", &bad)), vec!["TOP030"]);
    }

    #[test]
    fn api_servers_single_zone_and_missing_zone() {
        let ext = [
            "cp1 10.0.0.11 control-plane a",
            "cp2 10.0.0.12 control-plane a",
            "e1 10.0.0.21 etcd a",
            "e2 10.0.0.22 etcd b",
            "e3 10.0.0.23 etcd c",
        ];
        assert_eq!(
            codes(&topology("etcd:\n  type: external", &ext)),
            vec!["TOP031"]
        );
        let one = [
            "cp1 10.0.0.11 control-plane a",
            "cp2 10.0.0.12 control-plane a",
            "cp3 10.0.0.13 control-plane a",
        ];
        assert_eq!(codes(&topology("", &one)), vec!["TOP032"]);
        let some = [
            "cp1 10.0.0.11 control-plane a",
            "cp2 10.0.0.12 control-plane b",
            "cp3 10.0.0.13 control-plane",
        ];
        assert_eq!(codes(&topology("", &some)), vec!["TOP033"]);
    }
}
