//! `Headers`: a message's header fields in order, names canonicalised.
//!
//! Normalisation happens once, while parsing: compact forms (`v`, `f`, `i`
//! …) become their long names, case is canonical for known names (the
//! lookup is case-insensitive anyway), folded lines are joined, and
//! comma-joined values of list headers (Via, Contact …) stay as received —
//! `values()` splits them, honouring quotes and angle brackets.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Most header fields one message may carry.
pub const MAX_HEADERS: usize = 100;

/// Known header names in canonical spelling, with their compact forms.
const NAMES: &[(&str, Option<&str>)] = &[
    ("Accept", None),
    ("Accept-Encoding", None),
    ("Allow", None),
    ("Allow-Events", Some("u")),
    ("Authorization", None),
    ("Call-ID", Some("i")),
    ("Contact", Some("m")),
    ("Content-Encoding", Some("e")),
    ("Content-Length", Some("l")),
    ("Content-Type", Some("c")),
    ("CSeq", None),
    ("Event", Some("o")),
    ("Expires", None),
    ("From", Some("f")),
    ("Max-Forwards", None),
    ("Min-Expires", None),
    ("Proxy-Authorization", None),
    ("Record-Route", None),
    ("Refer-To", Some("r")),
    ("Require", None),
    ("Route", None),
    ("Server", None),
    ("SIP-ETag", None),
    ("SIP-If-Match", None),
    ("Subject", Some("s")),
    ("Subscription-State", None),
    ("Supported", Some("k")),
    ("To", Some("t")),
    ("User-Agent", None),
    ("Via", Some("v")),
    ("Warning", None),
    ("WWW-Authenticate", None),
];

