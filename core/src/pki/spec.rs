//! The PKI as data: one row per certificate kubeadm makes (its `certsphase` list), one
//! row per kubeconfig, the SAN functions, and the files control planes share. Everything
//! that says *what* a certificate looks like lives here; the rest of `pki` only says
//! *how* it is made and kept.
//!
//! Sources: `shared/reference/kubeadm.md` §4 (certificates) and §5 (kubeconfigs).

use crate::plan::{Node, Plan};
use crate::topology::{EtcdType, Role};
use crate::version::KubeVersion;
use std::fmt;
use std::net::IpAddr;

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    /// A DNS name.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// An extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    /// TLS server (`serverAuth`).
    ServerAuth,
    /// TLS client (`clientAuth`).
    ClientAuth,
}

/// A key usage bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// `digitalSignature`.
    DigitalSignature,
    /// `keyEncipherment` (kubeadm sets it for ECDSA keys too).
    KeyEncipherment,
    /// `keyCertSign`: CAs only.
    CertSign,
}

/// The subject common name of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cn {
    /// Always this name.
    Fixed(&'static str),
    /// The name of the node the certificate is for (etcd server and peer).
    NodeName,
}

impl Cn {
    /// The CN for `node`.
    pub fn for_node(self, node: &Node) -> String {
        match self {
            Cn::Fixed(name) => name.to_string(),
            Cn::NodeName => node.name.clone(),
        }
    }
}

/// Which nodes hold a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holders {
    /// Every control plane, under `etc/kubernetes/pki`.
    ControlPlanes,
    /// Every etcd member: control planes under `etc/kubernetes/pki` when etcd is stacked,
    /// the `etcd` nodes under `etc/etcd/pki` when it is external.
    EtcdMembers,
    /// The etcd CA: every control plane under `etc/kubernetes/pki`, with its key only when
    /// etcd is stacked (kubeadm signs the stacked members' certificates with it, and a
    /// joining control plane needs it). With external etcd kubeadm never reads the key
    /// (`CreatePKIAssets` takes `GetCertsWithoutEtcd`), so no node gets it and the bundle
    /// alone keeps it, under [`paths::BUNDLE_PKI`](crate::bundle::paths::BUNDLE_PKI), for
    /// re-rendering; external members get the certificate only.
    EtcdCa,
}

/// How a certificate's SANs are made.
#[derive(Debug, Clone, Copy)]
pub enum Sans {
    /// None: client certificates.
    None,
    /// Its CN as the one DNS name: client-go's `NewSelfSignedCACert`, which makes every
    /// kubeadm CA, adds it. The same on every node.
    Cn,
    /// Computed for the node that holds it, exactly as kubeadm does.
    PerNode(fn(&Plan, &Node) -> Vec<San>),
}

/// One certificate (or, for `sa`, a bare key pair is handled beside the table).
#[derive(Debug, Clone, Copy)]
pub struct CertSpec {
    /// kubeadm's name, also the path under `etc/kubernetes/pki` without `.crt`/`.key`.
    pub name: &'static str,
    /// The CA row that signs it; `None` for a self-signed CA.
    pub signer: Option<&'static str>,
    /// True for a CA.
    pub is_ca: bool,
    /// Subject CN.
    pub cn: Cn,
    /// Subject O, by Kubernetes version (RBAC reads it, so it follows kubeadm's changes).
    pub org: fn(&KubeVersion) -> Option<&'static str>,
    /// Key usage bits.
    pub usages: &'static [Usage],
    /// Extended key usages (empty for CAs).
    pub ekus: &'static [Eku],
    /// Who holds it (with its key).
    pub holders: Holders,
    /// The name under `etc/etcd/pki` on external etcd members: the member certificates,
    /// and the etcd CA (certificate only, members never get a CA key).
    pub external: Option<&'static str>,
    /// Its SANs ([`CertSpec::sans_on`] gives them for a node).
    pub sans: Sans,
}

/// Usage bits of every leaf.
const LEAF: &[Usage] = &[Usage::DigitalSignature, Usage::KeyEncipherment];
/// Usage bits of every CA.
const CA: &[Usage] = &[
    Usage::DigitalSignature,
    Usage::KeyEncipherment,
    Usage::CertSign,
];
const SERVER: &[Eku] = &[Eku::ServerAuth];
const CLIENT: &[Eku] = &[Eku::ClientAuth];
const BOTH: &[Eku] = &[Eku::ServerAuth, Eku::ClientAuth];

