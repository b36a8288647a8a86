//! Human output: each finding with a source excerpt and carets under the value, in the
//! style of rustc. annotate-snippets draws the excerpt: it measures columns in display
//! width (CJK and emoji take two), expands tabs, and prints a line once however many
//! labels it has. Color only when asked for (the CLI asks on a TTY without NO_COLOR).

use super::{Diagnostic, Diagnostics, Severity};
use crate::source::{LineIndexes, SourceFile, Span};
use annotate_snippets::renderer::DEFAULT_LINE_NUM_STYLE;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet, normalize_untrusted_str};
use std::borrow::Cow;
use std::fmt::Write;
use std::ops::Range;

/// ANSI styling, on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI color codes.
    pub color: bool,
}

impl Style {
    /// The renderer for this style. Lines are never cut to a terminal width: the output
    /// also goes to files and CI logs, and a cut value is a value the reader cannot see.
    fn renderer(self) -> Renderer {
        let r = if self.color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        // Not usize::MAX: the margin arithmetic doubles it.
        r.term_width(usize::MAX / 4)
    }
}

/// Renders every finding, then a one-line summary.
pub fn render(files: &[SourceFile], diagnostics: &Diagnostics, style: Style) -> String {
    let mut out = String::new();
    let indexes = LineIndexes::new(files);
    for d in diagnostics {
        out.push_str(&render_diagnostic_indexed(&indexes, d, style));
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

/// One finding: header, location, excerpt with carets, notes, help and rule reference.
pub fn render_diagnostic(files: &[SourceFile], d: &Diagnostic, style: Style) -> String {
    render_diagnostic_indexed(&LineIndexes::new(files), d, style)
}

/// [`render_diagnostic`] with the run's line indexes: the excerpt is cut to the lines
/// it shows, so rendering many findings takes time in proportion to their number, not
/// to their number times the file's size.
pub fn render_diagnostic_indexed(
    indexes: &LineIndexes<'_>,
    d: &Diagnostic,
    style: Style,
) -> String {
    let files = indexes.files();
    let renderer = style.renderer();
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let title = level
        .clone()
        .primary_title(d.message.as_str())
        .id(d.rule.code);
    let mut out = renderer.render(&[Group::with_title(title)]);
    out.push('\n');
    let (Some(file), Some(index)) = (files.get(d.file), indexes.get(d.file)) else {
        return out;
    };

    // (span, label) pairs; the primary one (the value itself) has no label.
    let mut marks: Vec<(Range<usize>, Option<&str>)> = Vec::new();
    if let Some(span) = d.span {
        marks.push((first_line(&file.text, span), None));
    }
    for label in d.labels.iter().filter(|l| l.file == d.file) {
        marks.push((first_line(&file.text, label.span), Some(&label.message)));
    }

    // A value at the very end of a text that ends in a line break sits on the empty line
    // after it, as the location says (`4:1`); annotate-snippets would show the end of the
    // line before. So the excerpt gets that empty line, and the caret its line break.
    let len = file.text.len();
    let at_end = file.text.ends_with('\n') && marks.iter().any(|(r, _)| r.start == len);
    // The excerpt is the lines the marks are on, not the whole file.
    let lines: Vec<usize> = marks
        .iter()
        .map(|(r, _)| index.line_col(r.start).line)
        .collect();
    let first = lines.iter().copied().min().unwrap_or(1);
    let last = lines.iter().copied().max().unwrap_or(1);
    let window = index.line_range(first).start..index.line_range(last).end;
    for (range, _) in &mut marks {
        *range = range.start - window.start..range.end - window.start;
    }
    let excerpt = &file.text[window.clone()];
    let source: Cow<str> = if at_end {
        let end = excerpt.len();
        for (range, _) in &mut marks {
            if range.start + window.start == len {
                *range = end..end + 1;
            }
        }
        Cow::Owned(format!("{excerpt}\n"))
    } else {
        Cow::Borrowed(excerpt)
    };

    // The location line is ours, not annotate-snippets': it carries the logical path
    // after the column, which a snippet's origin has no place for. It lines up with the
    // gutter the way annotate-snippets would put it, and with `=` when there is none.
    let gutter = marks
        .iter()
        .map(|(r, _)| r.end)
        .max()
        .map_or(0, |end| digits(first - 1 + last_line_number(&source, end)));
    let mut location = file.name.clone();
    if let Some(span) = d.span {
        let lc = index.line_col(char_boundary(&file.text, span.start));
        let _ = write!(location, ":{}:{}", lc.line, lc.column);
    }
    if let Some(path) = d.path.as_deref().filter(|p| !p.is_empty()) {
        let _ = write!(location, " ({path})");
    }
    let arrow = if style.color {
        format!("{DEFAULT_LINE_NUM_STYLE}-->{DEFAULT_LINE_NUM_STYLE:#}")
    } else {
        "-->".to_string()
    };
    let _ = writeln!(
        out,
        "{}{arrow} {}",
        " ".repeat(gutter.max(1)),
        normalize_untrusted_str(&location)
    );

    let mut group = Group::with_level(level);
    if !marks.is_empty() {
        let annotations = marks.into_iter().map(|(range, label)| match label {
            None => AnnotationKind::Primary.span(range),
            Some(label) => AnnotationKind::Context.span(range).label(label),
        });
        group = group.element(
            Snippet::source(source)
                .line_start(first)
                .annotations(annotations),
        );
    }
    // Labels in other files (cross-file findings) become notes with their position.
    for l in d.labels.iter().filter(|l| l.file != d.file) {
        if let (Some(f), Some(other)) = (files.get(l.file), indexes.get(l.file)) {
            let lc = other.line_col(char_boundary(&f.text, l.span.start));
            group = group.element(Level::NOTE.message(format!(
                "{}:{}:{}: {}",
                f.name, lc.line, lc.column, l.message
            )));
        }
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group = group.element(Level::NOTE.with_name("rule").message(format!(
        "{} ({}); see `hagen explain {}`",
        d.rule.code, d.rule.name, d.rule.code
    )));
    out.push_str(&renderer.render(&[group]));
    out.push('\n');
    out
}

/// `span` clamped to the text and cut at the end of the line it starts on: a value that
/// runs over several lines (a block mapping) is underlined where it starts, instead of
/// bracketed down the gutter rustc-style, which says little more and takes many lines.
fn first_line(text: &str, span: Span) -> Range<usize> {
    let start = char_boundary(text, span.start);
    let line_end = text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| start + i);
    start..char_boundary(text, span.end).clamp(start, line_end)
}

/// `offset` moved back onto a character boundary inside `text`: a renderer should not
/// panic on a rule's off-by-one.
fn char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The number of the last line annotate-snippets shows for annotations ending at `end`
/// (a newline at the very end starts no line of its own there).
fn last_line_number(text: &str, end: usize) -> usize {
    text[..end].lines().count().max(1)
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn plain(text: &str, d: Diagnostic) -> String {
        render_diagnostic(
            &[SourceFile::new("t.yaml", text)],
            &d,
            Style { color: false },
        )
    }

    fn finding(message: &str) -> Diagnostic {
        Diagnostic::new(&crate::parse::INVALID_YAML, message)
    }

    fn span_of(text: &str, needle: &str) -> Span {
        let start = text.find(needle).unwrap();
        Span::new(start, start + needle.len())
    }

    #[test]
    fn caret_sits_under_the_value() {
        let text = "a: 1\nvip: 192.168.2.250.250\n";
        let file = SourceFile::new("t.yaml", text);
        let mut ds = Diagnostics::new();
        ds.push(
            finding("bad")
                .at(span_of(text, "192.168.2.250.250"), "vip")
                .help("fix it"),
        );
        let out = render(&[file], &ds, Style { color: false });
        let want = "\
error[TOP000]: bad
 --> t.yaml:2:6 (vip)
  |
2 | vip: 192.168.2.250.250
  |      ^^^^^^^^^^^^^^^^^
  |
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
        assert!(colored.contains('\x1b'));
        assert_eq!(strip_ansi(&colored), out);
    }

    /// `text` without its SGR escapes (`ESC [ ... m`).
    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            rest = after.find('m').map_or("", |m| &after[m + 1..]);
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn two_labels_on_one_line_print_the_line_once() {
        let text = "nodes: [{name: a}, {name: a}]\n";
        let first = text.find("a}").unwrap();
        let second = text.rfind("a}").unwrap();
        let d = finding("duplicate name `a`")
            .at(Span::new(second, second + 1), "nodes[1].name")
            .label(Span::new(first, first + 1), "first used here");
        let want = "\
error[TOP000]: duplicate name `a`
 --> t.yaml:1:27 (nodes[1].name)
  |
1 | nodes: [{name: a}, {name: a}]
  |                -          ^
  |                |
  |                first used here
  |
  = rule: TOP000 (invalid-yaml); see `hagen explain TOP000`
";
        let out = plain(text, d);
        assert_eq!(out, want);
        assert_eq!(out.matches("nodes: [").count(), 1);
    }

    #[test]
    fn carets_span_the_display_width_of_wide_characters() {
        // Every CJK character here is two columns wide: the carets under `上海一区` are
        // 8 long, and the one under `a` comes after the 20 columns of `名称: 节点一, zone: `
        // (its column in the location line counts characters, as editors do).
        let text = "# 机房\nzone: 上海一区\n名称: 节点一, zone: a\n";
        let out = plain(text, finding("cjk").at(span_of(text, "上海一区"), "zone"));
        let under = format!(
            "2 | zone: 上海一区\n  | {}{}\n",
            " ".repeat(6),
            "^".repeat(8)
        );
        assert!(out.contains(&under), "{out}");
        let at = text.find("zone: a").unwrap() + "zone: ".len();
        let out = plain(text, finding("cjk").at(Span::new(at, at + 1), "zone"));
        assert!(out.contains(" --> t.yaml:3:16 (zone)\n"), "{out}");
        let under = format!("3 | 名称: 节点一, zone: a\n  | {}^\n", " ".repeat(20));
        assert!(out.contains(&under), "{out}");
    }

    #[test]
    fn a_tab_before_the_value_keeps_the_caret_under_it() {
        // Tabs are shown as four spaces and counted as four columns.
        let text = "a:\n\tzone:\tdc-1\n";
        let out = plain(text, finding("tab").at(span_of(text, "dc-1"), "a.zone"));
        assert!(
            out.contains("2 |     zone:    dc-1\n  |              ^^^^\n"),
            "{out}"
        );
        assert!(!out.contains('\t'));
    }

    #[test]
    fn a_finding_about_the_whole_file_has_no_excerpt() {
        let d = finding("empty document")
            .path("spec")
            .help("write a topology");
        let want = "\
error[TOP000]: empty document
 --> t.yaml (spec)
 = help: write a topology
 = rule: TOP000 (invalid-yaml); see `hagen explain TOP000`
";
        assert_eq!(plain("\n", d), want);
    }

    #[test]
    fn labels_on_other_lines_and_in_other_files() {
        let text = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n";
        let other = SourceFile::new("o.yaml", "x: 1\n");
        let d = finding("clash")
            .at(span_of(text, "5"), "e")
            .label(span_of(text, "1"), "set here");
        let mut d = d;
        d.labels.push(super::super::Label {
            file: 1,
            span: Span::new(3, 4),
            message: "and here".into(),
        });
        let out = render_diagnostic(
            &[SourceFile::new("t.yaml", text), other],
            &d,
            Style { color: false },
        );
        let want = "\
error[TOP000]: clash
 --> t.yaml:5:4 (e)
  |
1 | a: 1
  |    - set here
...
5 | e: 5
  |    ^
  |
  = note: o.yaml:1:4: and here
  = rule: TOP000 (invalid-yaml); see `hagen explain TOP000`
";
        assert_eq!(out, want);
    }

    #[test]
    fn the_arrow_follows_the_gutter_width() {
        let text = "a\n".repeat(12);
        let out = plain(&text, finding("x").at(Span::new(22, 23), "l12"));
        assert!(
            out.contains("\n  --> t.yaml:12:1 (l12)\n   |\n12 | a\n"),
            "{out}"
        );
    }

    #[test]
    fn a_value_at_the_end_after_the_last_line_break_is_on_the_empty_line() {
        // Like an unclosed quote: the parser points at 10:1, after the last line break;
        // the excerpt shows that empty line (and its two-digit number in the gutter).
        let text = format!("{}spec: \"abc\n", "a: 1\n".repeat(8));
        let end = text.len();
        let want = "\
error[TOP000]: unclosed quote
  --> t.yaml:10:1
   |
10 |
   | ^
   |
   = rule: TOP000 (invalid-yaml); see `hagen explain TOP000`
";
        let mut d = finding("unclosed quote");
        d.span = Some(Span::new(end, end));
        assert_eq!(plain(&text, d), want);
    }
}
