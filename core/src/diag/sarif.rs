//! SARIF 2.1.0 output, the format GitHub code scanning reads: one run, hagen as the
//! driver with its whole rule registry, one result per finding.

use super::{Diagnostics, Severity};
use crate::diag::Rule;
use crate::source::{LineIndex, LineIndexes, SourceFile};
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The SARIF log for `diagnostics` over `files`, listing every rule of `rules`.
pub fn report<'r>(
    files: &[SourceFile],
    diagnostics: &Diagnostics,
    rules: impl Iterator<Item = &'r Rule>,
) -> Value {
    let rules: Vec<&Rule> = rules.collect();
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.explain, "markdown": r.explain},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let indexes = LineIndexes::new(files);
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.rule.code,
                "level": level(d.severity),
                "message": {"text": match &d.help {
                    Some(help) => format!("{} (help: {help})", d.message),
                    None => d.message.clone(),
                }},
            });
            if let Some(index) = rules.iter().position(|r| r.code == d.rule.code) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(file) = files.get(d.file) {
                let mut physical = json!({"artifactLocation": {"uri": uri(&file.name)}});
                if let Some((span, index)) = d.span.zip(indexes.get(d.file)) {
                    physical["region"] = region(index, span);
                }
                let mut location = json!({"physicalLocation": physical});
                if let Some(path) = d.path.as_deref().filter(|p| !p.is_empty()) {
                    location["logicalLocations"] = json!([{"fullyQualifiedName": path}]);
                }
                result["locations"] = json!([location]);
            }
            let related: Vec<Value> = d
                .labels
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    let f = files.get(l.file)?;
                    let index = indexes.get(l.file)?;
                    Some(json!({
                        "id": i,
                        "message": {"text": l.message},
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&f.name)},
                            "region": region(index, l.span),
                        },
                    }))
                })
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hagen",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn region(index: &LineIndex<'_>, span: crate::source::Span) -> Value {
    let start = index.line_col(span.start);
    let end = index.line_col(span.end);
    json!({"startLine": start.line, "startColumn": start.column, "endLine": end.line, "endColumn": end.column.max(1)})
}

/// A relative URI reference for a path as the user gave it (forward slashes, spaces and
/// `%` escaped), which SARIF viewers resolve against the repository root.
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path).replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for ch in path.chars() {
        match ch {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}
