//! The server-transaction table (RFC 3261 §17.2.2): every request the
//! endpoint is answering or has answered within Timer J, by `ServerKey`,
//! so that a retransmission gets the stored response instead of a second,
//! different answer. Bounded: when full, the oldest completed transaction
//! gives way (`completed_transactions`); when even that is impossible,
//! the request is answered statelessly.
//!
//! Sized for twice the SUBSCRIBE knee: 20,000 calls/s are 40,000 server
//! transactions/s, and a retransmission comes one to two seconds after
//! its original under that load (T1 = 500 ms, plus the queue), so the
//! table must hold ~64,000 to absorb it (docs/DECISIONS.md §22). Each
//! entry is therefore kept small: a 16-byte key, a boxed state, the
//! response as an exact-size box (`bytes_per_entry` measures it).

use std::collections::HashMap;
use std::time::Instant;

use super::completed_transactions::CompletedOrder;
use super::message::Request;
use super::peer::Peer;
use super::transaction::{ServerKey, ServerKeys, ServerTransaction, T1};

/// What the table knows of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// New: a transaction was started (or, when full, its peer noted for
    /// a stateless answer).
    New,
    /// A retransmission: its last response, if one was sent yet.
    Retransmission(Option<&'a [u8]>),
}

/// The table; see the module doc.
#[derive(Debug)]
pub struct ServerTransactions {
    keys: ServerKeys,
    servers: HashMap<ServerKey, ServerTransaction>,
    completed: CompletedOrder,
    /// Where to answer requests whose transaction could not be stored.
    unstored: HashMap<ServerKey, Peer>,
    capacity: usize,
}

impl ServerTransactions {
    pub fn new(capacity: usize) -> Self {
        Self {
            keys: ServerKeys::default(),
            servers: HashMap::new(),
            completed: CompletedOrder::default(),
            unstored: HashMap::new(),
            capacity,
        }
    }

    pub fn key(&self, request: &Request) -> ServerKey {
        self.keys.of(request)
    }

    /// The key of the INVITE a CANCEL targets.
    pub fn cancelled(&self, request: &Request) -> Option<ServerKey> {
        self.keys.cancelled(request)
    }

    pub fn contains(&self, key: &ServerKey) -> bool {
        self.servers.contains_key(key)
    }

    /// Looks `key` up, starting its transaction when it is new. `false`
    /// in the second field: the table was full of pending transactions,
    /// so this one is answered statelessly.
    pub fn receive(&mut self, key: ServerKey, peer: Peer) -> (Seen<'_>, bool) {
        if self.servers.contains_key(&key) {
            let last = self.servers.get(&key).and_then(ServerTransaction::last_response);
            return (Seen::Retransmission(last), true);
        }
        if self.servers.len() >= self.capacity {
            self.completed.evict_oldest(&mut self.servers);
        }
        if self.servers.len() < self.capacity {
            self.servers
                .insert(key, ServerTransaction::Trying(Box::new(peer)));
            return (Seen::New, true);
        }
        // Answered within this same call (or by the application right
        // after the event), so this map stays tiny; bounded anyway.
        if self.unstored.len() < self.capacity {
            self.unstored.insert(key, peer);
        }
        (Seen::New, false)
    }

    /// Records `response` (status `code`) as the transaction's last and
    /// says where to send it; `None` when the request is unknown.
    pub fn answer(&mut self, now: Instant, key: ServerKey, code: u16, response: &[u8]) -> Option<Peer> {
        let Some(transaction) = self.servers.get_mut(&key) else {
            return self.unstored.remove(&key);
        };
        let peer = transaction.peer()?;
        if code < 200 {
            *transaction = ServerTransaction::Proceeding(Box::new((peer, response.into())));
        } else if peer.is_reliable() {
            // Timer J is zero on reliable transports (§17.2.2).
            self.servers.remove(&key);
        } else {
            *transaction = ServerTransaction::Completed(response.into());
            self.completed.completed(now + 64 * T1, key);
        }
        Some(peer)
    }

    /// When Timer J next ends a transaction.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.completed.next()
    }

    /// Timer J: ends every completed transaction due at `now`.
    pub fn expire(&mut self, now: Instant) {
        self.completed.expire(now, &mut self.servers);
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Shrinks tables left mostly empty after a burst; true when any did.
    pub fn compact(&mut self) -> bool {
        crate::sip::endpoint::shrink_if_mostly_empty(&mut self.servers)
            | self.completed.shrink_if_mostly_empty()
    }

    /// Heap bytes the table holds per transaction: its slots (at the
    /// map's capacity), the Timer J queue, each state's box and stored
    /// response (what malloc hands out: at least 16 bytes, then in
    /// 16-byte steps, plus an 8-byte header). For tests and sizing.
    pub fn bytes_per_entry(&self) -> usize {
        let chunk = |bytes: usize| (bytes + 8).div_ceil(16).max(2) * 16;
        let slots = self.servers.capacity() * (size_of::<(ServerKey, ServerTransaction)>() + 1);
        let queue = self.completed.capacity() * size_of::<(Instant, ServerKey)>();
        let boxes: usize = self
            .servers
            .values()
            .map(|transaction| match transaction {
                ServerTransaction::Trying(_) => chunk(size_of::<Peer>()),
                ServerTransaction::Proceeding(proceeding) => {
                    chunk(size_of::<(Peer, Box<[u8]>)>()) + chunk(proceeding.1.len())
                }
                ServerTransaction::Completed(response) => chunk(response.len()),
            })
            .sum();
        (slots + queue + boxes) / self.servers.len().max(1)
    }
}
