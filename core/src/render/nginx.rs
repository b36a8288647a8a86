//! nginx.conf on every node (nginx-local): a `stream` proxy on 127.0.0.1 that forwards
//! to every API server, with passive health checks and timeouts that keep watches open.

use super::{FileSpec, Input, On, kubeadm_nodes, to_value};
use crate::bundle::MODE_FILE;
use crate::plan::Node;
use crate::topology::LbType;
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("nginx.conf"),
    path: "etc/nginx/nginx.conf",
    mode: MODE_FILE,
    applies: |plan| plan.load_balancer.kind == LbType::NginxLocal,
    on: On::Nodes {
        nodes: kubeadm_nodes,
        banner: "nginx local proxy to the API servers, on {node}",
        context,
    },
}];

#[derive(Serialize)]
struct Ctx {
    port: u16,
    upstreams: Vec<String>,
}

fn context(input: &Input<'_>, _node: &Node) -> Option<Value> {
    let plan = input.plan;
    Some(to_value(Ctx {
        port: plan.endpoint.port,
        upstreams: plan
            .control_planes()
            .map(|n| n.at(plan.bind_port).to_string())
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    #[test]
    fn every_node_proxies_on_loopback() {
        let spec = "controlPlaneEndpoint:\n  dns: api.k8s.local\n  port: 8443\nloadBalancer:\n  type: nginx-local";
        let b = render_text(&topology(
            spec,
            &[THREE_CP.as_slice(), &["w1 10.0.0.31 worker"]].concat(),
        ));
        for n in ["cp1", "cp2", "cp3", "w1"] {
            let conf = text(&b, &format!("nodes/{n}/etc/nginx/nginx.conf"));
            assert!(conf.contains("listen 127.0.0.1:8443;"));
            assert!(conf.contains("include /etc/nginx/modules-enabled/*.conf;"));
            assert!(
                conf.contains("server 10.0.0.13:6443 max_fails=2 fail_timeout=10s;"),
                "{conf}"
            );
        }
    }
}
