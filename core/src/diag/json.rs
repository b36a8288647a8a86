//! JSON output, format version 1 (documented in `docs/json-output.md`). Positions are
//! 1-based lines and character columns; `endColumn` is one past the last character.

use super::{Diagnostic, Diagnostics, Severity};
use crate::source::{LineIndex, LineIndexes, SourceFile, Span};
use serde_json::{Map, Value, json};

/// The version of the JSON format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// A position object `{line, column, endLine, endColumn}` for a span.
pub fn region(index: &LineIndex<'_>, span: Span) -> Value {
    let start = index.line_col(span.start);
    let end = index.line_col(span.end);
    json!({"line": start.line, "column": start.column, "endLine": end.line, "endColumn": end.column})
}

/// One finding as JSON.
pub fn diagnostic(files: &[SourceFile], d: &Diagnostic) -> Value {
    diagnostic_indexed(&LineIndexes::new(files), d)
}

/// One finding as JSON, with the run's line indexes (see [`LineIndexes`]).
pub fn diagnostic_indexed(indexes: &LineIndexes<'_>, d: &Diagnostic) -> Value {
    let files = indexes.files();
    let file = files.get(d.file);
    let mut v = Map::new();
    v.insert("code".into(), json!(d.rule.code));
    v.insert("name".into(), json!(d.rule.name));
    v.insert("severity".into(), json!(d.severity));
    v.insert("message".into(), json!(d.message));
    v.insert("file".into(), json!(file.map(|f| f.name.as_str())));
    v.insert(
        "path".into(),
        json!(d.path.as_deref().filter(|p| !p.is_empty())),
    );
    let located = indexes
        .get(d.file)
        .zip(d.span)
        .map(|(index, s)| region(index, s));
    v.insert("location".into(), located.unwrap_or(Value::Null));
    v.insert("help".into(), json!(d.help));
    let labels: Vec<Value> = d
        .labels
        .iter()
        .filter_map(|l| {
            let f = files.get(l.file)?;
            let index = indexes.get(l.file)?;
            Some(json!({"file": f.name, "location": region(index, l.span), "message": l.message}))
        })
        .collect();
    v.insert("labels".into(), Value::Array(labels));
    Value::Object(v)
}

/// The whole report: `{version, tool, summary, diagnostics}` plus any `extra` keys.
pub fn report(files: &[SourceFile], diagnostics: &Diagnostics, extra: Map<String, Value>) -> Value {
    let mut v = Map::new();
    v.insert("version".into(), json!(FORMAT_VERSION));
    v.insert(
        "tool".into(),
        json!({"name": "hagen", "version": env!("CARGO_PKG_VERSION")}),
    );
    v.insert(
        "summary".into(),
        json!({
            "errors": diagnostics.count(Severity::Error),
            "warnings": diagnostics.count(Severity::Warning),
            "infos": diagnostics.count(Severity::Info),
        }),
    );
    v.insert(
        "diagnostics".into(),
        Value::Array({
            let indexes = LineIndexes::new(files);
            diagnostics
                .iter()
                .map(|d| diagnostic_indexed(&indexes, d))
                .collect()
        }),
    );
    v.extend(extra);
    Value::Object(v)
}