/// The kubernetes CA's row name.
pub const KUBERNETES_CA: &str = "ca";
/// The front-proxy CA's row name.
pub const FRONT_PROXY_CA: &str = "front-proxy-ca";
/// The etcd CA's row name.
pub const ETCD_CA: &str = "etcd/ca";

/// Every certificate, CAs first (kubeadm's order). Tests check that every signer
/// exists and comes before the rows it signs.
pub static CERTS: &[CertSpec] = &[
    CertSpec {
        name: KUBERNETES_CA,
        signer: None,
        is_ca: true,
        cn: Cn::Fixed("kubernetes"),
        org: no_org,
        usages: CA,
        ekus: &[],
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::Cn,
    },
    CertSpec {
        name: FRONT_PROXY_CA,
        signer: None,
        is_ca: true,
        cn: Cn::Fixed("front-proxy-ca"),
        org: no_org,
        usages: CA,
        ekus: &[],
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::Cn,
    },
    CertSpec {
        name: ETCD_CA,
        signer: None,
        is_ca: true,
        cn: Cn::Fixed("etcd-ca"),
        org: no_org,
        usages: CA,
        ekus: &[],
        holders: Holders::EtcdCa,
        external: Some("ca"),
        sans: Sans::Cn,
    },
    CertSpec {
        name: "apiserver",
        signer: Some(KUBERNETES_CA),
        is_ca: false,
        cn: Cn::Fixed("kube-apiserver"),
        org: no_org,
        usages: LEAF,
        ekus: SERVER,
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::PerNode(apiserver_sans),
    },
    CertSpec {
        name: "apiserver-kubelet-client",
        signer: Some(KUBERNETES_CA),
        is_ca: false,
        cn: Cn::Fixed("kube-apiserver-kubelet-client"),
        org: kubelet_client_org,
        usages: LEAF,
        ekus: CLIENT,
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::None,
    },
    CertSpec {
        name: "front-proxy-client",
        signer: Some(FRONT_PROXY_CA),
        is_ca: false,
        // The apiserver's --requestheader-allowed-names checks this name.
        cn: Cn::Fixed("front-proxy-client"),
        org: no_org,
        usages: LEAF,
        ekus: CLIENT,
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::None,
    },
    CertSpec {
        name: "etcd/server",
        signer: Some(ETCD_CA),
        is_ca: false,
        cn: Cn::NodeName,
        org: no_org,
        usages: LEAF,
        ekus: BOTH,
        holders: Holders::EtcdMembers,
        external: Some("server"),
        sans: Sans::PerNode(etcd_member_sans),
    },
    CertSpec {
        name: "etcd/peer",
        signer: Some(ETCD_CA),
        is_ca: false,
        cn: Cn::NodeName,
        org: no_org,
        usages: LEAF,
        ekus: BOTH,
        holders: Holders::EtcdMembers,
        external: Some("peer"),
        sans: Sans::PerNode(etcd_member_sans),
    },
    CertSpec {
        name: "etcd/healthcheck-client",
        signer: Some(ETCD_CA),
        is_ca: false,
        cn: Cn::Fixed("kube-etcd-healthcheck-client"),
        org: masters_before_1_29,
        usages: LEAF,
        ekus: CLIENT,
        holders: Holders::EtcdMembers,
        external: Some("healthcheck-client"),
        sans: Sans::None,
    },
    CertSpec {
        name: "apiserver-etcd-client",
        signer: Some(ETCD_CA),
        is_ca: false,
        cn: Cn::Fixed("kube-apiserver-etcd-client"),
        org: masters_before_1_29,
        usages: LEAF,
        ekus: CLIENT,
        holders: Holders::ControlPlanes,
        external: None,
        sans: Sans::None,
    },
];

/// Where a kubeconfig's server URL points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `controlPlaneEndpoint`: `https://<endpoint host>:<endpoint port>`.
    Endpoint,
    /// The node's own API server: `https://<node address>:<bindPort>`.
    Local,
}

