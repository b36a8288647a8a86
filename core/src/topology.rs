//! The raw `topology.yaml` model (apiVersion `hagen/v1alpha1`), as the user wrote it.
//!
//! Every user value is wrapped in [`S`], which keeps its position, so rules can point at
//! the exact value they are about. [`crate::parse`] reads the file into these types; the
//! `serde` attributes below are read by the JSON Schema derive only. Addresses, CIDRs and versions stay strings here: the
//! rules parse them and report *every* bad one, instead of the parser stopping at the
//! first. Doc comments on fields are user documentation: they become the JSON Schema's
//! descriptions and the wizard's help text. Defaults live in [`crate::defaults`].

use crate::source::Span;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S<T> {
    /// The value.
    pub value: T,
    /// Its bytes in the source text.
    pub span: Span,
}

impl<T> S<T> {
    /// A value at a place.
    pub fn new(value: T, span: Span) -> Self {
        S { value, span }
    }

    /// The value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The bytes of the value in the source text.
    pub fn span(&self) -> Span {
        self.span
    }
}

impl<T> std::ops::Deref for S<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

// The schema of a spanned value is the schema of the value.
impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A highly available Kubernetes control plane, declared once.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "hagen topology (hagen/v1alpha1)")]
pub struct Topology {
    /// Always `hagen/v1alpha1`.
    #[schemars(extend("const" = "hagen/v1alpha1"))]
    pub api_version: S<String>,
    /// Always `Topology`.
    #[schemars(extend("const" = "Topology"))]
    pub kind: S<String>,
    /// Names the cluster.
    pub metadata: S<Metadata>,
    /// The cluster's machines, endpoint, load balancer, etcd layout, networks and PKI.
    pub spec: S<Spec>,
}

/// Names the cluster.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Cluster name: becomes kubeadm's `clusterName` (lowercase letters, digits, '-' and '.').
    pub name: S<String>,
}

/// What the cluster is made of.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// Kubernetes version, such as `v1.31.2`. Picks the kubeadm API: v1beta4 from 1.31, v1beta3 before.
    #[schemars(regex(pattern = r"^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+].*)?$"))]
    pub kubernetes_version: S<String>,
    /// The address every client dials to reach the API servers.
    pub control_plane_endpoint: Option<S<ControlPlaneEndpoint>>,
    /// Settings of every kube-apiserver.
    pub api_server: Option<S<ApiServer>>,
    /// How the endpoint reaches the API servers.
    pub load_balancer: S<LoadBalancer>,
    /// Where etcd runs.
    pub etcd: Option<S<Etcd>>,
    /// Pod and Service networks.
    pub networking: Option<S<Networking>>,
    /// Key algorithm and certificate lifetimes.
    pub pki: Option<S<Pki>>,
    /// Every machine of the cluster.
    #[schemars(length(min = 1))]
    pub nodes: S<Vec<S<Node>>>,
}

/// The stable address of the API: a VIP, a DNS name, or both, and the port clients dial.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneEndpoint {
    /// Virtual IP with its prefix length (`192.168.2.250/24`), held by VRRP or kube-vip.
    pub vip: Option<S<String>>,
    /// DNS name of the endpoint (`api.k8s.local`); put in every API server certificate.
    pub dns: Option<S<String>>,
    /// The port clients dial.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<S<u32>>,
}

/// Settings shared by every kube-apiserver.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiServer {
    /// The port each kube-apiserver listens on.
    #[schemars(range(min = 1, max = 65535))]
    pub bind_port: Option<S<u32>>,
    /// Extra names and addresses for the API server certificate, beside the ones hagen adds.
    #[serde(rename = "certSANs")]
    pub cert_sans: Option<Vec<S<String>>>,
}

/// The kind of load balancing in front of the API servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LbType {
    /// haproxy on every control plane behind a keepalived VRRP VIP.
    HaproxyKeepalived,
    /// keepalived alone: the VIP moves between the API servers.
    Keepalived,
    /// An nginx stream proxy on 127.0.0.1 on every node; no VIP.
    NginxLocal,
    /// kube-vip static pods holding the VIP in ARP mode.
    KubeVip,
    /// A load balancer hagen does not manage (cloud LB, hardware LB, DNS).
    External,
}

