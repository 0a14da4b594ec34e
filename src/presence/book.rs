//! `PresenceBook`: the in-memory presence model — providers, devices,
//! hints and the last state each hint's watchers were told.
//!
//! Writes happen in two steps so that the driver can make them durable in
//! between: `plan_*` validates and decides (refusal, no-op repeat, or a
//! change), then — after the store has committed — `apply` changes the
//! book and returns the events to fan out. A refused or repeated write
//! never reaches the store and produces no event.

use std::collections::{HashMap, HashSet};

use super::device::{DeviceState, ExtensionState};
use super::hint::{Hint, HintState, combine_presence};
use super::value::{PresenceUpdate, PresenceValue};
use crate::config::Extension;

/// Most providers (and, separately, devices) the book will hold, so an
/// API client in a loop cannot grow memory without bound.
pub const MAX_ENTRIES: usize = 100_000;

/// A decided write, ready to be committed and applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    SetPresence { provider: String, value: PresenceValue },
    ClearPresence { provider: String },
    SetDevice { device: String, state: DeviceState },
}

/// What changed, for watchers (admin events, SIP NOTIFYs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Presence {
        provider: String,
        value: PresenceValue,
    },
    Device {
        device: String,
        state: DeviceState,
    },
    Hint(HintState),
    /// The extension no longer has a hint (removed by a reload).
    HintRemoved {
        exten: Extension,
    },
}

/// Why the book refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("too many {0} (at most {MAX_ENTRIES})")]
    Full(&'static str),
}

/// The presence model.
#[derive(Debug, Default)]
pub struct PresenceBook {
    providers: HashMap<String, PresenceValue>,
    devices: HashMap<String, DeviceState>,
    hints: Vec<Hint>,
    /// What each hint's watchers last saw; the de-duplication reference.
    published: HashMap<Extension, HintState>,
}

impl PresenceBook {
    /// A book holding what the store had, with `hints` from the config.
    pub fn new(
        hints: Vec<Hint>,
        providers: HashMap<String, PresenceValue>,
        devices: HashMap<String, DeviceState>,
    ) -> Self {
        let mut book = Self {
            providers,
            devices,
            hints,
            published: HashMap::new(),
        };
        book.published = book
            .hints
            .iter()
            .map(|hint| (hint.exten.clone(), book.evaluate(hint)))
            .collect();
        book
    }

    /// A provider's value (`not_set` if never set). `provider` must be normalised.
    pub fn presence(&self, provider: &str) -> PresenceValue {
        self.providers
            .get(provider)
            .cloned()
            .unwrap_or_else(PresenceValue::not_set)
    }

