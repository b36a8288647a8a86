//! keepalived.conf and its track script on every control plane, for haproxy-keepalived
//! (the VIP follows a healthy haproxy) and keepalived alone (the VIP follows a healthy
//! API server). Unicast peers, distinct priorities, and a track-script weight larger
//! than the priority spread, so a failing check always moves the VIP.

use super::{FileSpec, Input, On, control_planes, to_value};
use crate::bundle::{MODE_EXEC, MODE_FILE};
use crate::plan::{Node, Plan};
use crate::topology::LbType;
use minijinja::value::Value;
use serde::Serialize;

/// Priority of the first control plane; each next one is one lower.
const TOP_PRIORITY: u16 = 150;

pub(super) const FILES: &[FileSpec] = &[
    FileSpec {
        template: template!("keepalived.conf"),
        path: "etc/keepalived/keepalived.conf",
        mode: MODE_FILE,
        applies: uses_vrrp,
        on: On::Nodes {
            nodes: control_planes,
            banner: "keepalived VRRP for the API VIP, on {node}",
            context,
        },
    },
    FileSpec {
        template: template!("check_apiserver.sh"),
        path: "etc/keepalived/check_apiserver.sh",
        mode: MODE_EXEC,
        applies: uses_vrrp,
        on: On::Nodes {
            nodes: control_planes,
            banner: "keepalived track script, on {node}",
            context: check_context,
        },
    },
];

/// haproxy-keepalived and keepalived alone; kube-vip moves its VIP without VRRP.
fn uses_vrrp(plan: &Plan) -> bool {
    plan.load_balancer.kind.uses_vrrp()
}

#[derive(Serialize)]
struct Ctx {
    node_name: String,
    state: &'static str,
    interface: String,
    virtual_router_id: u8,
    priority: u16,
    weight: u16,
    source: String,
    peers: Vec<String>,
    vip: String,
    auth_pass: Option<String>,
}

#[derive(Serialize)]
struct CheckCtx {
    what: &'static str,
    host: String,
    port: u16,
}

/// The track script's weight: larger than the spread of priorities, so the top node
/// with a failing check drops below every healthy one.
pub fn weight(control_planes: usize) -> u16 {
    (control_planes as u16 + 1).max(20)
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let lb = &plan.load_balancer;
    let vip = plan.endpoint.vip?;
    let cps: Vec<_> = plan.control_planes().collect();
    let i = cps.iter().position(|p| p.name == node.name)?;
    Some(to_value(Ctx {
        node_name: node.name.clone(),
        state: if i == 0 { "MASTER" } else { "BACKUP" },
        interface: node.interface.clone().unwrap_or_default(),
        virtual_router_id: lb.virtual_router_id,
        priority: TOP_PRIORITY - i as u16,
        weight: weight(cps.len()),
        source: node.address.to_string(),
        peers: cps
            .iter()
            .filter(|p| p.name != node.name)
            .map(|p| p.address.to_string())
            .collect(),
        vip: match vip.prefix {
            Some(p) => format!("{}/{p}", vip.addr),
            None => vip.addr.to_string(),
        },
        auth_pass: lb.auth_pass.clone(),
    }))
}

fn check_context(input: &Input<'_>, _node: &Node) -> Option<Value> {
    let plan = input.plan;
    let vip = plan.endpoint.vip?;
    // The check goes through what the VIP serves: haproxy's frontend on the endpoint port,
    // or the API server itself on bindPort. TLS is verified for the endpoint's name.
    let (what, port) = match plan.load_balancer.kind {
        LbType::HaproxyKeepalived => ("haproxy on this node", plan.endpoint.port),
        _ => ("the API server on this node", plan.bind_port),
    };
    Some(to_value(CheckCtx {
        what,
        host: plan
            .endpoint
            .dns
            .clone()
            .unwrap_or_else(|| crate::net::Host::Ip(vip.addr).bracketed()),
        port,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::bundle::MODE_EXEC;
    use crate::rules::topology::test_support::{THREE_CP, topology};

    fn priority(conf: &str) -> i32 {
        conf.lines()
            .find_map(|l| l.trim().strip_prefix("priority "))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn weight_moves_the_vip_and_peers_are_unicast() {
        let b = render_text(&topology("", &THREE_CP));
        let confs: Vec<String> = ["cp1", "cp2", "cp3"]
            .iter()
            .map(|n| text(&b, &format!("nodes/{n}/etc/keepalived/keepalived.conf")))
            .collect();
        let prios: Vec<i32> = confs.iter().map(|c| priority(c)).collect();
        assert!(
            prios.windows(2).all(|w| w[0] > w[1]),
            "distinct, decreasing: {prios:?}"
        );
        let weight: i32 = confs[0]
            .lines()
            .find_map(|l| l.trim().strip_prefix("weight "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            prios[0] + weight < prios[prios.len() - 1],
            "a failing top node must drop below the lowest healthy one"
        );
        assert!(
            confs[1].contains("unicast_src_ip 10.0.0.12")
                && confs[1].contains("10.0.0.11\n")
                && confs[1].contains("10.0.0.13\n")
        );
        assert!(
            confs[0].contains("virtual_router_id 51")
                && confs[0].contains("10.0.0.100/24 dev eth0")
        );
        assert!(!confs[0].contains("auth_pass"));
        let script = b
            .get("nodes/cp1/etc/keepalived/check_apiserver.sh")
            .unwrap();
        assert_eq!(script.mode, MODE_EXEC);
        let script = text(&b, "nodes/cp1/etc/keepalived/check_apiserver.sh");
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(
            script.contains("10.0.0.100:8443:127.0.0.1:8443")
                && script.contains("--cacert /etc/kubernetes/pki/ca.crt"),
            "{script}"
        );
    }

    #[test]
    fn keepalived_alone_checks_the_local_api_server() {
        let spec = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  dns: api.k8s.local\nloadBalancer:\n  type: keepalived\n  interface: eth0\n  authPass: s3cret";
        let b = render_text(&topology(spec, &THREE_CP));
        let script = text(&b, "nodes/cp2/etc/keepalived/check_apiserver.sh");
        assert!(
            script.contains("api.k8s.local:6443:127.0.0.1:6443"),
            "{script}"
        );
        assert!(b.get("nodes/cp2/etc/haproxy/haproxy.cfg").is_none());
        assert!(text(&b, "nodes/cp2/etc/keepalived/keepalived.conf").contains("auth_pass s3cret"));
    }
}
