//! Properties of whole bundles over topologies no fixture spells out (LB type × etcd ×
//! node counts × zones × ports × versions × address families: IPv4, IPv6 and
//! dual-stack):
//!
//! * every topology hagen accepts without a finding renders, with its whole PKI, into a
//!   bundle that hagen's own linter finds clean — no warning, no error — alone and
//!   against the topology (the renderers and the linter were written apart; this holds
//!   them to each other);
//! * rendering again over that bundle, with other randomness, gives it back byte for
//!   byte: every key, certificate, token and file is kept.

use hagen_core::diag::Severity;
use hagen_core::pki::{Existing, SeededEntropy};
use hagen_core::source::SourceFile;
use proptest::prelude::*;
use std::collections::BTreeMap;

const LB_TYPES: [&str; 5] = [
    "haproxy-keepalived",
    "keepalived",
    "nginx-local",
    "kube-vip",
    "external",
];

/// The knobs of a topology; `yaml` writes it.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    minor: u32,
    patch: u32,
    lb: usize,
    external_etcd: bool,
    control_planes: usize,
    etcd_members: usize,
    workers: usize,
    zoned: bool,
    port: u16,
    bind_port: u16,
    dns: bool,
    vip_on_external: bool,
    vrid: u8,
    pub(crate) key_seed: u64,
    family: Family,
}

/// The address family of the nodes, the VIP and the cluster networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
    /// IPv4 nodes, dual-stack pod and service networks.
    DualV4,
    /// IPv6 nodes, dual-stack pod and service networks (IPv6 first).
    DualV6,
}

impl Family {
    fn v6_nodes(self) -> bool {
        matches!(self, Family::V6 | Family::DualV6)
    }
    /// A node address (`n` < 256) in the nodes' subnet.
    fn address(self, n: usize) -> String {
        if self.v6_nodes() {
            format!("fd00:20::{n:x}")
        } else {
            format!("10.20.0.{n}")
        }
    }
    fn vip(self) -> String {
        if self.v6_nodes() {
            "fd00:20::100/64".into()
        } else {
            "10.20.0.100/24".into()
        }
    }
    /// `networking:` for this family; IPv4 uses the defaults.
    fn networking(self) -> &'static str {
        match self {
            Family::V4 => "",
            Family::V6 => {
                "  networking: {podSubnet: \"fd00:10:244::/56\", serviceSubnet: \"fd00:10:96::/112\"}\n"
            }
            Family::DualV4 => {
                "  networking: {podSubnet: \"10.244.0.0/16,fd00:10:244::/56\", serviceSubnet: \"10.96.0.0/16,fd00:10:96::/112\"}\n"
            }
            Family::DualV6 => {
                "  networking: {podSubnet: \"fd00:10:244::/56,10.244.0.0/16\", serviceSubnet: \"fd00:10:96::/112,10.96.0.0/16\"}\n"
            }
        }
    }
}

pub(crate) fn shape() -> impl Strategy<Value = Shape> {
    (
        (28u32..=36, 0u32..12, 0..LB_TYPES.len(), any::<bool>()),
        (
            prop::sample::select(vec![1usize, 2, 3, 3, 5, 7]),
            prop::sample::select(vec![3usize, 5]),
            0usize..4,
        ),
        (
            any::<bool>(),
            prop::sample::select(vec![6443u16, 8443, 16443]),
            prop::sample::select(vec![6443u16, 6444]),
        ),
        (any::<bool>(), any::<bool>(), 1u8..=255, any::<u64>()),
        prop::sample::select(vec![Family::V4, Family::V6, Family::DualV4, Family::DualV6]),
    )
        .prop_map(
            |(
                (minor, patch, lb, external_etcd),
                (control_planes, etcd_members, workers),
                (zoned, port, bind_port),
                (dns, vip_on_external, vrid, key_seed),
                family,
            )| Shape {
                minor,
                patch,
                lb,
                external_etcd,
                control_planes,
                etcd_members,
                workers,
                zoned,
                port,
                bind_port,
                dns,
                vip_on_external,
                vrid,
                key_seed,
                family,
            },
        )
}

