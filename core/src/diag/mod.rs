//! One diagnostic model for every finding hagen reports (topology rules now, lint rules
//! later), and the renderers that turn it into human text, JSON and SARIF.

pub mod json;
pub mod sarif;
pub mod text;

use crate::source::{FileId, Span};
use serde::Serialize;

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

/// What a rule is set to in a lint configuration: off, or a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The rule does not report.
    Off,
    /// The rule reports at this severity instead of its default.
    At(Severity),
}

impl Level {
    /// `off`, `info`, `warning` (or `warn`), `error`.
    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "allow" | "none" => Some(Level::Off),
            "info" | "note" => Some(Level::At(Severity::Info)),
            "warning" | "warn" => Some(Level::At(Severity::Warning)),
            "error" | "deny" => Some(Level::At(Severity::Error)),
            _ => None,
        }
    }
}

/// How serious a finding is. Errors make `validate` exit 1 and stop `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never changes the exit code.
    Info,
    /// Probably a mistake, or a layout that is not highly available.
    Warning,
    /// The topology cannot work as written; nothing is rendered.
    Error,
}

impl Severity {
    /// The lowercase word used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary place that explains the primary one ("first declared here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file the label points into.
    pub file: FileId,
    /// The bytes it marks.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// One finding: which rule, how bad, what exactly, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule that fired.
    pub rule: &'static Rule,
    /// Its effective severity (the rule's default unless configured otherwise).
    pub severity: Severity,
    /// A specific message, with the numbers in it.
    pub message: String,
    /// The file it is about.
    pub file: FileId,
    /// The offending value; `None` for findings about the file as a whole.
    pub span: Option<Span>,
    /// The logical path of the value, such as `spec.nodes[2].zone`.
    pub path: Option<String>,
    /// How to fix it, in one line.
    pub help: Option<String>,
    /// Related places.
    pub labels: Vec<Label>,
}

impl Diagnostic {
    /// A finding of `rule` at its default severity, in file 0, with no position yet.
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity: rule.severity,
            message: message.into(),
            file: 0,
            span: None,
            path: None,
            help: None,
            labels: Vec::new(),
        }
    }

    /// Points the finding at a value and names its path.
    pub fn at(mut self, span: Span, path: impl Into<String>) -> Self {
        self.span = Some(span);
        self.path = Some(path.into());
        self
    }

    /// Sets the path only (for findings whose value has no position).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Adds the one-line fix.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label in the same file.
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            file: self.file,
            span,
            message: message.into(),
        });
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// The findings of one run, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No findings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a finding.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// True if any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.0.iter().filter(|d| d.severity == severity).count()
    }

    /// Orders findings by file and position, so output is stable and reads top to bottom.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (a.file, a.span.map(|s| s.start), a.rule.code).cmp(&(
                b.file,
                b.span.map(|s| s.start),
                b.rule.code,
            ))
        });
    }

    /// The findings, by value.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }

    /// The findings.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many findings there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
