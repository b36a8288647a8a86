//! Registry hygiene: codes unique and sorted, every explanation complete, every rule
//! with a fixture that triggers it, and the rule list reviewed as a golden file.

use hagen_core::diag::Rule;
use hagen_core::{lint, registry};
use hagen_tests::{fixtures, golden, root};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn codes_are_unique_sorted_and_well_formed() {
    let all: Vec<_> = registry::all().collect();
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
                && [
                    "TOP", "HAP", "KAL", "NGX", "KAD", "ETC", "KVP", "CRT", "LNT", "IMP"
                ]
                .contains(&&r.code[..3])
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
        assert_eq!(registry::find(r.code).map(|f| f.code), Some(r.code));
        assert_eq!(registry::find(r.name).map(|f| f.code), Some(r.code));
    }
}

/// A rule is wired by its line in one list: its own prefix's (topology, a lint domain) or
/// the cross-file one. Twice would run it twice; `registry::all` is the lists together.
#[test]
fn every_rule_is_in_exactly_one_list() {
    fn codes<F>(list: &[(&'static Rule, F)]) -> Vec<&'static str> {
        list.iter().map(|(r, _)| r.code).collect()
    }
    // (list, the prefix its codes have; cross-file rules have any)
    let lists = [
        ("topology", "TOP", codes(hagen_core::rules::topology::RULES)),
        ("certs", "CRT", codes(lint::certs::RULES)),
        ("etcd", "ETC", codes(lint::etcd::RULES)),
        ("general", "LNT", codes(lint::general::RULES)),
        ("haproxy", "HAP", codes(lint::haproxy::RULES)),
        ("keepalived", "KAL", codes(lint::keepalived::RULES)),
        ("kubeadm", "KAD", codes(lint::kubeadm::RULES)),
        ("kubevip", "KVP", codes(lint::kubevip::RULES)),
        ("nginx", "NGX", codes(lint::nginx::RULES)),
        ("cross", "", codes(lint::cross::RULES)),
        ("import", "IMP", codes(hagen_core::import::rules::RULES)),
    ];
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (list, prefix, codes) in &lists {
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "{list}'s RULES are not sorted by code: {codes:?}"
        );
        for code in codes {
            assert!(code.starts_with(prefix), "{code} is in {list}'s RULES");
            if let Some(other) = seen.insert(code, list) {
                panic!("{code} is in both {other}'s and {list}'s RULES");
            }
        }
    }
    let all: Vec<&str> = registry::all().map(|r| r.code).collect();
    let unique: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "registry::all() has a code twice");
    let listed: BTreeSet<&str> = seen.keys().copied().collect();
    assert_eq!(unique, listed, "registry::all() is not the lists together");
}

#[test]
fn every_rule_has_a_fixture() {
    let files: Vec<String> = ["topologies/invalid", "topologies/warning"]
        .iter()
        .flat_map(|d| fixtures(d))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Lint rules: fixtures/lint/<kind>/<CODE>_<n>… (a file, or a directory for
    // cross-file and topology rules), and at least one clean_… case per kind.
    let mut lint_files = Vec::new();
    for kind in std::fs::read_dir(root().join("fixtures/lint")).unwrap() {
        let kind = kind.unwrap().path();
        let names: Vec<String> = std::fs::read_dir(&kind)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let generic = kind.ends_with("general");
        assert!(
            generic || names.iter().any(|n| n.starts_with("clean_")),
            "{} has no clean_ case",
            kind.display()
        );
        lint_files.extend(names);
    }
    // Import rules: fixtures/import/<CODE>_<n>/ (a collected cluster), beside clean_ ones.
    let import_cases: Vec<String> = std::fs::read_dir(root().join("fixtures/import"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        import_cases.iter().any(|n| n.starts_with("clean_")),
        "fixtures/import has no clean_ case"
    );
    lint_files.extend(import_cases);
    let missing: Vec<&str> = registry::all()
        .map(|r| r.code)
        .filter(|code| !files.iter().any(|f| f.starts_with(&format!("{code}-"))))
        .filter(|code| {
            !lint_files
                .iter()
                .any(|f| f.starts_with(&format!("{code}_")))
        })
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn rule_list_is_reviewed() {
    let list: String = registry::all()
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
