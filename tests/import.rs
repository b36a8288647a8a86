//! `hagen import`: round trips, drift fixtures, the shared corpus and the collect script.
//!
//! * Round trip: every valid fixture topology and every generated one (the shape of
//!   `bundle_props.rs`) renders, with its PKI, to a bundle whose `nodes/` (private keys
//!   and join.yaml removed) imports back to a topology that validates and has the same
//!   plan: names, addresses, roles, zones, endpoint (VIP, prefix where a file states it,
//!   DNS name, port), bind port, extra SANs, load balancer type, interfaces, VRID,
//!   etcd layout, Kubernetes version, networks and the PKI settings.
//! * Drift: `fixtures/import/<CODE>_<n>/` fires that rule; `clean_<n>/` fires nothing at
//!   warning or error level. Each case's report and topology are a reviewed golden file
//!   (`fixtures/import/<case>.expected`, HAGEN_BLESS=1 rewrites them).
//! * The shared corpus, grouped by repository, and the seeds import without a panic.
//! * The collect script passes `sh -n` and `shellcheck`, and run over a fake node tree
//!   (HAGEN_ROOT) gathers exactly the public files, credentials stripped, no key.

use hagen_core::diag::{Severity, text};
use hagen_core::import::{self, ImportOptions, Imported};
use hagen_core::pki::{Existing, SeededEntropy};
use hagen_core::plan::Plan;
use hagen_core::source::SourceFile;
use hagen_core::topology::{LbType, Role};
use hagen_tests::{fixtures, golden, rel, root};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// "Now" for the drift fixtures' certificates (2026-12-06).
const NOW: i64 = 1_796_515_200;

/// The bundle's `nodes/` files as an operator would hand them over: no join.yaml, keys
/// by name only (their text is never given to import).
fn bundle_nodes(bundle: &hagen_core::bundle::Bundle) -> Vec<SourceFile> {
    bundle
        .iter()
        .filter(|(p, _)| p.starts_with("nodes/"))
        .map(|(p, f)| {
            let text = if p.ends_with(".key") {
                String::new()
            } else {
                String::from_utf8(f.bytes.clone()).expect("text")
            };
            SourceFile::new(p.clone(), text)
        })
        .collect()
}

