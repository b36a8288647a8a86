//! Registry hygiene: codes unique and sorted, every explanation complete, every rule
//! with a fixture that triggers it, and the rule list reviewed as a golden file.

use hagen_core::rules;
use hagen_tests::{fixtures, golden, root};

#[test]
fn codes_are_unique_sorted_and_well_formed() {
    let all: Vec<_> = rules::all().collect();
    for pair in all.windows(2) {
        assert!(
            pair[0].code < pair[1].code,
            "{} is not before {}",
            pair[0].code,
            pair[1].code
        );
    }
    let mut names: Vec<_> = all.iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "rule names are not unique");
    for r in &all {
        assert!(
            r.code.len() == 6
                && r.code.starts_with("TOP")
                && r.code[3..].bytes().all(|b| b.is_ascii_digit()),
            "{}",
            r.code
        );
        assert!(
            r.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{}",
            r.name
        );
        assert!(
            !r.summary.is_empty() && !r.summary.ends_with('.'),
            "{}: summary",
            r.code
        );
        for section in [
            "## What it checks",
            "## Why it matters",
            "## Example",
            "## Fix",
        ] {
            assert!(r.explain.contains(section), "{} lacks {section}", r.code);
        }
        assert_eq!(rules::find(r.code).map(|f| f.code), Some(r.code));
        assert_eq!(rules::find(r.name).map(|f| f.code), Some(r.code));
    }
}

#[test]
fn every_rule_has_a_fixture() {
    let files: Vec<String> = ["topologies/invalid", "topologies/warning"]
        .iter()
        .flat_map(|d| fixtures(d))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = rules::all()
        .map(|r| r.code)
        .filter(|code| !files.iter().any(|f| f.starts_with(&format!("{code}-"))))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn rule_list_is_reviewed() {
    let list: String = rules::all()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.code,
                r.severity.as_str(),
                r.name,
                r.summary
            )
        })
        .collect();
    golden(&root().join("fixtures/rules.txt"), &list).unwrap();
}