/// One kubeconfig under `etc/kubernetes/`.
#[derive(Debug, Clone, Copy)]
pub struct KubeconfigSpec {
    /// File name under `etc/kubernetes/`.
    pub file: &'static str,
    /// The client certificate's CN, also the kubeconfig user name.
    pub cn: &'static str,
    /// The client certificate's O, by Kubernetes version.
    pub org: fn(&KubeVersion) -> Option<&'static str>,
    /// The server URL.
    pub server: Server,
    /// Written only on the first control plane (the one that runs `kubeadm init`).
    pub first_only: bool,
    /// Whether this version of kubeadm writes it at all.
    pub since: fn(&KubeVersion) -> bool,
}

/// The kubeconfigs hagen pre-makes. Never `kubelet.conf`: `kubeadm join` refuses a node
/// that already has one (kubeadm.md §6), and TLS bootstrap makes it.
pub static KUBECONFIGS: &[KubeconfigSpec] = &[
    KubeconfigSpec {
        file: "admin.conf",
        cn: "kubernetes-admin",
        org: admin_org,
        server: Server::Endpoint,
        first_only: false,
        since: |_| true,
    },
    KubeconfigSpec {
        file: "super-admin.conf",
        cn: "kubernetes-super-admin",
        // Bypasses RBAC on purpose: it exists to create the kubeadm:cluster-admins binding.
        org: |_| Some("system:masters"),
        server: Server::Endpoint,
        first_only: true,
        since: KubeVersion::has_super_admin_conf,
    },
    KubeconfigSpec {
        file: "controller-manager.conf",
        cn: "system:kube-controller-manager",
        org: no_org,
        server: Server::Local,
        first_only: false,
        since: |_| true,
    },
    KubeconfigSpec {
        file: "scheduler.conf",
        cn: "system:kube-scheduler",
        org: no_org,
        server: Server::Local,
        first_only: false,
        since: |_| true,
    },
];

/// The service-account key pair's file names under `etc/kubernetes/pki`.
pub const SA_KEY: &str = "sa.key";
/// The public half, a PKIX `PUBLIC KEY` PEM.
pub const SA_PUB: &str = "sa.pub";

/// The files every control plane must share (kubeadm.md §6), by path under
/// `etc/kubernetes/pki`: each CA's certificate and key, and the service-account pair.
/// Everything else is per node.
pub fn shared_files() -> impl Iterator<Item = String> {
    CERTS
        .iter()
        .filter(|row| row.is_ca)
        .flat_map(|row| [format!("{}.crt", row.name), format!("{}.key", row.name)])
        .chain([SA_KEY.to_string(), SA_PUB.to_string()])
}

/// Whether `path` (under `etc/kubernetes/pki`) is one of the [`shared_files`].
pub fn is_shared(path: &str) -> bool {
    let ca = |name: &str| CERTS.iter().any(|row| row.is_ca && row.name == name);
    path == SA_KEY
        || path == SA_PUB
        || path.strip_suffix(".crt").is_some_and(ca)
        || path.strip_suffix(".key").is_some_and(ca)
}

impl CertSpec {
    /// Its SANs on `node`.
    pub fn sans_on(&self, plan: &Plan, node: &Node) -> Vec<San> {
        match self.sans {
            Sans::None => Vec::new(),
            Sans::Cn => vec![San::Dns(self.cn.for_node(node))],
            Sans::PerNode(sans) => sans(plan, node),
        }
    }

    /// The CN and SANs of a certificate that is the same on every node, as a CA must be
    /// (it is made once and copied); `None` when either depends on the node (no CA row
    /// does: a test checks).
    pub fn fixed_subject(&self) -> Option<(&'static str, Vec<San>)> {
        let Cn::Fixed(cn) = self.cn else {
            return None;
        };
        match self.sans {
            Sans::None => Some((cn, Vec::new())),
            Sans::Cn => Some((cn, vec![San::Dns(cn.to_string())])),
            Sans::PerNode(_) => None,
        }
    }

