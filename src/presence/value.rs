//! What a presence provider holds (`PresenceValue`), how an update is
//! written (`PresenceUpdate`), and provider names.

use serde::{Deserialize, Serialize};

use super::state::{PhoneState, PresenceState, UnsupportedState};

/// Subtype limit (Asterisk's decoded-field buffer is 256 bytes).
pub const MAX_SUBTYPE_BYTES: usize = 255;
/// Message limit.
pub const MAX_MESSAGE_BYTES: usize = 1023;

/// A provider's current value. `changed_at` is Unix milliseconds, `None`
/// for a provider never set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceValue {
    pub state: PresenceState,
    pub subtype: String,
    pub message: String,
    pub changed_at: Option<u64>,
}

#[cfg(test)]
impl PresenceValue {
    /// A value as tests write it: no subtype, set at time 1.
    pub(crate) fn for_test(state: PresenceState, message: &str) -> Self {
        Self {
            state,
            subtype: String::new(),
            message: message.into(),
            changed_at: Some(1),
        }
    }
}

impl PresenceValue {
    /// The value of a provider that was never set.
    pub fn not_set() -> Self {
        Self {
            state: PresenceState::NotSet,
            subtype: String::new(),
            message: String::new(),
            changed_at: None,
        }
    }

    /// Same state, subtype and message (the timestamp does not count):
    /// Asterisk's de-duplication rule.
    pub fn same_as(&self, other: &Self) -> bool {
        self.state == other.state && self.subtype == other.subtype && self.message == other.message
    }
}

/// A validated request to set a provider: one of the five states, bounded
/// UTF-8 subtype and message (commas and newlines are fine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceUpdate {
    pub state: PhoneState,
    pub subtype: String,
    pub message: String,
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUpdate {
    #[error(transparent)]
    State(#[from] UnsupportedState),
    #[error("subtype is {0} bytes; at most {MAX_SUBTYPE_BYTES} are allowed")]
    SubtypeTooLong(usize),
    #[error("message is {0} bytes; at most {MAX_MESSAGE_BYTES} are allowed")]
    MessageTooLong(usize),
}

impl PresenceUpdate {
    /// Validates the three parts.
    pub fn new(state: &str, subtype: &str, message: &str) -> Result<Self, InvalidUpdate> {
        let state = state.parse()?;
        if subtype.len() > MAX_SUBTYPE_BYTES {
            return Err(InvalidUpdate::SubtypeTooLong(subtype.len()));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(InvalidUpdate::MessageTooLong(message.len()));
        }
        Ok(Self {
            state,
            subtype: subtype.to_owned(),
            message: message.to_owned(),
        })
    }

    /// Asterisk's `state[,subtype[,message]]` form. Unlike Asterisk the
    /// message is everything after the second comma, commas included, and
    /// there is no options field (no base64 `e` flag to get wrong).
    ///
    /// ```
    /// use opendpma::presence::{PhoneState, PresenceUpdate};
    ///
    /// let update = PresenceUpdate::parse_asterisk("AWAY,lunch,back at 2, promise").unwrap();
    /// assert_eq!(update.state, PhoneState::Away);
    /// assert_eq!(update.message, "back at 2, promise");
    /// assert!(PresenceUpdate::parse_asterisk("unavailable").is_err());
    /// ```
    pub fn parse_asterisk(value: &str) -> Result<Self, InvalidUpdate> {
        let mut parts = value.splitn(3, ',');
        let state = parts.next().unwrap_or("");
        let subtype = parts.next().unwrap_or("");
        let message = parts.next().unwrap_or("");
        Self::new(state, subtype, message)
    }

    /// The value this update sets, stamped with `now` (Unix ms).
    pub fn into_value(self, now: u64) -> PresenceValue {
        PresenceValue {
            state: self.state.into(),
            subtype: self.subtype,
            message: self.message,
            changed_at: Some(now),
        }
    }
}

/// Why a provider or device name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a {label}<name> name (name: 1 to 80 letters, digits or - _ . @ + *)")]
pub struct InvalidName {
    input: String,
    label: &'static str,
}

/// Normalises `CustomPresence:<name>` / `Custom:<name>`: the label is
/// matched case-insensitively (as Asterisk does) and written canonically;
/// the name keeps its case.
pub fn normalize_name(input: &str, label: &'static str) -> Result<String, InvalidName> {
    let invalid = || InvalidName {
        input: input.to_owned(),
        label,
    };
    let head = input.get(..label.len()).ok_or_else(invalid)?;
    if !head.eq_ignore_ascii_case(label) {
        return Err(invalid());
    }
    let name = &input[label.len()..];
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.@+*#".contains(c);
    if name.is_empty() || name.len() > 80 || !name.chars().all(allowed) {
        return Err(invalid());
    }
    Ok(format!("{label}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `func_presencestate` valid parses that phones may use.
    #[test]
    fn parses_asterisk_values() {
        let update =
            PresenceUpdate::parse_asterisk("away,down the hall,Quarterly financial meeting").unwrap();
        assert_eq!(
            (update.state, update.subtype.as_str(), update.message.as_str()),
            (PhoneState::Away, "down the hall", "Quarterly financial meeting")
        );
        let update = PresenceUpdate::parse_asterisk("away,,Quarterly financial meeting").unwrap();
        assert_eq!(
            (update.subtype.as_str(), update.message.as_str()),
            ("", "Quarterly financial meeting")
        );
        let update = PresenceUpdate::parse_asterisk("DND").unwrap();
        assert_eq!((update.state, update.subtype.as_str()), (PhoneState::Dnd, ""));
    }

    /// Asterisk's comma bug: `away,x,hello, world` must keep ` world`.
    #[test]
    fn keeps_commas_and_newlines_in_the_message() {
        let update = PresenceUpdate::parse_asterisk("away,x,hello, world\nsecond line").unwrap();
        assert_eq!(update.message, "hello, world\nsecond line");
    }

    #[test]
    fn refuses_invalid_states_and_oversized_fields() {
        assert!(PresenceUpdate::parse_asterisk("").is_err());
        assert!(PresenceUpdate::parse_asterisk("bored").is_err());
        assert!(PresenceUpdate::parse_asterisk("unavailable,x,y").is_err());
        assert_eq!(
            PresenceUpdate::new("away", &"s".repeat(256), ""),
            Err(InvalidUpdate::SubtypeTooLong(256))
        );
        assert_eq!(
            PresenceUpdate::new("away", "", &"m".repeat(1024)),
            Err(InvalidUpdate::MessageTooLong(1024))
        );
        // UTF-8 counts bytes: 255 bytes of two-byte characters do not fit.
        assert!(PresenceUpdate::new("away", &"\u{e9}".repeat(128), "").is_err());
        assert!(PresenceUpdate::new("away", &"s".repeat(255), &"m".repeat(1023)).is_ok());
    }

    #[test]
    fn normalises_names() {
        assert_eq!(
            normalize_name("custompresence:Bob", "CustomPresence:").unwrap(),
            "CustomPresence:Bob"
        );
        assert_eq!(normalize_name("CUSTOM:door", "Custom:").unwrap(), "Custom:door");
        for bad in [
            "Bob",
            "CustomPresence:",
            "CustomPresence:a b",
            "Custom:x",
            "PJSIP/2000",
        ] {
            assert!(normalize_name(bad, "CustomPresence:").is_err(), "{bad}");
        }
    }
}
