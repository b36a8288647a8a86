//! `hagen plan --rotate-ca` checked from outside, by openssl, on every intermediate
//! trust state: the files every node holds are replayed step by step from the old
//! bundle, and after each step every leaf (and every kubeconfig's client certificate)
//! verifies against every CA file and CA data of its family on every node — so a node
//! rotated ahead of the others is still trusted by them, and trusts them. Phase by
//! phase: old leaves against the old + new bundles, new leaves against the new + old
//! bundles, and at the end the new CA alone on every node, which the old leaves no
//! longer verify against. The join hashes are computed both ways (hagen, openssl).

use crate::day2::{Case, materialized, old_bundle, plan_text};
use hagen_core::change::{Action, ChangePlan, Phase};
use hagen_core::pki::spec::{self, CertSpec};
use hagen_core::plan::{Node, Plan};
use hagen_core::topology::Role;
use hagen_tests::{TempDir, rel, root, run};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::process::Command;

/// A node's PKI-relevant files, by path relative to its root.
type Files = BTreeMap<String, Vec<u8>>;

/// (node, path, bytes) of certificates found on the nodes.
type Located = Vec<(String, String, Vec<u8>)>;

fn b64(text: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The decoded value of a kubeconfig's `key:` line.
fn conf_value(conf: &[u8], key: &str) -> Option<Vec<u8>> {
    String::from_utf8_lossy(conf).lines().find_map(|l| {
        l.trim()
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix(':'))
            .map(|v| b64(v.trim()))
    })
}

/// The certificates of a PEM file, one PEM each.
fn pems(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            cur.clear();
        }
        cur.push_str(line);
        cur.push('\n');
        if line.starts_with("-----END CERTIFICATE") {
            out.push(cur.clone().into_bytes());
        }
    }
    out
}

/// openssl, with every file written once and every answer remembered.
struct Openssl {
    dir: TempDir,
    files: HashMap<u64, PathBuf>,
    verified: HashMap<(u64, u64), bool>,
    pubkeys: HashMap<(u64, bool), String>,
    calls: usize,
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Openssl {
    fn new() -> Openssl {
        Openssl {
            dir: TempDir::new("rotate"),
            files: HashMap::new(),
            verified: HashMap::new(),
            pubkeys: HashMap::new(),
            calls: 0,
        }
    }

    fn file(&mut self, bytes: &[u8]) -> PathBuf {
        let h = hash(bytes);
        let dir = self.dir.path().to_path_buf();
        self.files
            .entry(h)
            .or_insert_with(|| {
                let p = dir.join(format!("{h:016x}.pem"));
                std::fs::write(&p, bytes).expect("write");
                p
            })
            .clone()
    }

    /// `openssl verify -CAfile ca leaf`.
    fn verify(&mut self, ca: &[u8], leaf: &[u8]) -> bool {
        let key = (hash(ca), hash(leaf));
        if let Some(v) = self.verified.get(&key) {
            return *v;
        }
        let (ca_f, leaf_f) = (self.file(ca), self.file(leaf));
        self.calls += 1;
        let (ok, _) = run(Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&ca_f)
            .arg(&leaf_f));
        self.verified.insert(key, ok);
        ok
    }

    /// The public key (PEM) of a certificate, or of a private key.
    fn pubkey(&mut self, pem: &[u8], is_key: bool) -> String {
        let key = (hash(pem), is_key);
        if let Some(v) = self.pubkeys.get(&key) {
            return v.clone();
        }
        let f = self.file(pem);
        self.calls += 1;
        let (ok, out) = if is_key {
            run(Command::new("openssl")
                .arg("pkey")
                .arg("-pubout")
                .arg("-in")
                .arg(&f))
        } else {
            run(Command::new("openssl")
                .args(["x509", "-noout", "-pubkey", "-in"])
                .arg(&f))
        };
        assert!(ok, "openssl: {out}");
        self.pubkeys.insert(key, out.clone());
        out
    }