    /// The row of `name`.
    pub fn find(name: &str) -> Option<&'static CertSpec> {
        CERTS.iter().find(|c| c.name == name)
    }

    /// Where this certificate goes on `node`, as a path relative to the node's root
    /// without `.crt`/`.key`; `None` if the node does not hold it. The boolean is false
    /// when only the certificate goes there (the etcd CA with external etcd).
    pub fn place(&self, plan: &Plan, node: &Node) -> Option<(String, bool)> {
        use crate::bundle::paths::{ETCD_PKI, K8S_PKI};
        let cp = node.has(Role::ControlPlane);
        let external_member = plan.etcd == EtcdType::External && node.has(Role::Etcd);
        match self.holders {
            Holders::ControlPlanes if cp => Some((format!("{K8S_PKI}/{}", self.name), true)),
            Holders::ControlPlanes => match self.external {
                Some(name) if external_member => Some((format!("{ETCD_PKI}/{name}"), false)),
                _ => None,
            },
            Holders::EtcdCa => match plan.etcd {
                EtcdType::Stacked if cp => Some((format!("{K8S_PKI}/{}", self.name), true)),
                EtcdType::External if cp => Some((format!("{K8S_PKI}/{}", self.name), false)),
                EtcdType::External if external_member => self
                    .external
                    .map(|name| (format!("{ETCD_PKI}/{name}"), false)),
                _ => None,
            },
            Holders::EtcdMembers => match plan.etcd {
                EtcdType::Stacked if cp => Some((format!("{K8S_PKI}/{}", self.name), true)),
                EtcdType::External if external_member => self
                    .external
                    .map(|name| (format!("{ETCD_PKI}/{name}"), true)),
                _ => None,
            },
        }
    }
}

fn no_org(_: &KubeVersion) -> Option<&'static str> {
    None
}

fn minor(v: &KubeVersion) -> (u32, u32) {
    (v.major, v.minor)
}

/// kubeadm 1.29 moved the API server's kubelet client out of `system:masters`
/// (k/k #121837), and 1.37 onto its own ClusterRole binding (k/k #138957).
fn kubelet_client_org(v: &KubeVersion) -> Option<&'static str> {
    Some(match minor(v) {
        m if m < (1, 29) => "system:masters",
        m if m < (1, 37) => "kubeadm:cluster-admins",
        _ => "system:kubelet-api-admin",
    })
}

/// etcd does not use the O, so kubeadm dropped `system:masters` in 1.29.
fn masters_before_1_29(v: &KubeVersion) -> Option<&'static str> {
    (minor(v) < (1, 29)).then_some("system:masters")
}

/// 1.29 split super-admin.conf off; admin.conf then goes through RBAC.
fn admin_org(v: &KubeVersion) -> Option<&'static str> {
    Some(if minor(v) < (1, 29) {
        "system:masters"
    } else {
        "kubeadm:cluster-admins"
    })
}

/// The API server's SANs as kubeadm computes them (`GetAPIServerAltNames`), DNS names
/// sorted, then IPs sorted, without duplicates. The endpoint's DNS name and VIP are both
/// added (kubeadm only sees `controlPlaneEndpoint`, but clients may dial either).
pub fn apiserver_sans(plan: &Plan, node: &Node) -> Vec<San> {
    let mut dns = vec![
        node.name.clone(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        format!("kubernetes.default.svc.{}", plan.dns_domain),
    ];
    let mut ips: Vec<IpAddr> = vec![node.address];
    if let Some(first) = plan.service_subnet.nth(1) {
        ips.push(first);
    }
    if let Some(name) = &plan.endpoint.dns {
        dns.push(name.clone());
    }
    if let Some(vip) = &plan.endpoint.vip {
        ips.push(vip.addr);
    }
    for extra in
        std::iter::once(plan.endpoint.host().to_string()).chain(plan.cert_sans.iter().cloned())
    {
        match extra.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(extra),
        }
    }
    dns.sort();
    dns.dedup();
    ips.sort();
    ips.dedup();
    dns.into_iter()
        .map(San::Dns)
        .chain(ips.into_iter().map(San::Ip))
        .collect()
}

