//! A spanned, untyped YAML tree: what topology.yaml is read into before it is converted
//! to the typed model (`parse.rs`), and what the linters read kubeadm files, etcd
//! configs, kube-vip and static pods and kubeconfigs into.
//!
//! Why not serde: the linted files are not ours, so there is no schema to deserialize
//! into, and rules need the byte span of every key and value. The tree is built from
//! the event stream of `granit_parser` (the parser under serde-saphyr, re-exported by
//! it), so there is no second YAML implementation. Several documents per file are kept;
//! on a syntax error the documents read so far are kept along with the error.

use crate::source::Span;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

/// A YAML node with the span of its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value is.
    pub span: Span,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A mapping: keys (as text, with their spans) and values, in file order.
    Map(Vec<(Key, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A scalar as written (after escapes); `plain` is false when it was quoted.
    Scalar {
        /// The text.
        text: String,
        /// Unquoted (so `8443` is a number and `true` a boolean to YAML).
        plain: bool,
    },
    /// An alias (`*name`); not resolved.
    Alias,
}

/// A mapping key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key's text (`?` for a non-scalar key).
    pub text: String,
    /// Where the key is.
    pub span: Span,
}

/// A parsed file: its documents, and the syntax error that stopped parsing, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Yaml {
    /// Every complete document.
    pub docs: Vec<Node>,
    /// The first syntax error: message and position.
    pub error: Option<(String, Span)>,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Follows a `.`-separated path of keys.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |n, k| n.get(k))
    }

    /// The items of a sequence (empty otherwise).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping (empty otherwise).
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    /// Calls `f` on this node and every node below it, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match &self.value {
            Value::Map(e) => e.iter().for_each(|(_, v)| v.walk(f)),
            Value::Seq(items) => items.iter().for_each(|v| v.walk(f)),
            _ => {}
        }
    }
}

/// Maps character offsets to byte offsets when the parser gives only the former.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
}

impl Offsets<'_> {
    fn byte(&self, m: &Marker) -> usize {
        let b = match m.byte_offset() {
            Some(b) => b,
            None if self.ascii => m.index(),
            None => self
                .text
                .char_indices()
                .nth(m.index())
                .map_or(self.text.len(), |(i, _)| i),
        };
        let mut b = b.min(self.text.len());
        while b > 0 && !self.text.is_char_boundary(b) {
            b -= 1;
        }
        b
    }
}

enum Frame {
    Map(Vec<(Key, Node)>, Option<Key>, usize),
    Seq(Vec<Node>, usize),
}

/// Parses every document of `text`.
pub fn parse(text: &str) -> Yaml {
    let offsets = Offsets {
        text,
        ascii: text.is_ascii(),
    };
    let mut out = Yaml::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(e) => e,
            Err(e) => {
                let at = offsets.byte(e.marker());
                let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                out.error = Some((e.info().to_string(), Span::new(at, end.max(at))));
                break;
            }
        };
        let start = offsets.byte(&span.start);
        let end = offsets.byte(&span.end).max(start);
        let node = match event {
            Event::DocumentStart(..) => {
                stack.clear();
                root = None;
                continue;
            }
            Event::DocumentEnd => {
                if let Some(r) = root.take() {
                    out.docs.push(r);
                }
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(Vec::new(), None, start));
                continue;
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new(), start));
                continue;
            }
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(entries, _, s)) => Node {
                    value: Value::Map(entries),
                    span: Span::new(s, end.max(s)),
                },
                _ => continue,
            },
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, s)) => Node {
                    value: Value::Seq(items),
                    span: Span::new(s, end.max(s)),
                },
                _ => continue,
            },
            Event::Scalar(value, style, ..) => Node {
                value: Value::Scalar {
                    text: value.into_owned(),
                    plain: matches!(style, ScalarStyle::Plain),
                },
                span: Span::new(start, end),
            },
            Event::Alias(..) | Event::UnresolvedAlias(..) => Node {
                value: Value::Alias,
                span: Span::new(start, end),
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _)) => match pending.take() {
                None => {
                    let text = node.str().unwrap_or("?").to_string();
                    *pending = Some(Key {
                        text,
                        span: node.span,
                    });
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    if let Some(r) = root.take() {
        out.docs.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keys_and_spans() {
        let text = "a: 1\nb:\n  c: [x, 'y']\n---\nkind: Z\n";
        let y = parse(text);
        assert!(y.error.is_none());
        assert_eq!(y.docs.len(), 2);
        let c = y.docs[0].at("b.c").unwrap();
        assert_eq!(c.items().len(), 2);
        let x = &c.items()[0];
        assert_eq!(&text[x.span.start..x.span.end], "x");
        let (k, v) = y.docs[1].entry("kind").unwrap();
        assert_eq!(&text[k.span.start..k.span.end], "kind");
        assert_eq!(v.str(), Some("Z"));
    }

    #[test]
    fn errors_keep_earlier_documents() {
        let y = parse("a: 1\n---\nb: [\n");
        assert_eq!(y.docs.len(), 1);
        assert!(y.error.is_some());
    }

    #[test]
    fn non_ascii_spans() {
        let text = "é: ü\nk: v\n";
        let y = parse(text);
        let (k, v) = y.docs[0].entry("k").unwrap();
        assert_eq!(&text[k.span.start..k.span.end], "k");
        assert_eq!(&text[v.span.start..v.span.end], "v");
    }
}
