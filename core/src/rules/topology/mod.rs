//! TOP rules: the rules of a highly available control plane, checked against the
//! declared topology before anything is rendered.
//!
//! Rules are grouped by what they are about (one file per domain), one function per
//! rule. Each reads the typed, spanned model through [`Ctx`], which parses the shared
//! facts (addresses, counts, ports) once, and reports every problem it sees.

mod addresses;
mod control_plane;
mod etcd;
mod load_balancer;
mod names;
mod networks;
mod pki;
mod syntax;
mod version;
mod zones;

use crate::defaults;
use crate::diag::Diagnostics;
use crate::diag::Rule;
use crate::net::{AddrError, Cidr, IfAddr};
use crate::source::Span;
use crate::topology::{EtcdType, LbType, Node, Role, S, Spec, Topology};
use crate::version::{EtcdVersion, EtcdVersionError, KubeVersion, VersionError};

/// A rule's check: reads the context, pushes findings.
pub type CheckFn = fn(&Ctx<'_>, &mut Diagnostics);

/// Every topology rule with its check, sorted by code.
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&crate::parse::INVALID_YAML, syntax::reported_by_parser),
    (&crate::parse::UNKNOWN_KEY, syntax::reported_by_parser),
    (&syntax::WRONG_API_VERSION, syntax::wrong_api_version),
    (&etcd::EVEN_ETCD_MEMBERS, etcd::even_etcd_members),
    (&etcd::SINGLE_ETCD_MEMBER, etcd::single_etcd_member),
    (&etcd::TOO_MANY_ETCD_MEMBERS, etcd::too_many_etcd_members),
    (
        &etcd::EXTERNAL_ETCD_WITHOUT_MEMBERS,
        etcd::external_etcd_without_members,
    ),
    (
        &etcd::ETCD_ROLE_WITH_STACKED_ETCD,
        etcd::etcd_role_with_stacked_etcd,
    ),
    (&etcd::INVALID_ETCD_VERSION, etcd::invalid_etcd_version),
    (&etcd::EXTERNAL_ETCD_TOO_OLD, etcd::external_etcd_too_old),
    (
        &control_plane::NO_CONTROL_PLANE,
        control_plane::no_control_plane,
    ),
    (
        &control_plane::TWO_STACKED_CONTROL_PLANES,
        control_plane::two_stacked_control_planes,
    ),
    (
        &control_plane::SINGLE_CONTROL_PLANE,
        control_plane::single_control_plane,
    ),
    (
        &control_plane::NODE_WITHOUT_ROLES,
        control_plane::node_without_roles,
    ),
    (
        &control_plane::DUPLICATE_ROLE,
        control_plane::duplicate_role,
    ),
    (
        &zones::ZONE_LOSS_BREAKS_ETCD_QUORUM,
        zones::zone_loss_breaks_etcd_quorum,
    ),
    (
        &zones::ZONE_LOSS_REMOVES_ALL_API_SERVERS,
        zones::zone_loss_removes_all_api_servers,
    ),
    (&zones::SINGLE_ZONE, zones::single_zone),
    (&zones::NODE_MISSING_ZONE, zones::node_missing_zone),
    (
        &addresses::INVALID_IP_ADDRESS,
        addresses::invalid_ip_address,
    ),
    (
        &addresses::DUPLICATE_NODE_NAME,
        addresses::duplicate_node_name,
    ),
    (
        &addresses::DUPLICATE_NODE_ADDRESS,
        addresses::duplicate_node_address,
    ),
    (&addresses::INVALID_NODE_NAME, addresses::invalid_node_name),
    (
        &addresses::INVALID_CLUSTER_NAME,
        addresses::invalid_cluster_name,
    ),
    (
        &addresses::VIP_IS_NODE_ADDRESS,
        addresses::vip_is_node_address,
    ),
    (
        &addresses::VIP_OUTSIDE_NODE_SUBNET,
        addresses::vip_outside_node_subnet,
    ),
    (&addresses::LOOPBACK_ADDRESS, addresses::loopback_address),
    (&networks::INVALID_CIDR, networks::invalid_cidr),
    (
        &networks::OVERLAPPING_NETWORKS,
        networks::overlapping_networks,
    ),
    (
        &networks::SERVICE_SUBNET_SIZE,
        networks::service_subnet_size,
    ),
    (
        &networks::POD_SUBNET_TOO_SMALL,
        networks::pod_subnet_too_small,
    ),
    (
        &load_balancer::LOAD_BALANCER_NEEDS_VIP,
        load_balancer::load_balancer_needs_vip,
    ),
    (
        &load_balancer::EXTERNAL_LB_NEEDS_ENDPOINT,
        load_balancer::external_lb_needs_endpoint,
    ),
    (
        &load_balancer::VIRTUAL_ROUTER_ID_OUT_OF_RANGE,
        load_balancer::virtual_router_id_out_of_range,
    ),
    (
        &load_balancer::ENDPOINT_PORT_COLLIDES_WITH_BIND_PORT,
        load_balancer::endpoint_port_collides_with_bind_port,
    ),
    (
        &load_balancer::ENDPOINT_PORT_NOT_BIND_PORT,
        load_balancer::endpoint_port_not_bind_port,
    ),
    (
        &load_balancer::INVALID_INTERFACE_NAME,
        load_balancer::invalid_interface_name,
    ),
    (
        &load_balancer::MISSING_INTERFACE,
        load_balancer::missing_interface,
    ),
    (
        &load_balancer::UNUSED_LOAD_BALANCER_SETTING,
        load_balancer::unused_load_balancer_setting,
    ),
    (&load_balancer::INVALID_PORT, load_balancer::invalid_port),
    (
        &load_balancer::INVALID_AUTH_PASS,
        load_balancer::invalid_auth_pass,
    ),
    (
        &version::INVALID_KUBERNETES_VERSION,
        version::invalid_kubernetes_version,
    ),
    (
        &version::UNSUPPORTED_KUBERNETES_VERSION,
        version::unsupported_kubernetes_version,
    ),
    (&names::INVALID_CERT_SAN, names::invalid_cert_san),
    (&names::INVALID_DNS_NAME, names::invalid_dns_name),
    (
        &pki::INVALID_CERTIFICATE_VALIDITY,
        pki::invalid_certificate_validity,
    ),
];