    /// Every provider that is set or named by a hint, sorted by name.
    pub fn providers(&self) -> Vec<(String, PresenceValue)> {
        let mut names: Vec<&String> = self.providers.keys().collect();
        names.extend(self.hints.iter().flat_map(|hint| hint.presence.iter()));
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| (name.clone(), self.presence(name)))
            .collect()
    }

    /// A device's state (`UNKNOWN` if never set).
    pub fn device(&self, device: &str) -> DeviceState {
        self.devices.get(device).copied().unwrap_or(DeviceState::Unknown)
    }

    /// Current state of every hint, in config order.
    pub fn hint_states(&self) -> Vec<HintState> {
        self.hints.iter().map(|hint| self.evaluate(hint)).collect()
    }

    /// Current state of one extension's hint.
    pub fn hint_state(&self, exten: &str) -> Option<HintState> {
        self.hints
            .iter()
            .find(|hint| hint.exten.as_str() == exten)
            .map(|hint| self.evaluate(hint))
    }

    /// The hints themselves (sources), in config order.
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    /// Plans setting `provider` (normalised). `None` if it would change
    /// nothing a watcher can see (Asterisk's repeat rule).
    pub fn plan_presence(
        &self,
        provider: &str,
        update: PresenceUpdate,
        now: u64,
    ) -> Result<Option<Plan>, BookError> {
        self.plan_value(provider, update.into_value(now))
    }

    /// Plans setting `provider` to any value, `unavailable` included: for
    /// values that Asterisk already accepted (`server::ami`).
    pub fn plan_value(&self, provider: &str, value: PresenceValue) -> Result<Option<Plan>, BookError> {
        if self
            .providers
            .get(provider)
            .is_some_and(|current| current.same_as(&value))
        {
            return Ok(None);
        }
        if !self.providers.contains_key(provider) && self.providers.len() >= MAX_ENTRIES {
            return Err(BookError::Full("presence providers"));
        }
        Ok(Some(Plan::SetPresence {
            provider: provider.to_owned(),
            value,
        }))
    }

    /// Plans clearing `provider` back to `not_set`; `None` if it is not set.
    pub fn plan_clear(&self, provider: &str) -> Option<Plan> {
        self.providers
            .contains_key(provider)
            .then(|| Plan::ClearPresence {
                provider: provider.to_owned(),
            })
    }

    /// Plans setting a device; `None` if it already has that state.
    pub fn plan_device(&self, device: &str, state: DeviceState) -> Result<Option<Plan>, BookError> {
        if self.device(device) == state
            && (self.devices.contains_key(device) || state == DeviceState::Unknown)
        {
            return Ok(None);
        }
        if !self.devices.contains_key(device) && self.devices.len() >= MAX_ENTRIES {
            return Err(BookError::Full("devices"));
        }
        Ok(Some(Plan::SetDevice {
            device: device.to_owned(),
            state,
        }))
    }

    /// Applies a committed plan; returns what watchers must hear.
    pub fn apply(&mut self, plan: Plan) -> Vec<Change> {
        let (source, first) = match plan {
            Plan::SetPresence { provider, value } => {
                self.providers.insert(provider.clone(), value.clone());
                (provider.clone(), Change::Presence { provider, value })
            }
            Plan::ClearPresence { provider } => {
                self.providers.remove(&provider);
                let value = PresenceValue::not_set();
                (provider.clone(), Change::Presence { provider, value })
            }
            Plan::SetDevice { device, state } => {
                self.devices.insert(device.clone(), state);
                (device.clone(), Change::Device { device, state })
            }
        };
        let mut changes = vec![first];
        let affected: Vec<usize> = (0..self.hints.len())
            .filter(|&i| {
                let hint = &self.hints[i];
                hint.devices
                    .iter()
                    .chain(&hint.presence)
                    .any(|name| *name == source)
            })
            .collect();
        for index in affected {
            let state = self.evaluate(&self.hints[index]);
            if let Some(change) = self.publish(state) {
                changes.push(change);
            }
        }
        changes
    }

    /// Replaces the hints (after a reload); returns the hint changes:
    /// new or changed hints, and removed ones.
    pub fn set_hints(&mut self, hints: Vec<Hint>) -> Vec<Change> {
        self.hints = hints;
        let mut changes = Vec::new();
        // A set: sites have tens of thousands of hints.
        let current: HashSet<&Extension> = self.hints.iter().map(|hint| &hint.exten).collect();
        let mut removed: Vec<Extension> = self
            .published
            .keys()
            .filter(|exten| !current.contains(exten))
            .cloned()
            .collect();
        removed.sort();
        for exten in removed {
            self.published.remove(&exten);
            changes.push(Change::HintRemoved { exten });
        }
        for state in self.hint_states() {
            if let Some(change) = self.publish(state) {
                changes.push(change);
            }
        }
        changes
    }

    fn evaluate(&self, hint: &Hint) -> HintState {
        let values: Vec<PresenceValue> = hint.presence.iter().map(|name| self.presence(name)).collect();
        HintState {
            exten: hint.exten.clone(),
            extension_state: ExtensionState::aggregate(hint.devices.iter().map(|device| self.device(device))),
            presence: combine_presence(&values),
        }
    }

    /// Records `state` as published unless watchers already saw the same.
    fn publish(&mut self, state: HintState) -> Option<Change> {
        if self
            .published
            .get(&state.exten)
            .is_some_and(|seen| seen.same_as(&state))
        {
            return None;
        }
        self.published.insert(state.exten.clone(), state.clone());
        Some(Change::Hint(state))
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
