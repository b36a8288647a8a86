//! The wizard's state: a plain form, with no logic of its own. It serialises to the
//! same topology.yaml the CLI reads, and every check, plan and file comes from
//! hagen-core run on that text. Unit-tested natively.

use hagen_core::defaults;
use hagen_core::topology::{EtcdType, KeyAlgorithm, LbType, Role, Topology};

/// One row of the nodes table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Zone (empty: none).
    pub zone: String,
    /// Interface override (empty: none).
    pub interface: String,
    /// Role control-plane.
    pub control_plane: bool,
    /// Role worker.
    pub worker: bool,
    /// Role etcd.
    pub etcd: bool,
}

/// Every field of the form, as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub name: String,
    pub version: String,
    pub vip: String,
    pub dns: String,
    pub port: String,
    pub bind_port: String,
    pub cert_sans: String,
    pub lb: LbType,
    pub interface: String,
    pub vrid: String,
    pub auth_pass: String,
    pub etcd: EtcdType,
    pub pod_subnet: String,
    pub service_subnet: String,
    pub dns_domain: String,
    pub key_algorithm: KeyAlgorithm,
    pub cert_days: String,
    pub ca_days: String,
    pub nodes: Vec<NodeRow>,
}

impl Default for Form {
    /// Three control planes behind haproxy + keepalived: a topology that validates.
    fn default() -> Self {
        let cp = |i: u8| NodeRow {
            name: format!("k8s-m{i}"),
            address: format!("192.168.2.{}", 139 + i),
            control_plane: true,
            ..NodeRow::default()
        };
        Form {
            name: "prod-east".into(),
            version: "v1.31.2".into(),
            vip: "192.168.2.250/24".into(),
            dns: "api.k8s.local".into(),
            port: "8443".into(),
            bind_port: defaults::text("spec.apiServer.bindPort"),
            cert_sans: String::new(),
            lb: LbType::HaproxyKeepalived,
            interface: "eth0".into(),
            vrid: defaults::text("spec.loadBalancer.virtualRouterId"),
            auth_pass: String::new(),
            etcd: EtcdType::Stacked,
            pod_subnet: "10.244.0.0/16".into(),
            service_subnet: defaults::text("spec.networking.serviceSubnet"),
            dns_domain: defaults::text("spec.networking.dnsDomain"),
            key_algorithm: KeyAlgorithm::EcdsaP256,
            cert_days: defaults::text("spec.pki.certValidityDays"),
            ca_days: defaults::text("spec.pki.caValidityDays"),
            nodes: vec![cp(1), cp(2), cp(3)],
        }
    }
}

/// The YAML text of a form and, for each line, the path of the value written on it, so
/// a finding at any position (even a parse error) lands on its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yaml {
    /// The topology.yaml text.
    pub text: String,
    /// `line_paths[i]` is the path of the value on line `i + 1`.
    pub line_paths: Vec<String>,
}

struct Writer {
    text: String,
    line_paths: Vec<String>,
}

impl Writer {
    fn line(&mut self, text: String, path: &str) {
        self.text.push_str(&text);
        self.text.push('\n');
        self.line_paths.push(path.to_string());
    }
}

/// A scalar for YAML: a whole number stays a number, anything else is a quoted string
/// (so a typo in a number field is reported as a wrong type, at its line).
fn number(text: &str) -> String {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && t.len() < 10 {
        t.to_string()
    } else {
        quote(t)
    }
}

fn quote(text: &str) -> String {
    hagen_core::render::json_string(text)
}

pub fn lb_name(lb: LbType) -> &'static str {
    lb.as_str()
}

pub fn etcd_name(e: EtcdType) -> &'static str {
    match e {
        EtcdType::Stacked => "stacked",
        EtcdType::External => "external",
    }
}

pub fn key_name(k: KeyAlgorithm) -> &'static str {
    match k {
        KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
        KeyAlgorithm::Rsa2048 => "rsa-2048",
        KeyAlgorithm::Rsa3072 => "rsa-3072",
        KeyAlgorithm::Rsa4096 => "rsa-4096",
    }
}

/// Every load-balancer type, in the order the form offers them.
pub const LB_TYPES: [LbType; 5] = [
    LbType::HaproxyKeepalived,
    LbType::Keepalived,
    LbType::NginxLocal,
    LbType::KubeVip,
    LbType::External,
];
/// Every key algorithm.
pub const KEY_ALGORITHMS: [KeyAlgorithm; 4] = [
    KeyAlgorithm::EcdsaP256,
    KeyAlgorithm::Rsa2048,
    KeyAlgorithm::Rsa3072,
    KeyAlgorithm::Rsa4096,
];

impl Form {
    /// Which optional fields the chosen load balancer uses.
    pub fn shows_vrrp(&self) -> bool {
        self.lb.uses_vrrp()
    }

    /// True if the type holds a VIP (and so needs an interface).
    pub fn shows_interface(&self) -> bool {
        self.lb.holds_vip()
    }

