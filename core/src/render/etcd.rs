//! External etcd: per etcd host a config file and a systemd unit, TLS for clients and
//! peers with certificate authentication on both, and the full initial cluster from the
//! start, so no member ever needs to be added by hand.

use super::{Input, RenderError, banner, node_path, render_template, url_host};
use crate::bundle::{Bundle, MODE_FILE};
use crate::topology::EtcdType;
use minijinja::Environment;
use serde::Serialize;

#[derive(Serialize)]
struct Ctx {
    banner: String,
    name: String,
    address: String,
    initial_cluster: String,
    cluster_token: String,
}

pub(super) fn render(
    input: &Input<'_>,
    env: &Environment<'static>,
    out: &mut Bundle,
) -> Result<(), RenderError> {
    let plan = input.plan;
    if plan.etcd != EtcdType::External {
        return Ok(());
    }
    let initial_cluster = plan
        .etcd_members()
        .map(|m| format!("{}=https://{}:2380", m.name, url_host(&m.address)))
        .collect::<Vec<_>>()
        .join(",");
    for node in plan.etcd_members() {
        let ctx = Ctx {
            banner: banner(plan, &format!("etcd member {}", node.name)),
            name: node.name.clone(),
            address: url_host(&node.address),
            initial_cluster: initial_cluster.clone(),
            cluster_token: format!("{}-etcd", plan.cluster_name),
        };
        out.add(
            node_path(node, "etc/etcd/etcd.conf.yml"),
            render_template(env, "etcd.conf.yml", &ctx)?,
            MODE_FILE,
        );
        out.add(
            node_path(node, "etc/systemd/system/etcd.service"),
            render_template(env, "etcd.service", &ctx)?,
            MODE_FILE,
        );
    }
    Ok(())
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
