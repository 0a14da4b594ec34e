//! Nothing acknowledged that is not durable: a SUBSCRIBE's 200 (and the
//! NOTIFYs after it) are held back while the subscription's record is
//! being written. The driver hands the records over in batches
//! (`hand_over_records` names each batch with a ticket) and reports each
//! batch back with `subscriptions_stored` — in the meantime every other
//! request and NOTIFY keeps flowing (the task that owns SIP state never
//! waits on the disk). If the write fails or the store is too
//! far behind to take it, the request gets a 503 with a generic reason
//! (internal error text never goes on the wire) and Retry-After, a new
//! subscription is dropped again, and no NOTIFY is sent for it.

use std::time::Instant;

use super::confirmations::{RETRY_AFTER, Unconfirmed};
use super::server::PresenceServer;
use crate::sip::endpoint::RequestId;
use crate::sip::response::ResponseBuilder;

impl PresenceServer {
    /// Holds `answer` (a 200 to `id`) until the record of `tag` is durable.
    pub(super) fn await_record(&mut self, tag: &str, id: RequestId, answer: ResponseBuilder, created: bool) {
        *self.confirmations.held.entry(tag.to_owned()).or_default() += 1;
        self.confirmations.waiting.push(Unconfirmed {
            tag: tag.to_owned(),
            id,
            answer,
            created,
        });
    }

    /// The driver takes the records polled so far (`Output::Store`) to the
    /// store; the answers waiting on them are confirmed by `ticket`.
    pub fn hand_over_records(&mut self) -> u64 {
        self.rewrites_handed = 0;
        self.confirmations.next_ticket += 1;
        let ticket = self.confirmations.next_ticket;
        let waiting = std::mem::take(&mut self.confirmations.waiting);
        if !waiting.is_empty() {
            self.confirmations.handed.insert(ticket, waiting);
        }
        ticket
    }

    /// The records handed over with `ticket` were written (or the write
    /// failed, or the store could not take them).
    pub fn subscriptions_stored(&mut self, now: Instant, ticket: u64, stored: bool) {
        self.advance_clock(now);
        let Some(entries) = self.confirmations.handed.remove(&ticket) else {
            return;
        };
        for entry in entries {
            let released = match self.confirmations.held.get_mut(&entry.tag) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                _ => {
                    self.confirmations.held.remove(&entry.tag);
                    true
                }
            };
            if stored {
                self.endpoint.respond(now, entry.id, entry.answer);
            } else {
                let refusal = entry.answer.with_status(503).header("Retry-After", RETRY_AFTER);
                self.endpoint.respond(now, entry.id, refusal);
                if entry.created {
                    self.drop_subscription(&entry.tag);
                    continue;
                }
            }
            if released {
                self.release_notify(now, &entry.tag);
            }
        }
    }

    /// Puts the queued NOTIFY (one that waited for its record or for the
    /// one in flight) in line to be built unless one is in flight; a
    /// terminating subscription with nothing left to send is forgotten.
    pub(super) fn release_notify(&mut self, now: Instant, tag: &str) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        if subscription.in_flight.is_some() {
            return;
        }
        if subscription.queued.is_some() {
            self.schedule(now, tag);
        } else if subscription.terminating {
            self.subscriptions.remove(tag);
        }
    }
}
