//! Human output: each finding with a source excerpt and a caret under the value.
//! Color only when asked for (the CLI asks on a TTY without NO_COLOR).

use super::{Diagnostic, Diagnostics, Severity};
use crate::source::{LineIndex, SourceFile, Span};
use std::fmt::Write;

/// ANSI styling, on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI color codes.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.paint(code, s.as_str())
    }
    fn gutter(&self, text: &str) -> String {
        self.paint("1;34", text)
    }
}

/// Renders every finding, then a one-line summary.
pub fn render(files: &[SourceFile], diagnostics: &Diagnostics, style: Style) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&render_diagnostic(files, d, style));
        out.push('\n');
    }
    let (e, w) = (
        diagnostics.count(Severity::Error),
        diagnostics.count(Severity::Warning),
    );
    let _ = writeln!(out, "{}", summary(e, w));
    out
}

/// `2 errors, 1 warning` / `no problems found`.
pub fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => "no problems found".to_string(),
        _ => format!(
            "{}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        ),
    }
}

/// One finding: header, location, excerpt with carets, help and rule reference.
pub fn render_diagnostic(files: &[SourceFile], d: &Diagnostic, style: Style) -> String {
    let mut out = String::new();
    render_into(&mut out, files, d, style);
    out
}

fn render_into(out: &mut String, files: &[SourceFile], d: &Diagnostic, style: Style) {
    let _ = writeln!(
        out,
        "{}{}: {}",
        style.severity(d.severity),
        style.paint("1", &format!("[{}]", d.rule.code)),
        style.paint("1", &d.message)
    );
    let Some(file) = files.get(d.file) else {
        return;
    };
    let index = LineIndex::new(&file.text);
    let mut marks: Vec<(Span, char, &str)> = Vec::new();
    if let Some(span) = d.span {
        marks.push((span, '^', ""));
    }
    for label in d.labels.iter().filter(|l| l.file == d.file) {
        marks.push((label.span, '-', &label.message));
    }
    // Labels in other files (cross-file findings) become notes with their position.
    let elsewhere: Vec<String> = d
        .labels
        .iter()
        .filter(|l| l.file != d.file)
        .filter_map(|l| {
            let f = files.get(l.file)?;
            let lc = LineIndex::new(&f.text).line_col(l.span.start);
            Some(format!(
                "{}:{}:{}: {}",
                f.name, lc.line, lc.column, l.message
            ))
        })
        .collect();
    let at = d.span.map(|s| index.line_col(s.start));
    let path = d
        .path
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    match at {
        Some(lc) => {
            let _ = writeln!(
                out,
                "  {} {}:{}:{}{path}",
                style.gutter("-->"),
                file.name,
                lc.line,
                lc.column
            );
        }
        None => {
            let _ = writeln!(out, "  {} {}{path}", style.gutter("-->"), file.name);
        }
    }
    marks.sort_by_key(|(s, _, _)| s.start);
    let width = marks
        .iter()
        .map(|(s, _, _)| index.line_col(s.start).line.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);
    if !marks.is_empty() {
        let _ = writeln!(out, "{pad} {}", style.gutter("|"));
    }
    for (span, ch, message) in &marks {
        let start = index.line_col(span.start);
        // Tabs shown as one space keep the caret under the character it marks.
        let line_text = index.line_text(start.line).replace('\t', " ");
        // Underline to the end of the span or of its first line, at least one character.
        let end_col = if index.line_col(span.end).line == start.line {
            index.line_col(span.end).column
        } else {
            line_text.chars().count() + 1
        };
        let len = end_col.saturating_sub(start.column).max(1);
        let _ = writeln!(
            out,
            "{} {} {}",
            style.gutter(&format!("{:>width$}", start.line)),
            style.gutter("|"),
            line_text
        );
        let underline = ch.to_string().repeat(len);
        let colored = if *ch == '^' {
            style.paint("1;31", &underline)
        } else {
            style.gutter(&underline)
        };
        let suffix = if message.is_empty() {
            String::new()
        } else {
            format!(" {message}")
        };
        let _ = writeln!(
            out,
            "{pad} {} {}{colored}{suffix}",
            style.gutter("|"),
            " ".repeat(start.column - 1)
        );
    }
    for note in &elsewhere {
        let _ = writeln!(out, "{pad} {} note: {note}", style.gutter("="));
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} {} help: {help}", style.gutter("="));
    }
    let _ = writeln!(
        out,
        "{pad} {} rule: {} ({}); see `hagen explain {}`",
        style.gutter("="),
        d.rule.code,
        d.rule.name,
        d.rule.code
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn caret_sits_under_the_value() {
        let text = "a: 1\nvip: 192.168.2.250.250\n";
        let file = SourceFile::new("t.yaml", text);
        let start = text.find("192").unwrap();
        let mut ds = Diagnostics::new();
        ds.push(
            Diagnostic::new(&crate::parse::INVALID_YAML, "bad")
                .at(Span::new(start, start + 17), "vip")
                .help("fix it"),
        );
        let out = render(&[file], &ds, Style { color: false });
        let want = "\
error[TOP000]: bad
  --> t.yaml:2:6 (vip)
  |
2 | vip: 192.168.2.250.250
  |      ^^^^^^^^^^^^^^^^^
  = help: fix it
  = rule: TOP000 (invalid-yaml); see `hagen explain TOP000`

1 error, 0 warnings
";
        assert_eq!(out, want);
        assert!(!out.contains('\x1b'));
        let colored = render(
            &[SourceFile::new("t.yaml", text)],
            &ds,
            Style { color: true },
        );
        assert!(colored.contains("\x1b[1;31m"));
    }
}
