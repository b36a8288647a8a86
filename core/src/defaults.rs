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
/// The kube-vip image (pinned; `loadBalancer.kubeVipImage` overrides it).
pub const KUBE_VIP_IMAGE: &str = "ghcr.io/kube-vip/kube-vip:v0.8.9";
