//! The line of NOTIFYs still to build, handed out one per
//! `poll_transmit` (the way quinn's `poll_transmit` builds the next packet
//! on demand). A change to a line with 10,000 watchers only queues its
//! state on each subscription and puts them in line; the driver then
//! sends the first NOTIFY while the rest are not built yet, memory holds
//! no burst of built messages, and a driver that polls a bounded number
//! per turn serves its other input in between (`poll_timeout` says "now"
//! while anything waits).
//!
//! Each subscription is in line at most once (`Subscription::scheduled`)
//! and only while it has something queued, no NOTIFY in flight and no
//! answer held for its record; a newer state replaces the queued one
//! (`Subscription::queue`), so one NOTIFY in flight per subscription and
//! latest-wins hold whatever the order of events.

use std::time::Instant;

use super::server::PresenceServer;

/// NOTIFYs built ahead by one `handle_timeout` (the rest wait for polls).
const NOTIFIES_PER_TIMEOUT: usize = 64;

impl PresenceServer {
    /// Puts `tag` in line if it has a NOTIFY to send and may send it now.
    pub(super) fn schedule(&mut self, now: Instant, tag: &str) {
        self.advance_clock(now);
        let held = self.confirmations.holds(tag);
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        if subscription.scheduled || subscription.in_flight.is_some() || held || subscription.queued.is_none()
        {
            return;
        }
        subscription.scheduled = true;
        self.ready.push_back(tag.to_owned());
    }

    /// The latest time handed in: NOTIFYs built on demand are built "now"
    /// as the driver last said it (the core never reads the clock).
    pub(super) fn advance_clock(&mut self, now: Instant) {
        self.clock = Some(self.clock.map_or(now, |clock| clock.max(now)));
    }

    /// Builds and sends the next NOTIFY in line; true when one went (its
    /// transmit is then the endpoint's next). Entries whose subscription
    /// has since gone, or sent, or been held, are passed over.
    pub(super) fn build_next_notify(&mut self) -> bool {
        let Some(now) = self.clock else {
            return false;
        };
        while let Some(tag) = self.ready.pop_front() {
            let held = self.confirmations.holds(&tag);
            let Some(subscription) = self.subscriptions.get_mut(&tag) else {
                continue;
            };
            subscription.scheduled = false;
            if subscription.in_flight.is_some() || held {
                // Released again when it is answered or stored.
                continue;
            }
            let Some(content) = subscription.queued.take() else {
                continue;
            };
            if self.send_notify(now, tag, content) {
                return true;
            }
        }
        false
    }

    /// Builds a few NOTIFYs in line now, for the endpoint to hand out: the
    /// progress a timeout makes when the driver comes back because NOTIFYs
    /// wait (`poll_timeout`).
    pub(super) fn build_notifies_ahead(&mut self) {
        for _ in 0..NOTIFIES_PER_TIMEOUT {
            if !self.build_next_notify() {
                break;
            }
        }
    }

    /// Builds every NOTIFY in line now: for a request that must not
    /// overtake them (`send_check_sync`).
    pub(super) fn build_all_notifies(&mut self) {
        while self.build_next_notify() {}
    }

    /// NOTIFYs in line to be built (for tests and metrics).
    pub fn notifies_waiting(&self) -> usize {
        self.ready.len()
    }
}
