//! Presence values across AMI, both directions.
//!
//! Out (`Setvar PRESENCE_STATE(CustomPresence:x)`): Asterisk splits the
//! value on commas with no quoting (`funcs/func_presencestate.c`, `strsep`)
//! and AMI values end at the line break, so a subtype or message with a
//! comma, a line break, leading/trailing blanks or anything outside
//! printable ASCII is sent base64-encoded with the `e` option, which
//! Asterisk decodes before it publishes (checked against Asterisk 22.10:
//! `dnd,YSxi,aGVsbG8sIHdvcmxkCiJ4Ig==,e` reads back as `a,b` /
//! `hello, world\n"x"`). Plain values stay plain so that astdb and
//! `presencestate list` remain readable.
//!
//! In (`PresenceStateChange`): `Subtype` and `Message` are both C-escaped
//! by Asterisk (`\"`, `\'`, `\n`, …; `presence_state_to_ami`,
//! main/presencestate.c; checked on 22.10: a subtype
//! `q"x<LF>` is announced as `Subtype: q\"x\n`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::presence::{PresenceState, PresenceValue};

/// Asterisk decodes `e` fields into 256-byte C buffers before it announces
/// them (`presence_write`, funcs/func_presencestate.c), so its
/// event and its watchers get at most 255 bytes of each, cut anywhere
/// (seen on 22.10: half an `é` at the end), while astdb keeps the whole.
const E_FIELD_BYTES: usize = 255;
/// Longest plain `Value:` we send. Asterisk's AMI reader refuses a whole
/// action with a line over 1024 bytes ("Failed to parse message: line too
/// long", manager.c `get_input`; checked on 22.10 with a 1023-byte
/// message): a longer value goes the `e` way, which is bounded.
const MAX_PLAIN_VALUE_BYTES: usize = 900;

/// The `Value:` of the Setvar that writes `value` (Asterisk then holds
/// `held_by_asterisk(value)`).
pub fn setvar_value(value: &PresenceValue) -> String {
    let state = value.state.as_str();
    if goes_plain(value) {
        match (value.subtype.is_empty(), value.message.is_empty()) {
            (true, true) => state.to_owned(),
            (false, true) => format!("{state},{}", value.subtype),
            _ => format!("{state},{},{}", value.subtype, value.message),
        }
    } else {
        let held = held_by_asterisk(value);
        format!(
            "{state},{},{},e",
            STANDARD.encode(&held.subtype),
            STANDARD.encode(&held.message)
        )
    }
}

/// Whether `value` can be written without base64: nothing Asterisk would
/// split or AMI would cut, and short enough for one AMI line.
fn goes_plain(value: &PresenceValue) -> bool {
    let plain =
        |text: &str| text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b',') && text.trim() == text;
    let length = value.state.as_str().len() + value.subtype.len() + value.message.len() + 2;
    length <= MAX_PLAIN_VALUE_BYTES && plain(&value.subtype) && plain(&value.message)
}

/// What Asterisk holds (and announces) after we write `value`: a plain
/// value as is; an `e` value with each field as a C string (no NUL) of at
/// most 255 bytes. We cut at a character boundary ourselves, so that
/// astdb, dialplan and Asterisk's watchers agree, none gets half a UTF-8
/// character, and the announcement is exactly this value (echo control
/// compares it; an echo it could not recognise would make it skip every
/// later change of that provider in Asterisk).
pub fn held_by_asterisk(value: &PresenceValue) -> PresenceValue {
    let cut = |text: &str| {
        let text: String = text.chars().filter(|&c| c != '\0').collect();
        let mut end = text.len().min(E_FIELD_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_owned()
    };
    if goes_plain(value) {
        return value.clone();
    }
    PresenceValue {
        subtype: cut(&value.subtype),
        message: cut(&value.message),
        ..value.clone()
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

/// Whether the value Asterisk announced is the one we wrote.
pub fn echoes(sent: &PresenceValue, heard: &PresenceValue) -> bool {
    held_by_asterisk(sent).same_as(heard)
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

    /// Asterisk 22.10 refused a Setvar line over 1024 bytes outright and
    /// cut an `e` field at 255 bytes, mid-character (both seen on the wire):
    /// we send at most what Asterisk keeps, cut where a character ends.
    #[test]
    fn long_fields_are_cut_by_us_where_a_character_ends() {
        let long = value(PresenceState::Away, &"s".repeat(255), &"m,".repeat(511));
        let line = format!("Value: {}\r\n", setvar_value(&long));
        assert!(line.len() <= 1024, "{} bytes", line.len());
        let held = held_by_asterisk(&long);
        assert_eq!((held.subtype.len(), held.message.len()), (255, 255));
        assert!(echoes(&long, &held));

        let accents = value(PresenceState::Dnd, "a\0b", &"\u{e9}".repeat(300));
        let held = held_by_asterisk(&accents);
        assert_eq!(held.subtype, "ab", "C strings hold no NUL");
        assert_eq!(held.message, "\u{e9}".repeat(127), "254 bytes, not half an é");
        let written = setvar_value(&accents);
        let message = written.split(',').nth(2).expect("message field");
        assert_eq!(STANDARD.decode(message).expect("base64"), held.message.as_bytes());
        assert!(echoes(&accents, &held));
        assert!(!echoes(&accents, &value(PresenceState::Dnd, "ab", "\u{e9}")));

        let plain = value(PresenceState::Away, "lunch", &"p".repeat(800));
        assert_eq!(
            held_by_asterisk(&plain),
            plain,
            "short enough to stay plain and whole"
        );
        assert!(!setvar_value(&plain).ends_with(",e"));
    }
}
