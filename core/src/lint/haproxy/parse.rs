//! A tolerant haproxy.cfg parser: sections (`global`, `defaults`, `frontend`, `backend`,
//! `listen`, …) with their directives, each word spanned. `#` starts a comment at the
//! start of a word (haproxy allows `#` inside a word); `"` and `'` quote. Unknown
//! keywords are kept: only the linter's rules decide what matters.

use crate::lint::scan::{self, Word};
use crate::source::Span;

/// Section keywords that start a new section.
pub const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "userlist",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "fcgi-app",
    "crt-store",
    "traces",
];

/// One directive: its words (the first is the keyword).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The words, keyword first.
    pub words: Vec<Word>,
    /// The whole line, comment excluded.
    pub span: Span,
}

impl Directive {
    /// The keyword.
    pub fn keyword(&self) -> &str {
        &self.words[0].text
    }
    /// The i-th word's text, if any.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|w| w.text.as_str())
    }
    /// True if the words start with these.
    pub fn starts(&self, prefix: &[&str]) -> bool {
        prefix.len() <= self.words.len()
            && prefix.iter().zip(&self.words).all(|(p, w)| w.text == *p)
    }
    /// The span from the first to the last word.
    pub fn words_span(&self) -> Span {
        Span::new(
            self.words[0].span.start,
            self.words[self.words.len() - 1].span.end,
        )
    }
}

/// A section and its directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `global`, `defaults`, `frontend`, …
    pub kind: String,
    /// The name after the keyword, if any.
    pub name: Option<String>,
    /// The header line's words span.
    pub span: Span,
    /// The directives, in order.
    pub directives: Vec<Directive>,
}

impl Section {
    /// True for frontend, backend and listen.
    pub fn is_proxy(&self) -> bool {
        matches!(self.kind.as_str(), "frontend" | "backend" | "listen")
    }
    /// Directives whose words start with `prefix`.
    pub fn find<'a>(&'a self, prefix: &'a [&'a str]) -> impl Iterator<Item = &'a Directive> + 'a {
        self.directives.iter().filter(move |d| d.starts(prefix))
    }
    /// `name` or the kind for messages.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {n}", self.kind),
            None => self.kind.clone(),
        }
    }
}

/// A parsed haproxy.cfg.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Directives before any section header (haproxy rejects them; kept for rules).
    pub orphans: Vec<Directive>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// For each section, the index of the `defaults` before it, filled by [`parse`]: the
    /// rules ask for every proxy, and searching back each time made a file of many
    /// proxies take time in their number squared.
    defaults: Vec<Option<usize>>,
}

impl Config {
    /// The `defaults` section that applies to section `i` (the last one before it).
    pub fn defaults_for(&self, i: usize) -> Option<&Section> {
        if self.defaults.len() == self.sections.len() {
            return self
                .defaults
                .get(i)
                .copied()
                .flatten()
                .map(|d| &self.sections[d]);
        }
        self.sections[..i.min(self.sections.len())]
            .iter()
            .rev()
            .find(|s| s.kind == "defaults")
    }
}

/// True if the text looks like a haproxy configuration.
pub fn looks_like(text: &str) -> bool {
    let mut proxies = 0;
    let mut haproxy_words = 0;
    for line in text.lines().take(400) {
        let t = line.trim_start();
        let first = t.split_whitespace().next().unwrap_or("");
        if line.starts_with(first) && matches!(first, "frontend" | "backend" | "listen") {
            proxies += 1;
        }
        if matches!(
            first,
            "default_backend" | "balance" | "use_backend" | "bind" | "mode"
        ) || t.starts_with("server ") && t.contains(" check")
        {
            haproxy_words += 1;
        }
    }
    proxies > 0 && haproxy_words > 0
}

/// Parses haproxy.cfg. Never fails: every line is either a section header, a directive
/// or a comment.
pub fn parse(text: &str) -> Config {
    let mut cfg = Config::default();
    for line in scan::lines(text, &['#'], true, true) {
        let Some(first) = line.words.first() else {
            continue;
        };
        let span = Span::new(first.span.start, line.words[line.words.len() - 1].span.end);
        if SECTIONS.contains(&first.text.as_str()) {
            cfg.sections.push(Section {
                kind: first.text.clone(),
                name: line.words.get(1).map(|w| w.text.clone()),
                span,
                directives: Vec::new(),
            });
            continue;
        }
        let d = Directive {
            words: line.words,
            span,
        };
        match cfg.sections.last_mut() {
            Some(s) => s.directives.push(d),
            None => cfg.orphans.push(d),
        }
    }
    let mut last = None;
    for (i, s) in cfg.sections.iter().enumerate() {
        cfg.defaults.push(last);
        if s.kind == "defaults" {
            last = Some(i);
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_directives() {
        let c = parse(
            "global\n  daemon # x\ndefaults\n timeout client 1h\nbackend b\n server a 1.2.3.4:6443 check\n",
        );
        assert_eq!(c.sections.len(), 3);
        assert_eq!(c.sections[2].name.as_deref(), Some("b"));
        assert_eq!(c.sections[2].directives[0].arg(2), Some("1.2.3.4:6443"));
        assert_eq!(c.defaults_for(2).map(|s| s.kind.as_str()), Some("defaults"));
    }
}
