//! Step 3: the validated plan. Spans stripped, defaults applied, values parsed. Built
//! only from a topology the rules accepted, so nothing here reports problems.

use crate::defaults;
use crate::net::{Cidr, Host, HostPort, IfAddr};
use crate::rules::topology::Ctx;
use crate::topology::{EtcdType, KeyAlgorithm, LbType, Role};
use crate::version::{EtcdVersion, KubeVersion, KubeadmApi};
use std::net::{IpAddr, Ipv4Addr};

/// Everything the renderers need, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// kubeadm `clusterName`.
    pub cluster_name: String,
    /// The Kubernetes version.
    pub version: KubeVersion,
    /// The kubeadm configuration API to write.
    pub kubeadm_api: KubeadmApi,
    /// The stable endpoint.
    pub endpoint: Endpoint,
    /// kube-apiserver's port on every control plane.
    pub bind_port: u16,
    /// Extra API server SANs, as written.
    pub cert_sans: Vec<String>,
    /// The load balancer.
    pub load_balancer: LoadBalancer,
    /// The etcd layout.
    pub etcd: EtcdType,
    /// The etcd release external members run (the runbook installs it, the preflight
    /// checks it).
    pub etcd_version: EtcdVersion,
    /// Pod network(s), comma-separated as kubeadm takes them.
    pub pod_subnet: Option<String>,
    /// Service network (the first one, when dual-stack).
    pub service_subnet: Cidr,
    /// Service networks as kubeadm takes them (`v4` or `v4,v6`).
    pub service_subnets: String,
    /// Cluster DNS domain.
    pub dns_domain: String,
    /// Key algorithm of every generated key.
    pub key_algorithm: KeyAlgorithm,
    /// Leaf lifetime, in days.
    pub cert_validity_days: u32,
    /// CA lifetime, in days.
    pub ca_validity_days: u32,
    /// Every node, in the order written.
    pub nodes: Vec<Node>,
}

/// The address clients dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The VIP, if any.
    pub vip: Option<IfAddr>,
    /// The DNS name, if any.
    pub dns: Option<String>,
    /// The port clients dial.
    pub port: u16,
}

impl Endpoint {
    /// The host of kubeadm's `controlPlaneEndpoint`: the DNS name, else the VIP, else
    /// loopback (nginx-local without a name: every node dials its own proxy).
    pub fn host(&self) -> Host {
        match (&self.dns, &self.vip) {
            (Some(dns), _) => Host::Name(dns.clone()),
            (None, Some(vip)) => Host::Ip(vip.addr),
            (None, None) => Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }

    /// `controlPlaneEndpoint` itself: the host and the port clients dial.
    pub fn address(&self) -> HostPort {
        HostPort::new(self.host(), self.port)
    }
}

/// The load balancer, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    /// Its type.
    pub kind: LbType,
    /// The default VRRP / ARP interface.
    pub interface: Option<String>,
    /// The VRRP virtual router id.
    pub virtual_router_id: u8,
    /// The VRRP password, if asked for.
    pub auth_pass: Option<String>,
    /// The kube-vip image.
    pub kube_vip_image: String,
}

/// One machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Its address.
    pub address: IpAddr,
    /// Its prefix length, if given.
    pub prefix: Option<u8>,
    /// Its zone, if given.
    pub zone: Option<String>,
    /// Its roles, deduplicated and sorted.
    pub roles: Vec<Role>,
    /// Its VRRP / ARP interface (its own, else the load balancer's).
    pub interface: Option<String>,
}

/// etcd's client port (clients and the API servers).
pub const ETCD_CLIENT_PORT: u16 = 2379;
/// etcd's peer port (members among themselves).
pub const ETCD_PEER_PORT: u16 = 2380;

impl Node {
    /// True if the node has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The node's address with a port (`10.0.0.1:6443`, `[fd00::1]:6443`).
    pub fn at(&self, port: u16) -> HostPort {
        HostPort::new(self.address, port)
    }

    /// The URL of this node's etcd member for clients.
    pub fn etcd_client_url(&self) -> String {
        self.at(ETCD_CLIENT_PORT).url("https")
    }

    /// The URL of this node's etcd member for its peers.
    pub fn etcd_peer_url(&self) -> String {
        self.at(ETCD_PEER_PORT).url("https")
    }
}

