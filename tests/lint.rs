//! `hagen lint` over its fixtures, the golden bundles and (when present) the shared
//! corpus of real-world files.
//!
//! Fixtures live in `fixtures/lint/<kind>/`: a file or directory named `<CODE>_<n>…`
//! must report CODE; one named `clean_…` must report no error and no warning. A
//! directory is linted as one run (cross-file rules); a `topology.yaml` in it is passed
//! as `--topology`. Each case's human output is compared with `<case>.expected`
//! (HAGEN_BLESS=1 rewrites them for review).

use hagen_core::config;
use hagen_core::diag::{Severity, text};
use hagen_core::lint::{self, LintOptions, Outcome};
use hagen_core::source::SourceFile;
use hagen_tests::{golden, rel, root};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// "Now" for every lint test: 2026-06-01T00:00:00Z (the certificate fixtures' dates are
/// absolute; see fixtures/lint/certs/generate.py).
pub const NOW: i64 = 1_780_272_000;

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

/// Every case under fixtures/lint: files and (in cross/ and topology/) directories.
pub fn cases() -> Vec<PathBuf> {
    let base = root().join("fixtures/lint");
    let mut out = Vec::new();
    let mut kinds: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    kinds.sort();
    for kind in kinds {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&kind)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            let name = e.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".expected") || name.ends_with(".py") {
                continue;
            }
            out.push(e);
        }
    }
    out
}

fn code_of(case: &Path) -> String {
    let name = case.file_name().unwrap().to_string_lossy();
    name.split(['_', '.']).next().unwrap().to_string()
}

/// Lints one case; returns the sources and the report.
pub fn run_case(case: &Path) -> (Vec<SourceFile>, lint::Report) {
    let mut paths = Vec::new();
    walk(case, &mut paths);
    let mut options = LintOptions {
        now: Some(NOW),
        ..LintOptions::default()
    };
    let mut files = Vec::new();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy();
        if name == "topology.yaml" {
            let src = SourceFile::new(rel(&p), std::fs::read_to_string(&p).unwrap());
            options.topology = Some(
                hagen_core::check(&src)
                    .plan
                    .unwrap_or_else(|| panic!("{} is not valid", rel(&p))),
            );
            continue;
        }
        // As the CLI reads files: lossy with LNT005, binary as empty.
        let text = match lint::decode(std::fs::read(&p).unwrap()) {
            lint::Decoded::Text(t) => t,
            lint::Decoded::Lossy(t) => {
                options.lossy.insert(rel(&p));
                t
            }
            lint::Decoded::Binary => String::new(),
        };
        files.push(SourceFile::new(rel(&p), text));
    }
    let report = lint::lint_report(&files, &options);
    (files, report)
}

