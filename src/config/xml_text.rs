//! Strings a phone's XML cannot carry. Every string of phones.toml may end
//! up in an attribute of a Digium XML document (labels, names, secrets,
//! addresses), and XML 1.0 (§2.2, production `Char`) has no place for the
//! C0 controls other than tab, LF and CR — not even as `&#1;`. TOML lets
//! them in through escapes (`"\u0001"`, `"\b"`, `"\f"`), and Sangoma's
//! Smart BLF page warns that an XML file with an error "will fail to
//! load", so one such character would cost a phone its whole config.
//! They are refused where they are written, like any bad value.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::problem::path_segment;

/// The first character of `text` that XML 1.0 cannot carry.
pub fn illegal_character(text: &str) -> Option<char> {
    text.chars().find(
        |c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'),
    )
}

/// Every string value under `table` holding such a character: its span,
/// its dotted path and a message.
pub fn illegal_strings(table: &DeTable<'_>) -> Vec<(Range<usize>, String, String)> {
    let mut found = Vec::new();
    for (key, value) in table {
        walk(value, path_segment(key.get_ref()), &mut found);
    }
    found
}

fn walk(value: &Spanned<DeValue<'_>>, path: String, found: &mut Vec<(Range<usize>, String, String)>) {
    match value.get_ref() {
        DeValue::String(text) => {
            if let Some(c) = illegal_character(text) {
                let message = format!(
                    "contains the control character U+{:04X}, which XML cannot carry (a phone would reject its whole config)",
                    u32::from(c)
                );
                found.push((value.span(), path, message));
            }
        }
        DeValue::Array(items) => {
            for item in items {
                walk(item, path.clone(), found);
            }
        }
        DeValue::Table(table) => {
            for (key, value) in table {
                walk(value, format!("{path}.{}", path_segment(key.get_ref())), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_c0_controls_xml_refuses_and_keeps_the_rest() {
        for bad in ["a\u{1}b", "\u{8}", "x\u{c}", "\u{1f}", "\u{0}"] {
            assert!(illegal_character(bad).is_some(), "{bad:?}");
        }
        for good in ["Bob & <Co> \"x\"", "tab\there", "two\nlines\r", "Zoë 東京", ""] {
            assert_eq!(illegal_character(good), None, "{good:?}");
        }
    }
}
