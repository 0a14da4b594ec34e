//! Answers held until records are durable (`Unconfirmed`, `Confirmations`)
//! and how long a refused watcher waits (`RETRY_AFTER`): the tables
//! `durability` works on, in a leaf that `server` imports for its fields.

use std::collections::HashMap;

use crate::sip::endpoint::RequestId;
use crate::sip::response::ResponseBuilder;

/// How long a refused watcher should wait before trying again (seconds).
pub(super) const RETRY_AFTER: &str = "10";

/// A 200 still waiting for its record to be durable.
#[derive(Debug)]
pub(super) struct Unconfirmed {
    pub(super) tag: String,
    pub(super) id: RequestId,
    /// The 200; a refusal (503) is made from it if the store fails.
    pub(super) answer: ResponseBuilder,
    /// A new subscription (dropped on failure) rather than a refresh
    /// (kept as it was on disk; the watcher retries).
    pub(super) created: bool,
}

/// Unconfirmed answers: not yet handed over, and handed over by ticket.
#[derive(Debug, Default)]
pub(super) struct Confirmations {
    pub(super) waiting: Vec<Unconfirmed>,
    pub(super) handed: HashMap<u64, Vec<Unconfirmed>>,
    /// Subscriptions whose NOTIFYs wait (count of their unconfirmed answers).
    pub(super) held: HashMap<String, usize>,
    pub(super) next_ticket: u64,
}

impl Confirmations {
    /// Whether NOTIFYs for this subscription must wait.
    pub(super) fn holds(&self, tag: &str) -> bool {
        self.held.contains_key(tag)
    }
}