    /// kubeadm's discovery hash, as its documentation computes it.
    fn ca_hash(&mut self, cert: &[u8]) -> String {
        let pubkey = self.pubkey(cert, false);
        let p = self.file(pubkey.as_bytes());
        let der = self.dir.path().join("spki.der");
        let (ok, out) = run(Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(&p)
            .arg("-out")
            .arg(&der));
        assert!(ok, "{out}");
        let (ok, out) = run(Command::new("openssl")
            .args(["dgst", "-sha256", "-r"])
            .arg(&der));
        assert!(ok, "{out}");
        format!("sha256:{}", out.split_whitespace().next().expect("digest"))
    }
}

/// Where a node reads each CA family (`ca`, `front-proxy-ca`, `etcd/ca`) and which leaves
/// it holds of each, from the table (as `tests/pki.rs` does), plus the kubeconfigs.
struct Trust {
    /// family → (node, path, bytes) of every CA file or CA data.
    stores: BTreeMap<&'static str, Located>,
    /// family → (node, path, bytes) of every leaf certificate.
    leaves: BTreeMap<&'static str, Located>,
    /// (node, path, CA data, client certificate) of every kubeconfig with one embedded.
    kubeconfigs: Vec<(String, String, Vec<u8>, Vec<u8>)>,
}

fn trust_of(plan: &Plan, state: &BTreeMap<String, Files>) -> Trust {
    let mut t = Trust {
        stores: BTreeMap::new(),
        leaves: BTreeMap::new(),
        kubeconfigs: Vec::new(),
    };
    for node in &plan.nodes {
        let Some(files) = state.get(&node.name) else {
            continue;
        };
        let add = |map: &mut BTreeMap<&'static str, Vec<_>>, fam, path: &str| {
            if let Some(b) = files.get(path) {
                map.entry(fam)
                    .or_default()
                    .push((node.name.clone(), path.to_string(), b.clone()));
            }
        };
        for row in spec::CERTS {
            let Some((place, _)) = row.place(plan, node) else {
                continue;
            };
            let path = format!("{place}.crt");
            match row.signer {
                None => add(&mut t.stores, row.name, &path),
                Some(signer) => {
                    let fam = CertSpec::find(signer).expect("signer").name;
                    add(&mut t.leaves, fam, &path);
                }
            }
        }
        if node.has(Role::Worker) && !node.has(Role::ControlPlane) {
            add(
                &mut t.stores,
                spec::KUBERNETES_CA,
                "etc/kubernetes/pki/ca.crt",
            );
        }
        for (path, bytes) in files {
            if path.starts_with("etc/kubernetes/") && path.ends_with(".conf") {
                let ca = conf_value(bytes, "certificate-authority-data")
                    .unwrap_or_else(|| panic!("{}/{path}: no CA data", node.name));
                t.stores.entry(spec::KUBERNETES_CA).or_default().push((
                    node.name.clone(),
                    path.clone(),
                    ca.clone(),
                ));
                if let Some(cert) = conf_value(bytes, "client-certificate-data") {
                    t.kubeconfigs
                        .push((node.name.clone(), path.clone(), ca, cert.clone()));
                    t.leaves.entry(spec::KUBERNETES_CA).or_default().push((
                        node.name.clone(),
                        path.clone(),
                        cert,
                    ));
                }
            }
        }
    }
    t
}

fn pki_relevant(rel_path: &str) -> bool {
    rel_path.starts_with("etc/kubernetes/pki/")
        || rel_path.starts_with("etc/etcd/pki/")
        || (rel_path.starts_with("etc/kubernetes/") && rel_path.ends_with(".conf"))
}