/// What a round trip must keep. The node's own prefix length and a VIP's prefix that
/// no file states (kube-vip writes /32, an external load balancer none) are not in the
/// files; v1beta3 has no PKI settings in kubeadm's file, so they come from the
/// certificates when there are some.
fn projection(p: &Plan, with_certs: bool) -> String {
    let vrrp = p.load_balancer.kind.uses_vrrp();
    let vip = p.endpoint.vip.map(|v| {
        if vrrp {
            v.to_string()
        } else {
            v.addr.to_string()
        }
    });
    let mut sans: Vec<String> = p.cert_sans.clone();
    sans.retain(|s| {
        Some(s) != p.endpoint.dns.as_ref()
            && Some(s.clone())
                != vip
                    .as_ref()
                    .map(|v| v.split('/').next().unwrap().to_string())
    });
    let v1beta4 = p.kubeadm_api.api_version().ends_with("v1beta4");
    let pki = if v1beta4 || with_certs {
        format!(
            "{:?} {} {}",
            p.key_algorithm, p.cert_validity_days, p.ca_validity_days
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "name={} version={} endpoint=vip:{vip:?} dns:{:?} port:{} bind={} sans={sans:?} lb={} vrid={} auth={:?} image={} etcd={:?} pods={:?} services={} domain={} pki={pki}\n",
        p.cluster_name,
        p.version,
        p.endpoint.dns,
        p.endpoint.port,
        p.bind_port,
        p.load_balancer.kind.as_str(),
        if vrrp {
            p.load_balancer.virtual_router_id.to_string()
        } else {
            "-".into()
        },
        p.load_balancer.auth_pass,
        if p.load_balancer.kind == LbType::KubeVip {
            p.load_balancer.kube_vip_image.clone()
        } else {
            "-".into()
        },
        p.etcd,
        p.pod_subnet,
        p.service_subnets,
        p.dns_domain,
    );
    // Control planes in order (the first runs kubeadm init), etcd nodes in order, then
    // workers by name.
    let mut groups: Vec<Vec<String>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for n in &p.nodes {
        let g = if n.has(Role::ControlPlane) {
            0
        } else if n.has(Role::Etcd) {
            1
        } else {
            2
        };
        // Only nodes with a kubelet carry their zone in a file.
        let zone = if n.has(Role::ControlPlane) || n.has(Role::Worker) {
            n.zone.clone()
        } else {
            None
        };
        let iface = if p.load_balancer.kind.holds_vip() && n.has(Role::ControlPlane) {
            n.interface.clone()
        } else {
            None
        };
        groups[g].push(format!(
            "  {} {} {:?} zone={zone:?} if={iface:?}",
            n.name, n.address, n.roles
        ));
    }
    groups[2].sort();
    for g in groups {
        for l in g {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Imports a bundle's nodes and checks the round trip; the error says what differs.
fn round_trip(
    source: &str,
    plan: &Plan,
    files: &[SourceFile],
    with_certs: bool,
) -> Result<(), String> {
    let imported = import::import(files, &ImportOptions::default());
    let unexpected: Vec<String> = imported
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .filter(|d| !(d.rule.code == "IMP001" && d.message.contains("prefix length of the VIP")))
        .map(|d| format!("{}: {}", d.rule.code, d.message))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "import reported drift on a rendered bundle:\n{}\n--- topology\n{source}",
            unexpected.join("\n")
        ));
    }
    let checked = hagen_core::check(&SourceFile::new("imported.yaml", imported.topology.clone()));
    let Some(back) = checked.plan else {
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.rule.code, d.message))
            .collect();
        return Err(format!(
            "the imported topology does not validate:\n{}\n--- imported\n{}\n--- original\n{source}",
            errors.join("\n"),
            imported.topology
        ));
    };
    let (want, got) = (projection(plan, with_certs), projection(&back, with_certs));
    if want != got {
        return Err(format!(
            "plans differ\n--- original\n{want}--- imported\n{got}--- imported topology\n{}\n--- original topology\n{source}",
            imported.topology
        ));
    }
    Ok(())
}