/// Runs every topology rule over facts parsed once ([`Ctx::new`]); the same facts then
/// build the plan and the what-if table.
pub fn run(cx: &Ctx<'_>) -> Diagnostics {
    let mut out = Diagnostics::new();
    for (_, check) in RULES {
        check(cx, &mut out);
    }
    out.sort();
    out
}

/// One node with its address parsed (if it parses).
#[derive(Debug)]
pub struct NodeFacts<'a> {
    /// Position in `spec.nodes`.
    pub index: usize,
    /// The node as written.
    pub node: &'a S<Node>,
    /// The parsed address, `None` if it does not parse (TOP040 reports that).
    pub addr: Option<IfAddr>,
    /// Why the address does not parse.
    pub addr_error: Option<AddrError>,
}

impl NodeFacts<'_> {
    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.name.get()
    }
    /// The path of one of its keys, such as `spec.nodes[2].zone`.
    pub fn path(&self, key: &str) -> String {
        if key.is_empty() {
            format!("spec.nodes[{}]", self.index)
        } else {
            format!("spec.nodes[{}].{key}", self.index)
        }
    }
    /// True if the node lists this role.
    pub fn has(&self, role: Role) -> bool {
        self.node.has(role)
    }
    /// The zone, if set.
    pub fn zone(&self) -> Option<&str> {
        self.node.zone.as_ref().map(|z| z.get().as_str())
    }
}

/// What every rule needs, parsed once.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The whole topology.
    pub topology: &'a Topology,
    /// Its spec.
    pub spec: &'a Spec,
    /// The load balancer type.
    pub lb: LbType,
    /// The etcd layout (default stacked).
    pub etcd: EtcdType,
    /// Every node.
    pub nodes: Vec<NodeFacts<'a>>,
    /// The VIP, if given and valid.
    pub vip: Option<IfAddr>,
    /// Why the VIP given does not parse.
    pub vip_error: Option<AddrError>,
    /// The endpoint port (default applied).
    pub port: u32,
    /// The API servers' bind port (default applied).
    pub bind_port: u32,
    /// The Kubernetes version, if valid.
    pub version: Option<KubeVersion>,
    /// Why the version does not parse.
    pub version_error: Option<VersionError>,
    /// The etcd release (default applied once the Kubernetes version parses), if valid.
    pub etcd_version: Option<EtcdVersion>,
    /// Why `etcd.version` does not parse.
    pub etcd_version_error: Option<EtcdVersionError>,
    /// The VRRP router id (default applied).
    pub virtual_router_id: u32,
    /// The service networks, IPv4 and/or IPv6 (default applied), or why they do not parse.
    pub service_subnets: Result<Vec<Cidr>, AddrError>,
    /// Lifetime of leaf certificates in days (default applied).
    pub cert_validity_days: u32,
    /// Lifetime of the CAs in days (default applied).
    pub ca_validity_days: u32,
}