/// Each node's files: `nodes/<name>/<rel>` of `files`.
fn by_node<'a>(files: impl Iterator<Item = (&'a String, &'a [u8])>) -> BTreeMap<String, Files> {
    let mut out: BTreeMap<String, Files> = BTreeMap::new();
    for (path, bytes) in files {
        if let Some((node, rel_path)) = path.strip_prefix("nodes/").and_then(|r| r.split_once('/'))
            && pki_relevant(rel_path)
        {
            out.entry(node.to_string())
                .or_default()
                .insert(rel_path.to_string(), bytes.to_vec());
        }
    }
    out
}

fn is_cp(plan: &Plan, name: &str) -> bool {
    plan.nodes
        .iter()
        .any(|n: &Node| n.name == name && n.has(Role::ControlPlane))
}

/// Every leaf verifies against every store of its family, on every node; every
/// kubeconfig's client certificate against its own CA data; on control planes the key
/// that signs is the certificate kubeadm and the controller manager read.
fn check_state(
    o: &mut Openssl,
    plan: &Plan,
    state: &BTreeMap<String, Files>,
    at: &str,
    failures: &mut Vec<String>,
) {
    let t = trust_of(plan, state);
    for (fam, leaves) in &t.leaves {
        let stores = t.stores.get(fam).cloned().unwrap_or_default();
        assert!(!stores.is_empty(), "{at}: no store of {fam}");
        for (ln, lp, leaf) in leaves {
            for (sn, sp, store) in &stores {
                if !o.verify(store, leaf) {
                    failures.push(format!("{at}: {ln}/{lp} does not verify against {sn}/{sp}"));
                }
            }
        }
    }
    for (n, p, ca, cert) in &t.kubeconfigs {
        if !o.verify(ca, cert) {
            failures.push(format!(
                "{at}: {n}/{p}'s client certificate does not verify against its own CA data"
            ));
        }
    }
    for (node, files) in state {
        if !is_cp(plan, node) {
            continue;
        }
        for ca in ["ca", "front-proxy-ca", "etcd/ca"] {
            let (Some(crt), Some(key)) = (
                files.get(&format!("etc/kubernetes/pki/{ca}.crt")),
                files.get(&format!("etc/kubernetes/pki/{ca}.key")),
            ) else {
                continue;
            };
            let first = pems(crt).into_iter().next().expect("a certificate");
            if o.pubkey(&first, false) != o.pubkey(key, true) {
                failures.push(format!(
                    "{at}: {node}'s {ca}.crt does not start with the certificate of {ca}.key"
                ));
            }
        }
        let bundle = files
            .get("etc/kubernetes/pki/ca.crt")
            .is_some_and(|b| pems(b).len() > 1);
        match files.get("etc/kubernetes/pki/ca-signer.crt") {
            Some(signer) => {
                let key = &files["etc/kubernetes/pki/ca.key"];
                if pems(signer).len() != 1 || o.pubkey(signer, false) != o.pubkey(key, true) {
                    failures.push(format!(
                        "{at}: {node}'s ca-signer.crt is not the one certificate of ca.key"
                    ));
                }
            }
            None if bundle => failures.push(format!(
                "{at}: {node}'s ca.crt is a bundle but the controller manager has no ca-signer.crt"
            )),
            None => {}
        }
    }
}

