//! Reading the facts of one cluster out of its files: every value with the file and
//! the span it came from. Nothing here decides; [`super`] weighs the facts, writes the
//! topology and reports where they disagree.

use crate::lint::{self, Kind, LintOptions, certs, etcd, haproxy, keepalived, kubevip, nginx};
use crate::net::{Host, HostPort};
use crate::source::{FileId, SourceFile, Span};
use crate::yaml::{self, Node};

/// Where a value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// The file.
    pub file: FileId,
    /// The value's bytes.
    pub span: Span,
}

/// A value and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The value, as text.
    pub value: String,
    /// Where.
    pub at: At,
    /// Read from the `kubeadm-config` ConfigMap (drift against it is IMP010).
    pub configmap: bool,
}

/// What kind of input file this is, as import sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A private key: never read.
    PrivateKey,
    /// A kubeadm configuration file.
    Kubeadm,
    /// A dump of the `kubeadm-config` ConfigMap.
    ConfigMap,
    /// The kube-apiserver static pod.
    ApiServer,
    /// The kube-controller-manager static pod.
    ControllerManager,
    /// etcd settings (static pod, config, unit, environment).
    Etcd,
    /// A kube-vip manifest.
    KubeVip,
    /// PEM certificates.
    Certificate,
    /// A kubeconfig.
    Kubeconfig,
    /// haproxy.cfg.
    Haproxy,
    /// keepalived.conf.
    Keepalived,
    /// nginx.conf.
    Nginx,
    /// `etcdctl member list -w json`.
    MemberList,
    /// `kubectl get nodes -o json`.
    NodeList,
    /// Something import does not read.
    Other,
}

/// Decides what a file is from its name and text.
pub fn classify(name: &str, text: &str) -> Source {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if base.ends_with(".key") || text.contains("PRIVATE KEY-----") && !text.contains("clusters:") {
        return Source::PrivateKey;
    }
    if base == "join.yaml" || base == "manifest" || base.ends_with(".md") {
        return Source::Other;
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || base.ends_with(".json") {
        if text.contains("\"peerURLs\"") || text.contains("\"members\"") {
            return Source::MemberList;
        }
        if text.contains("\"nodeInfo\"") || text.contains("\"kind\": \"Node") {
            return Source::NodeList;
        }
        return Source::Other;
    }
    if text.contains("kind: ConfigMap") && text.contains("ClusterConfiguration") {
        return Source::ConfigMap;
    }
    if text.contains("kind: Pod") || text.contains("kind: \"Pod\"") {
        if text.contains("kube-apiserver") && text.contains("--advertise-address")
            || base.starts_with("kube-apiserver")
        {
            return Source::ApiServer;
        }
        if text.contains("kube-controller-manager") {
            return Source::ControllerManager;
        }
    }
    match lint::detect(name, text) {
        Kind::Kubeadm => Source::Kubeadm,
        Kind::Etcd => Source::Etcd,
        Kind::KubeVip => Source::KubeVip,
        Kind::Certificate => Source::Certificate,
        Kind::Kubeconfig => Source::Kubeconfig,
        Kind::Haproxy => Source::Haproxy,
        Kind::Keepalived => Source::Keepalived,
        Kind::Nginx => Source::Nginx,
        _ => Source::Other,
    }
}

/// The host and port of a URL or `host:port` (`https://10.0.0.1:2379/x` → `10.0.0.1:2379`).
pub fn host_port(text: &str) -> Option<HostPort> {
    let rest = text.trim().trim_matches(['"', '\'']);
    let rest = rest.split_once("://").map_or(rest, |(_, r)| r);
    let rest = rest.split('/').next().unwrap_or(rest);
    HostPort::parse(rest)
}

/// The host of a URL or `host:port`, as text (`[fd00::1]:1` → `fd00::1`).
pub fn host_of(text: &str) -> Option<String> {
    host_port(text).map(|hp| match hp.host {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(n) => n,
    })
}

/// A spanned scalar of a YAML node.
pub fn scalar(node: &Node) -> Option<(String, Span)> {
    node.str().map(|s| (s.to_string(), node.span))
}

/// A kubelet (or other component) extra argument: v1beta4's `[{name, value}]` list or
/// v1beta3's map.
pub fn extra_arg<'a>(args: &'a Node, name: &str) -> Option<&'a Node> {
    if let Some(v) = args.get(name) {
        return Some(v);
    }
    args.items()
        .iter()
        .find(|i| i.get("name").and_then(Node::str) == Some(name))
        .and_then(|i| i.get("value"))
}

/// `--flag=value` (or `- --flag=value`) values of a static pod's command, spanned.
pub fn flags(text: &str) -> Vec<(String, String, Span)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let lead = line.len() - t.len();
        let t = t.strip_prefix("- ").map_or(t, str::trim_start);
        let t = t.trim_matches(['"', '\'']);
        if let Some(flag) = t.strip_prefix("--")
            && let Some((k, v)) = flag.split_once('=')
        {
            let v = v.trim_end().trim_end_matches(['"', '\'', ',']);
            let start = line.find(v).map_or(offset + lead, |i| offset + i);
            out.push((
                k.to_string(),
                v.to_string(),
                Span::new(start, start + v.len()),
            ));
        }
        offset += line.len();
    }
    out
}

