//! `README.md` at the top of the bundle: the runbook for this topology. What goes where
//! (and a command to install it that cannot re-own `/`), how to prepare a fresh
//! Debian/Ubuntu node (packages that must not start on their defaults, etcd from its
//! release, kernel settings, swap, `hagen-preflight`), the exact command per node in
//! order, how to recover from a failed step, how to verify, the failover drill, and the
//! what-if table from validate.

use super::kernel::{MODULES, MODULES_PATH, SYSCTL_PATH};
use super::{FileSpec, Input, On, always, to_value};
use crate::bundle::MODE_FILE;
use crate::topology::{EtcdType, LbType, Role};
use crate::whatif;
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("README.md"),
    path: "README.md",
    mode: MODE_FILE,
    applies: always,
    on: On::Bundle { context },
}];

#[derive(Serialize)]
struct NodeRow {
    name: String,
    address: String,
    roles: String,
    zone: String,
}

#[derive(Serialize)]
struct Ctx {
    cluster: String,
    version: String,
    kubeadm_api: &'static str,
    lb: &'static str,
    endpoint: String,
    endpoint_host: String,
    port: u16,
    bind_port: u16,
    vip: Option<String>,
    dns: Option<String>,
    external_etcd: bool,
    super_admin: bool,
    nodes: Vec<NodeRow>,
    first: String,
    first_address: String,
    joining_control_planes: Vec<String>,
    workers: Vec<String>,
    etcd_hosts: Vec<String>,
    second: Option<String>,
    what_if: String,
    etcd_version: String,
    sysctl_path: &'static str,
    modules_path: &'static str,
    modules: &'static [&'static str],
    /// Packaged services that must be masked before their package is installed.
    kube_services: &'static [&'static str],
    kube_packages: &'static [&'static str],
    service_nodes: &'static str,
    has_interface: bool,
}

fn context(input: &Input<'_>) -> Option<Value> {
    let plan = input.plan;
    let cps: Vec<_> = plan.control_planes().collect();
    let first = cps.first()?;
    let (kube_services, kube_packages, service_nodes): (&[&str], &[&str], &str) =
        match plan.load_balancer.kind {
            LbType::HaproxyKeepalived => (
                &["haproxy", "keepalived"],
                &["haproxy", "keepalived", "curl"],
                "control planes",
            ),
            LbType::Keepalived => (&["keepalived"], &["keepalived", "curl"], "control planes"),
            LbType::NginxLocal => (
                &["nginx"],
                &["nginx", "libnginx-mod-stream"],
                "control planes and workers",
            ),
            LbType::KubeVip | LbType::External => (&[], &[], ""),
        };
    Some(to_value(Ctx {
        cluster: plan.cluster_name.clone(),
        version: plan.version.to_string(),
        kubeadm_api: plan.kubeadm_api.api_version(),
        lb: plan.load_balancer.kind.as_str(),
        endpoint: plan.endpoint.address().to_string(),
        endpoint_host: plan.endpoint.host().to_string(),
        port: plan.endpoint.port,
        bind_port: plan.bind_port,
        vip: plan.endpoint.vip.map(|v| v.addr.to_string()),
        dns: plan.endpoint.dns.clone(),
        external_etcd: plan.etcd == EtcdType::External,
        super_admin: plan.load_balancer.kind == LbType::KubeVip
            && plan.version.has_super_admin_conf(),
        nodes: plan
            .nodes
            .iter()
            .map(|n| NodeRow {
                name: n.name.clone(),
                address: n.address.to_string(),
                roles: n
                    .roles
                    .iter()
                    .map(|r| match r {
                        Role::ControlPlane => "control-plane",
                        Role::Worker => "worker",
                        Role::Etcd => "etcd",
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                zone: n.zone.clone().unwrap_or_else(|| "-".into()),
            })
            .collect(),
        first: first.name.clone(),
        first_address: first.address.to_string(),
        joining_control_planes: cps.iter().skip(1).map(|n| n.name.clone()).collect(),
        workers: plan
            .nodes
            .iter()
            .filter(|n| n.has(Role::Worker) && !n.has(Role::ControlPlane))
            .map(|n| n.name.clone())
            .collect(),
        etcd_hosts: if plan.etcd == EtcdType::External {
            plan.etcd_members().map(|n| n.name.clone()).collect()
        } else {
            Vec::new()
        },
        second: cps.get(1).map(|n| n.name.clone()),
        what_if: whatif::table(input.what_if),
        etcd_version: plan.etcd_version.to_string(),
        sysctl_path: SYSCTL_PATH,
        modules_path: MODULES_PATH,
        modules: MODULES,
        kube_services,
        kube_packages,
        service_nodes,
        has_interface: plan.nodes.iter().any(|n| n.interface.is_some()),
    }))
}