#[test]
fn every_fixture_bundle_imports_back_to_its_plan() {
    let mut failures = Vec::new();
    for (topology, _) in super::render::golden_bundles() {
        let text = std::fs::read_to_string(&topology).unwrap();
        let plan = hagen_core::check(&SourceFile::new("t", text.clone()))
            .plan
            .unwrap();
        let bundle = super::render::render_fixture(&topology);
        if let Err(e) = round_trip(&text, &plan, &bundle_nodes(&bundle), false) {
            failures.push(format!("{}: {e}", rel(&topology)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

proptest! {
    // About half the generated shapes have a finding (one control plane, two zones…)
    // and are skipped, so rejects are many by design.
    #![proptest_config(proptest::test_runner::Config {
        max_global_rejects: 1_000_000,
        ..crate::fuzz_config(64)
    })]

    /// Every generated topology hagen accepts without a finding renders, with its PKI,
    /// to a bundle that imports back to the same plan.
    #[test]
    fn generated_bundles_import_back_to_their_plan(s in super::bundle_props::shape()) {
        let source = SourceFile::new("topology.yaml", super::bundle_props::yaml(&s));
        let checked = hagen_core::check(&source);
        prop_assume!(
            checked.diagnostics.count(Severity::Error) == 0
                && checked.diagnostics.count(Severity::Warning) == 0
        );
        let plan = checked.plan.expect("a plan");
        let what_if = checked.what_if.unwrap_or_default();
        let pki = hagen_core::pki::generate(&plan, &Existing::none(), &mut SeededEntropy::new(s.key_seed), super::lint::NOW)
            .unwrap_or_else(|e| panic!("PKI: {e}"));
        let bundle = hagen_core::assemble(&source, &plan, &what_if, &pki).expect("renders");
        let result = round_trip(&source.text, &plan, &bundle_nodes(&bundle), true);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

/// The node of a file below a fixture or corpus directory: `nodes/<n>/…` or `<n>/…`.
fn groups(dir: &Path, files: &[PathBuf]) -> Vec<Option<String>> {
    files
        .iter()
        .map(|f| {
            let r = f
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            import::node_dir(&r).map(str::to_string)
        })
        .collect()
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

fn import_dir(dir: &Path, now: Option<i64>) -> (Vec<SourceFile>, Imported) {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    let files: Vec<SourceFile> = paths
        .iter()
        .map(|p| {
            let text = if p.extension().is_some_and(|e| e == "key") {
                String::new()
            } else {
                String::from_utf8(std::fs::read(p).unwrap()).unwrap_or_default()
            };
            SourceFile::new(rel(p), text)
        })
        .collect();
    let g = groups(dir, &paths);
    let imported = import::import_grouped(
        &files,
        &g,
        &ImportOptions {
            now,
            cert_expiry_days: 30,
        },
    );
    (files, imported)
}

/// Every drift rule fires on its fixture; the clean cases fire nothing; every case's
/// report and topology are reviewed.
#[test]
fn drift_fixtures_fire_their_rule_and_clean_ones_nothing() {
    let base = root().join("fixtures/import");
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (files, imported) = import_dir(&case, Some(NOW));
        let codes: Vec<&str> = imported.diagnostics.iter().map(|d| d.rule.code).collect();
        if let Some(code) = name.split('_').next().filter(|c| c.starts_with("IMP")) {
            if !codes.contains(&code) {
                failures.push(format!("{name}: {code} did not fire (got {codes:?})"));
            }
        } else if name.starts_with("clean_") {
            let bad: Vec<String> = imported
                .diagnostics
                .iter()
                .filter(|d| d.severity >= Severity::Warning)
                .map(|d| format!("{}: {}", d.rule.code, d.message))
                .collect();
            if !bad.is_empty() {
                failures.push(format!("{name} is not clean:\n{}", bad.join("\n")));
            }
            let checked = hagen_core::check(&SourceFile::new("t", imported.topology.clone()));
            if checked.plan.is_none() {
                failures.push(format!(
                    "{name}: the imported topology does not validate:\n{}",
                    imported.topology
                ));
            }
        }
        let report = text::render(&files, &imported.diagnostics, text::Style { color: false });
        let actual = format!("{report}--- topology.yaml\n{}", imported.topology);
        if let Err(e) = golden(&base.join(format!("{name}.expected")), &actual) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The shared corpus, one cluster per repository (the file name's prefix), and the
/// seeds import without a panic and give a topology the YAML parser reads.
#[test]
fn corpus_and_seeds_import_without_a_crash() {
    let corpus = root().join("../shared/corpus");
    let seeds = root().join("../shared/seeds");
    if !corpus.is_dir() {
        eprintln!("no {}; skipped", corpus.display());
        return;
    }
    let mut paths = Vec::new();
    walk(&corpus, &mut paths);
    walk(&seeds, &mut paths);
    let mut repos: std::collections::BTreeMap<String, Vec<SourceFile>> = Default::default();
    for p in &paths {
        let base = p.file_name().unwrap().to_string_lossy().into_owned();
        let repo = base.split(['-', '.', '_']).next().unwrap_or("").to_string();
        let text = String::from_utf8(std::fs::read(p).unwrap()).unwrap_or_default();
        repos
            .entry(repo)
            .or_default()
            .push(SourceFile::new(rel(p), text));
    }
    assert!(repos.len() > 10, "{} repositories", repos.len());
    for (repo, files) in &repos {
        let groups = vec![Some(repo.clone()); files.len()];
        let imported = import::import_grouped(
            files,
            &groups,
            &ImportOptions {
                now: Some(NOW),
                cert_expiry_days: 30,
            },
        );
        // Whatever was found, the topology is YAML (facts no file gave are comments).
        let yaml = hagen_core::yaml::parse(&imported.topology);
        assert!(
            yaml.error.is_none() && yaml.docs.len() == 1,
            "{repo}: the imported topology is not YAML: {:?}\n{}",
            yaml.error,
            imported.topology
        );
        let _ = text::render(files, &imported.diagnostics, text::Style { color: false });
    }
}

/// The collect script: `sh -n`, shellcheck, and a run over a fake node tree.
#[test]
fn collect_script_is_valid_sh_and_collects_only_public_files() {
    let scratch = std::env::temp_dir().join(format!("hagen-collect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let script = scratch.join("collect.sh");
    std::fs::write(&script, import::collect::SCRIPT).unwrap();
    let ok = Command::new("sh")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("sh");
    assert!(ok.success(), "sh -n failed");
    match Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&script)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => panic!("shellcheck is needed (apt-get install shellcheck): {e}"),
    }
    // A fake node: a rendered control plane with its PKI, plus a kubeconfig with
    // credentials and a private key that must stay behind.
    let node = scratch.join("root");
    let topology = root().join("fixtures/topologies/valid/haproxy-keepalived-stacked.yaml");
    let text = std::fs::read_to_string(&topology).unwrap();
    let checked = hagen_core::check(&SourceFile::new("t", text.clone()));
    let plan = checked.plan.unwrap();
    let pki = hagen_core::pki::generate(
        &plan,
        &Existing::none(),
        &mut SeededEntropy::new(7),
        super::lint::NOW,
    )
    .unwrap();
    let bundle = hagen_core::assemble(
        &SourceFile::new("topology.yaml", text),
        &plan,
        &checked.what_if.unwrap_or_default(),
        &pki,
    )
    .unwrap();
    for (path, file) in bundle.iter() {
        if let Some(rest) = path.strip_prefix("nodes/k8s-m2/") {
            let target = node.join(rest);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &file.bytes).unwrap();
        }
    }
    std::fs::write(
        node.join("etc/kubernetes/admin.conf"),
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n    server: https://k8s-api.local:8443\n  name: k8s-ha\nusers:\n- name: admin\n  user:\n    client-certificate-data: BBBB\n    client-key-data: CCCC\n    token: secret-token\n",
    ).unwrap();
    let out = scratch.join("out");
    let run = Command::new("sh")
        .arg(&script)
        .arg(&out)
        .env("HAGEN_ROOT", &node)
        .env("HAGEN_NODE", "k8s-m2")
        .env("HAGEN_NO_CLUSTER", "1")
        .output()
        .expect("sh");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut got = Vec::new();
    walk(&out, &mut got);
    let names: Vec<String> = got
        .iter()
        .map(|p| p.strip_prefix(&out).unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(!names.is_empty());
    for (p, n) in got.iter().zip(&names) {
        assert!(!n.ends_with(".key"), "copied a key: {n}");
        let t = std::fs::read_to_string(p).unwrap();
        for secret in [
            "PRIVATE KEY",
            "client-key-data",
            "client-certificate-data",
            "secret-token",
            "token:",
            "certificateKey",
        ] {
            assert!(!t.contains(secret), "{n} still has {secret}");
        }
    }
    for want in [
        "k8s-m2/etc/kubernetes/kubeadm-config.yaml",
        "k8s-m2/etc/kubernetes/admin.conf",
        "k8s-m2/etc/kubernetes/pki/apiserver.crt",
        "k8s-m2/etc/kubernetes/pki/ca.crt",
        "k8s-m2/etc/haproxy/haproxy.cfg",
        "k8s-m2/etc/keepalived/keepalived.conf",
        "k8s-m2/etc/keepalived/check_apiserver.sh",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not collected: {names:?}"
        );
    }
    // What it collected imports: the node is found with its address and role.
    let (_, imported) = import_dir(&out, None);
    assert!(
        imported.topology.contains("- name: k8s-m2"),
        "{}",
        imported.topology
    );
    assert!(
        imported.topology.contains("address: 192.168.2.141"),
        "{}",
        imported.topology
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = fixtures;
}
