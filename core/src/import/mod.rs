//! `hagen import`: a topology.yaml rebuilt from the files of a cluster that already runs,
//! with a drift report.
//!
//! The input is what an operator can copy off the nodes without secrets, one directory
//! per node (`<node>/etc/…`, or a bundle's `nodes/<node>/etc/…`; [`node_dir`] says which
//! node a file belongs to), plus cluster-wide dumps anywhere (the `kubeadm-config`
//! ConfigMap, `etcdctl member list -w json`, `kubectl get nodes -o json`). Private keys
//! are never read (IMP011 says which were skipped).
//!
//! The flow: [`facts`] reads every value with its file and span; [`Cluster::new`] weighs
//! them (the static pods and kubeadm files first, the ConfigMap and the cluster-wide
//! dumps after) into one value per field; the IMP [`rules`] report facts no file gave
//! and facts the files disagree on; [`write()`] prints the topology, each value commented
//! with `file:line`, each unknown one a commented placeholder — never a guess.

pub mod collect;
pub mod facts;
pub mod rules;

use crate::diag::{Diagnostic, Diagnostics, Label, Severity};
use crate::lint::certs::Cert;
use crate::net::{Host, HostPort};
use crate::source::{FileId, LineIndex, SourceFile, Span};
use crate::topology::{EtcdType, LbType, Role};
use crate::yaml::Node;
use facts::{At, Fact, Source, Vrrp};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What an import run needs besides the files.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// "Now", seconds since the epoch, for certificate expiry; `None` skips IMP008.
    pub now: Option<i64>,
    /// Certificates expiring within this many days are reported (IMP008).
    pub cert_expiry_days: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            now: None,
            cert_expiry_days: 30,
        }
    }
}

/// What [`import`] gives back.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The topology.yaml text.
    pub topology: String,
    /// The drift report and the missing facts, against the input files.
    pub diagnostics: Diagnostics,
    /// The nodes found, in the order written.
    pub nodes: Vec<String>,
    /// How many private-key files were skipped unread.
    pub keys_skipped: usize,
}

/// Imports a cluster from its files; see the module documentation.
pub fn import(files: &[SourceFile], options: &ImportOptions) -> Imported {
    let groups: Vec<Option<String>> = files
        .iter()
        .map(|f| node_dir(&f.name).map(str::to_string))
        .collect();
    import_grouped(files, &groups, options)
}

/// Like [`import`], with each file's node given by the caller (`None`: a cluster-wide
/// file), for names that do not say it.
pub fn import_grouped(
    files: &[SourceFile],
    groups: &[Option<String>],
    options: &ImportOptions,
) -> Imported {
    let cluster = Cluster::new(files, groups, options);
    let mut diagnostics = Diagnostics::new();
    for (rule, check) in rules::RULES {
        let before = diagnostics.len();
        check(&cluster, &mut diagnostics);
        debug_assert!(
            diagnostics
                .iter()
                .skip(before)
                .all(|d| d.rule.code == rule.code),
            "the check paired with {} reported another rule",
            rule.code
        );
    }
    diagnostics.sort();
    Imported {
        topology: write(&cluster),
        diagnostics,
        nodes: cluster
            .real_nodes()
            .filter_map(|n| n.name.as_ref().map(|f| f.value.clone()))
            .collect(),
        keys_skipped: cluster.keys.len(),
    }
}

/// The node a file belongs to: the directory after `nodes/` when the path has one (a
/// hagen bundle), else the path's first directory. `None` for a file at the top.
pub fn node_dir(name: &str) -> Option<&str> {
    let parts: Vec<&str> = name.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    if let Some(i) = parts.iter().position(|p| *p == "nodes")
        && i + 2 < parts.len()
    {
        return Some(parts[i + 1]);
    }
    (parts.len() > 1).then(|| parts[0])
}

/// A node as the files describe it.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    /// Its directory, when it had one.
    pub dir: Option<String>,
    /// Names read for it.
    pub names: Vec<Fact>,
    /// Addresses read for it.
    pub addresses: Vec<Fact>,
    /// Zones read for it.
    pub zones: Vec<Fact>,
    /// VRRP / ARP interfaces read for it.
    pub interfaces: Vec<Fact>,
    /// Evidence it is a control plane.
    pub control_plane: Vec<At>,
    /// Evidence it is a worker.
    pub worker: Vec<At>,
    /// Evidence it runs an etcd member outside kubeadm.
    pub etcd: Vec<At>,
    /// It runs `kubeadm init` (InitConfiguration).
    pub init: bool,
    /// Only load balancer files: a dedicated load balancer host, not a node.
    pub lb_only: bool,
    /// The chosen name.
    pub name: Option<Fact>,
    /// The name is the node's directory's: no file states it.
    pub name_from_dir: bool,
    /// The chosen address.
    pub address: Option<Fact>,
    /// The roles, with the evidence of each.
    pub roles: Vec<(Role, At)>,
}

impl NodeFacts {
    fn has(&self, role: Role) -> bool {
        self.roles.iter().any(|(r, _)| *r == role)
    }
    fn addr(&self) -> Option<&str> {
        self.address.as_ref().map(|a| a.value.as_str())
    }
}

/// One `initial-cluster` value.
#[derive(Debug, Clone)]
pub struct InitialCluster {
    /// Where.
    pub at: At,
    /// `name` → peer host.
    pub members: Vec<(String, String)>,
    /// Joined later (`existing`, or kubeadm's static pod): may list only earlier members.
    pub partial: bool,
}

/// Everything gathered from the files, and the values chosen: what the rules and the
/// writer read.
pub struct Cluster<'a> {
    /// The input files.
    pub files: &'a [SourceFile],
    /// The run's options.
    pub options: &'a ImportOptions,
    /// What each file is.
    pub sources: Vec<Source>,
    /// Each file's node directory.
    pub groups: Vec<Option<String>>,
    /// Cluster-wide facts by field, best first.
    pub facts: BTreeMap<&'static str, Vec<Fact>>,
    /// The nodes, in the order they are written.
    pub nodes: Vec<NodeFacts>,
    /// Certificates with their file.
    pub certs: Vec<(FileId, Cert)>,
    /// haproxy backends (name, address, span) per file.
    pub haproxy: Vec<(FileId, Vec<facts::Server>)>,
    /// nginx upstream servers per file.
    pub nginx: Vec<(FileId, Vec<(String, Span)>)>,
    /// keepalived instances per file.
    pub vrrp: Vec<(FileId, Vrrp)>,
    /// kube-vip VIPs per file.
    pub kube_vip: Vec<Fact>,
    /// `initial-cluster` values.
    pub initial_clusters: Vec<InitialCluster>,
    /// `etcdctl member list`: (name, peer host, where).
    pub member_list: Vec<(String, String, At)>,
    /// Private key files, not read.
    pub keys: Vec<FileId>,
    /// The chosen load balancer type, and what says so.
    pub lb: (LbType, Vec<FileId>),
    /// The chosen etcd layout, and what says so.
    pub etcd: (EtcdType, Option<At>),
    /// The endpoint: DNS name, VIP (address, prefix, where), port.
    pub dns: Option<Fact>,
    /// The VIP, its prefix length when a file states it, and where.
    pub vip: Option<(String, Option<u8>, At)>,
    /// The port clients dial.
    pub port: Option<Fact>,
}

/// Which facts are read before which: what runs (static pods) and the node's own
/// kubeadm file before the ConfigMap and the cluster-wide dumps.
fn priority(s: Source) -> u8 {
    match s {
        Source::ApiServer | Source::ControllerManager => 0,
        Source::Kubeadm => 1,
        Source::Etcd => 2,
        Source::Keepalived | Source::KubeVip | Source::Haproxy | Source::Nginx => 3,
        Source::Certificate | Source::Kubeconfig => 4,
        Source::ConfigMap => 5,
        Source::MemberList | Source::NodeList => 6,
        Source::PrivateKey | Source::Other => 7,
    }
}

impl<'a> Cluster<'a> {
    /// Reads every file and chooses every value.
    pub fn new(
        files: &'a [SourceFile],
        groups: &[Option<String>],
        options: &'a ImportOptions,
    ) -> Self {
        let sources: Vec<Source> = files
            .iter()
            .map(|f| facts::classify(&f.name, &f.text))
            .collect();
        let mut c = Cluster {
            files,
            options,
            sources: sources.clone(),
            groups: groups.to_vec(),
            facts: BTreeMap::new(),
            nodes: Vec::new(),
            certs: Vec::new(),
            haproxy: Vec::new(),
            nginx: Vec::new(),
            vrrp: Vec::new(),
            kube_vip: Vec::new(),
            initial_clusters: Vec::new(),
            member_list: Vec::new(),
            keys: Vec::new(),
            lb: (LbType::External, Vec::new()),
            etcd: (EtcdType::Stacked, None),
            dns: None,
            vip: None,
            port: None,
        };
        let mut order: Vec<FileId> = (0..files.len()).collect();
        order.sort_by_key(|&i| (priority(sources[i]), i));
        let mut kubeconfigs = Vec::new();
        for id in order {
            let node = groups.get(id).cloned().flatten().map(|d| c.node_by_dir(&d));
            match sources[id] {
                Source::PrivateKey => c.keys.push(id),
                Source::Kubeadm => c.kubeadm(id, node),
                Source::ConfigMap => c.configmap(id),
                Source::ApiServer => c.apiserver(id, node),
                Source::ControllerManager => c.controller_manager(id),
                Source::Etcd => c.etcd_file(id, node),
                Source::KubeVip => c.kube_vip_file(id, node),
                Source::Certificate => {
                    for cert in facts::pem_certs(&files[id].text) {
                        c.certs.push((id, cert));
                    }
                }
                Source::Kubeconfig => kubeconfigs.push(id),
                Source::Haproxy => c.haproxy_file(id, node),
                Source::Keepalived => c.keepalived_file(id, node),
                Source::Nginx => c.nginx_file(id, node),
                Source::MemberList => c.member_list_file(id),
                Source::NodeList => c.node_list_file(id),
                Source::Other => {}
            }
        }
        c.decide(&kubeconfigs);
        c
    }

