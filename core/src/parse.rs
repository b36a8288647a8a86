//! Step 1: text → [`Topology`]. A file that cannot be read as a topology yields exactly
//! one diagnostic (TOP000 or TOP001) pointing at the first problem the parser met.

use crate::diag::Diagnostic;
use crate::rules::topology::{INVALID_YAML, UNKNOWN_KEY};
use crate::source::Span;
use crate::topology::Topology;
use serde_saphyr::{Error, Location, MessageFormatter};

/// Parses topology text, or returns the one diagnostic that says why it cannot be parsed.
pub fn parse(text: &str) -> Result<Topology, Box<Diagnostic>> {
    if text.contains('\0') {
        let at = text.find('\0').unwrap_or(0);
        return Err(Box::new(
            Diagnostic::new(
                &INVALID_YAML,
                "this is a binary file, not YAML (it contains a NUL byte)",
            )
            .at(Span::new(at, at + 1), "")
            .help("pass the topology.yaml file; `hagen init` writes a starter one"),
        ));
    }
    if is_blank(text) {
        return Err(Box::new(
            Diagnostic::new(
                &INVALID_YAML,
                "the file is empty: there is no topology in it",
            )
            .at(Span::new(0, 0), "")
            .help("run `hagen init > topology.yaml` for a commented starter topology"),
        ));
    }
    serde_saphyr::from_str::<Topology>(text).map_err(|e| Box::new(to_diagnostic(text, &e)))
}

/// Reads YAML text as plain JSON data, without spans (to check a file against the JSON
/// Schema, or to hand it to a JSON tool).
pub fn to_json(text: &str) -> Result<serde_json::Value, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// The diagnostic for bytes that are not a text file; it has no position to show.
pub fn not_text(why: String) -> Diagnostic {
    Diagnostic::new(
        &INVALID_YAML,
        format!("this is a binary file, not YAML: {why}"),
    )
    .help("pass the topology.yaml file; `hagen init` writes a starter one")
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

fn to_diagnostic(text: &str, error: &Error) -> Diagnostic {
    let inner = error.without_snippet();
    let span = error
        .location()
        .map(|l| location_span(text, &l))
        .unwrap_or(Span::new(0, 0));
    match inner {
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let mut d = Diagnostic::new(&UNKNOWN_KEY, format!("unknown key `{field}`"))
                .at(Span::new(span.start, span.start + field.len()), "");
            d = match did_you_mean(field, expected) {
                Some(near) => d.help(format!(
                    "did you mean `{near}`? (keys allowed here: {})",
                    expected.join(", ")
                )),
                None => d.help(format!("keys allowed here: {}", expected.join(", "))),
            };
            d
        }
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let d =
                Diagnostic::new(&INVALID_YAML, format!("unknown value `{variant}`")).at(span, "");
            match did_you_mean(variant, expected) {
                Some(near) => d.help(format!(
                    "did you mean `{near}`? (one of: {})",
                    expected.join(", ")
                )),
                None => d.help(format!("use one of: {}", expected.join(", "))),
            }
        }
        Error::SerdeMissingField { field, .. } => Diagnostic::new(
            &INVALID_YAML,
            format!("a required key is missing: `{field}`"),
        )
        .at(span, "")
        .help(format!(
            "add `{field}:` to this mapping (`hagen schema` lists every key)"
        )),
        Error::InvalidScalar { ty, .. } => {
            let found = &text[span.start..span.end];
            let (what, example) = match *ty {
                "bool" => ("true or false", "true"),
                t if t.starts_with('u') || t.starts_with('i') => ("a whole number", "8443"),
                _ => ("a number", "1"),
            };
            Diagnostic::new(&INVALID_YAML, format!("`{found}` is not {what}"))
                .at(span, "")
                .help(format!("write {what} here, such as {example}"))
        }
        Error::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => Diagnostic::new(
            &INVALID_YAML,
            "expected a single word here (such as `haproxy-keepalived`), not a list",
        )
        .at(span, "")
        .help("write one value without brackets; `hagen schema` lists the allowed values"),
        other => {
            let message = serde_saphyr::DefaultMessageFormatter.format_message(other);
            let help = if message.contains("quoted scalar") {
                "a quote opened above this position is probably not closed"
            } else if message.contains("tab") {
                "YAML indents with spaces only: replace the tab with spaces"
            } else if message.contains("bracket") || message.contains("indicator") {
                "check the brackets and colons on this line and the one above"
            } else {
                "fix the YAML at this position; `hagen init` shows a valid topology"
            };
            Diagnostic::new(&INVALID_YAML, message.into_owned())
                .at(span, "")
                .help(help)
        }
    }
}

/// The byte span of a parser location: its own byte range when it has one, else the
/// position computed from line and column.
fn location_span(text: &str, location: &Location) -> Span {
    let span = location.span();
    if let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) {
        let start = (start as usize).min(text.len());
        return Span::new(start, (start + len as usize).min(text.len()));
    }
    let start = byte_of_line_col(text, location.line() as usize, location.column() as usize);
    Span::new(start, start)
}

fn byte_of_line_col(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let cl = c.to_ascii_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&lower, &cl);
            if cl.starts_with(&lower) || lower.starts_with(&cl) {
                score = score.max(0.8);
            }
            (score, *c)
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_common_typos() {
        let spec = ["kubernetesVersion", "controlPlaneEndpoint", "etcd", "nodes"];
        assert_eq!(did_you_mean("etdc", &spec), Some("etcd"));
        assert_eq!(did_you_mean("node", &spec), Some("nodes"));
        assert_eq!(did_you_mean("zzz", &spec), None);
        let ep = ["vip", "dns", "port"];
        assert_eq!(did_you_mean("dsn", &ep), Some("dns"));
        let lb = [
            "haproxy-keepalived",
            "keepalived",
            "nginx-local",
            "kube-vip",
            "external",
        ];
        assert_eq!(did_you_mean("haproxy", &lb), Some("haproxy-keepalived"));
        assert_eq!(did_you_mean("kubevip", &lb), Some("kube-vip"));
    }

    #[test]
    fn line_col_to_byte() {
        assert_eq!(byte_of_line_col("ab\ncd\n", 2, 2), 4);
        assert_eq!(byte_of_line_col("ab\ncd\n", 9, 1), 6);
    }
}
