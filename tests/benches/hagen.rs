//! `cargo bench -p hagen-tests`: hagen's hot paths on fixed inputs under `fixtures/`.
//!
//! divan rather than criterion: it builds in a fraction of the time (no plotting, no
//! rayon, no serde stack) on a 2-core machine, and its `args`/`sample_count` cover what
//! these need. Whole-process figures beside openssl and the syntax checkers are
//! `bench/compare.sh`'s job; these say where the time goes inside.

use hagen_core::lint::{self, LintOptions};
use hagen_core::pki::{self, Existing, JoinMaterial, Options, SeededEntropy};
use hagen_core::plan::Plan;
use hagen_core::source::SourceFile;
use hagen_core::topology::KeyAlgorithm;
use hagen_core::whatif::Scenario;
use hagen_tests::root;
use std::hint::black_box;

/// Any fixed time: the PKI is valid from here.
const NOW: i64 = 1_800_000_000;

const SMALL: &str = "bench/3cp-2w.yaml";
const SMALL_RSA: &str = "bench/3cp-2w-rsa.yaml";
const LARGE: &str = "bench/7cp-200w.yaml";

fn main() {
    divan::main();
}

fn source(rel: &str) -> SourceFile {
    let path = root().join("fixtures").join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    SourceFile::new(rel, text)
}

fn checked(rel: &str) -> (SourceFile, Plan, Vec<Scenario>) {
    let src = source(rel);
    let c = hagen_core::check(&src);
    let plan = c
        .plan
        .unwrap_or_else(|| panic!("{rel} does not validate: {:?}", c.diagnostics));
    (src, plan, c.what_if.unwrap_or_default())
}

/// Parse, run every topology rule, build the plan and the what-if table.
#[divan::bench(args = [SMALL, LARGE])]
fn parse_validate(bencher: divan::Bencher, rel: &str) {
    let src = source(rel);
    bencher.bench(|| hagen_core::check(black_box(&src)));
}

/// Every configuration file, no PKI (join material fixed).
#[divan::bench(args = [SMALL, LARGE])]
fn render_without_pki(bencher: divan::Bencher, rel: &str) {
    let (_, plan, what_if) = checked(rel);
    let join = JoinMaterial {
        token: "abcdef.0123456789abcdef".into(),
        ca_cert_hash: format!("sha256:{}", "0".repeat(64)),
        certificate_key: "0".repeat(64),
    };
    bencher.bench(|| {
        hagen_core::render::render(&hagen_core::render::Input {
            plan: black_box(&plan),
            join: &join,
            what_if: &what_if,
        })
        .unwrap()
    });
}

/// The whole ECDSA P-256 PKI (3 CAs, sa, every leaf and kubeconfig).
#[divan::bench(args = [SMALL, LARGE])]
fn pki_ecdsa(bencher: divan::Bencher, rel: &str) {
    let (_, plan, _) = checked(rel);
    bencher.bench(|| {
        pki::generate(&plan, &Existing::none(), &mut SeededEntropy::new(1), NOW).unwrap()
    });
}

/// Everything `hagen render` does in memory: check, PKI, render, seal.
#[divan::bench(args = [SMALL, LARGE])]
fn check_pki_assemble(bencher: divan::Bencher, rel: &str) {
    let src = source(rel);
    bencher.bench(|| {
        let c = hagen_core::check(&src);
        let plan = c.plan.unwrap();
        let pki = pki::generate(&plan, &Existing::none(), &mut SeededEntropy::new(1), NOW).unwrap();
        hagen_core::assemble(&src, &plan, &c.what_if.unwrap_or_default(), &pki).unwrap()
    });
}

/// The floor under `pki_ecdsa`: only its key generations and signatures (as many as the
/// 3 CP + 2 worker PKI makes), nothing else.
#[divan::bench]
fn ecdsa_keys_and_signatures_only(bencher: divan::Bencher) {
    let (_, plan, _) = checked(SMALL);
    let pki = pki::generate(&plan, &Existing::none(), &mut SeededEntropy::new(1), NOW).unwrap();
    let (keys, certs) = counts(&pki);
    let tbs = vec![0x5au8; 1000];
    bencher.bench(|| {
        let mut e = SeededEntropy::new(2);
        let made: Vec<_> = (0..keys)
            .map(|_| pki::keys::generate(KeyAlgorithm::EcdsaP256, &mut e).unwrap())
            .collect();
        for i in 0..certs {
            black_box(sign(&made[i % made.len()], &tbs));
        }
    });
}

