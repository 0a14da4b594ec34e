//! Presence states: the seven Asterisk knows, and the five a phone (or an
//! admin) may choose.
//!
//! `PhoneState` is what every input path produces — the API, the CLI, a
//! phone's PUBLISH — so "set me to unavailable" cannot even be written.
//! `PresenceState` adds `not_set` (a provider never set) and `unavailable`
//! (only ever assigned by the server), and carries Asterisk's ranks for
//! combining several providers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A state a user may select (Digium phones support exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneState {
    Available,
    Away,
    Dnd,
    Xa,
    Chat,
}

/// Any presence state, as Asterisk models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    NotSet,
    Unavailable,
    Available,
    Away,
    Xa,
    Chat,
    Dnd,
}

/// Why a state name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}; allowed states are: available, away, dnd, xa, chat")]
pub struct UnsupportedState {
    reason: String,
}

impl PhoneState {
    pub const ALL: [Self; 5] = [Self::Available, Self::Away, Self::Dnd, Self::Xa, Self::Chat];

    pub fn as_str(self) -> &'static str {
        PresenceState::from(self).as_str()
    }
}

impl FromStr for PhoneState {
    type Err = UnsupportedState;

    /// Case-insensitive. `unavailable` and `not_set` are valid Asterisk
    /// states but not selectable ones, and get a reason that says so.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        if let Some(state) = Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(trimmed))
        {
            return Ok(state);
        }
        let reason = if trimmed.eq_ignore_ascii_case("unavailable") || trimmed.eq_ignore_ascii_case("not_set")
        {
            format!("{trimmed:?} cannot be set (phones do not support it)")
        } else if trimmed.is_empty() {
            "no state given".to_owned()
        } else {
            format!("unknown presence state {trimmed:?}")
        };
        Err(UnsupportedState { reason })
    }
}

impl From<PhoneState> for PresenceState {
    fn from(state: PhoneState) -> Self {
        match state {
            PhoneState::Available => Self::Available,
            PhoneState::Away => Self::Away,
            PhoneState::Dnd => Self::Dnd,
            PhoneState::Xa => Self::Xa,
            PhoneState::Chat => Self::Chat,
        }
    }
}

impl PresenceState {
    /// The lower-case name Asterisk prints (`not_set`, `dnd`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotSet => "not_set",
            Self::Unavailable => "unavailable",
            Self::Available => "available",
            Self::Away => "away",
            Self::Xa => "xa",
            Self::Chat => "chat",
            Self::Dnd => "dnd",
        }
    }

    /// Aggregation rank (Asterisk `presencestate.c`): when a hint lists
    /// several providers the strictly higher rank wins,
    /// DND > XA > AWAY > CHAT > UNAVAILABLE > AVAILABLE > NOT_SET.
    pub fn rank(self) -> u8 {
        match self {
            Self::NotSet => 1,
            Self::Available => 2,
            Self::Unavailable => 3,
            Self::Chat => 4,
            Self::Away => 5,
            Self::Xa => 6,
            Self::Dnd => 7,
        }
    }
}

impl fmt::Display for PresenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for PhoneState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `func_presencestate`'s parse cases, restricted to what phones allow.
    #[test]
    fn parses_the_five_states_in_any_case() {
        for (input, state) in [
            ("available", PhoneState::Available),
            ("AWAY", PhoneState::Away),
            ("Dnd", PhoneState::Dnd),
            ("xa", PhoneState::Xa),
            (" chat ", PhoneState::Chat),
        ] {
            assert_eq!(input.parse::<PhoneState>(), Ok(state), "{input}");
        }
    }

    #[test]
    fn refuses_unselectable_and_unknown_states_naming_the_allowed_ones() {
        for (input, reason) in [
            (
                "unavailable",
                "\"unavailable\" cannot be set (phones do not support it)",
            ),
            ("NOT_SET", "\"NOT_SET\" cannot be set (phones do not support it)"),
            ("bored", "unknown presence state \"bored\""),
            ("", "no state given"),
        ] {
            let error = input.parse::<PhoneState>().unwrap_err().to_string();
            assert_eq!(
                error,
                format!("{reason}; allowed states are: available, away, dnd, xa, chat")
            );
        }
    }

    #[test]
    fn ranks_follow_asterisk() {
        use PresenceState::*;
        let mut states = [Dnd, Available, Xa, NotSet, Chat, Unavailable, Away];
        states.sort_by_key(|s| s.rank());
        assert_eq!(states, [NotSet, Available, Unavailable, Chat, Away, Xa, Dnd]);
    }
}