pub(crate) fn yaml(s: &Shape) -> String {
    let lb = LB_TYPES[s.lb];
    let wants_vip = matches!(lb, "haproxy-keepalived" | "keepalived" | "kube-vip")
        || (lb == "external" && s.vip_on_external);
    let mut endpoint = Vec::new();
    if wants_vip {
        endpoint.push(format!("vip: {}", s.family.vip()));
    }
    if s.dns || (lb == "external" && !wants_vip) {
        endpoint.push("dns: api.prop.test".to_string());
    }
    endpoint.push(format!("port: {}", s.port));
    let mut balancer = vec![format!("type: {lb}")];
    if matches!(lb, "haproxy-keepalived" | "keepalived" | "kube-vip") {
        balancer.push("interface: eth0".into());
    }
    if matches!(lb, "haproxy-keepalived" | "keepalived") {
        balancer.push(format!("virtualRouterId: {}", s.vrid));
    }
    let mut nodes = Vec::new();
    let zone = |i: usize| {
        if s.zoned {
            format!(", zone: z{}", i % 3)
        } else {
            String::new()
        }
    };
    for i in 0..s.control_planes {
        nodes.push(format!(
            "    - {{name: cp-{i}, address: {}, roles: [control-plane]{}}}",
            s.family.address(10 + i),
            zone(i)
        ));
    }
    if s.external_etcd {
        for i in 0..s.etcd_members {
            nodes.push(format!(
                "    - {{name: etcd-{i}, address: {}, roles: [etcd]{}}}",
                s.family.address(30 + i),
                zone(i)
            ));
        }
    }
    for i in 0..s.workers {
        nodes.push(format!(
            "    - {{name: worker-{i}, address: {}, roles: [worker]{}}}",
            s.family.address(50 + i),
            zone(i)
        ));
    }
    format!(
        "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: prop\nspec:\n  kubernetesVersion: v1.{}.{}\n  controlPlaneEndpoint: {{{}}}\n  apiServer: {{bindPort: {}}}\n  loadBalancer: {{{}}}\n  etcd: {{type: {}}}\n{}  nodes:\n{}\n",
        s.minor,
        s.patch,
        endpoint.join(", "),
        s.bind_port,
        balancer.join(", "),
        if s.external_etcd {
            "external"
        } else {
            "stacked"
        },
        s.family.networking(),
        nodes.join("\n")
    )
}

proptest! {
    #![proptest_config(crate::fuzz_config(48))]

    #[test]
    fn clean_topologies_render_bundles_that_lint_clean(s in shape()) {
        let source = SourceFile::new("topology.yaml", yaml(&s));
        let checked = hagen_core::check(&source);
        // Only topologies without an error or a warning: a warning (one control plane, say)
        // may rightly show up again in the files.
        prop_assume!(
            checked.diagnostics.count(Severity::Error) == 0
                && checked.diagnostics.count(Severity::Warning) == 0
        );
        let plan = checked.plan.expect("no finding, so a plan");
        let what_if = checked.what_if.unwrap_or_default();
        let pki = hagen_core::pki::generate(&plan, &Existing::none(), &mut SeededEntropy::new(s.key_seed), super::lint::NOW)
            .unwrap_or_else(|e| panic!("PKI: {e}\n{}", source.text));
        let bundle = hagen_core::assemble(&source, &plan, &what_if, &pki)
            .unwrap_or_else(|e| panic!("render: {e}\n{}", source.text));
        let mut files = Vec::new();
        let mut modes = BTreeMap::new();
        // The whole directory, as `hagen lint --topology t.yaml out/` reads it: the runbook,
        // MANIFEST, join.yaml and the topology itself included.
        for (path, file) in bundle.iter() {
            files.push(SourceFile::new(path.clone(), String::from_utf8(file.bytes.clone()).expect("text")));
            modes.insert(path.clone(), file.mode);
        }
        for with_topology in [false, true] {
            let (bad, _) = super::lint::bundle_findings(&files, modes.clone(), &plan, with_topology);
            prop_assert!(bad.is_empty(), "topology:\n{}\nwith topology: {with_topology}\n{}", source.text, bad.join("\n"));
        }

        let existing = Existing::from_bundle(bundle.iter().map(|(p, f)| (p.as_str(), f.bytes.as_slice())))
            .unwrap_or_else(|e| panic!("the bundle does not load back: {e}"));
        let again = hagen_core::pki::generate(&plan, &existing, &mut SeededEntropy::new(s.key_seed ^ 1), super::lint::NOW + 86_400)
            .unwrap_or_else(|e| panic!("PKI again: {e}"));
        let rerendered = hagen_core::assemble(&source, &plan, &what_if, &again).expect("render again");
        let changed: Vec<&String> = bundle
            .iter()
            .filter(|(p, f)| rerendered.get(p).map(|g| &g.bytes) != Some(&f.bytes))
            .map(|(p, _)| p)
            .collect();
        prop_assert!(changed.is_empty() && rerendered.len() == bundle.len(), "re-render changed {changed:?}\n{}", source.text);
    }
}