/// The canonical spelling of a header name (compact forms expanded);
/// unknown names are kept as sent. Known names are borrowed, so the usual
/// header costs no allocation for its name.
pub fn canonical_name(name: &str) -> Cow<'static, str> {
    // Every compact form is one letter and no long name is.
    let known = if name.len() == 1 {
        NAMES
            .iter()
            .find(|(_, compact)| compact.is_some_and(|c| c.eq_ignore_ascii_case(name)))
    } else {
        NAMES.iter().find(|(long, _)| {
            long.len() == name.len()
                && long.as_bytes()[0].eq_ignore_ascii_case(&name.as_bytes()[0])
                && long.eq_ignore_ascii_case(name)
        })
    };
    match known {
        Some((long, _)) => Cow::Borrowed(long),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Header fields in message order. The values sit one after another in
/// one string, so a parsed message or a built response costs two
/// allocations for all its fields, not one per value (docs/DECISIONS.md
/// §23).
#[derive(Clone, Default)]
pub struct Headers {
    text: String,
    /// Name and where its value sits in `text`.
    fields: Vec<(Cow<'static, str>, Range<usize>)>,
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `fields` fields whose values take `text` bytes in all.
    pub fn with_capacity(fields: usize, text: usize) -> Self {
        Self {
            text: String::with_capacity(text),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Appends a field (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl AsRef<str>) {
        let start = self.text.len();
        self.text.push_str(value.as_ref());
        self.fields.push((canonical_name(name), start..self.text.len()));
    }

    /// Extends the last field's value with a folded continuation line,
    /// joined by one space; false when there is no field yet.
    pub fn continue_last(&mut self, continued: &str) -> bool {
        let Some((_, range)) = self.fields.last_mut() else {
            return false;
        };
        if continued.is_empty() {
            return true;
        }
        if range.end != self.text.len() {
            // A removal left other bytes behind it: move it to the end first.
            let start = self.text.len();
            self.text.extend_from_within(range.clone());
            *range = start..self.text.len();
        }
        if range.start != range.end {
            self.text.push(' ');
        }
        self.text.push_str(continued);
        range.end = self.text.len();
        true
    }

    fn value(&self, range: &Range<usize>) -> &str {
        &self.text[range.clone()]
    }

    /// The first value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, range)| self.value(range))
    }

    /// Every field line of `name`, unsplit.
    pub fn lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, range)| self.value(range))
    }

    /// Every value of a list header: all lines, split on top-level commas.
    pub fn values<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.lines(name).flat_map(split_list).collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Drops every field of `name` (its text stays, unused, in the buffer).
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.fields
            .iter()
            .map(|(n, range)| (n.as_ref(), self.value(range)))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Equal when they hold the same fields in the same order, whatever the
/// layout of the text behind them.
impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Splits a list value on commas outside quotes and `<…>`, dropping
/// empty elements (RFC 3261 §7.3.1 allows `a,,b`).
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_unquoted(value, ',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// Splits on `separator` wherever it is outside a quoted string and
/// outside `<…>`; empty pieces are kept (callers decide if they are errors).
/// The separator is ASCII, so the scan can go byte by byte: no byte of a
/// multi-byte UTF-8 character equals an ASCII one.
pub fn split_unquoted(value: &str, separator: char) -> SplitUnquoted<'_> {
    debug_assert!(separator.is_ascii(), "separators are ASCII");
    SplitUnquoted {
        rest: Some(value),
        separator: separator as u8,
    }
}

/// The pieces `split_unquoted` finds, one at a time.
#[derive(Debug, Clone)]
pub struct SplitUnquoted<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Iterator for SplitUnquoted<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let bytes = rest.as_bytes();
        // Most pieces hold no quote and no bracket: find the separator
        // (or where the careful scan must start) with one vectorised search.
        let start = match memchr::memchr3(self.separator, b'"', b'<', bytes) {
            None => {
                self.rest = None;
                return Some(rest);
            }
            Some(index) if bytes[index] == self.separator => {
                self.rest = Some(&rest[index + 1..]);
                return Some(&rest[..index]);
            }
            Some(index) => index,
        };
        // A piece ends only outside quotes and brackets, so each starts
        // with both closed; up to `start` there was neither.
        let (mut quoted, mut escaped, mut angle) = (false, false, false);
        for (index, &byte) in bytes.iter().enumerate().skip(start) {
            if escaped {
                escaped = false;
                continue;
            }
            match byte {
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b'<' if !quoted => angle = true,
                b'>' if !quoted => angle = false,
                byte if byte == self.separator && !quoted && !angle => {
                    self.rest = Some(&rest[index + 1..]);
                    return Some(&rest[..index]);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_odd_case_names_are_canonical() {
        for (sent, canonical) in [
            ("v", "Via"),
            ("VIA", "Via"),
            ("i", "Call-ID"),
            ("cseq", "CSeq"),
            ("o", "Event"),
            ("u", "Allow-Events"),
            ("sip-etag", "SIP-ETag"),
            ("X-Thing", "X-Thing"),
        ] {
            assert_eq!(canonical_name(sent), canonical);
        }
    }

    #[test]
    fn list_values_split_outside_quotes_and_brackets() {
        let mut headers = Headers::new();
        headers.push("Contact", "\"A, B\" <sip:a@x;p=1,2>;q=1, <sip:b@y>");
        headers.push("m", "<sip:c@z>");
        assert_eq!(
            headers.values("contact"),
            ["\"A, B\" <sip:a@x;p=1,2>;q=1", "<sip:b@y>", "<sip:c@z>"]
        );
        assert_eq!(split_list(";;,,;;,;").collect::<Vec<_>>(), [";;", ";;", ";"]);
        assert_eq!(
            split_unquoted("\"Zoë, \\\"Z\\\"\" <sip:z@x;a=ü,b>;q=1,ö,", ',').collect::<Vec<_>>(),
            ["\"Zoë, \\\"Z\\\"\" <sip:z@x;a=ü,b>;q=1", "ö", ""],
            "quotes with escapes, brackets and multi-byte text"
        );
    }

    /// The rule, one character at a time, as it read before the fast path.
    fn split_by_rule(value: &str, separator: char) -> Vec<&str> {
        let mut parts = Vec::new();
        let (mut start, mut quoted, mut escaped, mut angle) = (0, false, false, false);
        for (index, c) in value.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                c if c == separator && !quoted && !angle => {
                    parts.push(&value[start..index]);
                    start = index + c.len_utf8();
                }
                _ => {}
            }
        }
        parts.push(&value[start..]);
        parts
    }

    proptest::proptest! {
        #[test]
        fn the_fast_split_follows_the_rule(value in "[a;,\"<>\\\\ é]{0,24}") {
            for separator in [',', ';'] {
                let fast: Vec<_> = split_unquoted(&value, separator).collect();
                proptest::prop_assert_eq!(fast, split_by_rule(&value, separator));
            }
        }
    }
}