impl Plan {
    /// Builds the plan from the facts the rules checked ([`Ctx`]): nothing is parsed
    /// again and every default was applied there. Called only when the rules found no
    /// error; `None` means a value did not parse without a rule saying so, a bug the
    /// property tests look for (`tests/fuzz.rs`).
    pub fn new(cx: &Ctx<'_>) -> Option<Plan> {
        let spec = cx.spec;
        let endpoint = cx.endpoint().map(|e| e.get());
        let lb = spec.load_balancer.get();
        let lb_interface = lb.interface.as_ref().map(|i| i.get().clone());
        let networking = spec.networking.as_ref().map(|n| n.get());
        let version = cx.version.clone()?;
        let vip_given = endpoint.is_some_and(|e| e.vip.is_some());
        let nodes = cx
            .nodes
            .iter()
            .map(|n| {
                let addr = n.addr?;
                let mut roles: Vec<Role> = n.node.roles.iter().map(|r| **r).collect();
                roles.sort();
                roles.dedup();
                Some(Node {
                    name: n.name().to_string(),
                    address: addr.addr,
                    prefix: addr.prefix,
                    zone: n.zone().map(str::to_string),
                    roles,
                    interface: n
                        .node
                        .interface
                        .as_ref()
                        .map(|i| i.get().clone())
                        .or_else(|| lb_interface.clone()),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Plan {
            cluster_name: cx.topology.metadata.name.get().clone(),
            kubeadm_api: version.kubeadm_api(),
            version,
            endpoint: Endpoint {
                vip: if vip_given { Some(cx.vip?) } else { None },
                dns: endpoint
                    .and_then(|e| e.dns.as_ref())
                    .map(|d| d.get().clone()),
                port: u16::try_from(cx.port).ok()?,
            },
            bind_port: u16::try_from(cx.bind_port).ok()?,
            cert_sans: spec
                .api_server
                .as_ref()
                .and_then(|a| a.cert_sans.as_ref())
                .map(|s| s.iter().map(|v| v.get().clone()).collect())
                .unwrap_or_default(),
            load_balancer: LoadBalancer {
                kind: cx.lb,
                interface: lb_interface,
                virtual_router_id: u8::try_from(cx.virtual_router_id).ok()?,
                auth_pass: lb.auth_pass.as_ref().map(|a| a.get().clone()),
                kube_vip_image: lb
                    .kube_vip_image
                    .as_ref()
                    .map_or(defaults::KUBE_VIP_IMAGE.to_string(), |i| i.get().clone()),
            },
            etcd: cx.etcd,
            etcd_version: cx.etcd_version?,
            pod_subnet: networking
                .and_then(|n| n.pod_subnet.as_ref())
                .map(|p| p.get().clone()),
            service_subnets: cx
                .service_subnets
                .as_ref()
                .ok()?
                .iter()
                .map(Cidr::to_string)
                .collect::<Vec<_>>()
                .join(","),
            // kubeadm takes the first of a dual-stack pair for the `kubernetes` Service IP.
            service_subnet: *cx.service_subnets.as_ref().ok()?.first()?,
            dns_domain: networking
                .and_then(|n| n.dns_domain.as_ref())
                .map_or(defaults::DNS_DOMAIN.to_string(), |d| d.get().clone()),
            key_algorithm: spec
                .pki
                .as_ref()
                .and_then(|p| p.key_algorithm.as_ref())
                .map_or(defaults::KEY_ALGORITHM, |k| *k.get()),
            cert_validity_days: cx.cert_validity_days,
            ca_validity_days: cx.ca_validity_days,
            nodes,
        })
    }

    /// The control-plane nodes, in the order written (the first one runs `kubeadm init`).
    pub fn control_planes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.has(Role::ControlPlane))
    }

    /// The etcd members: control planes when stacked, `etcd` nodes when external.
    pub fn etcd_members(&self) -> impl Iterator<Item = &Node> {
        let role = match self.etcd {
            EtcdType::Stacked => Role::ControlPlane,
            EtcdType::External => Role::Etcd,
        };
        self.nodes.iter().filter(move |n| n.has(role))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::topology::test_support::{THREE_CP, topology};

    /// A dual-stack Service network validates and plans: the first CIDR gives the
    /// `kubernetes` Service IP, kubeadm gets both.
    #[test]
    fn dual_stack_service_subnet_plans() {
        let t = topology(
            "networking:\n  serviceSubnet: 10.96.0.0/16,fd00:10:96::/112",
            &THREE_CP,
        );
        let checked = crate::check(&crate::source::SourceFile::new("t", t));
        let plan = checked.plan.expect("a plan for a valid topology");
        assert_eq!(plan.service_subnet.nth(1).unwrap().to_string(), "10.96.0.1");
        assert_eq!(plan.service_subnets, "10.96.0.0/16,fd00:10:96::/112");
    }
}
