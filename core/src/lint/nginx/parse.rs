//! A tolerant nginx.conf parser: directives ending in `;` and blocks in `{ }` (`http`,
//! `stream`, `server`, `upstream`, `location`, …), words spanned, `#` comments, quotes.
//! `include` is kept as a directive; core does not follow it.

use crate::lint::scan::{self, Word};
use crate::source::Span;

/// A directive, with its block if it has one (`cut_by_comment` is always false: nginx
/// comments need no space before them and cut nothing).
pub type Directive = scan::Stmt;

/// A parsed nginx.conf: its top-level directives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Main-context directives and blocks.
    pub directives: Vec<Directive>,
}

impl Config {
    /// Top-level directives with this name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
        scan::all(&self.directives, name)
    }
}

/// True if the text looks like nginx configuration.
pub fn looks_like(text: &str) -> bool {
    (text.contains("stream {") || text.contains("http {") || text.contains("upstream "))
        && (text.contains("proxy_pass") || text.contains("listen "))
        && text.contains(';')
}

/// A syntax error.
pub type Error = scan::SyntaxError;

/// Parses nginx.conf.
pub fn parse(text: &str) -> Result<Config, Error> {
    let mut stack: Vec<(Vec<Word>, Vec<Directive>, Span)> =
        vec![(Vec::new(), Vec::new(), Span::new(0, 0))];
    let mut current: Vec<Word> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                if current.is_empty() {
                    i += 1;
                    continue;
                }
                let words = std::mem::take(&mut current);
                stack
                    .last_mut()
                    .expect("root")
                    .1
                    .push(Directive::simple(words, false));
                i += 1;
            }
            b'{' => {
                let words = std::mem::take(&mut current);
                stack.push((words, Vec::new(), Span::new(i, i + 1)));
                i += 1;
            }
            b'}' => {
                if !current.is_empty() {
                    let w = &current[0];
                    return Err(Error {
                        message: format!("directive `{}` is not terminated by `;`", w.text),
                        span: w.span,
                    });
                }
                if stack.len() == 1 {
                    return Err(Error {
                        message: "unexpected `}`".into(),
                        span: Span::new(i, i + 1),
                    });
                }
                let (words, block, _) = stack.pop().expect("len > 1");
                stack.last_mut().expect("root").1.push(Directive {
                    words,
                    block: Some(block),
                    cut_by_comment: false,
                });
                i += 1;
            }
            _ if c.is_ascii_whitespace() => i += 1,
            b'"' | b'\'' => {
                let start = i;
                i += 1;
                let mut s = Vec::new();
                while i < bytes.len() && bytes[i] != c {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                    }
                    s.push(bytes[i]);
                    i += 1;
                }
                if i >= bytes.len() {
                    return Err(Error {
                        message: "unterminated quoted string".into(),
                        span: Span::new(start, start + 1),
                    });
                }
                i += 1;
                current.push(Word {
                    text: String::from_utf8_lossy(&s).into_owned(),
                    span: Span::new(start, i),
                });
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !bytes[i].is_ascii_whitespace()
                    && !matches!(bytes[i], b';' | b'{' | b'}')
                {
                    // `${var}` and `$var{` are variables, not blocks.
                    if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                        while i < bytes.len() && bytes[i] != b'}' {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                let end = i.min(bytes.len());
                current.push(Word {
                    text: text[start..end].to_string(),
                    span: Span::new(start, end),
                });
            }
        }
    }
    if let Some(w) = current.first() {
        return Err(Error {
            message: format!("directive `{}` is not terminated by `;`", w.text),
            span: w.span,
        });
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
        directives: stack.pop().expect("root").1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let c = parse("events {}\nstream {\n upstream a { server 1.2.3.4:6443; }\n server { listen 8443; proxy_pass a; } # x\n}\n").unwrap();
        let s = c.all("stream").next().unwrap();
        assert_eq!(s.all("upstream").next().unwrap().all("server").count(), 1);
        assert!(parse("a {").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("}").is_err());
    }
}
