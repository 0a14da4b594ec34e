//! Hints: which device states and presence providers make up an
//! extension's state, and the snapshot watchers receive.

use serde::Serialize;

use super::device::ExtensionState;
use super::value::PresenceValue;
use crate::config::{Extension, HintDefinition};

/// An extension's sources (from the config: automatic per line, plus
/// `[hints]` overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub exten: Extension,
    pub devices: Vec<String>,
    pub presence: Vec<String>,
}

impl From<&HintDefinition> for Hint {
    fn from(definition: &HintDefinition) -> Self {
        Self {
            exten: definition.exten.clone(),
            devices: definition.devices.clone(),
            presence: definition.presence.clone(),
        }
    }
}

/// Everything a watcher of an extension is told, every time: the current
/// extension state and the combined presence (a full snapshot, as Asterisk
/// sends whether a device or a presence change triggered it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HintState {
    pub exten: Extension,
    pub extension_state: ExtensionState,
    pub presence: PresenceValue,
}

impl HintState {
    /// Whether a watcher would see a difference (timestamps do not count).
    pub fn same_as(&self, other: &Self) -> bool {
        self.extension_state == other.extension_state && self.presence.same_as(&other.presence)
    }
}

/// Combines providers by rank: the strictly higher rank wins, the first
/// listed wins a tie, and with no providers the result is `not_set`.
pub fn combine_presence<'a>(values: impl IntoIterator<Item = &'a PresenceValue>) -> PresenceValue {
    let mut best: Option<&PresenceValue> = None;
    for value in values {
        if best.is_none_or(|current| value.state.rank() > current.state.rank()) {
            best = Some(value);
        }
    }
    best.cloned().unwrap_or_else(PresenceValue::not_set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::state::PresenceState;

    fn value(state: PresenceState, message: &str) -> PresenceValue {
        PresenceValue::for_test(state, message)
    }

    /// Asterisk's `channel_presence` unit test: DND beats AVAILABLE and
    /// UNAVAILABLE beats AVAILABLE; the winner's message comes along.
    #[test]
    fn higher_rank_wins_with_its_message() {
        let dnd = value(PresenceState::Dnd, "busy");
        let available = value(PresenceState::Available, "here");
        let unavailable = value(PresenceState::Unavailable, "gone");
        assert_eq!(combine_presence([&available, &dnd]), dnd);
        assert_eq!(combine_presence([&available, &unavailable]), unavailable);
        let first = value(PresenceState::Away, "first");
        let second = value(PresenceState::Away, "second");
        assert_eq!(
            combine_presence([&first, &second]),
            first,
            "ties keep the first listed"
        );
        assert_eq!(combine_presence([]), PresenceValue::not_set());
    }
}
