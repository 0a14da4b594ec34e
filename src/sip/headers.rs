//! `Headers`: a message's header fields in order, names canonicalised.
//!
//! Normalisation happens once, while parsing: compact forms (`v`, `f`, `i`
//! …) become their long names, case is canonical for known names (the
//! lookup is case-insensitive anyway), folded lines are joined, and
//! comma-joined values of list headers (Via, Contact …) stay as received —
//! `values()` splits them, honouring quotes and angle brackets.

use std::borrow::Cow;

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
    for (long, compact) in NAMES {
        if long.eq_ignore_ascii_case(name) || compact.is_some_and(|c| c.eq_ignore_ascii_case(name)) {
            return Cow::Borrowed(long);
        }
    }
    Cow::Owned(name.to_owned())
}

/// Header fields in message order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(Cow<'static, str>, String)>,
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.fields.push((canonical_name(name), value.into()));
    }

    /// The last field's value, for a folded continuation line to extend.
    pub fn last_value_mut(&mut self) -> Option<&mut String> {
        self.fields.last_mut().map(|(_, value)| value)
    }

    /// The first value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field line of `name`, unsplit.
    pub fn lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a list header: all lines, split on top-level commas.
    pub fn values<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.lines(name).flat_map(split_list).collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_ref(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Splits a list value on commas outside quotes and `<…>`, dropping
/// empty elements (RFC 3261 §7.3.1 allows `a,,b`).
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_unquoted(value, ',')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// Splits on `separator` wherever it is outside a quoted string and
/// outside `<…>`; empty pieces are kept (callers decide if they are errors).
pub fn split_unquoted(value: &str, separator: char) -> Vec<&str> {
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
    }
}
