//! The order in which UDP server transactions completed, so that a full
//! transaction table makes room by forgetting the oldest completed one
//! rather than leaving the new request unremembered.
//!
//! Why: a request the table could not hold was answered statelessly, and
//! its retransmission was then handled as a new request. For a SUBSCRIBE
//! or PUBLISH that means a second digest check of a nonce count already
//! used (RFC 2617 §3.2.2: a repeated nonce-count is a replay; ours refuses
//! it), so the client got a 401 for a request it had
//! sent once — 7,761 of 10,000 failed watcher calls in `bench/fanout.sh
//! 10000`, where 64·T1 of Timer J (RFC 3261 §17.2.2) keeps more than
//! 20,000 transactions. A completed transaction only
//! sees a retransmission when its final response was lost; a new one sees
//! one whenever the answer is slower than T1, so the old one gives way.

use std::collections::{HashMap, VecDeque};

use super::transaction::{ServerKey, ServerTransaction};

/// Keys of completed UDP server transactions, oldest first. Timer J ends
/// them in the same order (each lives 64·T1 after completing), so pruning
/// the front after each Timer J keeps this no longer than the table.
#[derive(Debug, Default)]
pub(super) struct CompletedOrder(VecDeque<ServerKey>);

impl CompletedOrder {
    /// A UDP server transaction sent its final response.
    pub(super) fn completed(&mut self, key: ServerKey) {
        self.0.push_back(key);
    }

    /// Forgets the oldest completed transaction still in `servers`, if any
    /// (none when every one in the table is still pending).
    pub(super) fn evict_oldest(&mut self, servers: &mut HashMap<ServerKey, ServerTransaction>) {
        while let Some(key) = self.0.pop_front() {
            if servers.get(&key).is_some_and(|t| t.remove_at.is_some()) {
                servers.remove(&key);
                return;
            }
        }
    }

    /// Drops keys at the front whose transactions Timer J already ended.
    pub(super) fn prune(&mut self, servers: &HashMap<ServerKey, ServerTransaction>) {
        while self.0.front().is_some_and(|key| !servers.contains_key(key)) {
            self.0.pop_front();
        }
    }
}