/// etcd server and peer SANs, in kubeadm's order. `::1` matters: kubeadm rejects a
/// pre-made etcd certificate without it (kubeadm.md §6).
pub fn etcd_member_sans(_: &Plan, node: &Node) -> Vec<San> {
    let mut sans = vec![
        San::Dns(node.name.clone()),
        San::Dns("localhost".into()),
        San::Ip(node.address),
    ];
    for ip in [
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ] {
        if !sans.contains(&San::Ip(ip)) {
            sans.push(San::Ip(ip));
        }
    }
    sans
}

impl KubeconfigSpec {
    /// The key usages of every kubeconfig's client certificate.
    pub const USAGES: &'static [Usage] = LEAF;
    /// Its extended key usages: a client.
    pub const EKUS: &'static [Eku] = CLIENT;

    /// Its path relative to a node's root.
    pub fn path(&self) -> String {
        format!("etc/kubernetes/{}", self.file)
    }

    /// The server URL this kubeconfig names on `node`.
    pub fn server_url(&self, plan: &Plan, node: &Node) -> String {
        match self.server {
            Server::Endpoint => plan.endpoint.address().url("https"),
            Server::Local => node.at(plan.bind_port).url("https"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn v(minor: u32) -> KubeVersion {
        KubeVersion {
            major: 1,
            minor,
            patch: 0,
            suffix: String::new(),
        }
    }

    #[test]
    fn every_signer_exists_and_comes_first() {
        for (i, row) in CERTS.iter().enumerate() {
            match row.signer {
                None => assert!(row.is_ca, "{} is self-signed but not a CA", row.name),
                Some(signer) => {
                    let at = CERTS.iter().position(|c| c.name == signer);
                    let at = at.unwrap_or_else(|| panic!("{}: no signer {signer}", row.name));
                    assert!(at < i, "{} comes before its signer {signer}", row.name);
                    assert!(CERTS[at].is_ca, "{signer} signs {} but is no CA", row.name);
                    assert!(!row.ekus.is_empty(), "{} has no EKU", row.name);
                }
            }
            assert_eq!(
                row.is_ca,
                row.usages.contains(&Usage::CertSign),
                "{}",
                row.name
            );
            if row.is_ca {
                assert!(
                    row.fixed_subject().is_some(),
                    "{} differs per node",
                    row.name
                );
            }
        }
    }

    #[test]
    fn names_and_shared_files_are_unique() {
        let names: BTreeSet<_> = CERTS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CERTS.len());
        // kubeadm's list (kubeadm.md §6), spelled out so that a wrong row fails here.
        let kubeadm = [
            "ca.crt",
            "ca.key",
            "etcd/ca.crt",
            "etcd/ca.key",
            "front-proxy-ca.crt",
            "front-proxy-ca.key",
            "sa.key",
            "sa.pub",
        ];
        let shared: BTreeSet<String> = shared_files().collect();
        assert_eq!(shared.len(), shared_files().count(), "a shared file twice");
        assert_eq!(shared, kubeadm.map(String::from).into());
        for file in kubeadm {
            assert!(is_shared(file), "{file}");
        }
        for file in ["apiserver.crt", "etcd/server.key", "ca", "sa.crt", "ca.pub"] {
            assert!(!is_shared(file), "{file}");
        }
        let files: BTreeSet<_> = KUBECONFIGS.iter().map(|k| k.file).collect();
        assert_eq!(files.len(), KUBECONFIGS.len());
        assert!(!files.contains("kubelet.conf"));
    }

    #[test]
    fn organisations_follow_the_version() {
        let kc = CertSpec::find("apiserver-kubelet-client").unwrap().org;
        assert_eq!(kc(&v(28)), Some("system:masters"));
        assert_eq!(kc(&v(29)), Some("kubeadm:cluster-admins"));
        assert_eq!(kc(&v(36)), Some("kubeadm:cluster-admins"));
        assert_eq!(kc(&v(37)), Some("system:kubelet-api-admin"));
        for name in ["etcd/healthcheck-client", "apiserver-etcd-client"] {
            let org = CertSpec::find(name).unwrap().org;
            assert_eq!(org(&v(28)), Some("system:masters"), "{name}");
            assert_eq!(org(&v(29)), None, "{name}");
        }
        assert_eq!(admin_org(&v(28)), Some("system:masters"));
        assert_eq!(admin_org(&v(31)), Some("kubeadm:cluster-admins"));
    }
}