    /// The topology.yaml of the form.
    pub fn to_yaml(&self) -> Yaml {
        let mut w = Writer {
            text: String::new(),
            line_paths: Vec::new(),
        };
        w.line("apiVersion: hagen/v1alpha1".into(), "apiVersion");
        w.line("kind: Topology".into(), "kind");
        w.line("metadata:".into(), "metadata");
        w.line(format!("  name: {}", quote(&self.name)), "metadata.name");
        w.line("spec:".into(), "spec");
        w.line(
            format!("  kubernetesVersion: {}", quote(&self.version)),
            "spec.kubernetesVersion",
        );
        let vip = self.vip.trim();
        let dns = self.dns.trim();
        let port = self.port.trim();
        if !(vip.is_empty() && dns.is_empty() && port.is_empty()) {
            w.line(
                "  controlPlaneEndpoint:".into(),
                "spec.controlPlaneEndpoint",
            );
            if !vip.is_empty() {
                w.line(
                    format!("    vip: {}", quote(vip)),
                    "spec.controlPlaneEndpoint.vip",
                );
            }
            if !dns.is_empty() {
                w.line(
                    format!("    dns: {}", quote(dns)),
                    "spec.controlPlaneEndpoint.dns",
                );
            }
            if !port.is_empty() {
                w.line(
                    format!("    port: {}", number(port)),
                    "spec.controlPlaneEndpoint.port",
                );
            }
        }
        let sans: Vec<&str> = self
            .cert_sans
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if !self.bind_port.trim().is_empty() || !sans.is_empty() {
            w.line("  apiServer:".into(), "spec.apiServer");
            if !self.bind_port.trim().is_empty() {
                w.line(
                    format!("    bindPort: {}", number(&self.bind_port)),
                    "spec.apiServer.bindPort",
                );
            }
            if !sans.is_empty() {
                w.line("    certSANs:".into(), "spec.apiServer.certSANs");
                for (i, san) in sans.iter().enumerate() {
                    w.line(
                        format!("      - {}", quote(san)),
                        &format!("spec.apiServer.certSANs[{i}]"),
                    );
                }
            }
        }
        w.line("  loadBalancer:".into(), "spec.loadBalancer");
        w.line(
            format!("    type: {}", lb_name(self.lb)),
            "spec.loadBalancer.type",
        );
        if self.shows_interface() && !self.interface.trim().is_empty() {
            w.line(
                format!("    interface: {}", quote(self.interface.trim())),
                "spec.loadBalancer.interface",
            );
        }
        if self.shows_vrrp() {
            if !self.vrid.trim().is_empty() {
                w.line(
                    format!("    virtualRouterId: {}", number(&self.vrid)),
                    "spec.loadBalancer.virtualRouterId",
                );
            }
            if !self.auth_pass.is_empty() {
                w.line(
                    format!("    authPass: {}", quote(&self.auth_pass)),
                    "spec.loadBalancer.authPass",
                );
            }
        }
        w.line("  etcd:".into(), "spec.etcd");
        w.line(
            format!("    type: {}", etcd_name(self.etcd)),
            "spec.etcd.type",
        );
        w.line("  networking:".into(), "spec.networking");
        for (key, value) in [
            ("podSubnet", &self.pod_subnet),
            ("serviceSubnet", &self.service_subnet),
            ("dnsDomain", &self.dns_domain),
        ] {
            if !value.trim().is_empty() {
                w.line(
                    format!("    {key}: {}", quote(value.trim())),
                    &format!("spec.networking.{key}"),
                );
            }
        }
        w.line("  pki:".into(), "spec.pki");
        w.line(
            format!("    keyAlgorithm: {}", key_name(self.key_algorithm)),
            "spec.pki.keyAlgorithm",
        );
        if !self.cert_days.trim().is_empty() {
            w.line(
                format!("    certValidityDays: {}", number(&self.cert_days)),
                "spec.pki.certValidityDays",
            );
        }
        if !self.ca_days.trim().is_empty() {
            w.line(
                format!("    caValidityDays: {}", number(&self.ca_days)),
                "spec.pki.caValidityDays",
            );
        }
        w.line("  nodes:".into(), "spec.nodes");
        for (i, n) in self.nodes.iter().enumerate() {
            let p = format!("spec.nodes[{i}]");
            w.line(
                format!("    - name: {}", quote(n.name.trim())),
                &format!("{p}.name"),
            );
            w.line(
                format!("      address: {}", quote(n.address.trim())),
                &format!("{p}.address"),
            );
            let mut roles = Vec::new();
            if n.control_plane {
                roles.push("control-plane");
            }
            if n.worker {
                roles.push("worker");
            }
            if n.etcd {
                roles.push("etcd");
            }
            w.line(
                format!("      roles: [{}]", roles.join(", ")),
                &format!("{p}.roles"),
            );
            if !n.zone.trim().is_empty() {
                w.line(
                    format!("      zone: {}", quote(n.zone.trim())),
                    &format!("{p}.zone"),
                );
            }
            if !n.interface.trim().is_empty() {
                w.line(
                    format!("      interface: {}", quote(n.interface.trim())),
                    &format!("{p}.interface"),
                );
            }
        }
        Yaml {
            text: w.text,
            line_paths: w.line_paths,
        }
    }

