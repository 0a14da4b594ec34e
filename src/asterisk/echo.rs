//! Echo control for presence written to Asterisk: what Asterisk holds per
//! provider (as far as we know), and our writes still waiting for
//! Asterisk's announcement of them.
//!
//! Asterisk announces every write, repeats included (a `PresenceStateChange`
//! event per change, main/presencestate.c), and
//! in the order it applied them. So an announcement that arrives while one
//! of our writes is still queued was applied *before* that write and is
//! already overwritten: it is skipped. An announcement with nothing queued
//! is a change made in Asterisk, unless it repeats what Asterisk holds.
//!
//! Should an echo ever go unrecognised (a value Asterisk alters in a way
//! `presence_codec` does not model), its write would stay queued and every
//! later change of that provider in Asterisk would be skipped. So skipping
//! is bounded: past `MAX_SKIPPED` unmatched announcements in a row the
//! queue is taken to be stale and dropped, and the announcement is taken.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::presence_codec::{echoes, held_by_asterisk};
use crate::presence::PresenceValue;

/// Most writes queued per provider; past this the oldest is forgotten
/// (bounded memory if Asterisk stops announcing).
const MAX_QUEUED: usize = 64;
/// Unmatched announcements skipped in a row while writes are queued. A
/// real one is a change applied in Asterisk in the moment between our
/// Setvar and its echo; eight of those for one line do not happen.
const MAX_SKIPPED: usize = 8;

#[derive(Debug, Default)]
pub struct EchoControl {
    holds: HashMap<String, PresenceValue>,
    queued: HashMap<String, VecDeque<PresenceValue>>,
    /// Per provider: unmatched announcements skipped since the last echo.
    skipped: HashMap<String, usize>,
}

impl EchoControl {
    /// Starts over from Asterisk's listed values.
    pub fn listed(&mut self, asterisk: &BTreeMap<String, PresenceValue>) {
        self.holds = asterisk.clone().into_iter().collect();
        self.queued.clear();
        self.skipped.clear();
    }

    /// Whether Asterisk already holds `value` for `provider` (or all of it
    /// that a write would leave there: a long field is cut).
    pub fn holds(&self, provider: &str, value: &PresenceValue) -> bool {
        self.holds
            .get(provider)
            .is_some_and(|held| held.same_as(&held_by_asterisk(value)))
    }

    /// We are writing `value`.
    pub fn wrote(&mut self, provider: &str, value: &PresenceValue) {
        let queue = self.queued.entry(provider.to_owned()).or_default();
        if queue.len() == MAX_QUEUED {
            queue.pop_front();
        }
        queue.push_back(value.clone());
        self.holds.insert(provider.to_owned(), held_by_asterisk(value));
    }

    /// Asterisk refused our write of `value`: no announcement will come,
    /// and what Asterisk holds is unknown now (the next change goes out).
    pub fn refused(&mut self, provider: &str, value: &PresenceValue) {
        if let Some(queue) = self.queued.get_mut(provider)
            && let Some(index) = queue.iter().position(|queued| queued == value)
        {
            queue.remove(index);
        }
        self.holds.remove(provider);
    }

    /// Asterisk announced `value`; `true` if it is a change made in
    /// Asterisk that we must take.
    pub fn announced(&mut self, provider: &str, value: &PresenceValue) -> bool {
        if let Some(queue) = self.queued.get_mut(provider)
            && !queue.is_empty()
        {
            // Our own write coming back (drop it and any older ones it
            // overtook), or a change applied before our queued write.
            if let Some(index) = queue.iter().position(|sent| echoes(sent, value)) {
                queue.drain(..=index);
                self.skipped.remove(provider);
                return false;
            }
            let skipped = self.skipped.entry(provider.to_owned()).or_default();
            *skipped += 1;
            if *skipped <= MAX_SKIPPED {
                return false;
            }
            // Stale: an echo we did not recognise.
            queue.clear();
            self.skipped.remove(provider);
        }
        if self.holds(provider, value) {
            return false;
        }
        self.holds.insert(provider.to_owned(), value.clone());
        true
    }

    /// Providers with writes never confirmed (the connection was lost):
    /// what Asterisk holds for them is unknown.
    pub fn unconfirmed(&mut self) -> impl Iterator<Item = String> + '_ {
        self.skipped.clear();
        self.queued
            .drain()
            .filter(|(_, queue)| !queue.is_empty())
            .map(|(provider, _)| provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::PresenceState;

    fn value(state: PresenceState) -> PresenceValue {
        PresenceValue {
            state,
            subtype: String::new(),
            message: String::new(),
            changed_at: None,
        }
    }

    #[test]
    fn a_change_applied_before_our_queued_write_is_skipped_then_foreign_changes_pass() {
        let mut echo = EchoControl::default();
        let (away, dnd, xa) = (
            value(PresenceState::Away),
            value(PresenceState::Dnd),
            value(PresenceState::Xa),
        );
        echo.wrote("p", &away);
        echo.wrote("p", &dnd);
        assert!(!echo.announced("p", &xa), "applied before our writes");
        assert!(!echo.announced("p", &away));
        assert!(!echo.announced("p", &dnd));
        assert!(!echo.announced("p", &dnd), "a repeat of what Asterisk holds");
        assert!(echo.announced("p", &xa), "now a change made in Asterisk");
        assert!(echo.holds("p", &xa));
    }

    #[test]
    fn an_echo_that_overtakes_older_ones_drains_them() {
        let mut echo = EchoControl::default();
        echo.wrote("p", &value(PresenceState::Away));
        echo.wrote("p", &value(PresenceState::Dnd));
        assert!(!echo.announced("p", &value(PresenceState::Dnd)));
        assert_eq!(echo.unconfirmed().count(), 0);
        echo.wrote("q", &value(PresenceState::Chat));
        assert_eq!(echo.unconfirmed().collect::<Vec<_>>(), ["q"]);
    }

    #[test]
    fn a_refused_write_is_not_awaited() {
        let mut echo = EchoControl::default();
        let away = value(PresenceState::Away);
        echo.wrote("p", &away);
        echo.refused("p", &away);
        assert!(!echo.holds("p", &away));
        assert!(echo.announced("p", &value(PresenceState::Xa)));
    }

    /// An echo that is never recognised cannot hide Asterisk's changes
    /// for ever: after `MAX_SKIPPED` unmatched announcements the next is taken.
    #[test]
    fn an_unrecognised_echo_stops_being_awaited() {
        let mut echo = EchoControl::default();
        echo.wrote("p", &value(PresenceState::Away));
        let changes: Vec<PresenceValue> = (0..=MAX_SKIPPED)
            .map(|n| PresenceValue {
                message: format!("change {n}"),
                ..value(PresenceState::Dnd)
            })
            .collect();
        for change in &changes[..MAX_SKIPPED] {
            assert!(!echo.announced("p", change), "may be older than our write");
        }
        assert!(echo.announced("p", &changes[MAX_SKIPPED]));
        assert!(
            echo.announced("p", &value(PresenceState::Xa)),
            "nothing awaited any more"
        );
        assert_eq!(echo.unconfirmed().count(), 0);
        // A recognised echo resets the count.
        echo.wrote("p", &value(PresenceState::Chat));
        echo.wrote("p", &value(PresenceState::Away));
        for change in &changes[..MAX_SKIPPED] {
            assert!(!echo.announced("p", change));
        }
        assert!(!echo.announced("p", &value(PresenceState::Chat)));
        assert!(!echo.announced("p", &changes[0]), "the count started over");
    }
}
