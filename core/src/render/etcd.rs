//! External etcd: per etcd host a config file and a systemd unit, TLS for clients and
//! peers with certificate authentication on both, and the full initial cluster from the
//! start, so no member ever needs to be added by hand.

use super::{FileSpec, Input, On, etcd_members, to_value};
use crate::bundle::MODE_FILE;
use crate::plan::Node;
use crate::topology::EtcdType;
use minijinja::value::Value;
use serde::Serialize;

/// The config file; the unit only differs in template and path, and shares its context.
const CONF: FileSpec = FileSpec {
    template: template!("etcd.conf.yml"),
    path: "etc/etcd/etcd.conf.yml",
    mode: MODE_FILE,
    applies: |plan| plan.etcd == EtcdType::External,
    on: On::Nodes {
        nodes: etcd_members,
        banner: "etcd member {node}",
        context,
    },
};

pub(super) const FILES: &[FileSpec] = &[
    CONF,
    FileSpec {
        template: template!("etcd.service"),
        path: "etc/systemd/system/etcd.service",
        ..CONF
    },
];

#[derive(Serialize)]
struct Ctx {
    name: String,
    client_url: String,
    peer_url: String,
    initial_cluster: String,
    cluster_token: String,
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let initial_cluster = plan
        .etcd_members()
        .map(|m| format!("{}={}", m.name, m.etcd_peer_url()))
        .collect::<Vec<_>>()
        .join(",");
    Some(to_value(Ctx {
        name: node.name.clone(),
        client_url: node.etcd_client_url(),
        peer_url: node.etcd_peer_url(),
        initial_cluster,
        cluster_token: format!("{}-etcd", plan.cluster_name),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::topology;

    #[test]
    fn every_member_knows_the_whole_cluster() {
        let nodes = [
            "cp1 10.0.0.11 control-plane",
            "cp2 10.0.0.12 control-plane",
            "e1 10.0.0.21 etcd",
            "e2 10.0.0.22 etcd",
            "e3 10.0.0.23 etcd",
        ];
        let b = render_text(&topology("etcd:\n  type: external", &nodes));
        let conf = text(&b, "nodes/e2/etc/etcd/etcd.conf.yml");
        assert!(conf.contains("initial-cluster: \"e1=https://10.0.0.21:2380,e2=https://10.0.0.22:2380,e3=https://10.0.0.23:2380\""), "{conf}");
        assert_eq!(conf.matches("client-cert-auth: true").count(), 2);
        assert!(
            !conf.contains("http://10.0.0"),
            "only metrics may be plain http, on loopback"
        );
        assert!(
            text(&b, "nodes/e1/etc/systemd/system/etcd.service")
                .contains("--config-file /etc/etcd/etcd.conf.yml")
        );
        let init = text(&b, "nodes/cp1/etc/kubernetes/kubeadm-config.yaml");
        assert!(init.contains("external:") && init.contains("\"https://10.0.0.23:2379\""));
        assert!(b.get("nodes/cp1/etc/etcd/etcd.conf.yml").is_none());
    }
}
