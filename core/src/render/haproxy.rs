//! haproxy.cfg on every control plane (haproxy-keepalived): a TCP frontend on the
//! endpoint port, every API server a backend on bindPort, checked over HTTPS against
//! the cluster CA.

use super::{Input, RenderError, banner, node_path, render_template, url_host};
use crate::bundle::{Bundle, MODE_FILE};
use crate::topology::LbType;
use minijinja::Environment;
use serde::Serialize;

#[derive(Clone, Serialize)]
struct Backend {
    name: String,
    address: String,
}

#[derive(Serialize)]
struct Ctx {
    banner: String,
    port: u16,
    bind_port: u16,
    backends: Vec<Backend>,
}

pub(super) fn render(
    input: &Input<'_>,
    env: &Environment<'static>,
    out: &mut Bundle,
) -> Result<(), RenderError> {
    let plan = input.plan;
    if plan.load_balancer.kind != LbType::HaproxyKeepalived {
        return Ok(());
    }
    let backends: Vec<Backend> = plan
        .control_planes()
        .map(|n| Backend {
            name: n.name.clone(),
            address: url_host(&n.address),
        })
        .collect();
    for node in plan.control_planes() {
        let ctx = Ctx {
            banner: banner(
                plan,
                &format!("haproxy in front of the API servers, on {}", node.name),
            ),
            port: plan.endpoint.port,
            bind_port: plan.bind_port,
            backends: backends.clone(),
        };
        out.add(
            node_path(node, "etc/haproxy/haproxy.cfg"),
            render_template(env, "haproxy.cfg", &ctx)?,
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
