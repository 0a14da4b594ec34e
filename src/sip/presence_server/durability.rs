//! Nothing acknowledged that is not durable: a SUBSCRIBE's 200 (and its
//! first NOTIFY) wait in the transmit queue while the driver writes the
//! subscription's record; if the write fails, the 200 is replaced by a
//! 503 with a generic reason (internal error text never goes on the
//! wire), a new subscription is dropped again, and its NOTIFY is not sent.
//! The driver calls `subscriptions_stored` after every write of records,
//! before it takes any transmit.

use std::time::Instant;

use super::PresenceServer;
use crate::sip::endpoint::{AnsweredRequest, ClientId};
use crate::sip::response::ResponseBuilder;

/// How long a refused watcher should wait before trying again (seconds).
const RETRY_AFTER: &str = "10";

/// A 200 still waiting for its record to be durable.
#[derive(Debug)]
pub(super) struct Unconfirmed {
    request: AnsweredRequest,
    refusal: ResponseBuilder,
    /// A new subscription (dropped on failure) rather than a refresh
    /// (kept as it was on disk; the watcher retries).
    created: bool,
}

impl Unconfirmed {
    pub(super) fn new(request: AnsweredRequest, refusal: ResponseBuilder, created: bool) -> Self {
        Self {
            request,
            refusal: refusal.header("Retry-After", RETRY_AFTER),
            created,
        }
    }
}

impl PresenceServer {
    /// The driver wrote (or failed to write) the records of everything
    /// answered since the last call.
    pub fn subscriptions_stored(&mut self, now: Instant, stored: bool) {
        let unconfirmed = std::mem::take(&mut self.unconfirmed);
        if stored {
            return;
        }
        for (tag, entry) in unconfirmed {
            self.endpoint
                .replace_queued_response(now, &entry.request, entry.refusal);
            if entry.created {
                let notifies: Vec<ClientId> = self
                    .notifies
                    .iter()
                    .filter(|(_, notified)| **notified == tag)
                    .map(|(id, _)| *id)
                    .collect();
                for id in notifies {
                    self.notifies.remove(&id);
                    self.endpoint.abandon_queued_request(id);
                }
                self.drop_subscription(&tag);
            }
        }
    }
}
