//! Small helpers installed on nodes: `hagen-etcdctl`, etcdctl with this cluster's
//! endpoints and client certificate already filled in.

use super::{Input, RenderError, banner, node_path, render_template, url_host};
use crate::bundle::{Bundle, MODE_EXEC};
use crate::topology::{EtcdType, Role};
use minijinja::Environment;
use serde::Serialize;

#[derive(Serialize)]
struct Ctx {
    banner: String,
    endpoints: String,
    cacert: &'static str,
    cert: &'static str,
    key: &'static str,
}

pub(super) fn render(
    input: &Input<'_>,
    env: &Environment<'static>,
    out: &mut Bundle,
) -> Result<(), RenderError> {
    let plan = input.plan;
    let endpoints = plan
        .etcd_members()
        .map(|m| format!("https://{}:2379", url_host(&m.address)))
        .collect::<Vec<_>>()
        .join(",");
    for node in &plan.nodes {
        let (cacert, cert, key) = if node.has(Role::ControlPlane) {
            (
                "/etc/kubernetes/pki/etcd/ca.crt",
                "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                "/etc/kubernetes/pki/apiserver-etcd-client.key",
            )
        } else if node.has(Role::Etcd) && plan.etcd == EtcdType::External {
            (
                "/etc/etcd/pki/ca.crt",
                "/etc/etcd/pki/healthcheck-client.crt",
                "/etc/etcd/pki/healthcheck-client.key",
            )
        } else {
            continue;
        };
        let ctx = Ctx {
            banner: banner(plan, &format!("etcdctl for this cluster, on {}", node.name)),
            endpoints: endpoints.clone(),
            cacert,
            cert,
            key,
        };
        out.add(
            node_path(node, "usr/local/bin/hagen-etcdctl"),
            render_template(env, "hagen-etcdctl", &ctx)?,
            MODE_EXEC,
        );
    }
    Ok(())
}
