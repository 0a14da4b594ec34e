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
        // hashbrown keeps at most 7/8 of a power-of-two bucket count full,
        // each bucket one slot and one control byte.
        let buckets = (self.servers.capacity() * 8 / 7).next_power_of_two();
        let slots = buckets * (size_of::<(ServerKey, ServerTransaction)>() + 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;
    use crate::sip::parse::{Framing, parse};

    fn request(branch: u32) -> Request {
        let text = format!(
            "SUBSCRIBE sip:2001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{branch:08}\r\nFrom: <sip:2000@192.0.2.1>;tag=w\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: c{branch}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes(), Framing::Datagram) {
            Ok(Message::Request(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    /// The stored transaction's size, as heap bytes per entry with a full
    /// table of challenges (a 401 is ~420 bytes, the largest answer of a
    /// SUBSCRIBE call). Before, with three owned strings in the key, each
    /// cloned into a timer heap and an eviction queue, an entry cost
    /// ~1.3 KB beside its response; now the response and ~115 bytes
    /// (slots at the map's worst load, 16-byte keys, the Timer J queue).
    #[test]
    fn a_stored_transaction_costs_its_response_and_under_128_bytes() {
        assert_eq!(size_of::<ServerKey>(), 16);
        assert!(
            size_of::<ServerTransaction>() <= 24,
            "{}",
            size_of::<ServerTransaction>()
        );
        let start = Instant::now();
        let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
        let response = [b'x'; 420];
        let mut table = ServerTransactions::new(65_536);
        for branch in 0..65_536 {
            let key = table.key(&request(branch));
            assert_eq!(table.receive(key, peer), (Seen::New, true));
            assert_eq!(table.answer(start, key, 401, &response), Some(peer));
        }
        assert_eq!(table.len(), 65_536);
        let per_entry = table.bytes_per_entry();
        // 432 of them the response's own allocation.
        assert!(per_entry < 432 + 128, "{per_entry} bytes per stored transaction");
    }

    #[test]
    fn retransmissions_get_the_last_response_and_timer_j_ends_them_in_order() {
        let start = Instant::now();
        let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
        let mut table = ServerTransactions::new(4);
        let (first, second) = (table.key(&request(1)), table.key(&request(2)));
        assert_ne!(first, second);
        assert_eq!(table.receive(first, peer), (Seen::New, true));
        assert_eq!(
            table.receive(first, peer),
            (Seen::Retransmission(None), true),
            "no answer yet"
        );
        table.answer(start, first, 401, b"first");
        table.receive(second, peer);
        table.answer(start + T1, second, 200, b"second");
        assert_eq!(table.receive(first, peer).0, Seen::Retransmission(Some(b"first")));
        assert_eq!(table.next_timeout(), Some(start + 64 * T1));
        table.expire(start + 64 * T1);
        assert!(!table.contains(&first) && table.contains(&second));
        assert_eq!(table.next_timeout(), Some(start + 65 * T1));
        table.expire(start + 65 * T1);
        assert!(table.is_empty() && table.next_timeout().is_none());
    }

    #[test]
    fn a_table_full_of_pending_transactions_answers_statelessly() {
        let start = Instant::now();
        let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
        let mut table = ServerTransactions::new(1);
        let (pending, extra) = (table.key(&request(1)), table.key(&request(2)));
        table.receive(pending, peer);
        assert_eq!(table.receive(extra, peer), (Seen::New, false));
        assert_eq!(
            table.answer(start, extra, 200, b"ok"),
            Some(peer),
            "answered once"
        );
        assert_eq!(table.answer(start, extra, 200, b"ok"), None);
        assert_eq!(table.len(), 1);
    }
}
