//! The order in which UDP server transactions completed, with each one's
//! Timer J deadline: one queue that both ends them on time and tells a
//! full table which one to forget first.
//!
//! Why one queue: Timer J is the same 64·T1 for every UDP server
//! transaction (RFC 3261 §17.2.2), so deadlines come out in completion
//! order and a FIFO is the whole timer — no heap entry per transaction.
//! And a full table makes room by forgetting the oldest completed
//! transaction rather than leaving a new request unremembered: a request
//! the table could not hold was answered statelessly, and its
//! retransmission was then handled as a new request. For a SUBSCRIBE or
//! PUBLISH that means a second digest check of a nonce count already used
//! (RFC 2617 §3.2.2: a repeated nonce-count is a replay; ours refuses it),
//! so the client got a 401 for a request it had sent once — 7,761 of
//! 10,000 failed watcher calls in `bench/fanout.sh 10000`. A completed
//! transaction only sees a retransmission when its final response was
//! lost; a new one sees one whenever the answer is slower than T1, so the
//! old one gives way.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::transaction::{ServerKey, ServerTransaction};

/// Completed UDP server transactions, oldest first, with their Timer J
/// deadlines. Every completed UDP transaction in the table has exactly
/// one entry here, and leaves the table only through it (Timer J or
/// eviction), so the two stay the same length.
#[derive(Debug, Default)]
pub(super) struct CompletedOrder(VecDeque<(Instant, ServerKey)>);

impl CompletedOrder {
    /// A UDP server transaction sent its final response; Timer J ends it at `remove_at`.
    pub(super) fn completed(&mut self, remove_at: Instant, key: ServerKey) {
        self.0.push_back((remove_at, key));
    }

    /// Forgets the oldest completed transaction; false when none is
    /// (every one in the table is still pending).
    pub(super) fn evict_oldest(&mut self, servers: &mut HashMap<ServerKey, ServerTransaction>) -> bool {
        while let Some((_, key)) = self.0.pop_front() {
            if forget_completed(servers, &key) {
                return true;
            }
        }
        false
    }

    /// Timer J: ends every transaction whose deadline is `now` or earlier.
    pub(super) fn expire(&mut self, now: Instant, servers: &mut HashMap<ServerKey, ServerTransaction>) {
        while let Some(&(at, key)) = self.0.front() {
            if at > now {
                break;
            }
            self.0.pop_front();
            forget_completed(servers, &key);
        }
    }

    /// The next Timer J deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.0.front().map(|(at, _)| *at)
    }

    pub(super) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    pub(super) fn shrink_if_mostly_empty(&mut self) -> bool {
        let shrink = self.0.capacity() > 1024 && self.0.len() * 4 < self.0.capacity();
        if shrink {
            self.0.shrink_to(self.0.len() * 2);
        }
        shrink
    }
}

/// Removes `key` if it is a completed transaction (the invariant above
/// says it always is; checked so that a broken invariant can only keep a
/// transaction too long, never end a pending one).
fn forget_completed(servers: &mut HashMap<ServerKey, ServerTransaction>, key: &ServerKey) -> bool {
    let completed = matches!(servers.get(key), Some(ServerTransaction::Completed(_)));
    if completed {
        servers.remove(key);
    }
    completed
}