/// Parses a YAML file, documents only.
pub fn docs(text: &str) -> Vec<Node> {
    yaml::parse(text).docs
}

/// The kubeconfig `server:` values with their spans.
pub fn kubeconfig_servers(text: &str) -> Vec<(String, Span)> {
    docs(text)
        .iter()
        .flat_map(|d| d.get("clusters").map(Node::items).unwrap_or_default())
        .filter_map(|c| c.at("cluster.server").and_then(scalar))
        .collect()
}

/// Certificates of a PEM file (a bad block ends the file's list, never the import).
pub fn pem_certs(text: &str) -> Vec<certs::Cert> {
    let mut out = Vec::new();
    let _ = certs::from_pem(text, 0, &mut out);
    out
}

/// A kube-vip manifest, read with lint's parser.
pub fn kube_vip(file: &SourceFile) -> Option<kubevip::Manifest> {
    let options = LintOptions::default();
    let files = std::slice::from_ref(file);
    let index = lint::files::FileIndex::new(files);
    let ctx = lint::Ctx {
        options: &options,
        files,
        index: &index,
        file,
        version: None,
    };
    kubevip::lint(&ctx, &mut crate::diag::Diagnostics::new())
}

/// A value and its span.
pub type Spanned = (String, Span);
/// A backend server: its name, its `address:port` and the span of the address.
pub type Server = (String, String, Span);
/// Ports a proxy listens on, with their spans.
pub type Ports = Vec<(u16, Span)>;

/// haproxy's API backend servers: (name, address, span of the address).
pub fn haproxy_servers(text: &str) -> (Vec<Server>, Ports) {
    let cfg = haproxy::parse::parse(text);
    let servers = haproxy::backend_servers(&cfg)
        .into_iter()
        .map(|(d, a)| {
            let span = d.words.get(2).map_or(d.span, |w| w.span);
            (d.arg(1).unwrap_or("").to_string(), a, span)
        })
        .collect();
    let binds = cfg
        .sections
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "frontend" | "listen"))
        .flat_map(|s| s.find(&["bind"]))
        .filter_map(|d| {
            let w = d.words.get(1)?;
            let port = w.text.rsplit(':').next()?.parse().ok()?;
            Some((port, w.span))
        })
        .collect();
    (servers, binds)
}

/// nginx's upstream servers and stream `listen` ports.
pub fn nginx_servers(text: &str) -> (Vec<Spanned>, Vec<Spanned>) {
    let Ok(cfg) = nginx::parse::parse(text) else {
        return (Vec::new(), Vec::new());
    };
    let servers = nginx::upstream_servers(&cfg)
        .into_iter()
        .map(|(d, a)| (a, d.words.get(1).map_or(d.span(), |w| w.span)))
        .collect();
    let mut listens = Vec::new();
    for stream in cfg.all("stream") {
        for server in stream.all("server") {
            for l in server.all("listen") {
                if let Some(w) = l.words.get(1) {
                    listens.push((w.text.clone(), w.span));
                }
            }
        }
    }
    (servers, listens)
}

/// One keepalived `vrrp_instance`, as import needs it.
#[derive(Debug, Clone)]
pub struct Vrrp {
    /// `virtual_router_id`.
    pub vrid: Option<(String, Span)>,
    /// `interface`.
    pub interface: Option<(String, Span)>,
    /// The VIPs with their prefix lengths as written (`10.0.0.100/24`).
    pub vips: Vec<(String, Span)>,
    /// `auth_pass`.
    pub auth_pass: Option<(String, Span)>,
    /// `unicast_src_ip`.
    pub src: Option<(String, Span)>,
    /// `unicast_peer` addresses.
    pub peers: Vec<(String, Span)>,
}

/// Every `vrrp_instance` of a keepalived.conf.
pub fn vrrp(text: &str) -> Vec<Vrrp> {
    let Ok(cfg) = keepalived::parse::parse(text) else {
        return Vec::new();
    };
    keepalived::instances(&cfg)
        .into_iter()
        .map(|i| {
            let own = |o: Option<(&str, Span)>| o.map(|(t, s)| (t.to_string(), s));
            Vrrp {
                vrid: own(i.vrid),
                interface: own(i
                    .item
                    .get("interface")
                    .and_then(|s| s.words.get(1))
                    .map(|w| (w.text.as_str(), w.span))),
                vips: i
                    .item
                    .all("virtual_ipaddress")
                    .flat_map(|b| b.children())
                    .filter_map(|c| c.words.first())
                    .map(|w| (w.text.clone(), w.span))
                    .collect(),
                auth_pass: own(i.auth_pass),
                src: own(i.src),
                peers: i.peers.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
            }
        })
        .collect()
}

/// etcd settings of a file (flags, YAML config or environment).
pub fn etcd_settings(name: &str, text: &str) -> etcd::Settings {
    etcd::read(name, text)
}
