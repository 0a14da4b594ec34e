//! `Endpoint`: the SIP server state machine — its tables, the bytes and
//! time it takes in, and what the driver polls out. Request handling,
//! authentication and transactions are `impl Endpoint` blocks in the
//! sibling files.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::config::EndpointConfig;
use super::events::Event;
use crate::auth::{AuthGate, NonceSecret};
use crate::sip::framing::{Frame, FramingError, StreamFramer};
use crate::sip::parse::Framing;
use crate::sip::peer::{ConnectionId, Peer, Random, Transmit};
use crate::sip::server_transactions::ServerTransactions;
use crate::sip::transaction::{ClientTransaction, TimerQueue};

/// Most server transactions kept for retransmission absorption: enough
/// for twice the SUBSCRIBE knee (`server_transactions`). Beyond it the
/// oldest completed one gives way; when all are pending (a flood),
/// requests are still answered, just not remembered.
pub const MAX_SERVER_TRANSACTIONS: usize = 65_536;

/// Counters for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EndpointStats {
    pub requests: u64,
    pub malformed_answered: u64,
    pub malformed_dropped: u64,
    pub retransmissions_absorbed: u64,
    pub auth_failures: u64,
    pub challenges: u64,
    /// Requests answered without a stored transaction (table full).
    pub stateless_answers: u64,
    /// Responses that matched a transaction but came from another peer.
    pub responses_from_elsewhere: u64,
}

/// The SIP server state machine.
pub struct Endpoint {
    pub(super) config: EndpointConfig,
    pub(super) random: Random,
    pub(super) epoch: Instant,
    pub(super) gate: AuthGate,
    pub(super) servers: ServerTransactions,
    pub(super) clients: HashMap<u64, ClientTransaction>,
    pub(super) client_by_branch: HashMap<String, u64>,
    pub(super) next_client: u64,
    pub(super) framers: HashMap<ConnectionId, StreamFramer>,
    pub(super) timers: TimerQueue,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<Event>,
    pub stats: EndpointStats,
}

impl Endpoint {
    /// `now` anchors nonce timestamps (seconds since start).
    pub fn new(config: EndpointConfig, mut random: Random, secret: NonceSecret, now: Instant) -> Self {
        let _ = random.next_u64();
        Self {
            gate: AuthGate::new(secret, config.lockout.clone(), "sip"),
            config,
            random,
            epoch: now,
            servers: ServerTransactions::new(MAX_SERVER_TRANSACTIONS),
            clients: HashMap::new(),
            client_by_branch: HashMap::new(),
            next_client: 0,
            framers: HashMap::new(),
            timers: TimerQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
        }
    }

    /// New credentials or realm after a reload.
    pub fn set_config(&mut self, config: EndpointConfig) {
        self.config = config;
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Tags, branches and ETags for the application, from the same source.
    pub fn random(&mut self) -> &mut Random {
        &mut self.random
    }

    pub(super) fn seconds(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs()
    }

    /// One UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, bytes: &[u8]) {
        self.handle_message(now, peer, bytes, Framing::Datagram);
    }

    /// Bytes read from a stream connection. An error means the stream can
    /// no longer be framed: the driver must close the connection.
    pub fn handle_stream_bytes(
        &mut self,
        now: Instant,
        peer: Peer,
        bytes: &[u8],
    ) -> Result<(), FramingError> {
        let Some(connection) = peer.connection else {
            self.handle_datagram(now, peer, bytes);
            return Ok(());
        };
        let framer = self.framers.entry(connection).or_default();
        framer.push(bytes);
        loop {
            let frame = match self.framers.get_mut(&connection).map(StreamFramer::next_frame) {
                Some(Ok(Some(frame))) => frame,
                Some(Ok(None)) | None => return Ok(()),
                Some(Err(error)) => {
                    self.framers.remove(&connection);
                    self.stats.malformed_dropped += 1;
                    return Err(error);
                }
            };
            match frame {
                Frame::KeepAlive => self.transmits.push_back(Transmit {
                    peer,
                    bytes: b"\r\n".to_vec(),
                }),
                Frame::Message(message) => self.handle_message(now, peer, &message, Framing::Stream),
            }
        }
    }

    /// The driver closed or lost a connection.
    pub fn connection_closed(&mut self, connection: ConnectionId) {
        self.framers.remove(&connection);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.timers.next(), self.servers.next_timeout()) {
            (Some(client), Some(server)) => Some(client.min(server)),
            (client, server) => client.or(server),
        }
    }

    /// Shrinks transaction tables left mostly empty after a burst; true
    /// when any shrank (see `presence_server/memory.rs`).
    pub fn compact(&mut self) -> bool {
        self.servers.compact()
            | shrink_if_mostly_empty(&mut self.clients)
            | shrink_if_mostly_empty(&mut self.client_by_branch)
    }

    /// Live transaction counts (server, client), for tests and metrics.
    pub fn transaction_counts(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }
}

/// Tables smaller than this are never worth shrinking.
const MIN_SHRINK_CAPACITY: usize = 1024;

/// Shrinks `map` to twice its length when it is less than a quarter full;
/// true when it did. Amortised: a table must lose three quarters of its
/// entries between two shrinks.
pub(crate) fn shrink_if_mostly_empty<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) -> bool {
    if map.capacity() > MIN_SHRINK_CAPACITY && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
        return true;
    }
    false
}
