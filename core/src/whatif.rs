//! The what-if table: for every single node, every zone and the VIP holder, what is
//! left after losing it: does etcd keep quorum, does an API server stay reachable
//! through the endpoint?

use crate::rules::topology::{Ctx, NodeFacts};
use crate::topology::LbType;
use serde::Serialize;

/// What is lost in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// One machine.
    Node,
    /// Every machine of a zone.
    Zone,
    /// The machine that holds the VIP when all are up.
    VipHolder,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// What is lost.
    pub loss: Loss,
    /// The node or zone name.
    pub name: String,
    /// The nodes that go down.
    pub nodes_lost: Vec<String>,
    /// etcd members before the loss.
    pub etcd_members: usize,
    /// etcd members still up.
    pub etcd_left: usize,
    /// Members needed for quorum.
    pub etcd_quorum: usize,
    /// True if etcd still has quorum.
    pub etcd_ok: bool,
    /// API servers still up.
    pub api_servers_left: usize,
    /// True if clients still reach an API server through the endpoint.
    pub endpoint_ok: bool,
    /// True if the control plane keeps working (etcd quorum and a reachable API server).
    pub survives: bool,
    /// Where the endpoint goes, or why it fails.
    pub note: String,
}

/// Computes the table from a parsed topology's facts.
pub fn what_if(cx: &Ctx<'_>) -> Vec<Scenario> {
    let mut rows = Vec::new();
    for n in &cx.nodes {
        rows.push(scenario(cx, Loss::Node, n.name(), &[n]));
    }
    for zone in cx.zones() {
        let lost: Vec<&NodeFacts<'_>> =
            cx.nodes.iter().filter(|n| n.zone() == Some(zone)).collect();
        rows.push(scenario(cx, Loss::Zone, zone, &lost));
    }
    if cx.lb.holds_vip()
        && let Some(holder) = cx.control_planes().next()
    {
        rows.push(scenario(cx, Loss::VipHolder, holder.name(), &[holder]));
    }
    rows
}

fn scenario(cx: &Ctx<'_>, loss: Loss, name: &str, lost: &[&NodeFacts<'_>]) -> Scenario {
    let is_lost = |n: &NodeFacts<'_>| lost.iter().any(|l| l.index == n.index);
    let left = cx.after_losing(is_lost);
    let (members, etcd_left, etcd_ok) = (left.etcd_members, left.etcd_left, left.etcd_ok);
    let survivors = left.api_servers_left;
    let api_left = survivors.len();
    let (endpoint_ok, note) = match (cx.lb, survivors.first()) {
        (_, None) => (false, "no API server left".to_string()),
        // kube-vip elects its VIP leader through a Lease in the API, so it needs etcd.
        (LbType::KubeVip, Some(_)) if !etcd_ok => (
            false,
            "kube-vip cannot renew its lease without etcd quorum; the VIP is dropped".to_string(),
        ),
        (LbType::KubeVip | LbType::Keepalived | LbType::HaproxyKeepalived, Some(next)) => {
            let holder = cx.control_planes().next();
            if holder.is_some_and(is_lost) {
                (true, format!("VIP moves to {}", next.name()))
            } else {
                (
                    true,
                    format!("VIP stays on {}", holder.map_or("", |h| h.name())),
                )
            }
        }
        (LbType::NginxLocal, Some(_)) => (
            true,
            format!("every node's nginx forwards to the {api_left} API servers left"),
        ),
        (LbType::External, Some(_)) => (
            true,
            "the external load balancer forwards to the API servers left (if it is itself up)"
                .to_string(),
        ),
    };
    Scenario {
        loss,
        name: name.to_string(),
        nodes_lost: lost.iter().map(|n| n.name().to_string()).collect(),
        etcd_members: members,
        etcd_left,
        etcd_quorum: left.etcd_quorum,
        etcd_ok,
        api_servers_left: api_left,
        endpoint_ok,
        survives: etcd_ok && endpoint_ok,
        note,
    }
}

