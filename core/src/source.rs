//! Source text and positions: a named file, byte spans, and the byte → line:column map
//! that every output format uses to point at a value.

/// Index of a file in the list of sources a run looked at.
pub type FileId = usize;

/// A file the user gave us: its display name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown in diagnostics (usually the path as the user typed it).
    pub name: String,
    /// The whole text of the file.
    pub text: String,
}

impl SourceFile {
    /// A source file from a name and its text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// A byte range `start..end` in a source file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (swapped if given the wrong way round).
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start.min(end),
            end: start.max(end),
        }
    }
}

/// A 1-based line and column; the column counts characters, not bytes, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Maps byte offsets in one text to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Builds the index of `text`.
    pub fn new(text: &'a str) -> Self {
        count_scan(text.len());
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// The 1-based line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let column = self.text[self.line_starts[line]..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &'a str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// How many lines the text has.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The bytes of a 1-based line, its line break included (empty past the end).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len()..self.text.len();
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next);
        start..end
    }
}

std::thread_local! {
    static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `bytes` of whole-text scanning (a line index built, a file searched for
/// suppressions) on this thread; see [`scanned`].
pub fn count_scan(bytes: usize) {
    SCANNED.with(|c| c.set(c.get().saturating_add(bytes)));
}

/// How many bytes of whole-text scanning this thread has done: the work a test counts
/// to show that linting and reporting stay linear in the number of findings (each file
/// is scanned a fixed number of times, not once per finding), without timing anything.
pub fn scanned() -> usize {
    SCANNED.with(std::cell::Cell::get)
}

/// The [`LineIndex`] of each of several files, built once on first use: a report maps
/// every finding's position with them instead of re-reading a file per finding (which
/// made output time grow with findings × file size).
#[derive(Debug)]
pub struct LineIndexes<'a> {
    files: &'a [SourceFile],
    built: Vec<std::cell::OnceCell<LineIndex<'a>>>,
}

impl<'a> LineIndexes<'a> {
    /// Indexes for `files`, none built yet.
    pub fn new(files: &'a [SourceFile]) -> Self {
        LineIndexes {
            files,
            built: files.iter().map(|_| std::cell::OnceCell::new()).collect(),
        }
    }

    /// The files these index.
    pub fn files(&self) -> &'a [SourceFile] {
        self.files
    }

    /// The index of one file, built the first time it is asked for.
    pub fn get(&self, file: FileId) -> Option<&LineIndex<'a>> {
        let f = self.files.get(file)?;
        Some(self.built[file].get_or_init(|| LineIndex::new(&f.text)))
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let idx = LineIndex::new("ab\nçd: x\n");
        assert_eq!(idx.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(idx.line_col(3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes; 'd' is the second character of line 2.
        assert_eq!(idx.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(idx.line_text(2), "çd: x");
        assert_eq!(idx.line_col(999), LineCol { line: 3, column: 1 });
    }
}
