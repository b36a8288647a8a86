//! haproxy.cfg on every control plane (haproxy-keepalived): a TCP frontend on the
//! endpoint port, every API server a backend on bindPort, checked over HTTPS against
//! the cluster CA.

use super::{FileSpec, Input, On, control_planes, to_value};
use crate::bundle::MODE_FILE;
use crate::plan::Node;
use crate::topology::LbType;
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("haproxy.cfg"),
    path: "etc/haproxy/haproxy.cfg",
    mode: MODE_FILE,
    applies: |plan| plan.load_balancer.kind == LbType::HaproxyKeepalived,
    on: On::Nodes {
        nodes: control_planes,
        banner: "haproxy in front of the API servers, on {node}",
        context,
    },
}];

#[derive(Serialize)]
struct Backend {
    name: String,
    address: String,
}

#[derive(Serialize)]
struct Ctx {
    port: u16,
    backends: Vec<Backend>,
}

fn context(input: &Input<'_>, _node: &Node) -> Option<Value> {
    let plan = input.plan;
    let backends = plan
        .control_planes()
        .map(|n| Backend {
            name: n.name.clone(),
            address: n.at(plan.bind_port).to_string(),
        })
        .collect();
    Some(to_value(Ctx {
        port: plan.endpoint.port,
        backends,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    #[test]
    fn checks_verify_tls_and_every_control_plane_is_a_backend() {
        let b = render_text(&topology("", &THREE_CP));
        let cfg = text(&b, "nodes/cp2/etc/haproxy/haproxy.cfg");
        assert!(cfg.contains("bind *:8443"));
        for (name, ip) in [
            ("cp1", "10.0.0.11"),
            ("cp2", "10.0.0.12"),
            ("cp3", "10.0.0.13"),
        ] {
            assert!(
                cfg.contains(&format!("server {name} {ip}:6443 check verifyhost {name}")),
                "{cfg}"
            );
        }
        assert!(cfg.contains("verify required ca-file /etc/kubernetes/pki/ca.crt"));
        assert!(
            !cfg.contains("verify none")
                && !cfg.contains("ssl-hello-chk")
                && !cfg.contains("stats auth")
        );
        assert!(
            cfg.ends_with('\n'),
            "haproxy 2.6 rejects a last line without a newline"
        );
    }
}
