//! nginx.conf on every node (nginx-local): a `stream` proxy on 127.0.0.1 that forwards
//! to every API server, with passive health checks and timeouts that keep watches open.

use super::{Input, RenderError, banner, node_path, render_template, url_host};
use crate::bundle::{Bundle, MODE_FILE};
use crate::topology::{LbType, Role};
use minijinja::Environment;
use serde::Serialize;

#[derive(Serialize)]
struct Ctx {
    banner: String,
    port: u16,
    bind_port: u16,
    upstreams: Vec<String>,
}

pub(super) fn render(
    input: &Input<'_>,
    env: &Environment<'static>,
    out: &mut Bundle,
) -> Result<(), RenderError> {
    let plan = input.plan;
    if plan.load_balancer.kind != LbType::NginxLocal {
        return Ok(());
    }
    let upstreams: Vec<String> = plan
        .control_planes()
        .map(|n| url_host(&n.address))
        .collect();
    for node in plan
        .nodes
        .iter()
        .filter(|n| n.has(Role::ControlPlane) || n.has(Role::Worker))
    {
        let ctx = Ctx {
            banner: banner(
                plan,
                &format!("nginx local proxy to the API servers, on {}", node.name),
            ),
            port: plan.endpoint.port,
            bind_port: plan.bind_port,
            upstreams: upstreams.clone(),
        };
        out.add(
            node_path(node, "etc/nginx/nginx.conf"),
            render_template(env, "nginx.conf", &ctx)?,
            MODE_FILE,
        );
    }
    Ok(())
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
