//! Line and word scanning with byte spans, shared by the haproxy, keepalived and check
//! script parsers (nginx has its own token scanner because it is not line-based), and
//! the statement tree the two block-structured formats (keepalived, nginx) parse into.

use crate::source::Span;

/// A word of a config line and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word without surrounding quotes.
    pub text: String,
    /// Its bytes in the file, quotes included.
    pub span: Span,
}

/// One logical line: its words and where the whole line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The words before any comment.
    pub words: Vec<Word>,
    /// The line without its end of line.
    pub span: Span,
    /// Where the comment starts, if the line has one.
    pub comment: Option<usize>,
}

/// First words of lines copied out of a guide with the configuration: shell commands,
/// heredoc ends, Markdown fences.
pub const SHELL_WORDS: &[&str] = &[
    "sudo",
    "cat",
    "echo",
    "vi",
    "vim",
    "nano",
    "systemctl",
    "service",
    "apt",
    "apt-get",
    "yum",
    "dnf",
    "cp",
    "mv",
    "mkdir",
    "cd",
    "chmod",
    "chown",
    "tee",
    "EOF",
    "curl",
    "wget",
    "haproxy",
    "$",
    "```",
    "---",
    "kubectl",
    "export",
    "EOT",
];

/// True for a word of HTML or XML markup (`<pre>`, `<!--`, `</code>`, `}</code></pre>`):
/// a configuration pasted out of a web page with its tags.
pub fn markup(word: &str) -> bool {
    // A closing tag is `</name>`; `</dev/tcp/127.0.0.1/6443` is bash's TCP probe.
    let closing = word.match_indices("</").any(|(i, _)| {
        let r = &word[i + 2..];
        let n = r.bytes().take_while(u8::is_ascii_lowercase).count();
        n > 0 && r[n..].starts_with('>')
    });
    closing
        || word.contains("<!--")
        || word.strip_prefix('<').is_some_and(|r| {
            let name: String = r.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            !name.is_empty()
                && r[name.len()..].starts_with(['>', ' ']) | r[name.len()..].is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase())
        })
}

/// Splits `text` into lines of words. A comment starts at any character in
/// `comment_chars` outside double (and, if `single_quotes`, single) quotes; with
/// `comment_needs_space`, only at the start of a word.
pub fn lines(
    text: &str,
    comment_chars: &[char],
    single_quotes: bool,
    comment_needs_space: bool,
) -> Vec<Line> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        out.push(split(
            line,
            offset,
            comment_chars,
            single_quotes,
            comment_needs_space,
        ));
        offset += raw.len();
    }
    out
}

fn split(
    line: &str,
    base: usize,
    comment_chars: &[char],
    single_quotes: bool,
    needs_space: bool,
) -> Line {
    let mut words = Vec::new();
    let mut comment = None;
    let mut cur = String::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' && q == '"' {
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            } else {
                cur.push(c);
            }
            prev_space = false;
            continue;
        }
        if comment_chars.contains(&c) && (!needs_space || prev_space) {
            comment = Some(base + i);
            break;
        }
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(Word {
                    text: std::mem::take(&mut cur),
                    span: Span::new(base + s, base + i),
                });
            }
            prev_space = true;
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        prev_space = false;
        if c == '"' || (single_quotes && c == '\'') {
            quote = Some(c);
        } else if c == '\\' {
            if let Some((_, n)) = chars.next() {
                cur.push(n);
            }
        } else {
            cur.push(c);
        }
    }
    if let Some(s) = start {
        let end = comment.map_or(base + line.len(), |c| c);
        words.push(Word {
            text: cur,
            span: Span::new(base + s, end.max(base + s)),
        });
    }
    // Trim the last word's span to its text (a comment may follow directly).
    if let Some(w) = words.last_mut() {
        let raw = &line[w.span.start - base..w.span.end - base];
        w.span.end = w.span.start + raw.trim_end().len();
    }
    Line {
        words,
        span: Span::new(base, base + line.len()),
        comment,
    }
}

