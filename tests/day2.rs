//! `hagen plan` (core `change`): the fixture pairs in `fixtures/plans/<case>/` against
//! their reviewed golden plans (`plan.json`, or `refused.txt` for a change that must be
//! refused); every step's haproxy / nginx / keepalived files through the real checkers;
//! the CA and the old keys kept; and property tests over generated topology pairs (no
//! step loses quorum, every safety rule holds, the last state is the new topology's).

use hagen_core::change::{self, ChangePlan, Options, Refusal, check_steps, same_cluster};
use hagen_core::pki::{Existing, SeededEntropy, generate};
use hagen_core::plan::Plan;
use hagen_core::rules::topology::quorum;
use hagen_core::source::SourceFile;
use hagen_tests::sandbox::{BundleFile, Scratch, TestPki, materialize, require_real_tools};
use hagen_tests::{golden, rel, root};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// A case directory's old and new plans, its sources and its dead nodes.
pub struct Case {
    pub old_text: String,
    pub new_text: String,
    pub dead: Vec<String>,
    pub renew: bool,
    pub rotate_ca: bool,
}

impl Case {
    pub fn load(dir: &Path) -> Case {
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", rel(dir)))
        };
        Case {
            old_text: read("old.yaml"),
            new_text: read("new.yaml"),
            dead: std::fs::read_to_string(dir.join("dead"))
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            renew: std::fs::read_to_string(dir.join("flags")).is_ok_and(|f| f.contains("renew")),
            rotate_ca: std::fs::read_to_string(dir.join("flags"))
                .is_ok_and(|f| f.contains("rotate-ca")),
        }
    }

    pub fn plans(&self) -> (Plan, Plan) {
        (plan_text(&self.old_text), plan_text(&self.new_text))
    }

    pub fn plan(&self) -> Result<ChangePlan, Refusal> {
        let (old, new) = self.plans();
        change::plan_change(
            &old,
            &new,
            &Options {
                dead: self.dead.clone(),
                renew: self.renew,
                rotate_ca: self.rotate_ca,
            },
        )
    }
}

pub fn plan_text(text: &str) -> Plan {
    let c = hagen_core::check(&SourceFile::new("t.yaml", text));
    c.plan
        .unwrap_or_else(|| panic!("invalid: {:#?}\n{text}", c.diagnostics))
}

