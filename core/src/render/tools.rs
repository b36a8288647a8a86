//! Small helpers installed on nodes: `hagen-etcdctl`, etcdctl with this cluster's
//! endpoints and client certificate already filled in. kubeadm installs no etcdctl on
//! the host, so on a stacked control plane without one the script runs the etcdctl of
//! the etcd static pod's image (`crictl exec`), with the client certificate that pod
//! mounts (`etcd/healthcheck-client`: the API server's is not mounted there).

use super::{FileSpec, Input, On, always, to_value};
use crate::bundle::MODE_EXEC;
use crate::plan::{Node, Plan};
use crate::topology::{EtcdType, Role};
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("hagen-etcdctl"),
    path: "usr/local/bin/hagen-etcdctl",
    mode: MODE_EXEC,
    applies: always,
    on: On::Nodes {
        nodes,
        banner: "etcdctl for this cluster, on {node}",
        context,
    },
}];

#[derive(Serialize)]
struct Ctx {
    endpoints: String,
    cacert: &'static str,
    cert: &'static str,
    key: &'static str,
    /// The etcd static pod runs here: fall back to its etcdctl.
    stacked: bool,
}

/// The nodes that hold an etcd client certificate: control planes (the API server's)
/// and external etcd hosts (the health check's).
fn nodes(plan: &Plan) -> Vec<&Node> {
    let external = plan.etcd == EtcdType::External;
    plan.nodes
        .iter()
        .filter(|n| n.has(Role::ControlPlane) || (external && n.has(Role::Etcd)))
        .collect()
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let (cacert, cert, key) = if node.has(Role::ControlPlane) {
        (
            "/etc/kubernetes/pki/etcd/ca.crt",
            "/etc/kubernetes/pki/apiserver-etcd-client.crt",
            "/etc/kubernetes/pki/apiserver-etcd-client.key",
        )
    } else {
        (
            "/etc/etcd/pki/ca.crt",
            "/etc/etcd/pki/healthcheck-client.crt",
            "/etc/etcd/pki/healthcheck-client.key",
        )
    };
    Some(to_value(Ctx {
        endpoints: plan
            .etcd_members()
            .map(Node::etcd_client_url)
            .collect::<Vec<_>>()
            .join(","),
        cacert,
        cert,
        key,
        stacked: plan.etcd == EtcdType::Stacked && node.has(Role::ControlPlane),
    }))
}
