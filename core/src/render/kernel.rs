//! The kernel settings kubeadm's preflight demands, on every node kubeadm sets up: a
//! sysctl.d file (IPv4 forwarding, bridged traffic through iptables, IPv6 forwarding when
//! any cluster network is IPv6) and a modules-load.d file (`br_netfilter`, without which
//! the bridge sysctls do not exist, and `overlay` for the container runtime). Both take
//! effect at boot; the runbook applies them at once (`modprobe`, `sysctl --system`).

use super::{FileSpec, Input, On, always, kubeadm_nodes, to_value};
use crate::bundle::MODE_FILE;
use crate::plan::{Node, Plan};
use minijinja::value::Value;
use serde::Serialize;

/// Where the sysctl file goes (the preflight's fix messages name it).
pub(super) const SYSCTL_PATH: &str = "etc/sysctl.d/90-hagen-kubernetes.conf";
/// Where the module list goes.
pub(super) const MODULES_PATH: &str = "etc/modules-load.d/hagen-kubernetes.conf";

const SYSCTL: FileSpec = FileSpec {
    template: template!("sysctl-kubernetes.conf"),
    path: SYSCTL_PATH,
    mode: MODE_FILE,
    applies: always,
    on: On::Nodes {
        nodes: kubeadm_nodes,
        banner: "kernel settings kubeadm requires, on {node}",
        context,
    },
};

pub(super) const FILES: &[FileSpec] = &[
    SYSCTL,
    FileSpec {
        template: template!("modules-kubernetes.conf"),
        path: MODULES_PATH,
        ..SYSCTL
    },
];

/// The kernel modules to load (boot and runbook).
pub(super) const MODULES: &[&str] = &["overlay", "br_netfilter"];

#[derive(Serialize)]
struct Ctx {
    ipv6: bool,
    modules: &'static [&'static str],
}

/// True when kubeadm's preflight checks IPv6 forwarding: a pod or Service network, or
/// the node's own address, is IPv6 (`InitNodeChecks` walks the CIDRs since 1.27).
pub(super) fn needs_ipv6_forwarding(plan: &Plan, node: &Node) -> bool {
    node.address.is_ipv6()
        || plan.service_subnets.contains(':')
        || plan.pod_subnet.as_deref().is_some_and(|p| p.contains(':'))
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    Some(to_value(Ctx {
        ipv6: needs_ipv6_forwarding(input.plan, node),
        modules: MODULES,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    #[test]
    fn ipv6_forwarding_only_for_ipv6_networks() {
        let v4 = render_text(&topology("", &THREE_CP));
        let conf = text(&v4, "nodes/cp1/etc/sysctl.d/90-hagen-kubernetes.conf");
        assert!(conf.contains("net.ipv4.ip_forward = 1\n"), "{conf}");
        assert!(conf.contains("net.bridge.bridge-nf-call-iptables = 1\n"));
        assert!(!conf.contains("ipv6"), "{conf}");
        let dual = render_text(&topology(
            "networking:\n  podSubnet: 10.244.0.0/16,fd00:10:244::/56",
            &THREE_CP,
        ));
        let conf = text(&dual, "nodes/cp1/etc/sysctl.d/90-hagen-kubernetes.conf");
        assert!(
            conf.contains("net.ipv6.conf.all.forwarding = 1\n"),
            "{conf}"
        );
        assert!(
            conf.contains("net.ipv6.conf.default.forwarding = 1\n"),
            "{conf}"
        );
        let modules = text(&dual, "nodes/cp1/etc/modules-load.d/hagen-kubernetes.conf");
        assert!(modules.ends_with("overlay\nbr_netfilter\n"), "{modules}");
    }
}