impl<'a> Ctx<'a> {
    /// Parses the shared facts of a topology.
    pub fn new(topology: &'a Topology) -> Self {
        let spec = topology.spec.get();
        let endpoint = spec.control_plane_endpoint.as_ref().map(|e| e.get());
        let vip = endpoint
            .and_then(|e| e.vip.as_ref())
            .map(|v| IfAddr::parse(v.get()));
        let version = KubeVersion::parse(spec.kubernetes_version.get());
        let pki = spec.pki.as_ref().map(|p| p.get());
        let etcd_version = match spec.etcd.as_ref().and_then(|e| e.version.as_ref()) {
            Some(v) => EtcdVersion::parse(v.get()).map(Some),
            None => Ok(version.as_ref().ok().map(defaults::etcd_version)),
        };
        Ctx {
            topology,
            spec,
            lb: *spec.load_balancer.kind.get(),
            etcd: spec
                .etcd
                .as_ref()
                .map_or(defaults::ETCD_TYPE, |e| *e.kind.get()),
            nodes: spec
                .nodes
                .iter()
                .enumerate()
                .map(|(index, node)| {
                    let addr = IfAddr::parse(node.address.get());
                    NodeFacts {
                        index,
                        node,
                        addr_error: addr.as_ref().err().cloned(),
                        addr: addr.ok(),
                    }
                })
                .collect(),
            vip_error: vip.as_ref().and_then(|v| v.as_ref().err().cloned()),
            vip: vip.and_then(Result::ok),
            port: endpoint
                .and_then(|e| e.port.as_ref())
                .map_or(u32::from(defaults::ENDPOINT_PORT), |p| *p.get()),
            bind_port: spec
                .api_server
                .as_ref()
                .and_then(|a| a.bind_port.as_ref())
                .map_or(u32::from(defaults::BIND_PORT), |p| *p.get()),
            version_error: version.as_ref().err().cloned(),
            etcd_version_error: etcd_version.as_ref().err().cloned(),
            etcd_version: etcd_version.ok().flatten(),
            version: version.ok(),
            virtual_router_id: spec
                .load_balancer
                .virtual_router_id
                .as_ref()
                .map_or(u32::from(defaults::VIRTUAL_ROUTER_ID), |v| *v.get()),
            service_subnets: Cidr::parse_list(
                spec.networking
                    .as_ref()
                    .and_then(|n| n.service_subnet.as_ref())
                    .map_or(defaults::SERVICE_SUBNET, |s| s.get().as_str()),
            ),
            cert_validity_days: pki
                .and_then(|p| p.cert_validity_days.as_ref())
                .map_or(defaults::CERT_VALIDITY_DAYS, |v| *v.get()),
            ca_validity_days: pki
                .and_then(|p| p.ca_validity_days.as_ref())
                .map_or(defaults::CA_VALIDITY_DAYS, |v| *v.get()),
        }
    }

