//! Every rule hagen can report, of every domain: the topology's TOP rules, the
//! linters' and import's IMP rules. `hagen explain`, SARIF's rule list and the lint configuration read it here.

use crate::diag::Rule;

/// Every rule hagen knows.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    let mut all: Vec<&'static Rule> = crate::lint::rules()
        .chain(crate::rules::topology::RULES.iter().map(|(rule, _)| *rule))
        .chain(crate::import::rules::RULES.iter().map(|(rule, _)| *rule))
        .collect();
    all.sort_by_key(|r| r.code);
    all.into_iter()
}

/// Finds a rule by code (`TOP010`, any case) or by name (`even-etcd-members`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    all().find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}