/// Parses a duration as haproxy and nginx write it (`5s`, `1h`, `500ms`, `30` = the
/// unit given) into milliseconds.
pub fn duration_ms(text: &str, default_unit_ms: u64) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = text[..digits].parse().ok()?;
    let unit = match &text[digits..] {
        "" => default_unit_ms,
        "us" => return Some(n / 1000),
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// A readable duration for messages (`35s`, `1h`).
pub fn human_ms(ms: u64) -> String {
    if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quotes_and_comments() {
        let text = "a \"b c\" d#x\n  e ! f\n";
        let ls = lines(text, &['#', '!'], false, false);
        let w: Vec<&str> = ls[0].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(w, ["a", "b c", "d"]);
        assert_eq!(
            &text[ls[0].words[2].span.start..ls[0].words[2].span.end],
            "d"
        );
        assert_eq!(ls[1].words.len(), 1);
        let hap = lines("bind x#y # c\n", &['#'], true, true);
        assert_eq!(hap[0].words[1].text, "x#y");
    }

    #[test]
    fn markup_words() {
        for w in ["<pre", "<code>", "}</code></pre>", "<!--", "-->"] {
            assert_eq!(markup(w), w != "-->", "{w}");
        }
        for w in [
            "</dev/tcp/127.0.0.1/6443",
            "<MN03_IP>",
            "<",
            "<=",
            "\"</dev/tcp/x/443\"",
        ] {
            assert!(!markup(w), "{w}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("5s", 1), Some(5000));
        assert_eq!(duration_ms("1h", 1), Some(3_600_000));
        assert_eq!(duration_ms("30", 1000), Some(30_000));
        assert_eq!(duration_ms("x", 1), None);
        assert_eq!(human_ms(35_000), "35s");
    }
}

/// A statement of a block-structured config (keepalived.conf, nginx.conf): its words and,
/// if it opens a `{ }` block, the statements inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The keyword, then its arguments (for a block: the words before `{`).
    pub words: Vec<Word>,
    /// The block's statements (`None` for a simple statement).
    pub block: Option<Vec<Stmt>>,
    /// True if a comment followed the last word with no space (keepalived reads
    /// `auth_pass abc#123` as `abc`, a classic surprise).
    pub cut_by_comment: bool,
}

impl Stmt {
    /// A simple statement.
    pub fn simple(words: Vec<Word>, cut_by_comment: bool) -> Stmt {
        Stmt {
            words,
            block: None,
            cut_by_comment,
        }
    }
    /// The keyword (`""` for none).
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", |w| w.text.as_str())
    }
    /// The i-th word.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|w| w.text.as_str())
    }
    /// From the first to the last word.
    pub fn span(&self) -> Span {
        match (self.words.first(), self.words.last()) {
            (Some(a), Some(b)) => Span::new(a.span.start, b.span.end),
            _ => Span::new(0, 0),
        }
    }
    /// The block's statements (empty for a simple statement).
    pub fn children(&self) -> &[Stmt] {
        self.block.as_deref().unwrap_or(&[])
    }
    /// Children with this keyword.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Stmt> + 'a {
        self.children().iter().filter(move |i| i.keyword() == key)
    }
    /// The first child with this keyword.
    pub fn get(&self, key: &str) -> Option<&Stmt> {
        self.children().iter().find(|i| i.keyword() == key)
    }
    /// The words of a block's statements, flattened (`virtual_ipaddress { a b }`).
    pub fn block_words(&self) -> Vec<&Word> {
        self.children()
            .iter()
            .flat_map(|i| i.words.iter())
            .collect()
    }
}

/// Top-level statements with this keyword.
pub fn all<'a>(top: &'a [Stmt], key: &'a str) -> impl Iterator<Item = &'a Stmt> + 'a {
    top.iter().filter(move |i| i.keyword() == key)
}

/// A syntax error in a block-structured config: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}
