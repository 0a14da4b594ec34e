//! Provisioning file names: `<mac>.cfg`, `<mac>-contacts.xml`, `<mac>-blf.xml`.
//!
//! Parsed by hand because an axum route cannot mix a literal and a capture
//! in one segment; the router captures `/{file}` and this decides.

use super::render::DocumentKind;
use crate::config::MacAddress;

/// Splits a requested file name into the phone's MAC and the document.
/// The MAC part must be exactly 12 hex digits (any case); anything else is
/// simply not one of our files.
pub fn parse_file_name(file: &str) -> Option<(MacAddress, DocumentKind)> {
    let (mac, kind) = if let Some(mac) = strip_suffix_ignore_case(file, "-contacts.xml") {
        (mac, DocumentKind::Contacts)
    } else if let Some(mac) = strip_suffix_ignore_case(file, "-blf.xml") {
        (mac, DocumentKind::Blf)
    } else {
        (strip_suffix_ignore_case(file, ".cfg")?, DocumentKind::Config)
    };
    if mac.len() != 12 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((mac.parse().ok()?, kind))
}

fn strip_suffix_ignore_case<'a>(file: &'a str, suffix: &str) -> Option<&'a str> {
    let split = file.len().checked_sub(suffix.len())?;
    (file.is_char_boundary(split) && file[split..].eq_ignore_ascii_case(suffix)).then(|| &file[..split])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_three_file_names_in_any_case() {
        let (mac, kind) = parse_file_name("0019159C1A2B.cfg").unwrap();
        assert_eq!((mac.as_str(), kind), ("0019159c1a2b", DocumentKind::Config));
        assert_eq!(
            parse_file_name("0019159c1a2b-contacts.xml").unwrap().1,
            DocumentKind::Contacts
        );
        assert_eq!(
            parse_file_name("0019159c1a2b-BLF.XML").unwrap().1,
            DocumentKind::Blf
        );
    }

    #[test]
    fn refuses_everything_else() {
        for file in [
            "",
            ".cfg",
            "0019159c1a2.cfg",
            "0019159c1a2bb.cfg",
            "00:19:15:9c:1a:2b.cfg",
            "0019159c1a2g.cfg",
            "0019159c1a2b.xml",
            "0019159c1a2b",
            "é019159c1a2b.cfg",
            "x-blf.xml",
        ] {
            assert!(parse_file_name(file).is_none(), "{file:?}");
        }
    }
}