/// The table as aligned text, for `hagen validate`'s human output.
pub fn table(rows: &[Scenario]) -> String {
    let header = [
        "if we lose",
        "etcd left/quorum",
        "API servers left",
        "endpoint",
        "survives",
    ];
    let mut cells: Vec<[String; 5]> = vec![header.map(String::from)];
    for r in rows {
        let what = match r.loss {
            Loss::Node => format!("node {}", r.name),
            Loss::Zone => format!("zone {} ({})", r.name, r.nodes_lost.join(", ")),
            Loss::VipHolder => format!("VIP holder {}", r.name),
        };
        cells.push([
            what,
            format!(
                "{}/{} {}",
                r.etcd_left,
                r.etcd_quorum,
                if r.etcd_ok { "ok" } else { "LOST" }
            ),
            r.api_servers_left.to_string(),
            r.note.clone(),
            if r.survives { "yes" } else { "NO" }.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 4 {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str("  ");
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::topology::test_support::topology;

    fn rows(spec: &str, nodes: &[&str]) -> Vec<Scenario> {
        let text = topology(spec, nodes);
        what_if(&Ctx::new(&crate::parse::parse(&text).unwrap()))
    }

    #[test]
    fn three_zones_survive_any_single_loss() {
        let r = rows(
            "",
            &[
                "a1 10.0.0.11 control-plane a",
                "b1 10.0.0.12 control-plane b",
                "c1 10.0.0.13 control-plane c",
            ],
        );
        assert_eq!(r.len(), 3 + 3 + 1);
        assert!(r.iter().all(|s| s.survives), "{r:#?}");
        let vip = r.iter().find(|s| s.loss == Loss::VipHolder).unwrap();
        assert_eq!(
            (vip.name.as_str(), vip.note.as_str()),
            ("a1", "VIP moves to b1")
        );
    }

    #[test]
    fn two_zones_lose_the_larger() {
        let r = rows(
            "",
            &[
                "a1 10.0.0.11 control-plane a",
                "a2 10.0.0.12 control-plane a",
                "b1 10.0.0.13 control-plane b",
            ],
        );
        let zone_a = r
            .iter()
            .find(|s| s.loss == Loss::Zone && s.name == "a")
            .unwrap();
        assert_eq!(
            (
                zone_a.etcd_left,
                zone_a.etcd_quorum,
                zone_a.etcd_ok,
                zone_a.survives
            ),
            (1, 2, false, false)
        );
        let zone_b = r
            .iter()
            .find(|s| s.loss == Loss::Zone && s.name == "b")
            .unwrap();
        assert!(zone_b.survives);
    }

    #[test]
    fn kube_vip_needs_quorum_for_its_lease() {
        let spec = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\nloadBalancer:\n  type: kube-vip\n  interface: eth0";
        let r = rows(
            spec,
            &[
                "a1 10.0.0.11 control-plane a",
                "a2 10.0.0.12 control-plane a",
                "b1 10.0.0.13 control-plane b",
            ],
        );
        let zone_a = r
            .iter()
            .find(|s| s.loss == Loss::Zone && s.name == "a")
            .unwrap();
        assert!(
            !zone_a.endpoint_ok && zone_a.api_servers_left == 1,
            "{zone_a:?}"
        );
        // nginx-local keeps forwarding (the API server is up, if read-only without etcd).
        let r = rows(
            "controlPlaneEndpoint:\n  port: 8443\nloadBalancer:\n  type: nginx-local",
            &[
                "a1 10.0.0.11 control-plane a",
                "a2 10.0.0.12 control-plane a",
                "b1 10.0.0.13 control-plane b",
            ],
        );
        let zone_a = r
            .iter()
            .find(|s| s.loss == Loss::Zone && s.name == "a")
            .unwrap();
        assert!(zone_a.endpoint_ok && !zone_a.survives);
        assert!(r.iter().all(|s| s.loss != Loss::VipHolder));
    }
}
