//! Every topology fixture through `check`: valid ones are clean and plan; invalid ones
//! report the rule their name starts with, at error level, and match their reviewed
//! golden output; warning ones report their rule as a warning and still plan.

use hagen_core::diag::{Severity, text};
use hagen_core::source::{LineIndex, SourceFile};
use hagen_tests::{fixtures, golden, rel};
use std::path::Path;

fn run(path: &Path) -> (SourceFile, hagen_core::Checked) {
    let bytes = std::fs::read(path).expect("fixture readable");
    hagen_core::check_bytes(&rel(path), &bytes)
}

fn code_of(path: &Path) -> String {
    let stem = path.file_stem().unwrap().to_string_lossy();
    stem.split('-').next().unwrap().to_string()
}

#[test]
fn valid_fixtures_are_clean_and_plan() {
    for path in fixtures("topologies/valid") {
        let (_, checked) = run(&path);
        assert!(
            checked.diagnostics.is_empty(),
            "{}: {:#?}",
            rel(&path),
            checked.diagnostics
        );
        let plan = checked
            .plan
            .unwrap_or_else(|| panic!("{} has no plan", rel(&path)));
        assert!(plan.control_planes().count() >= 2, "{}", rel(&path));
        let rows = checked.what_if.expect("what-if table");
        assert!(
            rows.iter()
                .filter(|r| r.loss == hagen_core::whatif::Loss::Node)
                .all(|r| r.survives),
            "{}: a single node loss breaks it",
            rel(&path)
        );
    }
}

fn check_expected(dir: &str, severity: Severity) {
    let mut failures = Vec::new();
    for path in fixtures(dir) {
        let (source, checked) = run(&path);
        let code = code_of(&path);
        let hit = checked.diagnostics.iter().find(|d| d.rule.code == code);
        let Some(hit) = hit else {
            failures.push(format!(
                "{}: expected {code}, got {:?}",
                rel(&path),
                checked
                    .diagnostics
                    .iter()
                    .map(|d| d.rule.code)
                    .collect::<Vec<_>>()
            ));
            continue;
        };
        assert_eq!(hit.severity, severity, "{}", rel(&path));
        assert_eq!(
            checked.diagnostics.has_errors(),
            severity == Severity::Error,
            "{}",
            rel(&path)
        );
        assert_eq!(
            checked.plan.is_some(),
            severity != Severity::Error,
            "{}",
            rel(&path)
        );
        // Every finding with a span points inside the file, at a non-blank character.
        for d in &checked.diagnostics {
            if let Some(span) = d.span {
                assert!(
                    span.end <= source.text.len(),
                    "{}: span past the end",
                    rel(&path)
                );
                let lc = LineIndex::new(&source.text).line_col(span.start);
                assert!(lc.line >= 1 && lc.column >= 1);
            }
        }
        let rendered = text::render(
            std::slice::from_ref(&source),
            &checked.diagnostics,
            text::Style { color: false },
        );
        if let Err(e) = golden(&path.with_extension("expected"), &rendered) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_fixtures_report_their_rule_as_error() {
    check_expected("topologies/invalid", Severity::Error);
}

#[test]
fn warning_fixtures_report_their_rule_as_warning() {
    check_expected("topologies/warning", Severity::Warning);
}

/// The position of a finding is the value it is about (a sample, checked by hand).
#[test]
fn positions_point_at_the_offending_value() {
    let cases = [
        (
            "topologies/invalid/TOP040-vip-five-parts.yaml",
            "192.168.2.250.250",
        ),
        ("topologies/invalid/TOP062-vrid-out-of-range.yaml", "300"),
        ("topologies/invalid/TOP001-unknown-key.yaml", "prot"),
        ("topologies/invalid/TOP043-invalid-node-name.yaml", "K8S_M3"),
        ("topologies/invalid/TOP000-wrong-type.yaml", "https"),
    ];
    for (file, value) in cases {
        let path = hagen_tests::root().join("fixtures").join(file);
        let (source, checked) = run(&path);
        let d = checked.diagnostics.iter().next().expect("a finding");
        let span = d.span.expect("a span");
        assert_eq!(&source.text[span.start..span.end], value, "{file}");
    }
}
