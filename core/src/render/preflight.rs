//! `usr/local/bin/hagen-preflight` on every node: a read-only POSIX sh script that checks
//! what this node needs before the runbook's first step (its address on its interface,
//! the VIP not yet taken, the ports it must bind free, kernel settings and swap, the
//! clock inside its certificates' validity window, the endpoint name, the installed
//! versions) and prints one line per failure saying what to do. Exit 0 only when every
//! check passes.
//!
//! The certificates' window is known only once the PKI exists, after rendering: the
//! template writes an empty `cert_window=''` line and [`stamp_cert_window`] (called by
//! [`crate::assemble`]) fills it in from the node's own certificates. A bundle rendered
//! without a PKI (previews, goldens) skips the clock check.

use super::kernel::{MODULES_PATH, SYSCTL_PATH, needs_ipv6_forwarding};
use super::{FileSpec, Input, On, always, to_value};
use crate::bundle::{Bundle, MODE_EXEC};
use crate::plan::{ETCD_CLIENT_PORT, ETCD_PEER_PORT, Node, Plan};
use crate::topology::{EtcdType, LbType, Role};
use crate::version::{MIN_HAPROXY, MIN_KEEPALIVED, MIN_NGINX};
use minijinja::value::Value;
use serde::Serialize;

/// Where the script goes on every node.
pub const PATH: &str = "usr/local/bin/hagen-preflight";

/// The line the template leaves for [`stamp_cert_window`].
const WINDOW_MARKER: &str = "cert_window=''\n";

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("hagen-preflight"),
    path: PATH,
    mode: MODE_EXEC,
    applies: always,
    on: On::Nodes {
        nodes: every_node,
        banner: "preflight checks for {node}",
        context,
    },
}];

/// kubelet's port, which kubeadm's preflight also checks.
const KUBELET_PORT: u16 = 10250;
/// kube-controller-manager's secure port.
const CONTROLLER_MANAGER_PORT: u16 = 10257;
/// kube-scheduler's secure port.
const SCHEDULER_PORT: u16 = 10259;

fn every_node(plan: &Plan) -> Vec<&Node> {
    plan.nodes.iter().collect()
}

#[derive(Serialize)]
struct Port {
    port: u16,
    what: &'static str,
}

#[derive(Serialize)]
struct Ctx {
    name: String,
    address: String,
    interface: Option<String>,
    kubeadm_node: bool,
    vip: Option<String>,
    ports: Vec<Port>,
    ipv6_forwarding: bool,
    sysctl_path: &'static str,
    modules_path: &'static str,
    dns: Option<String>,
    dns_expect: Option<String>,
    kubeadm_version: Option<String>,
    etcd_version: Option<String>,
    haproxy_min: Option<&'static str>,
    keepalived_min: Option<&'static str>,
    nginx_min: Option<&'static str>,
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let lb = plan.load_balancer.kind;
    let cp = node.has(Role::ControlPlane);
    let kubeadm_node = cp || node.has(Role::Worker);
    let external_member = plan.etcd == EtcdType::External && node.has(Role::Etcd);
    let etcd_member = external_member || (cp && plan.etcd == EtcdType::Stacked);
    let mut ports = Vec::new();
    let mut add = |port: u16, what: &'static str| {
        if !ports.iter().any(|p: &Port| p.port == port) {
            ports.push(Port { port, what });
        }
    };
    if cp {
        add(plan.bind_port, "kube-apiserver (apiServer.bindPort)");
        add(CONTROLLER_MANAGER_PORT, "kube-controller-manager");
        add(SCHEDULER_PORT, "kube-scheduler");
    }
    if etcd_member {
        add(ETCD_CLIENT_PORT, "etcd (clients)");
        add(ETCD_PEER_PORT, "etcd (peers)");
    }
    if kubeadm_node {
        add(KUBELET_PORT, "kubelet");
    }
    match lb {
        LbType::HaproxyKeepalived if cp => {
            add(plan.endpoint.port, "haproxy (controlPlaneEndpoint.port)")
        }
        LbType::NginxLocal if kubeadm_node => {
            add(plan.endpoint.port, "nginx (controlPlaneEndpoint.port)")
        }
        _ => {}
    }
    let holds_vip = matches!(
        lb,
        LbType::HaproxyKeepalived | LbType::Keepalived | LbType::KubeVip
    );
    let vip = plan.endpoint.vip.map(|v| v.addr.to_string());
    let dns_expect = match lb {
        LbType::NginxLocal => Some("127.0.0.1".to_string()),
        _ => vip.clone(),
    };
    Some(to_value(Ctx {
        name: node.name.clone(),
        address: node.address.to_string(),
        interface: node.interface.clone(),
        kubeadm_node,
        vip: if holds_vip && cp { vip } else { None },
        ports,
        ipv6_forwarding: kubeadm_node && needs_ipv6_forwarding(plan, node),
        sysctl_path: SYSCTL_PATH,
        modules_path: MODULES_PATH,
        dns: if kubeadm_node {
            plan.endpoint.dns.clone()
        } else {
            None
        },
        dns_expect,
        kubeadm_version: kubeadm_node.then(|| plan.version.to_string()),
        etcd_version: external_member.then(|| plan.etcd_version.to_string()),
        haproxy_min: (cp && lb == LbType::HaproxyKeepalived).then_some(MIN_HAPROXY),
        keepalived_min: (cp && matches!(lb, LbType::HaproxyKeepalived | LbType::Keepalived))
            .then_some(MIN_KEEPALIVED),
        nginx_min: (kubeadm_node && lb == LbType::NginxLocal).then_some(MIN_NGINX),
    }))
}

