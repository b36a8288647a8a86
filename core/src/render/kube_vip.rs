//! kube-vip static pods on every control plane: ARP mode with leader election. On 1.29+
//! the first control plane mounts super-admin.conf during `kubeadm init`, because
//! admin.conf has no rights until init has created its RBAC binding.

use super::{FileSpec, Input, On, control_planes, to_value};
use crate::bundle::MODE_FILE;
use crate::plan::Node;
use crate::topology::LbType;
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("kube-vip.yaml"),
    path: "etc/kubernetes/manifests/kube-vip.yaml",
    mode: MODE_FILE,
    applies: |plan| plan.load_balancer.kind == LbType::KubeVip,
    on: On::Nodes {
        nodes: control_planes,
        banner: "kube-vip static pod, on {node}",
        context,
    },
}];

#[derive(Serialize)]
struct Ctx {
    image: String,
    interface: String,
    address: String,
    port: u16,
    kubeconfig: &'static str,
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let vip = plan.endpoint.vip?;
    let first = plan.control_planes().next().map(|n| &n.name) == Some(&node.name);
    let kubeconfig = if first && plan.version.has_super_admin_conf() {
        "/etc/kubernetes/super-admin.conf"
    } else {
        "/etc/kubernetes/admin.conf"
    };
    Some(to_value(Ctx {
        image: plan.load_balancer.kube_vip_image.clone(),
        interface: node.interface.clone().unwrap_or_default(),
        address: vip.addr.to_string(),
        port: plan.bind_port,
        kubeconfig,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    const SPEC: &str = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\nloadBalancer:\n  type: kube-vip\n  interface: eth0";

    #[test]
    fn super_admin_on_the_first_node_from_129() {
        let b = render_text(&topology(SPEC, &THREE_CP));
        let first = text(&b, "nodes/cp1/etc/kubernetes/manifests/kube-vip.yaml");
        assert!(
            first.contains("path: /etc/kubernetes/super-admin.conf"),
            "{first}"
        );
        let second = text(&b, "nodes/cp2/etc/kubernetes/manifests/kube-vip.yaml");
        assert!(second.contains("path: /etc/kubernetes/admin.conf"));
        assert!(
            second.contains("- name: address\n          value: \"10.0.0.100\""),
            "{second}"
        );
        let old = render_text(&topology(SPEC, &THREE_CP).replace("v1.31.2", "v1.28.3"));
        assert!(
            text(&old, "nodes/cp1/etc/kubernetes/manifests/kube-vip.yaml")
                .contains("path: /etc/kubernetes/admin.conf")
        );
    }
}
