//! Every default of topology.yaml, in one place. The schema text, the plan and the
//! starter file all read these.

use crate::topology::{EtcdType, KeyAlgorithm};

/// `controlPlaneEndpoint.port`.
pub const ENDPOINT_PORT: u16 = 6443;
/// `apiServer.bindPort`.
pub const BIND_PORT: u16 = 6443;
/// `loadBalancer.virtualRouterId` (the common distro default).
pub const VIRTUAL_ROUTER_ID: u8 = 51;
/// `etcd.type`.
pub const ETCD_TYPE: EtcdType = EtcdType::Stacked;
/// `networking.serviceSubnet`.
pub const SERVICE_SUBNET: &str = "10.96.0.0/12";
/// `networking.dnsDomain`.
pub const DNS_DOMAIN: &str = "cluster.local";
/// `pki.keyAlgorithm`.
pub const KEY_ALGORITHM: KeyAlgorithm = KeyAlgorithm::EcdsaP256;
/// `pki.certValidityDays`.
pub const CERT_VALIDITY_DAYS: u32 = 365;
/// `pki.caValidityDays`.
pub const CA_VALIDITY_DAYS: u32 = 3650;
/// The prefix length kube-controller-manager carves per node out of an IPv4 pod subnet.
pub const NODE_CIDR_MASK_V4: u8 = 24;
/// The same for IPv6.
pub const NODE_CIDR_MASK_V6: u8 = 64;
/// Oldest Kubernetes minor hagen generates for.
pub const MIN_MINOR: u32 = 28;
/// Newest Kubernetes minor hagen was checked against.
pub const MAX_MINOR: u32 = 36;
/// `etcd.version`: not a scalar default (it follows `kubernetesVersion`), so not in
/// [`TABLE`]: the etcd release kubeadm of that Kubernetes release runs itself.
pub fn etcd_version(kubernetes: &crate::version::KubeVersion) -> crate::version::EtcdVersion {
    kubernetes.default_etcd()
}
/// The kube-vip image (pinned; `loadBalancer.kubeVipImage` overrides it).
pub const KUBE_VIP_IMAGE: &str = "ghcr.io/kube-vip/kube-vip:v0.8.9";

/// One default as topology.yaml would spell it: the key's path and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Default {
    /// The key, from the document root (`spec.controlPlaneEndpoint.port`).
    pub path: &'static str,
    /// The value.
    pub value: Value,
}

/// A default's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number.
    Number(u32),
    /// A string.
    Text(&'static str),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(t) => f.write_str(t),
        }
    }
}

/// The scalar defaults by key: the schema's `default`s and the wizard's placeholders
/// and starting values come from here, never from a copy.
pub static TABLE: &[Default] = &[
    Default {
        path: "spec.controlPlaneEndpoint.port",
        value: Value::Number(ENDPOINT_PORT as u32),
    },
    Default {
        path: "spec.apiServer.bindPort",
        value: Value::Number(BIND_PORT as u32),
    },
    Default {
        path: "spec.loadBalancer.virtualRouterId",
        value: Value::Number(VIRTUAL_ROUTER_ID as u32),
    },
    Default {
        path: "spec.loadBalancer.kubeVipImage",
        value: Value::Text(KUBE_VIP_IMAGE),
    },
    Default {
        path: "spec.networking.serviceSubnet",
        value: Value::Text(SERVICE_SUBNET),
    },
    Default {
        path: "spec.networking.dnsDomain",
        value: Value::Text(DNS_DOMAIN),
    },
    Default {
        path: "spec.pki.certValidityDays",
        value: Value::Number(CERT_VALIDITY_DAYS),
    },
    Default {
        path: "spec.pki.caValidityDays",
        value: Value::Number(CA_VALIDITY_DAYS),
    },
];

/// The default of a key, as text (`""` for a key without one).
pub fn text(path: &str) -> String {
    TABLE
        .iter()
        .find(|d| d.path == path)
        .map(|d| d.value.to_string())
        .unwrap_or_default()
}