/// Fills each node's preflight with the window in which all of that node's certificates
/// are valid (the latest notBefore, the earliest notAfter), read from the certificates
/// the bundle holds for it. A node without certificates (a worker) keeps the empty
/// window, and its preflight skips the clock check.
pub fn stamp_cert_window(bundle: &mut Bundle) {
    let scripts: Vec<String> = bundle
        .iter()
        .filter(|(p, _)| p.ends_with(&format!("/{PATH}")))
        .map(|(p, _)| p.clone())
        .collect();
    for script in scripts {
        let Some(node_dir) = script.strip_suffix(PATH) else {
            continue;
        };
        let mut window: Option<(i64, i64)> = None;
        for (path, file) in bundle.iter() {
            if !(path.starts_with(node_dir) && path.ends_with(".crt")) {
                continue;
            }
            let Some((from, until)) = validity(&file.bytes) else {
                continue;
            };
            window = Some(match window {
                None => (from, until),
                Some((f, u)) => (f.max(from), u.min(until)),
            });
        }
        let (Some((from, until)), Some(file)) = (window, bundle.get(&script)) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&file.bytes) else {
            continue;
        };
        let stamped = text.replacen(WINDOW_MARKER, &format!("cert_window='{from} {until}'\n"), 1);
        let mode = file.mode;
        bundle.add(script, stamped, mode);
    }
}

/// A PEM certificate's notBefore and notAfter, in seconds since the epoch.
fn validity(pem_bytes: &[u8]) -> Option<(i64, i64)> {
    // Through `pki::validity`, not an X.509 parser: the wizard renders bundles too.
    let pem = pem::parse(pem_bytes).ok()?;
    crate::pki::validity(pem.contents())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    #[test]
    fn each_node_checks_its_own_facts() {
        let b = render_text(&topology("", &THREE_CP));
        let cp2 = text(&b, "nodes/cp2/usr/local/bin/hagen-preflight");
        assert!(cp2.starts_with("#!/bin/sh\n"));
        assert!(cp2.contains("check_address '10.0.0.12' 'eth0'"), "{cp2}");
        assert!(cp2.contains("check_port 8443 'haproxy (controlPlaneEndpoint.port)'"));
        assert!(cp2.contains("check_port 2380 'etcd (peers)'"));
        assert!(cp2.contains("check_vip '10.0.0.100'"));
        assert!(cp2.contains("check_exact kubeadm 'v1.31.2'"));
        assert!(cp2.contains(super::WINDOW_MARKER));
    }
}
