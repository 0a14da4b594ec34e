//! Presence values across AMI, both directions.
//!
//! Out (`Setvar PRESENCE_STATE(CustomPresence:x)`): Asterisk splits the
//! value on commas with no quoting (`func_presencestate.c`, reference §2.2)
//! and AMI values end at the line break, so a subtype or message with a
//! comma, a line break, leading/trailing blanks or anything outside
//! printable ASCII is sent base64-encoded with the `e` option, which
//! Asterisk decodes before it publishes (checked against Asterisk 22.10:
//! `dnd,YSxi,aGVsbG8sIHdvcmxkCiJ4Ig==,e` reads back as `a,b` /
//! `hello, world\n"x"`). Plain values stay plain so that astdb and
//! `presencestate list` remain readable.
//!
//! In (`PresenceStateChange`): `Message` is C-escaped by Asterisk
//! (`\"`, `\'`, `\n`, …, reference §4.4); `Subtype` is not.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::presence::{PresenceState, PresenceValue};

/// The `Value:` of the Setvar that writes `value`.
pub fn setvar_value(value: &PresenceValue) -> String {
    let state = value.state.as_str();
    let plain =
        |text: &str| text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b',') && text.trim() == text;
    if plain(&value.subtype) && plain(&value.message) {
        match (value.subtype.is_empty(), value.message.is_empty()) {
            (true, true) => state.to_owned(),
            (false, true) => format!("{state},{}", value.subtype),
            _ => format!("{state},{},{}", value.subtype, value.message),
        }
    } else {
        format!(
            "{state},{},{},e",
            STANDARD.encode(&value.subtype),
            STANDARD.encode(&value.message)
        )
    }
}

/// Reads Asterisk's state names (any case; Asterisk prints lower case).
pub fn parse_state(name: &str) -> Option<PresenceState> {
    [
        PresenceState::NotSet,
        PresenceState::Unavailable,
        PresenceState::Available,
        PresenceState::Away,
        PresenceState::Xa,
        PresenceState::Chat,
        PresenceState::Dnd,
    ]
    .into_iter()
    .find(|state| state.as_str().eq_ignore_ascii_case(name.trim()))
}

/// Undoes `ast_escape_c` (the escapes Asterisk writes into AMI events).
/// An unknown escape keeps its character; a lone trailing backslash stays.
pub fn unescape_c(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Whether the value Asterisk announced is the one we wrote. Asterisk
/// decodes `e` fields into 256-byte buffers (reference §2.2), so a longer
/// field we wrote comes back cut; such a prefix still counts.
pub fn echoes(sent: &PresenceValue, heard: &PresenceValue) -> bool {
    let field = |sent: &str, heard: &str| {
        sent == heard || (sent.len() > 255 && heard.len() >= 200 && sent.starts_with(heard))
    };
    sent.state == heard.state && field(&sent.subtype, &heard.subtype) && field(&sent.message, &heard.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(state: PresenceState, subtype: &str, message: &str) -> PresenceValue {
        PresenceValue {
            state,
            subtype: subtype.into(),
            message: message.into(),
            changed_at: None,
        }
    }

    #[test]
    fn plain_values_stay_readable() {
        let away = value(PresenceState::Away, "lunch", "back at 2 & <cake> \"yes\" 'ok'");
        assert_eq!(setvar_value(&away), "away,lunch,back at 2 & <cake> \"yes\" 'ok'");
        assert_eq!(setvar_value(&value(PresenceState::Dnd, "", "")), "dnd");
        assert_eq!(setvar_value(&value(PresenceState::Xa, "trip", "")), "xa,trip");
        assert_eq!(setvar_value(&value(PresenceState::Chat, "", "hi")), "chat,,hi");
        assert_eq!(setvar_value(&PresenceValue::not_set()), "not_set");
    }

    /// The values Asterisk would split or AMI would cut go base64 + `e`
    /// (the exact string verified against Asterisk 22.10, see module doc).
    #[test]
    fn commas_newlines_blanks_and_utf8_go_base64() {
        let tricky = value(PresenceState::Dnd, "a,b", "hello, world\n\"x\"");
        assert_eq!(setvar_value(&tricky), "dnd,YSxi,aGVsbG8sIHdvcmxkCiJ4Ig==,e");
        for message in [" leading", "trailing ", "caf\u{e9}", "tab\there"] {
            let written = setvar_value(&value(PresenceState::Away, "", message));
            assert!(written.ends_with(",e"), "{message:?} → {written}");
        }
    }

    #[test]
    fn undoes_asterisk_c_escaping() {
        assert_eq!(
            unescape_c(r#"back at 2 & <cake> \"yes\" \'ok\'"#),
            "back at 2 & <cake> \"yes\" 'ok'"
        );
        assert_eq!(unescape_c(r"hello, world\n\\x\"), "hello, world\n\\x\\");
    }

    #[test]
    fn reads_state_names_in_any_case() {
        assert_eq!(parse_state("not_set"), Some(PresenceState::NotSet));
        assert_eq!(parse_state("UNAVAILABLE"), Some(PresenceState::Unavailable));
        assert_eq!(parse_state("bored"), None);
    }

    #[test]
    fn an_echo_may_come_back_cut_at_255_bytes() {
        let long = "m".repeat(400);
        let sent = value(PresenceState::Away, "", &long);
        assert!(echoes(&sent, &value(PresenceState::Away, "", &long[..255])));
        assert!(!echoes(&sent, &value(PresenceState::Away, "", "m")));
        assert!(!echoes(&sent, &value(PresenceState::Dnd, "", &long)));
    }
}