fn rotate_case(name: &str) {
    let dir = root().join("fixtures/plans").join(name);
    let case = Case::load(&dir);
    assert!(case.rotate_ca, "{name}");
    let plan = plan_text(&case.new_text);
    let (p, m, existing) = materialized(&case);
    let old_b = old_bundle(&case);
    let mut o = Openssl::new();
    let mut failures = Vec::new();

    let old_ca = existing.shared["ca.crt"].clone();
    let cp1 = plan.control_planes().next().expect("cp").name.clone();
    let new_ca = m
        .bundle
        .get(&format!("nodes/{cp1}/etc/kubernetes/pki/ca.crt"))
        .expect("new ca")
        .bytes
        .clone();
    assert_ne!(old_ca, new_ca, "{name}: the CA did not change");
    assert_eq!(
        m.bundle
            .get(&format!("nodes/{cp1}/etc/kubernetes/pki/sa.key"))
            .expect("sa.key")
            .bytes,
        existing.shared["sa.key"],
        "{name}: the service-account key changed"
    );

    // The old cluster as the nodes hold it; a worker's ca.crt is what `kubeadm join`
    // wrote from cluster-info.
    let mut state = by_node(old_b.iter().map(|(p, f)| (p, f.bytes.as_slice())));
    for n in &plan.nodes {
        if n.has(Role::Worker) && !n.has(Role::ControlPlane) {
            state
                .entry(n.name.clone())
                .or_default()
                .insert("etc/kubernetes/pki/ca.crt".into(), old_ca.clone());
        }
    }
    let old_state = state.clone();
    check_state(&mut o, &plan, &state, "before", &mut failures);

    let last_cp_issue = p
        .steps
        .iter()
        .rposition(|s| {
            s.action == Action::RotateControlPlane && s.phase == Some(Phase::IssueFromNew)
        })
        .expect("phase 2");
    let first_drop = p
        .steps
        .iter()
        .position(|s| s.phase == Some(Phase::DropOld))
        .expect("phase 3");
    let mut last_phase = None;
    for (i, step) in p.steps.iter().enumerate() {
        if step.phase != last_phase {
            // Every trust store names exactly the CAs of the phase that just ended.
            if last_phase == Some(Phase::TrustBoth) {
                let t = trust_of(&plan, &state);
                for stores in t.stores.values() {
                    for (n, path, b) in stores {
                        assert_eq!(pems(b).len(), 2, "{name}: after phase 1, {n}/{path}");
                    }
                }
            }
            last_phase = step.phase;
        }
        let files = m.steps.get(&step.id).cloned().unwrap_or_default();
        for (path, f) in &files {
            let (node, rel_path) = path
                .strip_prefix("nodes/")
                .and_then(|r| r.split_once('/'))
                .expect("nodes/<name>/");
            // Security: keys only on control planes, CA keys never off them.
            if rel_path.ends_with(".key") && !is_cp(&plan, node) {
                let etcd_own =
                    rel_path.starts_with("etc/etcd/pki/") && !rel_path.ends_with("ca.key");
                assert!(etcd_own, "{name}/{}: {node} gets {rel_path}", step.id);
            }
            if rel_path.ends_with(".conf") || rel_path.ends_with(".key") {
                assert_eq!(f.mode, 0o600, "{name}/{}: {path}", step.id);
            }
            if pki_relevant(rel_path) {
                state
                    .entry(node.to_string())
                    .or_default()
                    .insert(rel_path.to_string(), f.bytes.clone());
            }
        }
        if step.action == Action::RebootstrapKubelet {
            assert!(
                i > last_cp_issue && i < first_drop,
                "{name}: {} before every controller manager signs with the new key",
                step.id
            );
            for (n, files) in &state {
                if is_cp(&plan, n) {
                    assert_eq!(
                        files.get("etc/kubernetes/pki/ca-signer.crt"),
                        Some(&new_ca),
                        "{name}/{}: {n} does not sign with the new CA",
                        step.id
                    );
                }
            }
            let (_, f) = &files[0];
            let ca = conf_value(&f.bytes, "certificate-authority-data").expect("CA data");
            assert_eq!(
                pems(&ca),
                [new_ca.clone(), old_ca.clone()],
                "{name}/{}",
                step.id
            );
        }
        if !files.is_empty() {
            check_state(
                &mut o,
                &plan,
                &state,
                &format!("{name}/{}", step.id),
                &mut failures,
            );
        }
        // What the step's commands remove: the token file once the kubelet has its
        // certificate, the signing certificate once ca.crt is one certificate again.
        if let Some(files) = state.get_mut(&step.node) {
            match (step.action, step.phase) {
                (Action::RebootstrapKubelet, _) => {
                    files.remove("etc/kubernetes/bootstrap-kubelet.conf");
                }
                (Action::RotateControlPlane, Some(Phase::DropOld)) => {
                    files.remove("etc/kubernetes/pki/ca-signer.crt");
                }
                _ => {}
            }
        }
    }

    // The end: the new CAs alone everywhere, as bundle/ has them; the old leaves fail.
    let t = trust_of(&plan, &state);
    let old_t = trust_of(&plan, &old_state);
    for (fam, stores) in &t.stores {
        for (n, path, b) in stores {
            assert_eq!(pems(b).len(), 1, "{name}: at the end {n}/{path}");
            if path.ends_with(".crt")
                && let Some(f) = m.bundle.get(&format!("nodes/{n}/{path}"))
            {
                assert!(&f.bytes == b, "{name}: {n}/{path} differs from bundle/");
            }
            assert!(
                pems(b)[0]
                    == pems(
                        &m.bundle
                            .get(&format!(
                                "nodes/{}/etc/kubernetes/pki/{fam}.crt",
                                plan.control_planes().next().expect("cp").name
                            ))
                            .expect("new CA")
                            .bytes
                    )[0],
                "{name}: at the end {n}/{path} is not the new {fam}"
            );
            for (ln, lp, leaf) in old_t.leaves.get(fam).into_iter().flatten() {
                if o.verify(b, leaf) {
                    failures.push(format!(
                        "{name}: the old {ln}/{lp} still verifies against the final {n}/{path}"
                    ));
                }
            }
        }
    }
    for (n, files) in &state {
        assert!(
            !files.contains_key("etc/kubernetes/pki/ca-signer.crt"),
            "{name}: {n}"
        );
    }

    check_join_hashes(&mut o, name, &p, &m, &old_ca, &new_ca);
    eprintln!("{name}: {} openssl runs", o.calls);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `rotation/join.txt` pins the old and the new CA (hashes as openssl computes them), and
/// cluster-info carries both until the last phase, then the new one alone.
fn check_join_hashes(
    o: &mut Openssl,
    name: &str,
    p: &ChangePlan,
    m: &hagen_core::change::files::Materialized,
    old_ca: &[u8],
    new_ca: &[u8],
) {
    let (old_h, new_h) = (o.ca_hash(old_ca), o.ca_hash(new_ca));
    assert_ne!(old_h, new_h);
    let join = m
        .plan_files
        .iter()
        .find(|(p, _)| p == "rotation/join.txt")
        .expect("rotation/join.txt");
    assert_eq!(join.1.mode, 0o600, "{name}: join.txt holds the token");
    let text = String::from_utf8_lossy(&join.1.bytes);
    assert!(text.contains(&format!("old: {old_h}\n")), "{text}");
    assert!(text.contains(&format!("new: {new_h}\n")), "{text}");
    assert!(
        text.contains(&format!(
            "--discovery-token-ca-cert-hash {old_h} --discovery-token-ca-cert-hash {new_h}"
        )),
        "{text}"
    );
    let mut seen = Vec::new();
    for s in &p.steps {
        if s.action != Action::UpdateClusterInfo {
            continue;
        }
        let files = &m.steps[&s.id];
        assert_eq!(files.len(), 1, "{name}/{}", s.id);
        let text = String::from_utf8_lossy(&files[0].1.bytes);
        let line = text
            .lines()
            .find(|l| l.contains("certificate-authority-data"))
            .expect("CA data");
        let ca = conf_value(line.as_bytes(), "certificate-authority-data").expect("b64");
        let hashes: BTreeSet<String> = pems(&ca).iter().map(|c| o.ca_hash(c)).collect();
        seen.push((s.phase, hashes));
    }
    let both: BTreeSet<String> = [old_h.clone(), new_h.clone()].into();
    assert_eq!(
        seen,
        [
            (Some(Phase::TrustBoth), both),
            (Some(Phase::DropOld), [new_h].into())
        ],
        "{name}"
    );
}

#[test]
fn rotation_trust_states_verify_with_openssl_stacked() {
    rotate_case("rotate-ca-stacked");
}

#[test]
fn rotation_trust_states_verify_with_openssl_external_etcd() {
    rotate_case("rotate-ca-external-etcd");
}

/// A rotation plan of every fixture that can have one keeps the safety rules; the
/// others are refused for the only API server or too few etcd members.
#[test]
fn every_topology_rotates_or_is_refused_with_cause() {
    use hagen_core::change::{Options, Refusal, check_steps, plan_change};
    let mut planned = 0;
    for dir in crate::day2::cases() {
        let case = Case::load(&dir);
        let old = plan_text(&case.old_text);
        let opts = Options {
            rotate_ca: true,
            ..Options::default()
        };
        match plan_change(&old, &old, &opts) {
            Ok(p) => {
                assert_eq!(check_steps(&p.initial, &p.steps), Ok(()), "{}", rel(&dir));
                assert!(p.steps.iter().all(|s| s.phase.is_some()), "{}", rel(&dir));
                planned += 1;
            }
            Err(Refusal::Unsafe { reason, .. }) => assert!(
                reason.contains("the only API server restarts") || reason.contains("the quorum is"),
                "{}: {reason}",
                rel(&dir)
            ),
            Err(e) => panic!("{}: {e}", rel(&dir)),
        }
    }
    assert!(planned > 5, "{planned}");
}

proptest::proptest! {
    #![proptest_config(crate::fuzz_config(24))]

    /// Generated topologies (every load balancer, stacked and external etcd, dead-free):
    /// a rotation keeps every safety rule and ends where it began, or is refused for the
    /// only API server or too few etcd members; its files render, with CA keys on
    /// control planes only and the new CA in bundle/.
    #[test]
    fn generated_rotations_are_safe_or_refused(pair in crate::day2::pairs()) {
        use hagen_core::change::{Options, Refusal, check_steps, plan_change, same_cluster};
        let Some(old) = crate::day2::checked_plan(&pair.old) else {
            return Ok(());
        };
        let opts = Options { rotate_ca: true, ..Options::default() };
        match plan_change(&old, &old, &opts) {
            Ok(p) => {
                proptest::prop_assert_eq!(check_steps(&p.initial, &p.steps), Ok(()));
                let last = p.steps.last().map_or(&p.initial, |s| &s.state);
                proptest::prop_assert!(same_cluster(last, &p.initial));
                let case = Case {
                    old_text: pair.old.clone(),
                    new_text: pair.old.clone(),
                    dead: Vec::new(),
                    renew: false,
                    rotate_ca: true,
                };
                let (_, m, existing) = materialized(&case);
                for files in m.steps.values() {
                    for (path, _) in files {
                        let node = path.split('/').nth(1).unwrap_or_default();
                        if path.ends_with("ca.key") {
                            proptest::prop_assert!(is_cp(&old, node), "{path}");
                        }
                    }
                }
                let cp = old.control_planes().next().map(|c| c.name.clone()).unwrap_or_default();
                let ca = m.bundle.get(&format!("nodes/{cp}/etc/kubernetes/pki/ca.crt")).map(|f| f.bytes.clone());
                proptest::prop_assert!(ca.is_some() && ca.as_ref() != existing.shared.get("ca.crt"));
            }
            Err(Refusal::Unsafe { reason, .. }) => {
                let cps = old.control_planes().count();
                let voters = old.etcd_members().count();
                proptest::prop_assert!(
                    (cps < 2 && reason.contains("the only API server restarts"))
                        || (voters < 3 && reason.contains("the quorum is")),
                    "refused without cause: {}", reason
                );
            }
            Err(e) => proptest::prop_assert!(false, "{}", e),
        }
    }
}