    /// The control-plane nodes.
    pub fn control_planes(&self) -> impl Iterator<Item = &NodeFacts<'a>> {
        self.nodes.iter().filter(|n| n.has(Role::ControlPlane))
    }

    /// The etcd members: control planes when stacked, `etcd` nodes when external.
    pub fn etcd_members(&self) -> impl Iterator<Item = &NodeFacts<'a>> {
        let role = match self.etcd {
            EtcdType::Stacked => Role::ControlPlane,
            EtcdType::External => Role::Etcd,
        };
        self.nodes.iter().filter(move |n| n.has(role))
    }

    /// The zones the nodes name, sorted, each once.
    pub fn zones(&self) -> Vec<&'a str> {
        let mut zones: Vec<&str> = self
            .nodes
            .iter()
            .filter_map(|n| n.node.zone.as_ref().map(|z| z.get().as_str()))
            .collect();
        zones.sort_unstable();
        zones.dedup();
        zones
    }

    /// What is left when the nodes `lost` picks go down: the one account of a loss that
    /// the zone rules and the what-if table both read.
    pub fn after_losing(&self, lost: impl Fn(&NodeFacts<'a>) -> bool) -> Remaining<'_, 'a> {
        let members = self.etcd_members().count();
        let etcd_lost: Vec<&NodeFacts<'a>> = self.etcd_members().filter(|m| lost(m)).collect();
        let etcd_left = members - etcd_lost.len();
        Remaining {
            etcd_members: members,
            etcd_lost,
            etcd_left,
            etcd_quorum: quorum(members),
            etcd_ok: members > 0 && etcd_left >= quorum(members),
            api_servers_left: self.control_planes().filter(|c| !lost(c)).collect(),
        }
    }

    /// The endpoint as written, if any.
    pub fn endpoint(&self) -> Option<&'a S<crate::topology::ControlPlaneEndpoint>> {
        self.spec.control_plane_endpoint.as_ref()
    }

    /// The span of `spec.nodes` (where count-based findings point).
    pub fn nodes_span(&self) -> Span {
        self.spec.nodes.span()
    }

    /// Where the etcd layout is declared, or the nodes list when it is defaulted.
    pub fn etcd_span(&self) -> (Span, &'static str) {
        match &self.spec.etcd {
            Some(e) => (e.kind.span(), "spec.etcd.type"),
            None => (self.nodes_span(), "spec.nodes"),
        }
    }
}

/// What a loss leaves ([`Ctx::after_losing`]).
#[derive(Debug)]
pub struct Remaining<'c, 'a> {
    /// etcd members before the loss.
    pub etcd_members: usize,
    /// The members that go down.
    pub etcd_lost: Vec<&'c NodeFacts<'a>>,
    /// Members still up.
    pub etcd_left: usize,
    /// Members needed for quorum.
    pub etcd_quorum: usize,
    /// True if etcd keeps quorum.
    pub etcd_ok: bool,
    /// The control planes still up, in the order written.
    pub api_servers_left: Vec<&'c NodeFacts<'a>>,
}

/// Majority of `n` members: how many must be up for etcd to accept writes.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// How many members can fail while quorum holds.
pub fn tolerated_failures(n: usize) -> usize {
    n.saturating_sub(quorum(n))
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds topologies for rule tests from a small node table.

    /// A valid haproxy-keepalived topology over `nodes` (`name address roles [zone]`),
    /// with `spec_extra` spliced into `spec:`.
    pub fn topology(spec_extra: &str, nodes: &[&str]) -> String {
        let mut s = String::from(
            "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: test\nspec:\n  kubernetesVersion: v1.31.2\n",
        );
        if !spec_extra.contains("controlPlaneEndpoint") {
            s.push_str("  controlPlaneEndpoint:\n    vip: 10.0.0.100/24\n    port: 8443\n");
        }
        if !spec_extra.contains("loadBalancer") {
            s.push_str("  loadBalancer:\n    type: haproxy-keepalived\n    interface: eth0\n");
        }
        for line in spec_extra.lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("  nodes:\n");
        for n in nodes {
            let f: Vec<&str> = n.split_whitespace().collect();
            s.push_str(&format!(
                "    - name: {}\n      address: {}\n      roles: [{}]\n",
                f[0], f[1], f[2]
            ));
            if let Some(zone) = f.get(3) {
                s.push_str(&format!("      zone: {zone}\n"));
            }
        }
        s
    }

    /// The codes a topology triggers, sorted.
    pub fn codes(text: &str) -> Vec<&'static str> {
        let checked = crate::check(&crate::source::SourceFile::new("t.yaml", text));
        let mut codes: Vec<_> = checked.diagnostics.iter().map(|d| d.rule.code).collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// The messages of one code.
    pub fn messages(text: &str, code: &str) -> Vec<String> {
        let checked = crate::check(&crate::source::SourceFile::new("t.yaml", text));
        checked
            .diagnostics
            .iter()
            .filter(|d| d.rule.code == code)
            .map(|d| d.message.clone())
            .collect()
    }

    /// Three stacked control planes on 10.0.0.0/24.
    pub const THREE_CP: [&str; 3] = [
        "cp1 10.0.0.11 control-plane",
        "cp2 10.0.0.12 control-plane",
        "cp3 10.0.0.13 control-plane",
    ];
}