    fn at(file: FileId, span: Span) -> At {
        At { file, span }
    }

    fn fact(file: FileId, (value, span): (String, Span)) -> Fact {
        Fact {
            value,
            at: At { file, span },
            configmap: false,
        }
    }

    fn push(&mut self, key: &'static str, fact: Fact) {
        if !fact.value.trim().is_empty() {
            self.facts.entry(key).or_default().push(fact);
        }
    }

    fn node_by_dir(&mut self, dir: &str) -> usize {
        if let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.dir.as_deref() == Some(dir))
        {
            return i;
        }
        self.nodes.push(NodeFacts {
            dir: Some(dir.to_string()),
            ..NodeFacts::default()
        });
        self.nodes.len() - 1
    }

    /// The node with this name or address, made if there is none.
    fn node_by_identity(&mut self, name: Option<&str>, address: Option<&str>) -> usize {
        let found = self.nodes.iter().position(|n| {
            name.is_some_and(|x| {
                n.names.iter().any(|f| f.value == x) || n.dir.as_deref() == Some(x)
            }) || address.is_some_and(|a| n.addresses.iter().any(|f| f.value == a))
        });
        found.unwrap_or_else(|| {
            self.nodes.push(NodeFacts::default());
            self.nodes.len() - 1
        })
    }

    fn kubeadm(&mut self, id: FileId, node: Option<usize>) {
        for doc in facts::docs(&self.files[id].text) {
            match doc.get("kind").and_then(Node::str) {
                Some("InitConfiguration") => {
                    if let Some(n) = node {
                        self.nodes[n].init = true;
                        self.nodes[n].control_plane.push(Self::at(id, doc.span));
                        self.registration(id, n, &doc);
                        if let Some(ep) = doc.get("localAPIEndpoint") {
                            self.local_endpoint(id, n, ep);
                        }
                    }
                }
                Some("JoinConfiguration") => {
                    if let Some(n) = node {
                        self.registration(id, n, &doc);
                        match doc.get("controlPlane") {
                            Some(cp) => {
                                self.nodes[n].control_plane.push(Self::at(id, cp.span));
                                if let Some(ep) = cp.get("localAPIEndpoint") {
                                    self.local_endpoint(id, n, ep);
                                }
                            }
                            None => self.nodes[n].worker.push(Self::at(id, doc.span)),
                        }
                    }
                    if let Some((v, s)) = doc
                        .at("discovery.bootstrapToken.apiServerEndpoint")
                        .and_then(facts::scalar)
                    {
                        self.endpoint_fact(id, &v, s, false);
                    }
                }
                Some("ClusterConfiguration") => self.cluster_config(id, &doc, None),
                _ => {}
            }
        }
    }

    fn registration(&mut self, id: FileId, n: usize, doc: &Node) {
        let Some(reg) = doc.get("nodeRegistration") else {
            return;
        };
        if let Some(v) = reg.get("name").and_then(facts::scalar) {
            self.nodes[n].names.push(Self::fact(id, v));
        }
        let Some(args) = reg.get("kubeletExtraArgs") else {
            return;
        };
        if let Some(v) = facts::extra_arg(args, "node-ip").and_then(facts::scalar) {
            self.nodes[n].addresses.push(Self::fact(id, v));
        }
        if let Some((labels, span)) = facts::extra_arg(args, "node-labels").and_then(facts::scalar)
        {
            for l in labels.split(',') {
                if let Some(z) = l.trim().strip_prefix("topology.kubernetes.io/zone=") {
                    let start = self.files[id].text
                        [span.start..span.end.min(self.files[id].text.len())]
                        .find(z)
                        .map_or(span.start, |i| span.start + i);
                    self.nodes[n].zones.push(Self::fact(
                        id,
                        (z.to_string(), Span::new(start, start + z.len())),
                    ));
                }
            }
        }
    }

    fn local_endpoint(&mut self, id: FileId, n: usize, ep: &Node) {
        if let Some(v) = ep.get("advertiseAddress").and_then(facts::scalar) {
            self.nodes[n].addresses.push(Self::fact(id, v));
        }
        if let Some(v) = ep.get("bindPort").and_then(facts::scalar) {
            self.push("bindPort", Self::fact(id, v));
        }
    }

    /// A `host:port` the clients dial: split into the endpoint host and port facts.
    fn endpoint_fact(&mut self, id: FileId, value: &str, span: Span, configmap: bool) {
        let Some(hp) = facts::host_port(value) else {
            return;
        };
        let host = match hp.host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n,
        };
        let mk = |value: String| Fact {
            value,
            at: At { file: id, span },
            configmap,
        };
        self.push("endpoint", mk(host));
        self.push("port", mk(hp.port.to_string()));
    }

    /// A ClusterConfiguration document; `map` moves spans of a ConfigMap's embedded text
    /// to the dump's.
    fn cluster_config(&mut self, id: FileId, doc: &Node, map: Option<&dyn Fn(Span) -> Span>) {
        let configmap = map.is_some();
        let fix = |s: Span| map.map_or(s, |m| m(s));
        let put = |c: &mut Self, key: &'static str, node: Option<&Node>| {
            if let Some((v, s)) = node.and_then(facts::scalar) {
                c.push(
                    key,
                    Fact {
                        value: v,
                        at: At {
                            file: id,
                            span: fix(s),
                        },
                        configmap,
                    },
                );
            }
        };
        put(self, "clusterName", doc.get("clusterName"));
        put(self, "kubernetesVersion", doc.get("kubernetesVersion"));
        put(self, "podSubnet", doc.at("networking.podSubnet"));
        put(self, "serviceSubnet", doc.at("networking.serviceSubnet"));
        put(self, "dnsDomain", doc.at("networking.dnsDomain"));
        put(self, "encryptionAlgorithm", doc.get("encryptionAlgorithm"));
        put(
            self,
            "certificateValidityPeriod",
            doc.get("certificateValidityPeriod"),
        );
        put(
            self,
            "caCertificateValidityPeriod",
            doc.get("caCertificateValidityPeriod"),
        );
        put(
            self,
            "publicKeysECDSA",
            doc.at("featureGates.PublicKeysECDSA"),
        );
        if let Some((v, s)) = doc.get("controlPlaneEndpoint").and_then(facts::scalar) {
            self.endpoint_fact(id, &v, fix(s), configmap);
        }
        if let Some(sans) = doc.at("apiServer.certSANs") {
            let list: Vec<String> = sans
                .items()
                .iter()
                .filter_map(|i| i.str().map(str::to_string))
                .collect();
            for i in sans.items() {
                put(self, "certSAN", Some(i));
            }
            self.push(
                "certSANs",
                Fact {
                    value: list.join(","),
                    at: At {
                        file: id,
                        span: fix(sans.span),
                    },
                    configmap,
                },
            );
        }
        if let Some(ext) = doc.at("etcd.external") {
            let eps: Vec<String> = ext
                .get("endpoints")
                .map(|e| {
                    e.items()
                        .iter()
                        .filter_map(|i| i.str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for i in ext.get("endpoints").map(Node::items).unwrap_or_default() {
                put(self, "etcdEndpoint", Some(i));
            }
            self.push(
                "etcd",
                Fact {
                    value: "external".into(),
                    at: At {
                        file: id,
                        span: fix(ext.span),
                    },
                    configmap,
                },
            );
            let _ = eps;
        } else if let Some(local) = doc.at("etcd.local") {
            self.push(
                "etcd",
                Fact {
                    value: "stacked".into(),
                    at: At {
                        file: id,
                        span: fix(local.span),
                    },
                    configmap,
                },
            );
        }
    }

    fn configmap(&mut self, id: FileId) {
        let text = &self.files[id].text;
        for doc in facts::docs(text) {
            let Some(cc) = doc.at("data.ClusterConfiguration") else {
                continue;
            };
            let Some(inner) = cc.str() else { continue };
            let inner = inner.to_string();
            // The embedded text is indented under its key: inner line k is the dump's
            // line k after the key's, at the block's indentation.
            let at = (cc.span.start + 1).min(text.len());
            let key = text[..at].rfind("ClusterConfiguration:").unwrap_or(0);
            let block_start = text[key..].find('\n').map_or(text.len(), |i| key + i + 1);
            let indent = text[block_start..]
                .lines()
                .find(|l| !l.trim().is_empty())
                .map_or(0, |l| l.len() - l.trim_start().len());
            let outer_lines: Vec<usize> = std::iter::once(block_start)
                .chain(
                    text[block_start..]
                        .match_indices('\n')
                        .map(|(i, _)| block_start + i + 1),
                )
                .collect();
            let inner_index = LineIndex::new(&inner);
            let len = text.len();
            let map = move |s: Span| {
                let lc = inner_index.line_col(s.start);
                let line_start = outer_lines.get(lc.line - 1).copied().unwrap_or(block_start);
                let start = (line_start + indent + lc.column - 1).min(len);
                Span::new(start, (start + (s.end - s.start)).min(len))
            };
            for d in facts::docs(&inner) {
                self.cluster_config(id, &d, Some(&map));
            }
        }
    }

    fn apiserver(&mut self, id: FileId, node: Option<usize>) {
        let text = &self.files[id].text;
        let flags = facts::flags(text);
        if let Some(n) = node {
            self.nodes[n]
                .control_plane
                .push(Self::at(id, Span::new(0, 0)));
        }
        for (k, v, s) in flags {
            match k.as_str() {
                "advertise-address" => {
                    if let Some(n) = node {
                        self.nodes[n].addresses.push(Self::fact(id, (v, s)));
                    }
                }
                "secure-port" => self.push("bindPort", Self::fact(id, (v, s))),
                "service-cluster-ip-range" => self.push("serviceSubnet", Self::fact(id, (v, s))),
                "etcd-servers" => {
                    let local = v.split(',').all(|u| {
                        facts::host_of(u)
                            .and_then(|h| h.parse::<IpAddr>().ok())
                            .is_some_and(|ip| ip.is_loopback())
                    });
                    let layout = if local { "stacked" } else { "external" };
                    self.push("etcd", Self::fact(id, (layout.into(), s)));
                    if !local {
                        for u in v.split(',') {
                            self.push("etcdEndpoint", Self::fact(id, (u.to_string(), s)));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(i) = text.find("kube-apiserver:") {
            let tag_start = i + "kube-apiserver:".len();
            let tag: String = text[tag_start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\''))
                .collect();
            if !tag.is_empty() {
                let s = Span::new(tag_start, tag_start + tag.len());
                self.push("kubernetesVersion", Self::fact(id, (tag, s)));
            }
        }
    }

    fn controller_manager(&mut self, id: FileId) {
        for (k, v, s) in facts::flags(&self.files[id].text) {
            match k.as_str() {
                "cluster-cidr" => self.push("podSubnet", Self::fact(id, (v, s))),
                "service-cluster-ip-range" => self.push("serviceSubnet", Self::fact(id, (v, s))),
                "cluster-name" => self.push("clusterName", Self::fact(id, (v, s))),
                _ => {}
            }
        }
    }

    fn etcd_file(&mut self, id: FileId, node: Option<usize>) {
        let file = &self.files[id];
        let s = facts::etcd_settings(&file.name, &file.text);
        if s.settings.is_empty() {
            return;
        }
        let static_pod = s.kubeadm_static_pod;
        if let Some(n) = node {
            if static_pod {
                self.nodes[n]
                    .control_plane
                    .push(Self::at(id, Span::new(0, 0)));
            } else {
                self.nodes[n].etcd.push(Self::at(id, Span::new(0, 0)));
            }
            if let Some(name) = s.get("name") {
                self.nodes[n]
                    .names
                    .push(Self::fact(id, (name.value.clone(), name.span)));
            }
            if let Some(u) = s
                .get("initial-advertise-peer-urls")
                .or(s.get("advertise-client-urls"))
                && let Some(h) = u.value.split(',').next().and_then(facts::host_of)
            {
                self.nodes[n].addresses.push(Self::fact(id, (h, u.span)));
            }
        }
        self.push(
            "etcd",
            Self::fact(
                id,
                (
                    if static_pod { "stacked" } else { "external" }.into(),
                    Span::new(0, 0),
                ),
            ),
        );
        if let Some(ic) = s.get("initial-cluster") {
            let members = crate::lint::etcd::members(&ic.value)
                .into_iter()
                .filter_map(|(n, u)| Some((n, facts::host_of(&u)?)))
                .collect();
            let partial = static_pod
                || s.get("initial-cluster-state")
                    .is_some_and(|v| v.value == "existing");
            self.initial_clusters.push(InitialCluster {
                at: Self::at(id, ic.span),
                members,
                partial,
            });
        }
    }

    fn kube_vip_file(&mut self, id: FileId, node: Option<usize>) {
        let Some(m) = facts::kube_vip(&self.files[id]) else {
            return;
        };
        if let Some((_, v, _, s)) = m.vip() {
            let f = Self::fact(id, (v.clone(), *s));
            self.kube_vip.push(f.clone());
            self.push("vip", f);
        }
        if let Some(n) = node {
            if let Some((_, v, _, s)) = m.get("vip_interface") {
                self.nodes[n]
                    .interfaces
                    .push(Self::fact(id, (v.clone(), *s)));
            }
            self.nodes[n].control_plane.push(Self::at(id, m.span));
        }
        let text = &self.files[id].text;
        let image = text
            .get(m.span.start..m.span.end)
            .map(|t| t.trim_matches(['"', '\'']))
            .filter(|t| t.contains("kube-vip") && !t.contains('\n'));
        if let Some(img) = image {
            let img = img.to_string();
            self.push("kubeVipImage", Self::fact(id, (img, m.span)));
        }
    }

    fn haproxy_file(&mut self, id: FileId, node: Option<usize>) {
        let (servers, binds) = facts::haproxy_servers(&self.files[id].text);
        for (port, span) in binds {
            self.push("lbPort", Self::fact(id, (port.to_string(), span)));
        }
        if let Some(n) = node {
            self.nodes[n].lb_only = true;
        }
        self.haproxy.push((id, servers));
    }

    fn nginx_file(&mut self, id: FileId, node: Option<usize>) {
        let (servers, listens) = facts::nginx_servers(&self.files[id].text);
        for (l, span) in listens {
            if let Some(port) = l.rsplit(':').next().filter(|p| p.parse::<u16>().is_ok()) {
                self.push("lbPort", Self::fact(id, (port.to_string(), span)));
            }
        }
        if let Some(n) = node {
            self.nodes[n].lb_only = true;
        }
        if !servers.is_empty() {
            self.nginx.push((id, servers));
        }
    }

    fn keepalived_file(&mut self, id: FileId, node: Option<usize>) {
        for v in facts::vrrp(&self.files[id].text) {
            if let Some(n) = node {
                self.nodes[n].lb_only = true;
                if let Some(i) = &v.interface {
                    self.nodes[n].interfaces.push(Self::fact(id, i.clone()));
                }
                if let Some(s) = &v.src {
                    self.nodes[n].addresses.push(Self::fact(id, s.clone()));
                }
            }
            if let Some(r) = &v.vrid {
                self.push("vrid", Self::fact(id, r.clone()));
            }
            for vip in &v.vips {
                self.push("vip", Self::fact(id, vip.clone()));
            }
            if let Some(p) = &v.auth_pass {
                self.push("authPass", Self::fact(id, p.clone()));
            }
            self.vrrp.push((id, v));
        }
    }

    fn member_list_file(&mut self, id: FileId) {
        let text = &self.files[id].text;
        let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        let members = json
            .get("members")
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default();
        for m in members {
            let name = m
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
            let peer = m
                .get("peerURLs")
                .and_then(|p| p.as_array())
                .and_then(|p| p.first())
                .and_then(|p| p.as_str())
                .and_then(facts::host_of)
                .unwrap_or_default();
            let span = find_span(text, &name);
            self.member_list.push((name, peer, Self::at(id, span)));
        }
    }

    fn node_list_file(&mut self, id: FileId) {
        let text = self.files[id].text.clone();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            return;
        };
        let items = match json.get("items").and_then(|i| i.as_array()) {
            Some(items) => items.clone(),
            None => vec![json.clone()],
        };
        for item in items {
            let Some(name) = item.pointer("/metadata/name").and_then(|n| n.as_str()) else {
                continue;
            };
            let address = item
                .pointer("/status/addresses")
                .and_then(|a| a.as_array())
                .and_then(|a| {
                    a.iter()
                        .find(|x| x.get("type").and_then(|t| t.as_str()) == Some("InternalIP"))
                })
                .and_then(|x| x.get("address"))
                .and_then(|a| a.as_str());
            let n = self.node_by_identity(Some(name), address);
            let span = find_span(&text, name);
            self.nodes[n]
                .names
                .push(Self::fact(id, (name.to_string(), span)));
            if let Some(a) = address {
                let s = find_span(&text, a);
                self.nodes[n]
                    .addresses
                    .push(Self::fact(id, (a.to_string(), s)));
            }
            let labels = item.pointer("/metadata/labels").and_then(|l| l.as_object());
            if let Some(labels) = labels {
                if let Some(z) = labels
                    .get("topology.kubernetes.io/zone")
                    .and_then(|z| z.as_str())
                {
                    let s = find_span(&text, z);
                    self.nodes[n].zones.push(Self::fact(id, (z.to_string(), s)));
                }
                let cp = labels.contains_key("node-role.kubernetes.io/control-plane")
                    || labels.contains_key("node-role.kubernetes.io/master");
                if cp {
                    self.nodes[n].control_plane.push(Self::at(id, span));
                } else {
                    self.nodes[n].worker.push(Self::at(id, span));
                }
            }
        }
    }

    /// Chooses every value once all facts are in.
    fn decide(&mut self, kubeconfigs: &[FileId]) {
        // Names and addresses of nodes with a directory.
        for n in &mut self.nodes {
            n.name = n.names.first().cloned();
            n.address = n.addresses.first().cloned();
        }
        // etcd layout.
        let etcd = self.facts.get("etcd").and_then(|f| f.first()).cloned();
        self.etcd = match &etcd {
            Some(f) if f.value == "external" => (EtcdType::External, Some(f.at)),
            Some(f) => (EtcdType::Stacked, Some(f.at)),
            None => (EtcdType::Stacked, None),
        };
        // Machines only etcd's member lists name are nodes with external etcd (dedicated
        // members); with stacked etcd a member that is no control plane is drift (IMP004),
        // not a node.
        let members: Vec<(String, String, At)> = self
            .initial_clusters
            .iter()
            .filter(|ic| !ic.partial)
            .flat_map(|ic| {
                ic.members
                    .iter()
                    .map(move |(n, h)| (n.clone(), h.clone(), ic.at))
            })
            .chain(self.member_list.iter().cloned())
            .collect();
        for (name, host, at) in members {
            let known = self.nodes.iter().any(|n| {
                n.names.iter().any(|f| f.value == name)
                    || n.dir.as_deref() == Some(name.as_str())
                    || n.addresses.iter().any(|f| f.value == host)
            });
            if name.is_empty() || (!known && self.etcd.0 == EtcdType::Stacked) {
                continue;
            }
            let i = self.node_by_identity(Some(&name), Some(&host));
            let n = &mut self.nodes[i];
            if n.names.is_empty() {
                n.names.push(Fact {
                    value: name,
                    at,
                    configmap: false,
                });
            }
            if n.addresses.is_empty() && !host.is_empty() {
                n.addresses.push(Fact {
                    value: host,
                    at,
                    configmap: false,
                });
            }
        }
        // A directory with load balancer files only is a dedicated load balancer host when
        // other directories are the cluster's nodes; when only load balancer files were
        // collected, those directories are all the nodes there are.
        let evidence = |n: &NodeFacts| {
            !(n.control_plane.is_empty() && n.worker.is_empty() && n.etcd.is_empty())
        };
        let any_node = self.nodes.iter().any(evidence);
        for n in &mut self.nodes {
            n.lb_only = n.lb_only && any_node && !evidence(n);
            n.name = n.names.first().cloned();
            n.address = n.addresses.first().cloned();
            if n.name.is_none()
                && let (Some(dir), Some(first)) = (&n.dir, n.addresses.first().or(n.zones.first()))
            {
                // A bundle's or the collect script's directory is named after the node.
                n.name_from_dir = true;
                n.name = Some(Fact {
                    value: dir.clone(),
                    at: first.at,
                    configmap: false,
                });
            }
        }
        // External etcd endpoints mark their nodes as etcd members.
        if self.etcd.0 == EtcdType::External {
            let eps = self.facts.get("etcdEndpoint").cloned().unwrap_or_default();
            for ep in eps {
                if let Some(h) = facts::host_of(&ep.value)
                    && let Some(n) = self.nodes.iter_mut().find(|n| n.addr() == Some(h.as_str()))
                {
                    n.etcd.push(ep.at);
                }
            }
            for ic in self.initial_clusters.clone() {
                for (name, host) in &ic.members {
                    if let Some(n) = self.nodes.iter_mut().find(|n| {
                        n.name.as_ref().is_some_and(|f| &f.value == name)
                            || n.addr() == Some(host.as_str())
                    }) && n.etcd.is_empty()
                    {
                        n.etcd.push(ic.at);
                    }
                }
            }
        }
        // Roles.
        let external = self.etcd.0 == EtcdType::External;
        for n in &mut self.nodes {
            n.roles.clear();
            if let Some(a) = n.control_plane.first() {
                n.roles.push((Role::ControlPlane, *a));
            } else if let Some(a) = n.worker.first() {
                n.roles.push((Role::Worker, *a));
            }
            if external && let Some(a) = n.etcd.first() {
                n.roles.push((Role::Etcd, *a));
            }
        }
        // Load balancer type.
        let lb_files = |c: &Self, kinds: &[Source]| -> Vec<FileId> {
            (0..c.files.len())
                .filter(|&i| kinds.contains(&c.sources[i]))
                .collect()
        };
        let on_nodes = |c: &Self, ids: &[FileId]| {
            ids.iter().any(|&i| {
                c.group(i).is_none_or(|d| {
                    c.nodes
                        .iter()
                        .any(|n| n.dir.as_deref() == Some(d) && !n.lb_only)
                })
            })
        };
        let nginx = self.nginx.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        let kv = lb_files(self, &[Source::KubeVip]);
        let kal: Vec<FileId> = self.vrrp.iter().map(|(i, _)| *i).collect();
        let hap: Vec<FileId> = self.haproxy.iter().map(|(i, _)| *i).collect();
        self.lb = if !nginx.is_empty() && on_nodes(self, &nginx) {
            (LbType::NginxLocal, nginx)
        } else if !kv.is_empty() {
            (LbType::KubeVip, kv)
        } else if !kal.is_empty()
            && !hap.is_empty()
            && on_nodes(self, &[kal.clone(), hap.clone()].concat())
        {
            (LbType::HaproxyKeepalived, [hap, kal].concat())
        } else if !kal.is_empty() && on_nodes(self, &kal) {
            (LbType::Keepalived, kal)
        } else if !hap.is_empty() && on_nodes(self, &hap) {
            (LbType::HaproxyKeepalived, hap)
        } else {
            // Dedicated load balancer hosts (or none collected): hagen's `external`.
            (LbType::External, [hap, kal, nginx].concat())
        };
        // Kubeconfig servers: the endpoint, unless they point at one node's own API
        // server (kubeadm's controller-manager.conf and scheduler.conf do).
        let bind_port = self
            .facts
            .get("bindPort")
            .and_then(|f| f.first())
            .map_or("6443".to_string(), |f| f.value.clone());
        let local: BTreeSet<String> = self
            .nodes
            .iter()
            .filter_map(|n| n.addr().map(str::to_string))
            .collect();
        for &id in kubeconfigs {
            for (server, span) in facts::kubeconfig_servers(&self.files[id].text) {
                let Some(hp) = facts::host_port(&server) else {
                    continue;
                };
                let host = match &hp.host {
                    Host::Ip(ip) => ip.to_string(),
                    Host::Name(n) => n.clone(),
                };
                let own = (local.contains(&host)
                    || host == "127.0.0.1"
                    || host == "::1"
                    || host == "localhost")
                    && hp.port.to_string() == bind_port;
                if !own {
                    self.endpoint_fact(id, &server, span, false);
                }
            }
        }
        // The endpoint.
        let host = self.facts.get("endpoint").and_then(|f| f.first()).cloned();
        // A VIP is an address (kube-vip's `address` may also be a DNS name).
        let vip_fact = self
            .facts
            .get("vip")
            .and_then(|l| {
                l.iter().find(|f| {
                    f.value
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .parse::<IpAddr>()
                        .is_ok()
                })
            })
            .cloned();
        let vip_of = |f: &Fact, from_keepalived: bool| -> (String, Option<u8>, At) {
            let (a, p) = match f.value.split_once('/') {
                Some((a, p)) => (a.to_string(), p.parse().ok()),
                None => (f.value.clone(), None),
            };
            (a, if from_keepalived { p } else { None }, f.at)
        };
        let vip_from_files = vip_fact.map(|f| {
            let keepalived = self.sources[f.at.file] == Source::Keepalived;
            vip_of(&f, keepalived)
        });
        match &host {
            Some(h) if h.value.parse::<IpAddr>().is_ok() => {
                let ip: IpAddr = h.value.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
                if !ip.is_loopback() {
                    self.vip = match vip_from_files {
                        Some(v) if v.0 == h.value => Some(v),
                        _ => Some((h.value.clone(), None, h.at)),
                    };
                }
            }
            Some(h) => {
                self.dns = Some(h.clone());
                self.vip = vip_from_files.or_else(|| self.vip_in_sans(&h.value));
            }
            None => self.vip = vip_from_files,
        }
        self.port = self
            .facts
            .get("port")
            .and_then(|f| f.first())
            .or(self.facts.get("lbPort").and_then(|f| f.first()))
            .cloned();
        // Node order: the first control plane (kubeadm init) first; then in the order of
        // a backend list, an etcd endpoint list or an initial-cluster; then by name.
        let mut hint: Vec<String> = Vec::new();
        for (_, servers) in &self.haproxy {
            hint.extend(servers.iter().filter_map(|(_, a, _)| facts::host_of(a)));
        }
        for (_, servers) in &self.nginx {
            hint.extend(servers.iter().filter_map(|(a, _)| facts::host_of(a)));
        }
        for f in self.facts.get("etcdEndpoint").into_iter().flatten() {
            hint.extend(facts::host_of(&f.value));
        }
        for ic in &self.initial_clusters {
            hint.extend(ic.members.iter().map(|(_, h)| h.clone()));
        }
        let rank = |n: &NodeFacts| {
            let group = if n.has(Role::ControlPlane) {
                0
            } else if n.has(Role::Etcd) {
                1
            } else {
                2
            };
            let pos = n
                .addr()
                .and_then(|a| hint.iter().position(|h| h == a))
                .unwrap_or(usize::MAX);
            let name = n
                .name
                .as_ref()
                .map(|f| natural(&f.value))
                .unwrap_or_default();
            (
                group,
                !n.init,
                if group == 2 { usize::MAX } else { pos },
                name,
            )
        };
        self.nodes.sort_by_cached_key(rank);
    }

    /// A VIP behind an external load balancer's name: hagen writes it first in
    /// certSANs, before the name; only trusted in files hagen generated.
    fn vip_in_sans(&self, dns: &str) -> Option<(String, Option<u8>, At)> {
        let sans = self.facts.get("certSANs")?.first()?;
        if !self.files[sans.at.file].text.contains("generated by hagen") {
            return None;
        }
        let list: Vec<&str> = sans.value.split(',').collect();
        let first = list.first()?;
        let is_node = self.nodes.iter().any(|n| n.addr() == Some(*first));
        (first.parse::<IpAddr>().is_ok() && list.get(1) == Some(&dns) && !is_node).then(|| {
            let at = self
                .facts
                .get("certSAN")
                .and_then(|f| f.first())
                .map_or(sans.at, |f| f.at);
            (first.to_string(), None, at)
        })
    }

    /// A file's node directory.
    pub fn group(&self, id: FileId) -> Option<&str> {
        self.groups.get(id).and_then(|g| g.as_deref())
    }

    /// The first fact of a field.
    pub fn first(&self, key: &str) -> Option<&Fact> {
        self.facts.get(key).and_then(|f| f.first())
    }

    /// The nodes that are neither load balancer hosts nor unnamed.
    pub fn real_nodes(&self) -> impl Iterator<Item = &NodeFacts> {
        self.nodes.iter().filter(|n| !n.lb_only)
    }

    /// The control planes' addresses.
    pub fn control_plane_addresses(&self) -> BTreeSet<String> {
        self.real_nodes()
            .filter(|n| n.has(Role::ControlPlane))
            .filter_map(|n| n.addr().map(str::to_string))
            .collect()
    }

    /// The API servers' port.
    pub fn bind_port(&self) -> u16 {
        self.first("bindPort")
            .and_then(|f| f.value.parse().ok())
            .unwrap_or(crate::defaults::BIND_PORT)
    }

    /// `file:line` of a place.
    pub fn cite(&self, at: At) -> String {
        let f = &self.files[at.file];
        format!(
            "{}:{}",
            f.name,
            LineIndex::new(&f.text).line_col(at.span.start).line
        )
    }
}

/// A key that sorts `node2` before `node10`.
fn natural(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            if !num.is_empty() {
                out.push((std::mem::take(&mut text), num.parse().unwrap_or(u64::MAX)));
                num.clear();
            }
            text.push(c);
        }
    }
    out.push((text, num.parse().unwrap_or(0)));
    out
}

/// The span of the first quoted occurrence of `needle` (JSON), else of its first one.
fn find_span(text: &str, needle: &str) -> Span {
    if needle.is_empty() {
        return Span::new(0, 0);
    }
    let quoted = format!("\"{needle}\"");
    match text.find(&quoted) {
        Some(i) => Span::new(i + 1, i + 1 + needle.len()),
        None => text
            .find(needle)
            .map_or(Span::new(0, 0), |i| Span::new(i, i + needle.len())),
    }
}

fn diag(rule: &'static crate::diag::Rule, at: At, msg: impl Into<String>) -> Diagnostic {
    let mut d = Diagnostic::new(rule, msg);
    d.file = at.file;
    if at.span != Span::new(0, 0) {
        d.span = Some(at.span);
    }
    d
}

fn label(mut d: Diagnostic, at: At, msg: impl Into<String>) -> Diagnostic {
    d.labels.push(Label {
        file: at.file,
        span: at.span,
        message: msg.into(),
    });
    d
}

/// The value of a field as compared: versions without `v`, hosts and ports parsed.
fn normal(key: &str, v: &str) -> String {
    let v = v.trim().trim_matches(['"', '\'']);
    match key {
        "kubernetesVersion" => v.trim_start_matches('v').to_string(),
        "vip" => v.split('/').next().unwrap_or(v).to_string(),
        "etcdEndpoint" => facts::host_port(v).map_or(v.to_string(), |h| h.to_string()),
        _ => v.to_string(),
    }
}

/// The fields whose disagreement is IMP002 / IMP010 (VRRP's are IMP007; lists have
/// their own rules).
const COMPARED: &[&str] = &[
    "clusterName",
    "kubernetesVersion",
    "endpoint",
    "port",
    "bindPort",
    "podSubnet",
    "serviceSubnet",
    "dnsDomain",
    "certSANs",
    "etcd",
];

/// Disagreements of one field: (the chosen fact, a disagreeing one).
fn disagreements<'c>(c: &'c Cluster<'_>, key: &str) -> Vec<(&'c Fact, &'c Fact)> {
    let Some(list) = c.facts.get(key) else {
        return Vec::new();
    };
    let Some(first) = list.first() else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    list.iter()
        .skip(1)
        .filter(|f| normal(key, &f.value) != normal(key, &first.value))
        .filter(|f| seen.insert((normal(key, &f.value), f.at.file)))
        .map(|f| (first, f))
        .collect()
}

/// True when one of two facts is the ConfigMap's and the other a static pod's or a
/// kubeadm file's: IMP010's case (any other pair is IMP002's).
fn configmap_vs_manifest(c: &Cluster<'_>, a: &Fact, b: &Fact) -> bool {
    let manifest = |f: &Fact| {
        !f.configmap
            && matches!(
                c.sources[f.at.file],
                Source::ApiServer | Source::ControllerManager | Source::Kubeadm | Source::Etcd
            )
    };
    (a.configmap && manifest(b)) || (b.configmap && manifest(a))
}

/// IMP001.
pub fn fact_not_found(c: &Cluster<'_>, out: &mut Diagnostics) {
    let anchor = At {
        file: 0,
        span: Span::new(0, 0),
    };
    if c.files.is_empty() {
        return;
    }
    let mut missing = |what: &str, from: &str| {
        out.push(
            diag(
                &rules::FACT_NOT_FOUND,
                anchor,
                format!("{what}: not in any imported file"),
            )
            .help(format!(
                "{from} gives it; left as a placeholder in the topology"
            )),
        );
    };
    if c.first("clusterName").is_none() {
        missing(
            "the cluster name (metadata.name)",
            "kubeadm's ClusterConfiguration (`clusterName`, in the first control plane's kubeadm-config.yaml or the kubeadm-config ConfigMap)",
        );
    }
    if c.first("kubernetesVersion").is_none() {
        missing(
            "the Kubernetes version",
            "kubeadm's ClusterConfiguration or /etc/kubernetes/manifests/kube-apiserver.yaml (its image tag)",
        );
    }
    if c.dns.is_none() && c.vip.is_none() && c.lb.0 != LbType::NginxLocal {
        missing(
            "the control-plane endpoint",
            "kubeadm's ClusterConfiguration (`controlPlaneEndpoint`), /etc/kubernetes/admin.conf or a worker's kubelet.conf (`server:`)",
        );
    }
    if let Some((addr, None, _)) = &c.vip
        && c.lb.0.holds_vip()
    {
        missing(
            &format!("the prefix length of the VIP {addr}"),
            "keepalived.conf (`virtual_ipaddress`) or the node's interface address (`ip -o addr`)",
        );
    }
    for n in c.real_nodes() {
        let who = n
            .name
            .as_ref()
            .map(|f| f.value.clone())
            .or(n.dir.clone())
            .unwrap_or_else(|| "a node".into());
        if n.address.is_none() {
            missing(
                &format!("the address of node `{who}`"),
                "its kubeadm-config.yaml (`advertiseAddress`, `node-ip`) or kube-apiserver.yaml (`--advertise-address`)",
            );
        }
        if n.roles.is_empty() {
            missing(
                &format!("the roles of node `{who}`"),
                "its kubeadm-config.yaml, /etc/kubernetes/manifests/ or `kubectl get nodes -o json`",
            );
        }
    }
}

/// IMP002.
pub fn files_disagree(c: &Cluster<'_>, out: &mut Diagnostics) {
    for key in COMPARED {
        for (first, other) in disagreements(c, key) {
            if configmap_vs_manifest(c, first, other) {
                continue;
            }
            out.push(label(
                diag(
                    &rules::FILES_DISAGREE,
                    other.at,
                    format!(
                        "{key} is `{}` here but `{}` in {}",
                        other.value,
                        first.value,
                        c.cite(first.at)
                    ),
                )
                .help("the topology takes the first; make the other file agree, or correct the topology"),
                first.at,
                "the value imported",
            ));
        }
    }
    for n in c.real_nodes() {
        let who = n.name.as_ref().map_or("?", |f| f.value.as_str());
        for (what, list) in [("address", &n.addresses), ("name", &n.names)] {
            let Some(first) = list.first() else { continue };
            let mut seen = BTreeSet::new();
            for f in list.iter().skip(1) {
                if f.value != first.value && seen.insert(f.value.clone()) {
                    out.push(label(
                        diag(
                            &rules::FILES_DISAGREE,
                            f.at,
                            format!(
                                "node `{who}`'s {what} is `{}` here but `{}` in {}",
                                f.value,
                                first.value,
                                c.cite(first.at)
                            ),
                        )
                        .help("one of the files is stale, or describes another node"),
                        first.at,
                        "the value imported",
                    ));
                }
            }
        }
    }
}

/// IMP003.
pub fn san_missing(c: &Cluster<'_>, out: &mut Diagnostics) {
    for (id, cert) in &c.certs {
        let name = &c.files[*id].name;
        if !name.ends_with("apiserver.crt") || cert.is_ca {
            continue;
        }
        let Some(sans) = &cert.sans else { continue };
        let mut want: Vec<(String, &str)> = Vec::new();
        if let Some(d) = &c.dns {
            want.push((d.value.clone(), "the endpoint name"));
        }
        if let Some((v, ..)) = &c.vip {
            want.push((v.clone(), "the VIP"));
        }
        if let Some(dir) = c.group(*id)
            && let Some(n) = c.nodes.iter().find(|n| n.dir.as_deref() == Some(dir))
            && let Some(a) = n.addr()
        {
            want.push((a.to_string(), "its node's address"));
        }
        for (v, what) in want {
            let norm = |s: &str| {
                s.parse::<IpAddr>()
                    .map_or(s.to_ascii_lowercase(), |i| i.to_string())
            };
            if !sans.iter().any(|s| norm(s) == norm(&v)) {
                out.push(
                    diag(
                        &rules::SAN_MISSING,
                        At {
                            file: *id,
                            span: cert.span,
                        },
                        format!(
                            "the API server certificate lacks {what} `{v}` (its SANs: {})",
                            sans.join(", ")
                        ),
                    )
                    .help(format!(
                        "add `{v}` to apiServer.certSANs and re-issue apiserver.crt"
                    )),
                );
            }
        }
    }
}

/// IMP004.
pub fn etcd_members_differ(c: &Cluster<'_>, out: &mut Diagnostics) {
    let role = match c.etcd.0 {
        EtcdType::Stacked => Role::ControlPlane,
        EtcdType::External => Role::Etcd,
    };
    let expected: BTreeMap<String, String> = c
        .real_nodes()
        .filter(|n| n.has(role))
        .filter_map(|n| Some((n.name.as_ref()?.value.clone(), n.addr()?.to_string())))
        .collect();
    let what = match c.etcd.0 {
        EtcdType::Stacked => "control plane",
        EtcdType::External => "etcd node",
    };
    if expected.is_empty() {
        return;
    }
    let known = |name: &str, host: &str| {
        expected.get(name).is_some_and(|a| a == host) || expected.values().any(|a| a == host)
    };
    let anchor = |f: FileId| c.member_list.iter().find(|m| m.2.file == f).map(|m| m.2);
    if let Some((_, _, at)) = c.member_list.first() {
        let file = at.file;
        for (name, host, at) in c.member_list.iter().filter(|m| m.2.file == file) {
            if !known(name, host) {
                out.push(
                    diag(
                        &rules::ETCD_MEMBERS_DIFFER,
                        *at,
                        format!("etcd member `{name}` ({host}) is not a {what} of the cluster"),
                    )
                    .help("remove it (`etcdctl member remove <ID>`) if the machine is gone"),
                );
            }
        }
        for (name, addr) in &expected {
            if !c
                .member_list
                .iter()
                .any(|(n, h, a)| a.file == file && (n == name || h == addr))
            {
                out.push(diag(
                    &rules::ETCD_MEMBERS_DIFFER,
                    anchor(file).unwrap_or(*at),
                    format!("{what} `{name}` ({addr}) is not an etcd member"),
                ).help("its etcd never joined or was removed: add it (`etcdctl member add`) or re-join the node"));
            }
        }
    }
    for ic in &c.initial_clusters {
        for (name, host) in &ic.members {
            if !known(name, host) {
                out.push(diag(
                    &rules::ETCD_MEMBERS_DIFFER,
                    ic.at,
                    format!(
                        "`initial-cluster` lists `{name}` ({host}), not a {what} of the cluster"
                    ),
                ));
            }
        }
        if !ic.partial {
            for (name, addr) in &expected {
                if !ic.members.iter().any(|(n, h)| n == name || h == addr) {
                    out.push(
                        diag(
                            &rules::ETCD_MEMBERS_DIFFER,
                            ic.at,
                            format!("`initial-cluster` does not list {what} `{name}` ({addr})"),
                        )
                        .help("list every member in every member's initial-cluster"),
                    );
                }
            }
        }
    }
    if c.etcd.0 == EtcdType::External {
        for f in c.facts.get("etcdEndpoint").into_iter().flatten() {
            if let Some(h) = facts::host_of(&f.value)
                && !expected.values().any(|a| *a == h)
                && c.real_nodes().any(|n| n.has(Role::Etcd))
            {
                out.push(diag(
                    &rules::ETCD_MEMBERS_DIFFER,
                    f.at,
                    format!(
                        "the API servers use etcd at `{}`, not one of the etcd nodes",
                        f.value
                    ),
                ));
            }
        }
    }
}

/// IMP005.
pub fn lb_backends_differ(c: &Cluster<'_>, out: &mut Diagnostics) {
    let port = c.bind_port();
    let cps = c.control_plane_addresses();
    if cps.is_empty() {
        return;
    }
    let expected: BTreeSet<String> = cps
        .iter()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .map(|ip| HostPort::new(ip, port).to_string())
        .collect();
    let lists = c
        .haproxy
        .iter()
        .map(|(id, s)| {
            (
                *id,
                s.iter()
                    .map(|(_, a, sp)| (a.clone(), *sp))
                    .collect::<Vec<_>>(),
            )
        })
        .chain(c.nginx.iter().map(|(id, s)| (*id, s.clone())));
    for (id, servers) in lists {
        if servers.is_empty() {
            continue;
        }
        // A server may name a control plane by its node name (`server m1:6443`).
        let resolve = |a: &str| -> String {
            let Some(hp) = facts::host_port(a) else {
                return a.to_string();
            };
            if let Host::Name(name) = &hp.host
                && let Some(ip) = c
                    .real_nodes()
                    .find(|n| n.name.as_ref().is_some_and(|f| &f.value == name))
                    .and_then(|n| n.addr()?.parse::<IpAddr>().ok())
            {
                return HostPort::new(ip, hp.port).to_string();
            }
            hp.to_string()
        };
        let got: BTreeSet<String> = servers.iter().map(|(a, _)| resolve(a)).collect();
        for (a, span) in &servers {
            let norm = resolve(a);
            if !expected.contains(&norm) {
                out.push(
                    diag(
                        &rules::LB_BACKENDS_DIFFER,
                        At {
                            file: id,
                            span: *span,
                        },
                        format!(
                            "server `{a}` is not a control plane's API server (control planes: {})",
                            expected.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .help("remove it, or correct its address or port"),
                );
            }
        }
        for e in expected.difference(&got) {
            out.push(
                diag(
                    &rules::LB_BACKENDS_DIFFER,
                    At {
                        file: id,
                        span: servers[0].1,
                    },
                    format!("control plane `{e}` is missing from the servers"),
                )
                .help("add a server line for it"),
            );
        }
    }
}

/// IMP006.
pub fn vrrp_peers_differ(c: &Cluster<'_>, out: &mut Diagnostics) {
    if !c.lb.0.uses_vrrp() {
        return;
    }
    let cps = c.control_plane_addresses();
    if cps.is_empty() {
        return;
    }
    for (id, v) in &c.vrrp {
        let Some((src, src_span)) = &v.src else {
            continue;
        };
        let mut got: BTreeSet<String> = v.peers.iter().map(|(p, _)| p.clone()).collect();
        got.insert(src.clone());
        for (p, span) in v
            .peers
            .iter()
            .chain(std::iter::once(&(src.clone(), *src_span)))
        {
            if !cps.contains(p) {
                out.push(
                    diag(
                        &rules::VRRP_PEERS_DIFFER,
                        At {
                            file: *id,
                            span: *span,
                        },
                        format!(
                            "`{p}` is in keepalived's unicast peers but is not a control plane"
                        ),
                    )
                    .help("remove it from unicast_peer"),
                );
            }
        }
        for missing in cps.difference(&got) {
            out.push(
                diag(
                    &rules::VRRP_PEERS_DIFFER,
                    At {
                        file: *id,
                        span: *src_span,
                    },
                    format!("control plane `{missing}` is not among keepalived's unicast peers"),
                )
                .help("add it to unicast_peer"),
            );
        }
    }
}

/// IMP007.
pub fn vrrp_differs_across_nodes(c: &Cluster<'_>, out: &mut Diagnostics) {
    for (key, what) in [("vrid", "virtual_router_id"), ("vip", "VIP")] {
        for (first, other) in disagreements(c, key) {
            if first.at.file == other.at.file {
                continue;
            }
            out.push(label(
                diag(
                    &rules::VRRP_DIFFERS_ACROSS_NODES,
                    other.at,
                    format!(
                        "{what} `{}` here, `{}` in {}",
                        other.value,
                        first.value,
                        c.cite(first.at)
                    ),
                )
                .help("every node of one VRRP group needs the same id and VIP"),
                first.at,
                "the value imported",
            ));
        }
    }
}

/// IMP008.
pub fn cert_expiring(c: &Cluster<'_>, out: &mut Diagnostics) {
    let Some(now) = c.options.now else { return };
    let window = i64::from(c.options.cert_expiry_days) * 86_400;
    for (id, cert) in &c.certs {
        let at = At {
            file: *id,
            span: cert.span,
        };
        let days = (cert.not_after - now).div_euclid(86_400);
        if cert.not_after <= now {
            out.push(
                diag(
                    &rules::CERT_EXPIRING,
                    at,
                    format!("`{}` expired {} day(s) ago", cert.subject, -days),
                )
                .severity(Severity::Error)
                .help("renew it now (`kubeadm certs renew`, or a CA rotation for a CA)"),
            );
        } else if cert.not_after - now <= window {
            out.push(
                diag(
                    &rules::CERT_EXPIRING,
                    at,
                    format!("`{}` expires in {days} day(s)", cert.subject),
                )
                .help("renew it before then (`kubeadm certs renew all`)"),
            );
        }
    }
}

/// IMP009.
pub fn cert_other_ca(c: &Cluster<'_>, out: &mut Diagnostics) {
    // CA files by path below the node directory (`etc/kubernetes/pki/ca.crt`).
    let rel = |id: FileId| -> String {
        let name = &c.files[id].name;
        let dir = c.group(id).unwrap_or("");
        name.split_once(&format!("{dir}/"))
            .map_or(name.as_str(), |(_, r)| r)
            .to_string()
    };
    let mut cas: BTreeMap<String, (FileId, &Cert)> = BTreeMap::new();
    for (id, cert) in c.certs.iter().filter(|(_, c)| c.is_ca) {
        match cas.get(&rel(*id)) {
            Some((first, other)) if other.spki != cert.spki => out.push(label(
                diag(
                    &rules::CERT_OTHER_CA,
                    At { file: *id, span: cert.span },
                    format!("this `{}` has another key than the one in {}", cert.subject, c.files[*first].name),
                )
                .help("every node must hold the same CA; copy the cluster's CA here and re-issue this node's certificates"),
                At { file: *first, span: other.span },
                "the first one",
            )),
            Some(_) => {}
            None => {
                cas.insert(rel(*id), (*id, cert));
            }
        }
    }
    for (id, cert) in c.certs.iter().filter(|(_, c)| !c.is_ca) {
        let dir = c.group(*id);
        let node_cas: Vec<&Cert> = c
            .certs
            .iter()
            .filter(|(i, k)| k.is_ca && c.group(*i) == dir)
            .map(|(_, k)| k)
            .collect();
        if node_cas.is_empty() || node_cas.iter().any(|k| k.subject == cert.issuer) {
            continue;
        }
        out.push(
            diag(
                &rules::CERT_OTHER_CA,
                At {
                    file: *id,
                    span: cert.span,
                },
                format!(
                    "`{}` was issued by `{}`, which is none of this node's CAs ({})",
                    cert.subject,
                    cert.issuer,
                    node_cas
                        .iter()
                        .map(|k| k.subject.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .help("re-issue it from the cluster's CA"),
        );
    }
}

/// IMP010.
pub fn configmap_differs(c: &Cluster<'_>, out: &mut Diagnostics) {
    for key in COMPARED {
        for (first, other) in disagreements(c, key) {
            if !configmap_vs_manifest(c, first, other) {
                continue;
            }
            let (cm, node) = if other.configmap {
                (other, first)
            } else {
                (first, other)
            };
            out.push(label(
                diag(
                    &rules::CONFIGMAP_DIFFERS,
                    cm.at,
                    format!("the kubeadm-config ConfigMap says {key} `{}`, {} says `{}`", cm.value, c.cite(node.at), node.value),
                )
                .help("`kubeadm upgrade` regenerates the static pods from the ConfigMap: make it match what runs"),
                node.at,
                "what the node has",
            ));
        }
    }
}

/// IMP011.
pub fn private_key_not_read(c: &Cluster<'_>, out: &mut Diagnostics) {
    let Some(&first) = c.keys.first() else { return };
    let names: Vec<&str> = c
        .keys
        .iter()
        .take(5)
        .map(|&i| c.files[i].name.as_str())
        .collect();
    let more = c.keys.len().saturating_sub(names.len());
    out.push(
        diag(
            &rules::PRIVATE_KEY_NOT_READ,
            At {
                file: first,
                span: Span::new(0, 0),
            },
            format!(
                "{} private key file(s) skipped, not read: {}{}",
                c.keys.len(),
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        )
        .help("import needs no key; `hagen import --collect-script` never copies one"),
    );
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:-".contains(c))
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && v.parse::<f64>().is_err()
        && !v.contains(": ");
    if plain {
        v.to_string()
    } else {
        serde_json::to_string(v).unwrap_or_else(|_| format!("\"{v}\""))
    }
}

/// Days in a Go duration (`8760h0m0s`), when it is whole days.
fn duration_days(v: &str) -> Option<u32> {
    let hours: u64 = v.trim_matches('"').split('h').next()?.parse().ok()?;
    (hours.is_multiple_of(24) && hours > 0)
        .then(|| u32::try_from(hours / 24).ok())
        .flatten()
}

/// Writes the topology.
pub fn write(c: &Cluster<'_>) -> String {
    let mut w = String::new();
    let cite = |at: At| c.cite(at);
    let src = |f: &Fact, key: &str| -> String {
        let agree = c.facts.get(key).map_or(0, |l| {
            l.iter()
                .filter(|g| normal(key, &g.value) == normal(key, &f.value))
                .count()
        });
        if agree > 1 {
            format!("  # {} (and {} more)", cite(f.at), agree - 1)
        } else {
            format!("  # {}", cite(f.at))
        }
    };
    let names: Vec<String> = c
        .real_nodes()
        .filter_map(|n| n.name.as_ref().map(|f| f.value.clone()))
        .collect();
    w.push_str(&format!(
        "# Imported by hagen {} from {} file(s) of {} node(s); {} private key file(s) skipped unread.\n",
        env!("CARGO_PKG_VERSION"),
        c.files.len(),
        names.len(),
        c.keys.len()
    ));
    w.push_str("# Each value names the file and line it came from. `# ?` lines are facts no file\n# gave: fill them in (hagen never guesses), then `hagen validate` this file.\n");
    let lb_hosts: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| n.lb_only)
        .filter_map(|n| n.dir.as_deref())
        .collect();
    if !lb_hosts.is_empty() {
        w.push_str(&format!(
            "# Load balancer hosts that are not nodes (their load balancer is `external` to hagen): {}\n",
            lb_hosts.join(", ")
        ));
    }
    w.push_str("apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n");
    match c.first("clusterName") {
        Some(f) => w.push_str(&format!(
            "  name: {}{}\n",
            scalar(&f.value),
            src(f, "clusterName")
        )),
        None => w.push_str(
            "metadata: {}\n  # name: ?  # the cluster name: kubeadm ClusterConfiguration `clusterName`\n",
        ),
    }
    w.push_str("spec:\n");
    match c.first("kubernetesVersion") {
        Some(f) => {
            let v = if f.value.starts_with('v') { f.value.clone() } else { format!("v{}", f.value) };
            w.push_str(&format!("  kubernetesVersion: {}{}\n", scalar(&v), src(f, "kubernetesVersion")));
        }
        None => w.push_str("  # kubernetesVersion: ?  # kubeadm ClusterConfiguration or kube-apiserver.yaml's image tag\n"),
    }
    let mut ep = String::new();
    let mut notes = String::new();
    match &c.vip {
        Some((addr, Some(p), at)) => {
            ep.push_str(&format!(
                "    vip: {}  # {}\n",
                scalar(&format!("{addr}/{p}")),
                cite(*at)
            ));
        }
        Some((addr, None, at)) => ep.push_str(&format!(
            "    vip: {}  # {}; ? prefix length: no file states it, add it (/24…)\n",
            scalar(addr),
            cite(*at)
        )),
        None if c.lb.0.holds_vip() => notes.push_str(
            "    # vip: ?  # keepalived.conf virtual_ipaddress or kube-vip.yaml `address`\n",
        ),
        None => {}
    }
    match &c.dns {
        Some(f) => ep.push_str(&format!(
            "    dns: {}{}\n",
            scalar(&f.value),
            src(f, "endpoint")
        )),
        None if c.vip.is_none() && c.lb.0 != LbType::NginxLocal => notes
            .push_str("    # dns: ?  # kubeadm `controlPlaneEndpoint` or a kubeconfig `server:`\n"),
        None => {}
    }
    match &c.port {
        Some(f) => ep.push_str(&format!("    port: {}{}\n", f.value, src(f, "port"))),
        None => {
            notes.push_str("    # port: ?  # kubeadm `controlPlaneEndpoint`; 6443 if left out\n")
        }
    }
    if ep.is_empty() {
        w.push_str("  controlPlaneEndpoint: {}\n");
    } else {
        w.push_str("  controlPlaneEndpoint:\n");
    }
    w.push_str(&ep);
    w.push_str(&notes);
    // apiServer.
    let vip_addr = c.vip.as_ref().map(|v| v.0.clone());
    let dns = c.dns.as_ref().map(|d| d.value.clone());
    let mut extra: Vec<&Fact> = Vec::new();
    if let Some(first) = c.first("certSANs") {
        for f in c
            .facts
            .get("certSAN")
            .into_iter()
            .flatten()
            .filter(|f| f.at.file == first.at.file)
        {
            if Some(&f.value) != vip_addr.as_ref()
                && Some(&f.value) != dns.as_ref()
                && !extra.iter().any(|e| e.value == f.value)
            {
                extra.push(f);
            }
        }
    }
    let bind = c.first("bindPort");
    if bind.is_some() || !extra.is_empty() {
        w.push_str("  apiServer:\n");
        if let Some(f) = bind {
            w.push_str(&format!(
                "    bindPort: {}{}\n",
                f.value,
                src(f, "bindPort")
            ));
        }
        if !extra.is_empty() {
            w.push_str("    certSANs:\n");
            for f in extra {
                w.push_str(&format!("      - {}  # {}\n", scalar(&f.value), cite(f.at)));
            }
        }
    }
    // loadBalancer.
    w.push_str("  loadBalancer:\n");
    let lb_note = if c.lb.1.is_empty() {
        "no haproxy.cfg, keepalived.conf, nginx.conf or kube-vip.yaml among the files".to_string()
    } else {
        let mut n: Vec<String> =
            c.lb.1
                .iter()
                .take(2)
                .map(|&i| c.files[i].name.clone())
                .collect();
        if c.lb.1.len() > 2 {
            n.push(format!("{} more", c.lb.1.len() - 2));
        }
        n.join(", ")
    };
    w.push_str(&format!("    type: {}  # {}\n", c.lb.0.as_str(), lb_note));
    let mut node_ifaces: BTreeMap<usize, &Fact> = BTreeMap::new();
    let mut lb_iface: Option<&Fact> = None;
    if c.lb.0.holds_vip() {
        let mut count: BTreeMap<&str, (usize, &Fact)> = BTreeMap::new();
        for (i, n) in c.nodes.iter().enumerate() {
            if let Some(f) = n.interfaces.first() {
                node_ifaces.insert(i, f);
                count.entry(f.value.as_str()).or_insert((0, f)).0 += 1;
            }
        }
        lb_iface = count
            .values()
            .max_by_key(|(k, f)| (*k, std::cmp::Reverse(f.at.file)))
            .map(|(_, f)| *f);
        match lb_iface {
            Some(f) => w.push_str(&format!(
                "    interface: {}  # {}\n",
                scalar(&f.value),
                cite(f.at)
            )),
            None => w.push_str(
                "    # interface: ?  # keepalived.conf `interface` or kube-vip's `vip_interface`\n",
            ),
        }
    }
    if c.lb.0.uses_vrrp() {
        match c.first("vrid") {
            Some(f) => w.push_str(&format!(
                "    virtualRouterId: {}{}\n",
                f.value,
                src(f, "vrid")
            )),
            None => w.push_str("    # virtualRouterId: ?  # keepalived.conf `virtual_router_id`\n"),
        }
        if let Some(f) = c.first("authPass") {
            w.push_str(&format!(
                "    authPass: {}{}\n",
                scalar(&f.value),
                src(f, "authPass")
            ));
        }
    }
    if c.lb.0 == LbType::KubeVip
        && let Some(f) = c.first("kubeVipImage")
        && f.value != crate::defaults::KUBE_VIP_IMAGE
    {
        w.push_str(&format!(
            "    kubeVipImage: {}  # {}\n",
            scalar(&f.value),
            cite(f.at)
        ));
    }
    // etcd.
    w.push_str("  etcd:\n");
    match c.etcd.1 {
        Some(at) => w.push_str(&format!(
            "    type: {}  # {}\n",
            etcd_str(c.etcd.0),
            cite(at)
        )),
        None => w.push_str("    type: stacked  # ? no file says; kubeadm's default (etcd.local)\n"),
    }
    // networking.
    let net: Vec<(&str, &str)> = [
        ("podSubnet", "podSubnet"),
        ("serviceSubnet", "serviceSubnet"),
        ("dnsDomain", "dnsDomain"),
    ]
    .into_iter()
    .filter(|(k, _)| c.first(k).is_some())
    .collect();
    if !net.is_empty() {
        w.push_str("  networking:\n");
        for (k, key) in net {
            if let Some(f) = c.first(k) {
                w.push_str(&format!("    {key}: {}{}\n", scalar(&f.value), src(f, k)));
            }
        }
    }
    // pki.
    let mut pki = String::new();
    let alg = c.first("encryptionAlgorithm").and_then(|f| {
        let v = match f.value.as_str() {
            "ECDSA-P256" => "ecdsa-p256",
            "RSA-2048" => "rsa-2048",
            "RSA-3072" => "rsa-3072",
            "RSA-4096" => "rsa-4096",
            _ => return None,
        };
        Some((v.to_string(), f.at))
    });
    let from_cert = || {
        c.certs
            .iter()
            .find(|(id, k)| c.files[*id].name.ends_with("apiserver.crt") && !k.is_ca)
            .map(|(id, k)| {
                let alg = match (k.key_alg, k.key_bits) {
                    ("EC", 256) => Some("ecdsa-p256"),
                    ("RSA", 2048) => Some("rsa-2048"),
                    ("RSA", 3072) => Some("rsa-3072"),
                    ("RSA", 4096) => Some("rsa-4096"),
                    _ => None,
                };
                (
                    alg,
                    (k.not_after - k.not_before) / 86_400,
                    At {
                        file: *id,
                        span: k.span,
                    },
                )
            })
    };
    let gate = c
        .first("publicKeysECDSA")
        .filter(|f| f.value == "true")
        .map(|f| ("ecdsa-p256".to_string(), f.at));
    let cert_alg = from_cert().and_then(|(a, _, at)| a.map(|a| (a.to_string(), at)));
    if let Some((a, at)) = alg.or(cert_alg).or(gate) {
        pki.push_str(&format!("    keyAlgorithm: {a}  # {}\n", cite(at)));
    }
    match c
        .first("certificateValidityPeriod")
        .and_then(|f| Some((duration_days(&f.value)?, f.at)))
    {
        Some((d, at)) => pki.push_str(&format!("    certValidityDays: {d}  # {}\n", cite(at))),
        None => {
            if let Some((_, days, at)) = from_cert()
                && days > 0
            {
                pki.push_str(&format!(
                    "    certValidityDays: {days}  # {} (notBefore to notAfter)\n",
                    cite(at)
                ));
            }
        }
    }
    if let Some((d, at)) = c
        .first("caCertificateValidityPeriod")
        .and_then(|f| Some((duration_days(&f.value)?, f.at)))
    {
        pki.push_str(&format!("    caValidityDays: {d}  # {}\n", cite(at)));
    } else if let Some((id, k)) = c
        .certs
        .iter()
        .find(|(id, k)| k.is_ca && c.files[*id].name.ends_with("/ca.crt"))
    {
        let days = (k.not_after - k.not_before) / 86_400;
        if days > 0 {
            pki.push_str(&format!(
                "    caValidityDays: {days}  # {} (notBefore to notAfter)\n",
                cite(At {
                    file: *id,
                    span: k.span
                })
            ));
        }
    }
    if !pki.is_empty() {
        w.push_str("  pki:\n");
        w.push_str(&pki);
    }
    // nodes.
    w.push_str("  nodes:\n");
    let mut any = false;
    for (i, n) in c.nodes.iter().enumerate() {
        if n.lb_only {
            continue;
        }
        let Some(name) = &n.name else {
            if let Some(a) = &n.address {
                w.push_str(&format!(
                    "    # - name: ?  # a node at {} ({}): no file gives its name\n",
                    a.value,
                    cite(a.at)
                ));
            }
            continue;
        };
        any = true;
        let from = if n.name_from_dir {
            "its directory's name (no file states it)".to_string()
        } else {
            cite(name.at)
        };
        w.push_str(&format!("    - name: {}  # {from}\n", scalar(&name.value)));
        match &n.address {
            Some(a) => w.push_str(&format!(
                "      address: {}  # {}\n",
                scalar(&a.value),
                cite(a.at)
            )),
            None => {
                w.push_str("      # address: ?  # its kubeadm-config.yaml or kube-apiserver.yaml\n")
            }
        }
        if n.roles.is_empty() {
            w.push_str("      roles: []  # ? no file says what it runs\n");
        } else {
            let roles: Vec<&str> = n.roles.iter().map(|(r, _)| role_str(*r)).collect();
            w.push_str(&format!(
                "      roles: [{}]  # {}\n",
                roles.join(", "),
                cite(n.roles[0].1)
            ));
        }
        match n.zones.first() {
            Some(z) => w.push_str(&format!(
                "      zone: {}  # {}\n",
                scalar(&z.value),
                cite(z.at)
            )),
            None => w.push_str("      # zone: ?  # no kubelet label topology.kubernetes.io/zone\n"),
        }
        if let (Some(f), Some(lb)) = (node_ifaces.get(&i), lb_iface)
            && f.value != lb.value
        {
            w.push_str(&format!(
                "      interface: {}  # {}\n",
                scalar(&f.value),
                cite(f.at)
            ));
        }
    }
    if !any {
        w.truncate(w.len() - "  nodes:\n".len());
        w.push_str("  nodes: []  # ? no node found: collect each node's /etc/kubernetes\n");
    }
    w
}

fn etcd_str(e: EtcdType) -> &'static str {
    match e {
        EtcdType::Stacked => "stacked",
        EtcdType::External => "external",
    }
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::ControlPlane => "control-plane",
        Role::Worker => "worker",
        Role::Etcd => "etcd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)]) -> (Vec<SourceFile>, Imported) {
        let files: Vec<SourceFile> = files.iter().map(|(n, t)| SourceFile::new(*n, *t)).collect();
        let imported = import(&files, &ImportOptions::default());
        (files, imported)
    }

    #[test]
    fn node_directories() {
        assert_eq!(node_dir("out/nodes/m1/etc/haproxy/haproxy.cfg"), Some("m1"));
        assert_eq!(node_dir("m2/etc/kubernetes/admin.conf"), Some("m2"));
        assert_eq!(node_dir("members.json"), None);
    }

    #[test]
    fn configmap_values_point_into_the_dump() {
        let cm = "apiVersion: v1\ndata:\n  ClusterConfiguration: |\n    kind: ClusterConfiguration\n    networking:\n      serviceSubnet: 10.96.0.0/12\nkind: ConfigMap\nmetadata:\n  name: kubeadm-config\n";
        let pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --advertise-address=10.0.0.1\n    - --service-cluster-ip-range=10.96.0.0/16\n";
        let (files, imported) = run(&[
            ("m1/cluster/kubeadm-config.yaml", cm),
            ("m1/etc/kubernetes/manifests/kube-apiserver.yaml", pod),
        ]);
        let d = imported
            .diagnostics
            .iter()
            .find(|d| d.rule.code == "IMP010")
            .expect("IMP010");
        let span = d.span.expect("a span");
        assert_eq!(&files[d.file].text[span.start..span.end], "10.96.0.0/12");
        assert!(imported.topology.contains("serviceSubnet: 10.96.0.0/16"));
    }

    #[test]
    fn keys_are_never_read_and_unknowns_are_placeholders() {
        let (_, imported) = run(&[
            (
                "m1/etc/kubernetes/pki/ca.key",
                "-----BEGIN EC PRIVATE KEY-----\nsecret\n",
            ),
            (
                "m1/etc/keepalived/keepalived.conf",
                "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n",
            ),
        ]);
        assert!(!imported.topology.contains("secret"));
        assert_eq!(imported.keys_skipped, 1);
        assert!(
            imported.topology.contains("# name: ?"),
            "{}",
            imported.topology
        );
        assert!(imported.topology.contains("vip: 10.0.0.100/24"));
        assert!(imported.topology.contains("virtualRouterId: 7"));
        let codes: Vec<&str> = imported.diagnostics.iter().map(|d| d.rule.code).collect();
        assert!(
            codes.contains(&"IMP001") && codes.contains(&"IMP011"),
            "{codes:?}"
        );
        let yaml = crate::yaml::parse(&imported.topology);
        assert!(yaml.error.is_none(), "{:?}", yaml.error);
    }

    #[test]
    fn a_kubeconfig_to_the_local_api_server_is_not_the_endpoint() {
        let kc = |server: &str| {
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {server}\n  name: k\n"
            )
        };
        let init = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.1\n  bindPort: 6443\nnodeRegistration:\n  name: m1\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: c\nkubernetesVersion: v1.31.0\ncontrolPlaneEndpoint: api.example:8443\n";
        let (_, imported) = run(&[
            ("m1/etc/kubernetes/kubeadm-config.yaml", init),
            (
                "m1/etc/kubernetes/scheduler.conf",
                &kc("https://10.0.0.1:6443"),
            ),
            (
                "m1/etc/kubernetes/admin.conf",
                &kc("https://api.example:8443"),
            ),
        ]);
        assert!(
            imported.diagnostics.iter().all(|d| d.rule.code != "IMP002"),
            "{:?}",
            imported.diagnostics
        );
        assert!(imported.topology.contains("dns: api.example"));
    }
}