    /// A form holding a parsed topology (for import).
    pub fn from_topology(t: &Topology) -> Form {
        let spec = t.spec.get();
        let ep = spec.control_plane_endpoint.as_ref().map(|e| e.get());
        let api = spec.api_server.as_ref().map(|a| a.get());
        let lb = spec.load_balancer.get();
        let net = spec.networking.as_ref().map(|n| n.get());
        let pki = spec.pki.as_ref().map(|p| p.get());
        let s = |v: Option<&hagen_core::topology::S<String>>| {
            v.map(|v| v.get().clone()).unwrap_or_default()
        };
        let n = |v: Option<&hagen_core::topology::S<u32>>| {
            v.map(|v| v.get().to_string()).unwrap_or_default()
        };
        Form {
            name: t.metadata.name.get().clone(),
            version: spec.kubernetes_version.get().clone(),
            vip: s(ep.and_then(|e| e.vip.as_ref())),
            dns: s(ep.and_then(|e| e.dns.as_ref())),
            port: n(ep.and_then(|e| e.port.as_ref())),
            bind_port: n(api.and_then(|a| a.bind_port.as_ref())),
            cert_sans: api
                .and_then(|a| a.cert_sans.as_ref())
                .map(|v| {
                    v.iter()
                        .map(|s| s.get().clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            lb: *lb.kind.get(),
            interface: s(lb.interface.as_ref()),
            vrid: n(lb.virtual_router_id.as_ref()),
            auth_pass: s(lb.auth_pass.as_ref()),
            etcd: spec
                .etcd
                .as_ref()
                .map_or(EtcdType::Stacked, |e| *e.kind.get()),
            pod_subnet: s(net.and_then(|n| n.pod_subnet.as_ref())),
            service_subnet: s(net.and_then(|n| n.service_subnet.as_ref())),
            dns_domain: s(net.and_then(|n| n.dns_domain.as_ref())),
            key_algorithm: pki
                .and_then(|p| p.key_algorithm.as_ref())
                .map_or(KeyAlgorithm::EcdsaP256, |k| *k.get()),
            cert_days: n(pki.and_then(|p| p.cert_validity_days.as_ref())),
            ca_days: n(pki.and_then(|p| p.ca_validity_days.as_ref())),
            nodes: spec
                .nodes
                .iter()
                .map(|node| NodeRow {
                    name: node.name.get().clone(),
                    address: node.address.get().clone(),
                    zone: s(node.zone.as_ref()),
                    interface: s(node.interface.as_ref()),
                    control_plane: node.has(Role::ControlPlane),
                    worker: node.has(Role::Worker),
                    etcd: node.has(Role::Etcd),
                })
                .collect(),
        }
    }

    /// Parses topology.yaml text into a form, or says why it cannot.
    pub fn import(text: &str) -> Result<Form, String> {
        match hagen_core::parse::parse(text) {
            Ok(t) => Ok(Form::from_topology(&t)),
            Err(found) => Err(found
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }
}

impl Yaml {
    /// The path of the value on a 1-based line.
    pub fn path_of_line(&self, line: usize) -> Option<&str> {
        self.line_paths
            .get(line.checked_sub(1)?)
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagen_core::source::SourceFile;

    fn check(form: &Form) -> hagen_core::Checked {
        hagen_core::check(&SourceFile::new("topology.yaml", form.to_yaml().text))
    }

    #[test]
    fn defaults_validate() {
        let c = check(&Form::default());
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
        assert!(c.plan.is_some());
    }

    #[test]
    fn import_export_round_trips_every_valid_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/topologies/valid");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let form = Form::import(&text).unwrap();
            let again = Form::import(&form.to_yaml().text).unwrap();
            assert_eq!(form, again, "{}", path.display());
            let original = hagen_core::check(&SourceFile::new("a", text)).plan.unwrap();
            let exported = check(&form)
                .plan
                .unwrap_or_else(|| panic!("{} exported invalid", path.display()));
            assert_eq!(
                original,
                exported,
                "{}: same plan after the form",
                path.display()
            );
        }
    }

    #[test]
    fn a_bad_vip_lands_on_its_field_and_a_bad_number_on_its_line() {
        let form = Form {
            vip: "192.168.2.250.250".into(),
            ..Form::default()
        };
        let yaml = form.to_yaml();
        let c = check(&form);
        let d = c.diagnostics.iter().next().unwrap();
        assert_eq!(d.path.as_deref(), Some("spec.controlPlaneEndpoint.vip"));
        let form = Form {
            port: "84x3".into(),
            ..Form::default()
        };
        let yaml2 = form.to_yaml();
        let c = check(&form);
        let d = c.diagnostics.iter().next().unwrap();
        let line = hagen_core::source::LineIndex::new(&yaml2.text)
            .line_col(d.span.unwrap().start)
            .line;
        assert_eq!(
            yaml2.path_of_line(line),
            Some("spec.controlPlaneEndpoint.port")
        );
        assert_eq!(yaml.line_paths.len(), yaml.text.lines().count());
    }
}
