//! `Problem`: one thing wrong with a phones.toml, with the place it is at.
//!
//! Problems are collected, never thrown: the loader keeps going after each
//! one so that an admin sees every mistake in one run instead of fixing them
//! one `check` at a time.

use std::fmt;
use std::ops::Range;

/// One problem: the TOML path it concerns, its `line:column` (1-based) and
/// what is wrong, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Problem {
    /// A problem located at byte `span` of `source`.
    pub fn at(source: &str, span: Range<usize>, path: impl Into<String>, message: impl Into<String>) -> Self {
        let (line, column) = line_column(source, span.start);
        Self {
            path: path.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.line, self.column, self.path, self.message
            )
        }
    }
}

/// Where each line of a source starts: locating many problems (say, a
/// warning for each of thousands of phones) in a big file without scanning
/// it from the top each time.
#[derive(Debug)]
pub struct LineStarts(Vec<usize>);

/// The index of an empty source: one line, starting at 0 (never an empty
/// table, which `problem` could not index).
impl Default for LineStarts {
    fn default() -> Self {
        Self(vec![0])
    }
}

impl LineStarts {
    pub fn new(source: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self(starts)
    }

    /// Like `Problem::at`, with the same `line:column`.
    pub fn problem(
        &self,
        source: &str,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        let offset = span.start.min(source.len());
        let line = self.0.partition_point(|&start| start <= offset);
        let line_start = self.0[line - 1];
        let column = source
            .get(line_start..offset)
            .map_or(1, |text| text.chars().count() + 1);
        Problem {
            path: path.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The known key closest to `unknown`, if it is close enough to be the
/// likely intent (a typo, not a different word).
pub fn nearest_key<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (unknown.chars().count() / 3).max(2);
    known
        .iter()
        .map(|candidate| (edit_distance(unknown, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Renders a TOML path segment, quoting keys that are not bare keys.
pub fn path_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { key.to_owned() } else { format!("{key:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_offsets_as_line_and_column() {
        let source = "a = 1\nbé = 2\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        assert_eq!(line_column(source, 9), (2, 3));
        assert_eq!(line_column(source, 999), (3, 1));
    }

    #[test]
    fn suggests_only_close_keys() {
        let known = ["model", "mac", "lines", "contacts"];
        assert_eq!(nearest_key("modle", &known), Some("model"));
        assert_eq!(nearest_key("contact", &known), Some("contacts"));
        assert_eq!(nearest_key("firmware", &known), None);
    }

    #[test]
    fn quotes_keys_that_are_not_bare() {
        assert_eq!(path_segment("bob-desk"), "bob-desk");
        assert_eq!(path_segment("bob.desk"), "\"bob.desk\"");
    }

    #[test]
    fn line_starts_locate_like_a_scan() {
        let source = "a = 1\nbé = 2\n\nlast";
        let lines = LineStarts::new(source);
        for offset in [0, 3, 6, 8, 9, 13, 14, 17, 18, 99] {
            let offset = (0..=offset.min(source.len()))
                .rev()
                .find(|&i| source.is_char_boundary(i))
                .unwrap();
            let scanned = Problem::at(source, offset..offset, "p", "m");
            assert_eq!(
                lines.problem(source, offset..offset, "p", "m"),
                scanned,
                "offset {offset}"
            );
        }
    }
}