impl LbType {
    /// The spelling used in topology.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            LbType::HaproxyKeepalived => "haproxy-keepalived",
            LbType::Keepalived => "keepalived",
            LbType::NginxLocal => "nginx-local",
            LbType::KubeVip => "kube-vip",
            LbType::External => "external",
        }
    }

    /// True for the types that hold a VIP on the control-plane nodes themselves.
    pub fn holds_vip(self) -> bool {
        matches!(
            self,
            LbType::HaproxyKeepalived | LbType::Keepalived | LbType::KubeVip
        )
    }

    /// True for the types that speak VRRP (and so use a virtual router id).
    pub fn uses_vrrp(self) -> bool {
        matches!(self, LbType::HaproxyKeepalived | LbType::Keepalived)
    }
}

/// The load balancer in front of the API servers.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancer {
    /// haproxy-keepalived | keepalived | nginx-local | kube-vip | external
    #[serde(rename = "type")]
    pub kind: S<LbType>,
    /// Network interface for VRRP or ARP (`eth0`); a node may override it.
    pub interface: Option<S<String>>,
    /// VRRP virtual router id, 1..255, unique on the subnet.
    #[schemars(range(min = 1, max = 255))]
    pub virtual_router_id: Option<S<u32>>,
    /// VRRP password (keepalived `auth_pass`), 1..8 characters. Off by default: VRRP
    /// sends it in clear text, so it only guards against accidents, not attackers.
    #[schemars(length(min = 1, max = 8))]
    pub auth_pass: Option<S<String>>,
    /// kube-vip image, pinned by default; override for a mirror or another release.
    pub kube_vip_image: Option<S<String>>,
}

/// Where etcd runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EtcdType {
    /// One etcd member on every control-plane node, managed by kubeadm.
    Stacked,
    /// Dedicated etcd hosts (nodes with the `etcd` role), run by systemd.
    External,
}

/// The etcd layout.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Etcd {
    /// stacked (default) | external
    #[serde(rename = "type")]
    pub kind: S<EtcdType>,
    /// The etcd release external members run (`3.5.24`); the runbook installs exactly this one. Default: the etcd kubeadm of the chosen Kubernetes release runs itself. Must not be older than the oldest external etcd that kubeadm accepts (TOP016).
    #[schemars(regex(pattern = r"^v?[0-9]+\.[0-9]+\.[0-9]+$"))]
    pub version: Option<S<String>>,
}

/// The cluster's networks.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Networking {
    /// Pod network CIDR (`10.244.0.0/16`); each node gets a /24 of it.
    pub pod_subnet: Option<S<String>>,
    /// Service network CIDR.
    pub service_subnet: Option<S<String>>,
    /// Cluster DNS domain.
    pub dns_domain: Option<S<String>>,
}

/// The key algorithm of every generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 (default): fast, accepted by every Kubernetes component.
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// RSA, 2048-bit modulus.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA, 3072-bit modulus.
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// RSA, 4096-bit modulus.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

/// Key algorithm and certificate lifetimes.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pki {
    /// ecdsa-p256 (default) | rsa-2048 | rsa-3072 | rsa-4096
    pub key_algorithm: Option<S<KeyAlgorithm>>,
    /// Lifetime of leaf certificates, in days.
    #[schemars(range(min = 1))]
    pub cert_validity_days: Option<S<u32>>,
    /// Lifetime of the CAs, in days.
    #[schemars(range(min = 1))]
    pub ca_validity_days: Option<S<u32>>,
}

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs an API server, controller manager and scheduler (and etcd when stacked).
    ControlPlane,
    /// Runs workloads.
    Worker,
    /// A dedicated etcd member (external etcd only).
    Etcd,
}

/// One machine.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// Node name: lowercase RFC 1123 (`k8s-m1`); becomes the kubelet, etcd member and certificate name.
    pub name: S<String>,
    /// The node's IP address (`192.168.2.140`), optionally with its prefix length (`/24`).
    pub address: S<String>,
    /// Failure domain (rack, room, availability zone); used to check that one zone's loss is survivable.
    pub zone: Option<S<String>>,
    /// control-plane | worker | etcd (etcd: an external etcd member).
    pub roles: S<Vec<S<Role>>>,
    /// This node's VRRP / ARP interface, if it differs from loadBalancer.interface.
    pub interface: Option<S<String>>,
}

impl Node {
    /// True if the node lists `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.iter().any(|r| **r == role)
    }
}
