//! The rule registry: every check hagen can report, with a stable code, a name that
//! names the problem, a default severity, a one-line summary and a full explanation.
//!
//! Registries are plain static slices; adding a rule means one `const` and one line in
//! its domain's list (see `topology/mod.rs`).

pub mod topology;

use crate::diag::Severity;

/// A check hagen can report.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code: a domain prefix and three digits (`TOP010`). Never reused.
    pub code: &'static str,
    /// Kebab-case name of the problem (`even-etcd-members`).
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One line, used in rule lists and as SARIF `shortDescription`.
    pub summary: &'static str,
    /// Markdown with the sections What it checks / Why it matters / Example / Fix.
    pub explain: &'static str,
}

/// Every rule hagen knows, sorted by code.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    crate::lint::rules().chain(topology::RULES.iter().map(|(rule, _)| *rule))
}

/// Finds a rule by code (`TOP010`, any case) or by name (`even-etcd-members`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    all().find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}