fn sign(key: &pki::keys::Key, msg: &[u8]) -> Vec<u8> {
    rcgen::SigningKey::sign(&key.pair, msg).unwrap()
}

/// (distinct new keys, certificates signed) of a fresh PKI: shared CA files count once;
/// a kubeconfig holds one key and one certificate.
pub fn counts(pki: &pki::Pki) -> (usize, usize) {
    use std::collections::BTreeSet;
    let distinct = |ext: &str| {
        pki.files
            .iter()
            .filter(|(p, _)| p.ends_with(ext))
            .map(|(_, f)| f.bytes.clone())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let confs = pki
        .files
        .iter()
        .filter(|(p, _)| p.ends_with(".conf"))
        .count();
    (distinct(".key") + confs, distinct(".crt") + confs)
}

/// The RSA-2048 PKI of 3 CP + 2 workers on 1 thread and on every core (few samples:
/// each takes seconds).
#[divan::bench(args = [1, 0], sample_count = 3, sample_size = 1)]
fn pki_rsa2048(bencher: divan::Bencher, threads: usize) {
    let (_, plan, _) = checked(SMALL_RSA);
    let options = Options {
        threads,
        progress: None,
        ..Options::default()
    };
    bencher.bench(|| {
        pki::generate_with(
            &plan,
            &Existing::none(),
            &mut SeededEntropy::new(1),
            NOW,
            &options,
        )
        .unwrap()
    });
}

/// The golden bundles and the lint fixtures, all in one run (as `hagen lint
/// fixtures/expected fixtures/lint` would, cross-file rules included).
#[divan::bench]
fn lint_corpus(bencher: divan::Bencher) {
    let files = lint_files();
    assert!(files.len() > 200, "{} files", files.len());
    let options = LintOptions::default();
    bencher.bench(|| lint::lint(black_box(&files), &options));
}

/// The 108 real files of `../shared/corpus` (beside the checkout), if it is there.
#[divan::bench]
fn lint_shared_corpus(bencher: divan::Bencher) {
    let corpus = root().join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!(
            "no {}; lint_shared_corpus measures nothing",
            corpus.display()
        );
        return;
    }
    let files = read_tree(&[corpus]);
    let options = LintOptions::default();
    bencher.bench(|| lint::lint(black_box(&files), &options));
}

/// One haproxy.cfg with `backends` × 2 findings, linted and rendered as text: the time
/// per finding stays flat as the findings grow (it grew with their square before the
/// suppression and line indexes were built once per file).
#[divan::bench(args = [100, 1000])]
fn lint_many_findings(bencher: divan::Bencher, backends: usize) {
    let mut text = String::from(
        "defaults\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n",
    );
    for i in 0..backends {
        text.push_str(&format!(
            "backend api{i}\n    server m1 10.0.0.11:6443 check verify none\n    server m2 10.0.0.12:6443 check verify none\n"
        ));
    }
    let files = [SourceFile::new("haproxy.cfg", text)];
    let options = LintOptions::default();
    bencher.bench(|| {
        let d = lint::lint(black_box(&files), &options);
        hagen_core::diag::text::render(&files, &d, hagen_core::diag::text::Style { color: false })
    });
}

fn lint_files() -> Vec<SourceFile> {
    read_tree(&[
        root().join("fixtures/expected"),
        root().join("fixtures/lint"),
    ])
}

/// Every file under `dirs`, in a stable order.
fn read_tree(dirs: &[std::path::PathBuf]) -> Vec<SourceFile> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    for d in dirs {
        walk(d, &mut paths);
    }
    paths
        .iter()
        .map(|p| {
            let text = String::from_utf8(std::fs::read(p).unwrap()).unwrap_or_default();
            SourceFile::new(p.display().to_string(), text)
        })
        .collect()
}
