//! The hint states the package knows. The driver pushes them in — every
//! hint's state at start (`handle_hints`), then each change as the presence
//! book reports it (`handle_change`) — and the package keeps its own copy,
//! so it never calls out to ask. Watchers of a changed hint get the full
//! new state; watchers of a removed one get a final NOTIFY with
//! `reason=noresource` (RFC 6665 §4.2.2: the resource no longer exists).

use std::collections::HashSet;
use std::time::Instant;

use super::server::PresenceServer;
use crate::presence::{Change, HintState};
use crate::sip::subscription::NotifyContent;

impl PresenceServer {
    /// Every hint's current state: replaces what the package knew. Hints
    /// that are gone end their subscriptions; changed ones notify.
    pub fn handle_hints(&mut self, now: Instant, hints: Vec<HintState>) {
        self.advance_clock(now);
        let current: HashSet<String> = hints.iter().map(|state| state.exten.to_string()).collect();
        let mut gone: Vec<String> = self
            .hints
            .keys()
            .filter(|exten| !current.contains(*exten))
            .cloned()
            .collect();
        gone.sort();
        for exten in gone {
            self.hint_removed(now, &exten);
        }
        for state in hints {
            self.hint_changed(now, state);
        }
    }

    /// One change from the presence book. Only hint changes matter here:
    /// a provider or device change reaches watchers as the hint change it
    /// causes.
    pub fn handle_change(&mut self, now: Instant, change: Change) {
        self.advance_clock(now);
        match change {
            Change::Hint(state) => self.hint_changed(now, state),
            Change::HintRemoved { exten } => self.hint_removed(now, exten.as_str()),
            Change::Presence { .. } | Change::Device { .. } => {}
        }
    }

    /// The state a SUBSCRIBE to `exten` gets, if it has a hint.
    pub(super) fn hint_state(&self, exten: &str) -> Option<HintState> {
        self.hints.get(exten).cloned()
    }

    /// Every watcher gets the full state. A state the package already
    /// holds is no change (it can arrive twice when the driver's start-up
    /// read overlaps the first change), so it sends nothing.
    fn hint_changed(&mut self, now: Instant, state: HintState) {
        let exten = state.exten.as_str();
        if self.hints.get(exten).is_some_and(|known| known.same_as(&state)) {
            return;
        }
        // The state first: the NOTIFYs are built later, from it.
        self.hints.insert(exten.to_owned(), state.clone());
        let tags: Vec<String> = self.by_exten.get(exten).into_iter().flatten().cloned().collect();
        for tag in tags {
            self.send_or_queue(now, &tag, NotifyContent::Active);
        }
    }

    /// An extension lost its hint (a reload removed the line).
    fn hint_removed(&mut self, now: Instant, exten: &str) {
        self.hints.remove(exten);
        self.bodies.forget(exten);
        let tags: Vec<String> = self.by_exten.get(exten).into_iter().flatten().cloned().collect();
        for tag in tags {
            self.terminate(now, &tag, Some("noresource"), None);
        }
    }
}
