//! kubeadm configuration per node: the first control plane gets InitConfiguration +
//! ClusterConfiguration; other control planes and workers get JoinConfiguration
//! (`controlPlane` only on control planes). v1beta4 from 1.31, v1beta3 before.

use super::{FileSpec, Input, On, always, kubeadm_nodes, to_value};
use crate::bundle::MODE_SECRET;
use crate::plan::Node;
use crate::topology::{EtcdType, KeyAlgorithm, Role};
use crate::version::KubeadmApi;
use minijinja::value::Value;
use serde::Serialize;

/// Where kubeadm reads it on the node.
pub const PATH: &str = "etc/kubernetes/kubeadm-config.yaml";

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: template!("kubeadm-config.yaml"),
    path: PATH,
    // It carries the bootstrap token (and, on the first node, the certificate key).
    mode: MODE_SECRET,
    applies: always,
    on: On::Nodes {
        nodes: kubeadm_nodes,
        banner: "kubeadm configuration of node {node}",
        context,
    },
}];

#[derive(Serialize)]
struct Ctx {
    api_version: &'static str,
    v1beta4: bool,
    kind: &'static str,
    node_name: String,
    advertise_address: String,
    /// The node's zone, as the kubelet label `topology.kubernetes.io/zone` (which a
    /// kubelet may set on itself), so `hagen import` can read it back.
    zone: Option<String>,
    bind_port: u16,
    token: String,
    ca_cert_hash: String,
    certificate_key: String,
    endpoint: String,
    cluster_name: String,
    kubernetes_version: String,
    service_subnet: String,
    pod_subnet: Option<String>,
    dns_domain: String,
    cert_sans: Vec<String>,
    etcd_endpoints: Vec<String>,
    encryption_algorithm: &'static str,
    ecdsa_feature_gate: bool,
    cert_validity: String,
    ca_validity: String,
}

fn context(input: &Input<'_>, node: &Node) -> Option<Value> {
    let plan = input.plan;
    let kind = if plan.control_planes().next().map(|n| &n.name) == Some(&node.name) {
        "init"
    } else if node.has(Role::ControlPlane) {
        "join-control-plane"
    } else {
        "join-worker"
    };
    let v1beta4 = plan.kubeadm_api == KubeadmApi::V1Beta4;
    let mut cert_sans: Vec<String> = Vec::new();
    if let Some(vip) = plan.endpoint.vip {
        cert_sans.push(vip.addr.to_string());
    }
    if let Some(dns) = &plan.endpoint.dns {
        cert_sans.push(dns.clone());
    }
    for san in &plan.cert_sans {
        if !cert_sans.contains(san) {
            cert_sans.push(san.clone());
        }
    }
    let etcd_endpoints = match plan.etcd {
        EtcdType::Stacked => Vec::new(),
        EtcdType::External => plan.etcd_members().map(Node::etcd_client_url).collect(),
    };
    Some(to_value(Ctx {
        api_version: plan.kubeadm_api.api_version(),
        v1beta4,
        kind,
        node_name: node.name.clone(),
        advertise_address: node.address.to_string(),
        zone: node.zone.clone(),
        bind_port: plan.bind_port,
        token: input.join.token.clone(),
        ca_cert_hash: input.join.ca_cert_hash.clone(),
        certificate_key: input.join.certificate_key.clone(),
        endpoint: plan.endpoint.address().to_string(),
        cluster_name: plan.cluster_name.clone(),
        kubernetes_version: plan.version.to_string(),
        service_subnet: plan.service_subnets.clone(),
        pod_subnet: plan.pod_subnet.clone(),
        dns_domain: plan.dns_domain.clone(),
        cert_sans,
        etcd_endpoints,
        encryption_algorithm: match plan.key_algorithm {
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
        },
        // v1beta3 has no encryptionAlgorithm: kubeadm's PublicKeysECDSA gate (1.19–1.36)
        // makes the certificates kubeadm itself renews ECDSA like ours.
        ecdsa_feature_gate: !v1beta4 && plan.key_algorithm == KeyAlgorithm::EcdsaP256,
        cert_validity: format!("{}h0m0s", u64::from(plan.cert_validity_days) * 24),
        ca_validity: format!("{}h0m0s", u64::from(plan.ca_validity_days) * 24),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_text, text};
    use crate::rules::topology::test_support::{THREE_CP, topology};

    #[test]
    fn init_on_the_first_join_elsewhere() {
        let b = render_text(&topology(
            "",
            &[THREE_CP.as_slice(), &["w1 10.0.0.31 worker"]].concat(),
        ));
        let init = text(&b, "nodes/cp1/etc/kubernetes/kubeadm-config.yaml");
        assert!(
            init.contains("kind: InitConfiguration") && init.contains("kind: ClusterConfiguration")
        );
        assert!(
            init.contains("controlPlaneEndpoint: \"10.0.0.100:8443\""),
            "{init}"
        );
        assert!(init.contains("apiVersion: kubeadm.k8s.io/v1beta4"));
        assert!(
            init.contains("    - name: leader-elect\n      value: \"true\""),
            "{init}"
        );
        let cp2 = text(&b, "nodes/cp2/etc/kubernetes/kubeadm-config.yaml");
        assert!(cp2.contains("kind: JoinConfiguration") && cp2.contains("controlPlane:"));
        assert!(
            !cp2.contains("certificateKey"),
            "joins use the pre-placed shared certificates"
        );
        let w1 = text(&b, "nodes/w1/etc/kubernetes/kubeadm-config.yaml");
        assert!(w1.contains("kind: JoinConfiguration") && !w1.contains("controlPlane:"));
        assert!(w1.contains("caCertHashes:"));
    }

    #[test]
    fn v1beta3_before_131_uses_maps() {
        let b = render_text(&topology("", &THREE_CP).replace("v1.31.2", "v1.30.4"));
        let init = text(&b, "nodes/cp1/etc/kubernetes/kubeadm-config.yaml");
        assert!(init.contains("apiVersion: kubeadm.k8s.io/v1beta3"));
        assert!(init.contains("\n    leader-elect: \"true\""), "{init}");
        assert!(!init.contains("encryptionAlgorithm") && init.contains("PublicKeysECDSA: true"));
    }
}
