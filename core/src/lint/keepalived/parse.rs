//! A tolerant keepalived.conf parser: nested `{ }` blocks of statements, each word
//! spanned. As keepalived itself does, `#` and `!` start a comment anywhere outside
//! double quotes — also in the middle of a value (`auth_pass abc#123` is `abc`).
//! `include` lines are kept as statements; core does not follow them.

use crate::lint::scan::{self, Word};
use crate::source::Span;

/// A statement or a block.
pub type Item = scan::Stmt;

/// A parsed keepalived.conf: its top-level items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Top-level items (`global_defs`, `vrrp_script`, `vrrp_instance`, …).
    pub items: Vec<Item>,
}

impl Config {
    /// Top-level items with this keyword.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        scan::all(&self.items, key)
    }
}

/// True if the text looks like a keepalived configuration.
pub fn looks_like(text: &str) -> bool {
    [
        "vrrp_instance",
        "vrrp_script",
        "global_defs",
        "virtual_server",
        "virtual_router_id",
    ]
    .iter()
    .any(|k| text.contains(k))
}

/// A syntax error: message and where.
pub type Error = scan::SyntaxError;

/// Parses keepalived.conf.
pub fn parse(text: &str) -> Result<Config, Error> {
    let mut stack: Vec<(Vec<Word>, Vec<Item>, Span)> =
        vec![(Vec::new(), Vec::new(), Span::new(0, 0))];
    for line in scan::lines(text, &['#', '!'], false, false) {
        let cut = line
            .comment
            .zip(line.words.last())
            .is_some_and(|(c, w)| c == w.span.end && c > 0);
        let mut current: Vec<Word> = Vec::new();
        for w in split_braces(text, line.words) {
            match w.text.as_str() {
                "{" => {
                    let header = std::mem::take(&mut current);
                    stack.push((header, Vec::new(), w.span));
                }
                "}" => {
                    if !current.is_empty() {
                        let words = std::mem::take(&mut current);
                        stack
                            .last_mut()
                            .expect("root")
                            .1
                            .push(Item::simple(words, false));
                    }
                    if stack.len() == 1 {
                        return Err(Error {
                            message: "`}` without a matching `{`".into(),
                            span: w.span,
                        });
                    }
                    let (words, items, _) = stack.pop().expect("len > 1");
                    stack.last_mut().expect("root").1.push(Item {
                        words,
                        block: Some(items),
                        cut_by_comment: false,
                    });
                }
                _ => current.push(w),
            }
        }
        if !current.is_empty() {
            stack
                .last_mut()
                .expect("root")
                .1
                .push(Item::simple(current, cut));
        }
    }
    if stack.len() > 1 {
        let (words, _, open) = stack.pop().expect("len > 1");
        let what = words
            .first()
            .map_or("a block".to_string(), |w| format!("`{}`", w.text));
        return Err(Error {
            message: format!("{what} opened here is never closed with `}}`"),
            span: open,
        });
    }
    Ok(Config {
        items: stack.pop().expect("root").1,
    })
}

/// Splits `{` and `}` out of words written without quotes or escapes (`vrrp_instance
/// VI_1{`); a quoted word keeps its braces, and its byte offsets would not map onto the
/// text anyway.
fn split_braces(source: &str, words: Vec<Word>) -> Vec<Word> {
    let mut out = Vec::new();
    for w in words {
        let verbatim = source.get(w.span.start..w.span.end) == Some(w.text.as_str());
        if !verbatim || !w.text.contains(['{', '}']) {
            out.push(w);
            continue;
        }
        let mut start = 0;
        for (i, c) in w.text.char_indices() {
            if c == '{' || c == '}' {
                if i > start {
                    out.push(Word {
                        text: w.text[start..i].to_string(),
                        span: Span::new(w.span.start + start, w.span.start + i),
                    });
                }
                out.push(Word {
                    text: c.to_string(),
                    span: Span::new(w.span.start + i, w.span.start + i + 1),
                });
                start = i + 1;
            }
        }
        if start < w.text.len() {
            out.push(Word {
                text: w.text[start..].to_string(),
                span: Span::new(w.span.start + start, w.span.end),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Braces split out of bare words only: a quoted word keeps its brace, and a brace
    /// glued to a bare word still opens the block.
    #[test]
    fn quoted_braces_stay_in_their_word() {
        let c = parse("vrrp_instance \"VI{é\" {\n state MASTER\n}\nvrrp_script chk{\n}\n").unwrap();
        assert_eq!(c.items[0].arg(1), Some("VI{é"));
        assert!(c.items[0].get("state").is_some());
        assert_eq!(c.items[1].arg(1), Some("chk"));
        assert!(c.items[1].block.is_some());
    }

    #[test]
    fn blocks_and_comments() {
        let c = parse("vrrp_instance VI_1 {\n  authentication {\n auth_pass ab#cd\n }\n unicast_peer { 10.0.0.2 10.0.0.3 }\n}\n").unwrap();
        let vi = &c.items[0];
        assert_eq!(vi.arg(1), Some("VI_1"));
        let auth = vi.get("authentication").unwrap().get("auth_pass").unwrap();
        assert_eq!(auth.arg(1), Some("ab"));
        assert!(auth.cut_by_comment);
        assert_eq!(vi.get("unicast_peer").unwrap().block_words().len(), 2);
    }

    #[test]
    fn unbalanced() {
        assert!(parse("a {\n").is_err());
        assert!(parse("}\n").is_err());
    }
}
