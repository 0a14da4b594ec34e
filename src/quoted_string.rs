//! Quoted strings as SIP (RFC 3261 §25.1) and HTTP authentication
//! parameters (RFC 7230 §3.2.6, RFC 7616) write them: `"…"` with `\`
//! escaping the next character. One reader for both.

use std::borrow::Cow;

/// The quoted string at the start of `quoted` (its opening quote already
/// taken): its value with escapes resolved, and where the text after the
/// closing quote begins. Borrowed unless an escape had to be undone;
/// `None` when the closing quote is missing.
pub fn unquote(quoted: &str) -> Option<(Cow<'_, str>, usize)> {
    let close = quoted.find(['"', '\\'])?;
    if quoted.as_bytes()[close] == b'"' {
        return Some((Cow::Borrowed(&quoted[..close]), close + 1));
    }
    let mut value = String::with_capacity(quoted.len());
    let mut chars = quoted.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((Cow::Owned(value), index + 1)),
            _ => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_undone_and_the_rest_is_found() {
        assert_eq!(unquote("abc\" rest"), Some((Cow::Borrowed("abc"), 4)));
        assert_eq!(
            unquote("a\\\"b\\\\c\"x"),
            Some((Cow::Owned("a\"b\\c".to_owned()), 8))
        );
        assert_eq!(unquote("é\""), Some((Cow::Borrowed("é"), 3)));
        assert_eq!(unquote("no end"), None);
        assert_eq!(unquote("escaped end\\\""), None);
        assert_eq!(unquote("dangling\\"), None);
    }
}