pub fn cases() -> Vec<PathBuf> {
    let dir = root().join("fixtures/plans");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/plans")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

#[test]
fn plan_fixtures_match_their_golden_plans() {
    let mut failures = Vec::new();
    for dir in cases() {
        let case = Case::load(&dir);
        let name = rel(&dir);
        let refused = name.contains("refused-");
        match case.plan() {
            Ok(p) => {
                if refused {
                    failures.push(format!("{name}: planned, but the case must be refused"));
                    continue;
                }
                if let Err(v) = check_steps(&p.initial, &p.steps) {
                    failures.push(format!("{name}: {v}"));
                }
                assert!(same_cluster(
                    p.steps.last().map_or(&p.initial, |s| &s.state),
                    &p.target
                ));
                let json = serde_json::to_string_pretty(&p).unwrap() + "\n";
                if let Err(e) = golden(&dir.join("plan.json"), &json) {
                    failures.push(e);
                }
            }
            Err(e) => {
                if !refused {
                    failures.push(format!("{name}: refused: {e}"));
                    continue;
                }
                if let Err(e) = golden(&dir.join("refused.txt"), &format!("{e}\n")) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The old bundle of a case, made the way `hagen render` makes it (seeded).
pub fn old_bundle(case: &Case) -> hagen_core::bundle::Bundle {
    let source = SourceFile::new("old.yaml", case.old_text.clone());
    let checked = hagen_core::check(&source);
    let plan = checked.plan.expect("old plans");
    let pki = generate(&plan, &Existing::none(), &mut SeededEntropy::new(7), now()).unwrap();
    hagen_core::assemble(&source, &plan, &checked.what_if.unwrap_or_default(), &pki).unwrap()
}

fn now() -> i64 {
    crate::pki::now()
}

/// Runs a case end to end in memory: old bundle → plan → every step's files and the
/// final bundle.
pub fn materialized(case: &Case) -> (ChangePlan, change::files::Materialized, Existing) {
    let old_b = old_bundle(case);
    let existing =
        Existing::from_bundle(old_b.iter().map(|(p, f)| (p.as_str(), f.bytes.as_slice()))).unwrap();
    let (old, new) = case.plans();
    let p = case.plan().unwrap();
    let source = SourceFile::new("new.yaml", case.new_text.clone());
    let m = change::files::materialize(
        &p,
        &old,
        &new,
        &source,
        &[],
        &existing,
        &mut SeededEntropy::new(8),
        now(),
    )
    .unwrap();
    (p, m, existing)
}

#[test]
fn plans_keep_the_ca_and_the_old_keys_and_give_new_nodes_one_key() {
    for dir in cases() {
        if rel(&dir).contains("refused-") {
            continue;
        }
        let case = Case::load(&dir);
        if case.rotate_ca {
            continue; // day2_rotate checks what a rotation keeps and changes
        }
        let (p, m, existing) = materialized(&case);
        let name = rel(&dir);
        for (path, f) in m.bundle.iter() {
            if let Some(rest) = path.strip_prefix("nodes/")
                && let Some((_, rel_path)) = rest.split_once('/')
                && let Some(shared) = rel_path.strip_prefix("etc/kubernetes/pki/")
                && let Some(before) = existing.shared.get(shared)
            {
                assert_eq!(&f.bytes, before, "{name}: {path} changed");
            }
            // A key that existed for a node that is kept is kept.
            if path.ends_with(".key")
                && let Some(rest) = path.strip_prefix("nodes/")
                && let Some((node, rel_path)) = rest.split_once('/')
                && !case.dead.iter().any(|d| d == node)
                && let Some(before) = existing.per_node.get(node).and_then(|n| n.get(rel_path))
            {
                assert_eq!(&f.bytes, before, "{name}: {path} re-keyed");
            }
        }
        // A renewal re-issues every leaf certificate a node had (with the key it had).
        if case.renew {
            let mut renewed = 0;
            for (node, files) in &existing.per_node {
                for (rel_path, before) in files {
                    if rel_path.ends_with(".crt") && !rel_path.ends_with("ca.crt") {
                        let after = m
                            .bundle
                            .get(&format!("nodes/{node}/{rel_path}"))
                            .expect("still there");
                        assert_ne!(
                            &after.bytes, before,
                            "{name}: {node}/{rel_path} not renewed"
                        );
                        renewed += 1;
                    }
                }
            }
            assert!(renewed > 10, "{name}: {renewed}");
        }
        // A joining node's files are the final bundle's (same keys, same certificates),
        // but for the certificate a lone API server carries while clients still dial the
        // old endpoint (it names both endpoints).
        for step in &p.steps {
            let Some(files) = m.steps.get(&step.id) else {
                continue;
            };
            if step
                .files
                .values()
                .any(|f| *f == change::FileSet::TransitionCert)
            {
                continue;
            }
            for (path, f) in files {
                if path.contains("/pki/")
                    && let Some(final_file) = m.bundle.get(path)
                {
                    assert_eq!(f.bytes, final_file.bytes, "{name}: {} {path}", step.id);
                }
            }
        }
    }
}

/// The last haproxy.cfg / nginx.conf / keepalived.conf a node gets from the steps is the
/// final bundle's: the steps end where the new topology is.
#[test]
fn the_last_step_files_are_the_final_bundles() {
    for dir in cases() {
        if rel(&dir).contains("refused-") {
            continue;
        }
        let case = Case::load(&dir);
        let (p, m, _) = materialized(&case);
        if let Err(e) = last_step_files_match(&p, &m, &plan_text(&case.new_text)) {
            panic!("{}: {e}", rel(&dir));
        }
    }
}

/// Err if the last haproxy.cfg / nginx.conf / keepalived.conf a node of `new` got from
/// the steps differs from the final bundle's.
fn last_step_files_match(
    p: &ChangePlan,
    m: &change::files::Materialized,
    new: &Plan,
) -> Result<(), String> {
    {
        let mut last: std::collections::BTreeMap<String, (String, Vec<u8>)> = Default::default();
        for step in &p.steps {
            for (path, f) in m.steps.get(&step.id).into_iter().flatten() {
                if path.ends_with("haproxy.cfg")
                    || path.ends_with("nginx.conf")
                    || path.ends_with("keepalived.conf")
                {
                    last.insert(path.clone(), (step.id.clone(), f.bytes.clone()));
                }
            }
        }
        for (path, (id, bytes)) in &last {
            let node = path.split('/').nth(1).unwrap_or_default();
            if !new.nodes.iter().any(|n| n.name == node) {
                continue; // removed since
            }
            let fin = m
                .bundle
                .get(path)
                .ok_or_else(|| format!("{path} not in the bundle"))?;
            if bytes != &fin.bytes {
                return Err(format!(
                    "{path} from {id} differs from the final bundle's:\n{}\n---\n{}",
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&fin.bytes)
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_step_file_passes_the_real_checkers() {
    if !require_real_tools() {
        return;
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in cases() {
        if rel(&dir).contains("refused-") {
            continue;
        }
        let case = Case::load(&dir);
        let (_, m, _) = materialized(&case);
        let scratch = Scratch::new("day2");
        let pki = TestPki::new(&scratch.join("pki"), &[]);
        for (id, files) in &m.steps {
            let files: Vec<BundleFile> = files
                .iter()
                .map(|(p, f)| (p.clone(), f.bytes.clone(), f.mode))
                .collect();
            let root = scratch.join(id);
            materialize(&files, &root);
            for (path, bytes, _) in &files {
                let kind = crate::real::kind_of(path, bytes);
                use crate::real::Kind;
                let Some(kind @ (Kind::Haproxy | Kind::Nginx | Kind::Keepalived | Kind::Shell)) =
                    kind
                else {
                    continue;
                };
                checked += 1;
                if let Err(e) = crate::real::check_file(&root, path, kind, &pki.common_layer()) {
                    failures.push(format!("{}/{id}/{path}: {e}", rel(&dir)));
                }
            }
        }
    }
    eprintln!("{checked} step files checked by the real programs");
    assert!(checked > 20, "only {checked} files checked");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- property tests over generated topology pairs -------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) old: String,
    pub(crate) new: String,
    pub(crate) dead: Vec<String>,
}

fn topology(lb: &str, external: bool, cps: &[u8], etcd: &[u8], workers: &[u8]) -> String {
    let (endpoint, lb_block) = match lb {
        "haproxy-keepalived" => (
            "vip: 10.0.0.100/24\n    port: 8443",
            "type: haproxy-keepalived\n    interface: eth0",
        ),
        "keepalived" => (
            "vip: 10.0.0.100/24",
            "type: keepalived\n    interface: eth0",
        ),
        "kube-vip" => ("vip: 10.0.0.100/24", "type: kube-vip\n    interface: eth0"),
        "nginx-local" => ("dns: api.local\n    port: 7443", "type: nginx-local"),
        _ => ("dns: api.example.com", "type: external"),
    };
    let mut s = format!(
        "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: p\nspec:\n  kubernetesVersion: v1.31.2\n  controlPlaneEndpoint:\n    {endpoint}\n  loadBalancer:\n    {lb_block}\n  etcd:\n    type: {}\n  nodes:\n",
        if external { "external" } else { "stacked" }
    );
    for i in cps {
        s.push_str(&format!(
            "    - {{name: m{i}, address: 10.0.0.{}, roles: [control-plane]}}\n",
            10 + i
        ));
    }
    for i in etcd {
        s.push_str(&format!(
            "    - {{name: e{i}, address: 10.0.0.{}, roles: [etcd]}}\n",
            40 + i
        ));
    }
    for i in workers {
        s.push_str(&format!(
            "    - {{name: w{i}, address: 10.0.0.{}, roles: [worker]}}\n",
            70 + i
        ));
    }
    s
}

/// Picks `n` of the ids 1..=12, from a shuffled order.
fn pick(order: &[u8], keep_from: &[u8], keep: usize, n: usize) -> Vec<u8> {
    let mut v: Vec<u8> = keep_from.iter().copied().take(keep.min(n)).collect();
    for i in order {
        if v.len() >= n {
            break;
        }
        if !keep_from.contains(i) && !v.contains(i) {
            v.push(*i);
        }
    }
    v.sort();
    v
}

const LBS: [&str; 5] = [
    "haproxy-keepalived",
    "keepalived",
    "kube-vip",
    "nginx-local",
    "external",
];

/// Old and new topologies; in about a third of the pairs the load-balancer type (and
/// with it the endpoint) changes too.
pub(crate) fn pairs() -> impl Strategy<Value = Pair> {
    let lb = prop::sample::select(LBS.to_vec());
    let lb_new = prop::option::weighted(0.35, prop::sample::select(LBS.to_vec()));
    let order = Just((1u8..=12).collect::<Vec<u8>>()).prop_shuffle();
    (
        (lb, lb_new),
        any::<bool>(),
        prop::sample::select(vec![1usize, 3, 5]),
        prop::sample::select(vec![1usize, 3, 5, 7]),
        0usize..6,
        (0usize..3, 0usize..3, 0usize..3),
        order,
        prop::collection::vec(any::<bool>(), 24),
    )
        .prop_map(
            |((lb, lb_new), external, old_n, new_n, keep, (ow, nw, keepw), order, dead_bits)| {
                let (old_cp, new_cp, old_e, new_e);
                if external {
                    old_cp = pick(&order, &[], 0, old_n.min(3));
                    new_cp = pick(&order, &old_cp, keep, new_n.min(3));
                    old_e = pick(&order, &[], 0, old_n.max(3));
                    new_e = pick(&order, &old_e, keep, new_n.max(3));
                } else {
                    old_cp = pick(&order, &[], 0, old_n);
                    new_cp = pick(&order, &old_cp, keep, new_n);
                    old_e = vec![];
                    new_e = vec![];
                }
                let old_w = pick(&order, &[], 0, ow);
                let new_w = pick(&order, &old_w, keepw, nw);
                let mut names: Vec<String> = old_cp.iter().map(|i| format!("m{i}")).collect();
                names.extend(old_e.iter().map(|i| format!("e{i}")));
                names.extend(old_w.iter().map(|i| format!("w{i}")));
                // An endpoint change is planned without dead nodes (it is refused with
                // them: remove the dead first).
                let lb_changes = lb_new.is_some_and(|n| n != lb);
                let dead = names
                    .into_iter()
                    .filter(|_| !lb_changes)
                    .zip(dead_bits)
                    .filter(|(_, d)| *d)
                    .map(|(n, _)| n)
                    .take(2)
                    .collect();
                Pair {
                    old: topology(lb, external, &old_cp, &old_e, &old_w),
                    new: topology(lb_new.unwrap_or(lb), external, &new_cp, &new_e, &new_w),
                    dead,
                }
            },
        )
}

pub(crate) fn checked_plan(text: &str) -> Option<Plan> {
    hagen_core::check(&SourceFile::new("t.yaml", text)).plan
}

proptest! {
    #![proptest_config(crate::fuzz_config(256))]

    /// No step loses quorum, every safety rule holds on every state, the last state is
    /// the new topology's; a refusal is justified by the arithmetic.
    #[test]
    fn generated_changes_are_safe_or_refused(pair in pairs()) {
        let (Some(old), Some(new)) = (checked_plan(&pair.old), checked_plan(&pair.new)) else {
            return Ok(());
        };
        let opts = Options { dead: pair.dead.clone(), ..Options::default() };
        match change::plan_change(&old, &new, &opts) {
            Ok(p) => {
                // Independently of check_steps: quorum after every step.
                for s in &p.steps {
                    let voters = s.state.etcd_members.len();
                    let up = s.state.etcd_members.iter().filter(|m| !s.state.dead.contains(m)).count();
                    prop_assert!(voters > 0 && up > voters / 2, "step {}: {up}/{voters} is not a majority", s.id);
                    prop_assert!(s.state.lb_backends.iter().all(|b| s.state.api_servers.contains(b) || s.state.dead.contains(b)));
                }
                prop_assert_eq!(check_steps(&p.initial, &p.steps), Ok(()));
                let last = p.steps.last().map_or(&p.initial, |s| &s.state);
                prop_assert!(same_cluster(last, &change::state_of(&new)), "{last:#?}\n{:#?}", p.target);
                prop_assert!(last.dead.is_empty());
            }
            Err(Refusal::Unsafe { reason, .. }) => {
                let voters = old.etcd_members().count();
                let dead = old.etcd_members().filter(|m| pair.dead.contains(&m.name)).count();
                let lost_quorum = voters - dead < quorum(voters);
                let shrinks = new.etcd_members().count() < 3 && new.etcd_members().count() < voters;
                // External etcd whose members change, or a renewal, with one API
                // server: repointing or restarting it is downtime.
                let mut api: Vec<&str> = old
                    .control_planes()
                    .filter(|c| !pair.dead.contains(&c.name))
                    .chain(new.control_planes())
                    .map(|c| c.name.as_str())
                    .collect();
                api.sort();
                api.dedup();
                let one_api = reason.contains("the only API server restarts") && api.len() == 1;
                prop_assert!(lost_quorum || shrinks || one_api, "refused without cause: {reason}");
            }
            // What the endpoint module refuses (dead nodes together with the change,
            // certificates that lack a new name on several API servers, …) comes with
            // the reason and the way round; only for pairs that change the endpoint.
            Err(Refusal::Unsupported { what, instead })
                if what.starts_with(change::endpoint::REFUSED) =>
            {
                prop_assert!(old.endpoint != new.endpoint || old.load_balancer.kind != new.load_balancer.kind, "{what}");
                prop_assert!(!instead.is_empty());
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

proptest! {
    #![proptest_config(crate::fuzz_config(24))]

    /// The files, for generated pairs: every step renders, the CA is kept, and the last
    /// load-balancer and keepalived files each node got are the final bundle's.
    #[test]
    fn generated_plans_render_and_end_at_the_final_bundle(pair in pairs()) {
        let (Some(old), Some(new)) = (checked_plan(&pair.old), checked_plan(&pair.new)) else {
            return Ok(());
        };
        let opts = Options { dead: pair.dead.clone(), ..Options::default() };
        let Ok(p) = change::plan_change(&old, &new, &opts) else {
            return Ok(());
        };
        let case = Case {
            old_text: pair.old.clone(),
            new_text: pair.new.clone(),
            dead: pair.dead.clone(),
            renew: false,
            rotate_ca: false,
        };
        let (p2, m, existing) = materialized(&case);
        prop_assert_eq!(&p, &p2);
        if let Some(ca) = existing.shared.get("ca.crt") {
            for (path, f) in m.bundle.iter() {
                if path.ends_with("/etc/kubernetes/pki/ca.crt") {
                    prop_assert_eq!(&f.bytes, ca);
                }
            }
        }
        if let Err(e) = last_step_files_match(&p, &m, &new) {
            prop_assert!(false, "{}\n{}\n{}", e, pair.old, pair.new);
        }
    }
}