#[test]
fn fixtures_fire_or_stay_clean_and_match_goldens() {
    let mut failures = Vec::new();
    for case in cases() {
        let (files, report) = run_case(&case);
        let code = code_of(&case);
        let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.rule.code).collect();
        if code == "clean" {
            if report
                .diagnostics
                .iter()
                .any(|d| d.severity > Severity::Info)
            {
                failures.push(format!(
                    "{}: expected no error or warning, got {codes:?}",
                    rel(&case)
                ));
            }
        } else if !codes.contains(&code.as_str()) {
            failures.push(format!("{}: expected {code}, got {codes:?}", rel(&case)));
        }
        let out = text::render(&files, &report.diagnostics, text::Style { color: false });
        let expected = PathBuf::from(format!("{}.expected", case.display()));
        if let Err(e) = golden(&expected, &out) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sarif_of_every_fixture_validates() {
    let dir = std::env::temp_dir().join(format!("hagen-lint-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut logs = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        let (files, report) = run_case(case);
        let log = hagen_core::diag::sarif::report(
            &files,
            &report.diagnostics,
            hagen_core::registry::all(),
        );
        assert_eq!(
            log["runs"][0]["results"].as_array().unwrap().len(),
            report.diagnostics.len()
        );
        let out = dir.join(format!("{i}.sarif.json"));
        std::fs::write(&out, log.to_string()).unwrap();
        logs.push(out);
    }
    let (ok, text) =
        hagen_tests::jsonschema_check(&root().join("fixtures/schemas/sarif-2.1.0.json"), &logs);
    assert!(ok, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn manifest_modes(bundle: &Path) -> std::collections::BTreeMap<String, u32> {
    std::fs::read_to_string(bundle.join("MANIFEST"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (mode, path) = l.split_once(' ')?;
            Some((rel(&bundle.join(path)), u32::from_str_radix(mode, 8).ok()?))
        })
        .collect()
}

/// Lints a bundle's node files as `hagen lint` would (with the topology's version, the
/// files' modes and, if asked, the topology itself): the warnings and errors, rendered,
/// and the whole report.
pub fn bundle_findings(
    files: &[SourceFile],
    modes: BTreeMap<String, u32>,
    plan: &hagen_core::plan::Plan,
    with_topology: bool,
) -> (Vec<String>, lint::Report) {
    let options = LintOptions {
        now: Some(NOW),
        modes,
        kubernetes_version: Some(plan.version.clone()),
        topology: with_topology.then(|| plan.clone()),
        ..LintOptions::default()
    };
    let report = lint::lint_report(files, &options);
    let bad = report
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Info)
        .map(|d| text::render_diagnostic(files, d, text::Style { color: false }))
        .collect();
    (bad, report)
}

/// Every bundle `hagen render` made for the valid topologies lints clean, alone and
/// against its topology.
#[test]
fn golden_bundles_lint_clean() {
    let mut failures = Vec::new();
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bundles.sort();
    assert!(!bundles.is_empty());
    for bundle in bundles {
        let mut paths = Vec::new();
        // The whole bundle directory, as `hagen lint --topology t.yaml out/` reads it.
        walk(&bundle, &mut paths);
        let files: Vec<SourceFile> = paths
            .iter()
            .map(|p| SourceFile::new(rel(p), std::fs::read_to_string(p).unwrap()))
            .collect();
        let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
        let topo = root()
            .join("fixtures/topologies/valid")
            .join(format!("{name}.yaml"));
        let src = SourceFile::new(rel(&topo), std::fs::read_to_string(&topo).unwrap());
        let plan = hagen_core::check(&src).plan.expect("valid topology");
        for with_topology in [false, true] {
            let (bad, report) =
                bundle_findings(&files, manifest_modes(&bundle), &plan, with_topology);
            if !bad.is_empty() {
                failures.push(format!(
                    "{name} (topology: {with_topology}):\n{}",
                    bad.join("\n")
                ));
            }
            for (f, r) in files.iter().zip(&report.files) {
                if r.outcome == Outcome::Unparseable {
                    failures.push(format!("{}: unparseable", f.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shared corpus of real files (beside the clone in CI): no panic, and every file
/// is parsed, a template, skipped, or unparseable *with* an LNT001 diagnostic.
#[test]
fn corpus_is_parsed_or_reported() {
    let corpus = root().join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("no {}; skipped", corpus.display());
        return;
    }
    let mut paths = Vec::new();
    walk(&corpus, &mut paths);
    let files: Vec<SourceFile> = paths
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "SOURCES.md"))
        .map(|p| {
            SourceFile::new(
                p.display().to_string(),
                String::from_utf8(std::fs::read(p).unwrap()).unwrap_or_default(),
            )
        })
        .collect();
    assert!(files.len() > 50, "the corpus has {} files", files.len());
    let report = lint::lint_report(
        &files,
        &LintOptions {
            now: Some(NOW),
            ..LintOptions::default()
        },
    );
    for (i, (f, r)) in files.iter().zip(&report.files).enumerate() {
        let here: Vec<&str> = report
            .diagnostics
            .iter()
            .filter(|d| d.file == i)
            .map(|d| d.rule.code)
            .collect();
        match r.outcome {
            Outcome::Unparseable => assert!(
                here.contains(&"LNT001"),
                "{}: unparseable without LNT001",
                f.name
            ),
            Outcome::Template => assert!(here.contains(&"LNT002"), "{}", f.name),
            Outcome::Skipped => assert!(here.contains(&"LNT003"), "{}", f.name),
            Outcome::Parsed => assert!(!here.contains(&"LNT001"), "{}", f.name),
        }
        for d in report.diagnostics.iter().filter(|d| d.file == i) {
            if let Some(s) = d.span {
                assert!(
                    s.end <= f.text.len()
                        && f.text.is_char_boundary(s.start)
                        && f.text.is_char_boundary(s.end),
                    "{}: bad span {s:?}",
                    f.name
                );
            }
        }
    }
    // Most of the corpus is lintable: only a handful of files are of kinds hagen skips.
    let skipped = report
        .files
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .count();
    assert!(
        skipped * 10 < files.len(),
        "{skipped} of {} skipped",
        files.len()
    );
}

#[test]
fn suppression_and_levels() {
    let text = "defaults\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\nbackend api\n    server m1 10.0.0.11:6443 check verify none # hagen:ignore HAP003\n    server m2 10.0.0.12:6443 check verify none\n";
    let files = [SourceFile::new("haproxy.cfg", text)];
    let all = lint::lint(&files, &LintOptions::default());
    assert_eq!(all.iter().filter(|d| d.rule.code == "HAP003").count(), 1);
    let cfg = config::parse_config("rules:\n  HAP003: off\n  HAP002: error\ncertExpiryDays: 10\n")
        .unwrap();
    assert_eq!(cfg.cert_expiry_days, Some(10));
    let opts = LintOptions {
        levels: cfg.levels,
        ..LintOptions::default()
    };
    let d = lint::lint(&files, &opts);
    assert!(d.iter().all(|d| d.rule.code != "HAP003"));
    assert!(
        d.iter()
            .filter(|d| d.rule.code == "HAP002")
            .all(|d| d.severity == Severity::Error)
    );
    assert!(config::parse_config("rules: {NOPE01: off}\n").is_err());
    assert!(config::parse_config("rules: {HAP003: loud}\n").is_err());
}

#[test]
fn config_errors_name_the_key() {
    use config::ConfigError;
    let err = |text: &str| config::parse_config(text).unwrap_err();
    let cases = [
        ("rules: [", "invalid YAML: "),
        ("rules: {NOPE01: off}\n", "`rules.NOPE01`: no such rule"),
        (
            "rules: {HAP003: [off]}\n",
            "`rules.HAP003`: expected off, info, warning or error",
        ),
        (
            "rules: {HAP003: loud}\n",
            "`rules.HAP003`: `loud` is not off, info, warning or error",
        ),
        (
            "certExpiryDays: soon\n",
            "`certExpiryDays`: expected a number of days",
        ),
        (
            "colour: red\n",
            "unknown key `colour` (expected rules, certExpiryDays, kubernetesVersion)",
        ),
    ];
    for (text, message) in cases {
        let e = err(text).to_string();
        assert!(e.starts_with(message), "{text:?}: {e}");
    }
    assert!(matches!(
        err("rules: {HAP003: loud}\n"),
        ConfigError::BadLevel { key, value } if key == "HAP003" && value == "loud"
    ));
    assert!(matches!(
        err("kubernetesVersion: banana\n"),
        ConfigError::Version(_)
    ));
}

/// A haproxy.cfg of `n` backends, each with two findings (verify none on two servers).
fn many_findings(n: usize) -> SourceFile {
    let mut text = String::from(
        "defaults\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n# hagen:ignore-file KAL001\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "backend api{i}\n    server m1 10.0.0.11:6443 check verify none\n    server m2 10.0.0.12:6443 check verify none # hagen:ignore HAP002\n"
        ));
    }
    SourceFile::new("haproxy.cfg", text)
}

/// Lint, suppressions and every output format scan each file a fixed number of times,
/// not once per finding: 10× the findings is about 10× the work (it was 67× the time).
/// Counted, not timed ([`hagen_core::source::scanned`]).
#[test]
fn lint_and_output_stay_linear_in_findings() {
    use hagen_core::diag::{json, sarif};
    let work = |n: usize| {
        let files = [many_findings(n)];
        let before = hagen_core::source::scanned();
        let report = lint::lint_report(&files, &LintOptions::default());
        assert!(report.diagnostics.len() >= 2 * n);
        let _ = text::render(&files, &report.diagnostics, text::Style { color: false });
        let _ = json::report(&files, &report.diagnostics, Default::default());
        let _ = sarif::report(&files, &report.diagnostics, hagen_core::registry::all());
        (hagen_core::source::scanned() - before) as f64 / files[0].text.len() as f64
    };
    let (small, large) = (work(100), work(1000));
    // Whole-file scans per run: a handful, the same for both sizes.
    assert!(small < 10.0, "{small} scans of the file for 100 backends");
    assert!(
        large <= small + 1.0,
        "{small} scans for 100, {large} for 1000"
    );
}

#[test]
fn non_utf8_bytes_are_decoded_lossily_and_reported_once() {
    let mut bytes = b"# r\xe9seau\n".to_vec();
    bytes.extend_from_slice(many_findings(1).text.as_bytes());
    let lint::Decoded::Lossy(text) = lint::decode(bytes) else {
        panic!("not lossy")
    };
    let files = [SourceFile::new("haproxy.cfg", text)];
    let options = LintOptions {
        lossy: ["haproxy.cfg".to_string()].into(),
        ..LintOptions::default()
    };
    let d = lint::lint(&files, &options);
    let codes: Vec<&str> = d.iter().map(|d| d.rule.code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "LNT005").count(),
        1,
        "{codes:?}"
    );
    assert!(codes.contains(&"HAP003"), "{codes:?}");
    assert_eq!(
        lint::decode(b"\x30\x82\x00\x01".to_vec()),
        lint::Decoded::Binary
    );
    assert_eq!(
        lint::decode(b"global\n".to_vec()),
        lint::Decoded::Text("global\n".into())
    );
}
