//! `Endpoint`: the sans-IO SIP server. Bytes and time go in
//! (`handle_datagram`, `handle_stream_bytes`, `handle_timeout`), bytes and
//! decisions come out (`poll_transmit`, `poll_event`, `poll_timeout`).
//!
//! It answers on its own everything that needs no application decision —
//! OPTIONS, INVITE (405: we are no PBX), unknown methods (501), malformed
//! requests (400 saying what is wrong), retransmissions — and challenges
//! SUBSCRIBE and PUBLISH for digest credentials. Authenticated SUBSCRIBE
//! and PUBLISH requests become `Event::Request`s that the presence package
//! answers through `respond`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use super::completed_transactions::CompletedOrder;
use super::framing::{Frame, FramingError, StreamFramer};
use super::inspection::{Refusal, inspect};
use super::message::{Message, Method, Request, Response};
use super::parse::{Framing, parse};
use super::peer::{ConnectionId, Peer, Random, Transmit};
use super::response::{ACCEPT, ALLOW, ALLOW_EVENTS, OutgoingRequest, ResponseBuilder};
use super::transaction::{
    ClientState, ClientTransaction, ServerKey, ServerTransaction, T1, T2, T4, TimerQueue, TimerRef,
};
use super::uri::SipUri;
use crate::auth::{
    Algorithm, Challenge, DigestError, DigestVerifier, Lockout, LockoutPolicy, NonceSecret, Verdict,
    parse_digest,
};
use crate::config::{Secret, Transport};

/// What the endpoint needs from the config; replaced on reload.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub realm: String,
    pub require_auth: bool,
    /// Digest user (a line's authname) → password.
    pub credentials: HashMap<String, Secret>,
    /// Host for our Via sent-by and Contact.
    pub host: String,
    /// Our port per transport.
    pub ports: HashMap<Transport, u16>,
    /// Challenges offered, in order (`[sip] digest_algorithms`).
    pub algorithms: Vec<Algorithm>,
    /// Brute-force lock-out (read at start).
    pub lockout: LockoutPolicy,
}

/// Most server transactions kept for retransmission absorption. Beyond
/// it (a flood), requests are still answered, just not remembered: a
/// retransmission then gets a fresh answer, which is harmless.
pub const MAX_SERVER_TRANSACTIONS: usize = 20_000;

/// A request the application must answer; not `Clone`, so it is answered once.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestId(ServerKey);

/// Our own outgoing transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// What the application hears.
#[derive(Debug)]
pub enum Event {
    /// A SUBSCRIBE or PUBLISH, authenticated as `user` (`None` when auth
    /// is off), to be answered with `respond`.
    Request {
        id: RequestId,
        request: Box<Request>,
        peer: Peer,
        user: Option<String>,
    },
    /// The final response to one of our requests.
    Response { id: ClientId, response: Box<Response> },
    /// No final response within Timer F (or the connection is gone).
    Timeout { id: ClientId },
}

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
    config: EndpointConfig,
    random: Random,
    epoch: Instant,
    verifier: DigestVerifier,
    lockout: Lockout,
    servers: HashMap<ServerKey, ServerTransaction>,
    /// Completed UDP server transactions, oldest first: the first to go
    /// when `servers` is full (`completed_transactions`).
    completed: CompletedOrder,
    /// Where to answer requests whose transaction could not be stored.
    unstored: HashMap<ServerKey, Peer>,
    clients: HashMap<u64, ClientTransaction>,
    client_by_branch: HashMap<String, u64>,
    next_client: u64,
    framers: HashMap<ConnectionId, StreamFramer>,
    timers: TimerQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    pub stats: EndpointStats,
}

impl Endpoint {
    /// `now` anchors nonce timestamps (seconds since start).
    pub fn new(config: EndpointConfig, mut random: Random, secret: NonceSecret, now: Instant) -> Self {
        let _ = random.next_u64();
        Self {
            lockout: Lockout::new(config.lockout.clone()),
            config,
            random,
            epoch: now,
            verifier: DigestVerifier::new(secret),
            servers: HashMap::new(),
            completed: CompletedOrder::default(),
            unstored: HashMap::new(),
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

    fn seconds(&self, now: Instant) -> u64 {
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

    fn handle_message(&mut self, now: Instant, peer: Peer, bytes: &[u8], framing: Framing) {
        match parse(bytes, framing) {
            Ok(Message::Request(request)) => self.handle_request(now, peer, request),
            Ok(Message::Response(response)) => self.handle_response(now, peer, response),
            Err(malformed) => {
                let tag = self.random.token();
                let answer = malformed.answer_with.as_ref().and_then(|headers| {
                    ResponseBuilder::from_headers(headers, malformed.status, peer.address, &tag)
                });
                match answer {
                    Some(response) => {
                        self.stats.malformed_answered += 1;
                        tracing::debug!(%peer, reason = %malformed.reason, "malformed request answered");
                        let response = response.reason(&malformed.reason);
                        self.transmits.push_back(Transmit {
                            peer,
                            bytes: response.to_bytes(),
                        });
                    }
                    None => {
                        self.stats.malformed_dropped += 1;
                        tracing::debug!(%peer, reason = %malformed.reason, "malformed message dropped");
                    }
                }
            }
        }
    }

    fn handle_request(&mut self, now: Instant, peer: Peer, request: Request) {
        self.stats.requests += 1;
        let key = ServerKey::of(&request);
        if request.method == Method::Ack {
            // Either acknowledges our 405 to an INVITE, or nothing: no answer.
            return;
        }
        if let Some(existing) = self.servers.get(&key) {
            self.stats.retransmissions_absorbed += 1;
            if let Some(bytes) = existing.last_response.clone() {
                self.transmits.push_back(Transmit { peer, bytes });
            }
            return;
        }
        if self.servers.len() >= MAX_SERVER_TRANSACTIONS {
            self.completed.evict_oldest(&mut self.servers);
        }
        if self.servers.len() < MAX_SERVER_TRANSACTIONS {
            self.servers.insert(
                key.clone(),
                ServerTransaction {
                    peer,
                    last_response: None,
                    remove_at: None,
                },
            );
        } else {
            self.stats.stateless_answers += 1;
            // Answered within this same call (or by the application right
            // after the event), so this map stays tiny; bounded anyway.
            if self.unstored.len() < MAX_SERVER_TRANSACTIONS {
                self.unstored.insert(key.clone(), peer);
            }
        }
        let answer = |code| (code, None::<&str>);
        // SUBSCRIBE and PUBLISH are inspected after authentication;
        // CANCEL never is (§8.2.2.3), refused methods get their 405/501.
        if matches!(request.method, Method::Options | Method::Notify | Method::Bye)
            && let Some(refusal) = inspect(&request)
        {
            return self.refuse(now, key, &request, peer, refusal);
        }
        let (code, extra) = match &request.method {
            Method::Subscribe | Method::Publish => return self.authenticate(now, key, peer, request),
            Method::Options => answer(200),
            Method::Cancel => {
                let known = key
                    .cancelled()
                    .is_some_and(|target| self.servers.contains_key(&target));
                answer(if known { 200 } else { 481 })
            }
            Method::Bye | Method::Notify => answer(481),
            Method::Other(_) => (501, Some(ALLOW)),
            _ => (405, Some(ALLOW)),
        };
        let tag = self.random.token();
        let mut response = ResponseBuilder::new(&request, code, peer.address, &tag);
        if let Some(allow) = extra {
            response = response.header("Allow", allow);
        }
        if request.method == Method::Options && code == 200 {
            response = response
                .header("Allow", ALLOW)
                .header("Accept", ACCEPT)
                .header("Allow-Events", ALLOW_EVENTS);
        }
        self.reply(now, RequestId(key), response);
    }

    /// Digest check for SUBSCRIBE/PUBLISH; passes them on or challenges.
    fn authenticate(&mut self, now: Instant, key: ServerKey, peer: Peer, request: Request) {
        if !self.config.require_auth {
            if let Some(refusal) = inspect(&request) {
                return self.refuse(now, key, &request, peer, refusal);
            }
            self.events.push_back(Event::Request {
                id: RequestId(key),
                request: Box::new(request),
                peer,
                user: None,
            });
            return;
        }
        let seconds = self.seconds(now);
        if let Verdict::LockedOut { .. } = self.lockout.check(peer.address.ip(), seconds) {
            return self.refuse_locked_out(now, key, &request, peer);
        }
        let authorization = request
            .headers
            .lines("Authorization")
            .chain(request.headers.lines("Proxy-Authorization"))
            .find(|value| value.trim_start().to_ascii_lowercase().starts_with("digest"));
        let Some(authorization) = authorization else {
            return self.challenge(now, key, &request, peer, false);
        };
        let (user, outcome) = match parse_digest(authorization) {
            Ok(credentials) => {
                if let Verdict::LockedOut { .. } =
                    self.lockout
                        .check_user(peer.address.ip(), &credentials.username, seconds)
                {
                    return self.refuse_locked_out(now, key, &request, peer);
                }
                let password = self.config.credentials.get(&credentials.username).cloned();
                let outcome = match password {
                    None => Err(DigestError::WrongResponse),
                    // The digest covers the uri the client signed; clients
                    // differ in what they put there (sipp signs the host
                    // only, some phones their AOR), so it need not equal
                    // the Request-URI — but it must be a SIP URI.
                    Some(_) if SipUri::parse(&credentials.uri).is_err() => Err(DigestError::WrongResponse),
                    Some(password) => self.verifier.verify(
                        seconds,
                        &self.config.realm,
                        request.method.as_str(),
                        &credentials,
                        password.expose(),
                    ),
                };
                (credentials.username, outcome)
            }
            Err(_) => (String::new(), Err(DigestError::WrongResponse)),
        };
        match outcome {
            Ok(()) => {
                self.lockout.record_success(peer.address.ip(), &user);
                // RFC 3261 §8.2: header inspection follows authentication.
                if let Some(refusal) = inspect(&request) {
                    return self.refuse(now, key, &request, peer, refusal);
                }
                self.events.push_back(Event::Request {
                    id: RequestId(key),
                    request: Box::new(request),
                    peer,
                    user: Some(user),
                });
            }
            Err(DigestError::StaleNonce) => self.challenge(now, key, &request, peer, true),
            Err(error) => {
                self.stats.auth_failures += 1;
                tracing::debug!(%error, "SIP credentials refused");
                self.lockout
                    .failed_login(peer.address.ip(), &user, "sip", seconds);
                self.challenge(now, key, &request, peer, false);
            }
        }
    }

    fn refuse_locked_out(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer) {
        let tag = self.random.token();
        let response =
            ResponseBuilder::new(request, 403, peer.address, &tag).reason("Too Many Failed Authentications");
        self.reply(now, RequestId(key), response);
    }

    fn refuse(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer, refusal: Refusal) {
        let tag = self.random.token();
        let response = match refusal {
            Refusal::UriScheme => ResponseBuilder::new(request, 416, peer.address, &tag),
            Refusal::Extensions(tags) => {
                ResponseBuilder::new(request, 420, peer.address, &tag).header("Unsupported", tags.join(", "))
            }
        };
        self.reply(now, RequestId(key), response);
    }

    fn challenge(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer, stale: bool) {
        self.stats.challenges += 1;
        let nonce = self.verifier.nonce(self.seconds(now), &self.config.realm);
        let tag = self.random.token();
        let mut response = ResponseBuilder::new(request, 401, peer.address, &tag);
        for value in Challenge::each(&self.config.realm, &nonce, stale, &self.config.algorithms) {
            response = response.header("WWW-Authenticate", value);
        }
        self.reply(now, RequestId(key), response);
    }

    /// Answers a request from `Event::Request` (or our own dispatch).
    pub fn respond(&mut self, now: Instant, id: RequestId, response: ResponseBuilder) {
        self.reply(now, id, response);
    }

    fn reply(&mut self, now: Instant, RequestId(key): RequestId, response: ResponseBuilder) {
        let Some(transaction) = self.servers.get_mut(&key) else {
            // Not remembered (the table was full): answer the request's
            // source anyway, statelessly.
            if let Some(peer) = self.unstored.remove(&key) {
                self.transmits.push_back(Transmit {
                    peer,
                    bytes: response.to_bytes(),
                });
            }
            return;
        };
        let bytes = response.to_bytes();
        self.transmits.push_back(Transmit {
            peer: transaction.peer,
            bytes: bytes.clone(),
        });
        transaction.last_response = Some(bytes);
        if response.code >= 200 {
            // Timer J: absorb retransmissions for 64·T1 on UDP; at once on streams.
            let at = if transaction.peer.is_reliable() {
                now
            } else {
                self.completed.completed(key.clone());
                now + 64 * T1
            };
            transaction.remove_at = Some(at);
            self.timers.schedule(at, TimerRef::Server(key));
        }
    }

    /// Sends a request in a new client transaction; its final response
    /// (or timeout) comes back as an event.
    pub fn send_request(&mut self, now: Instant, peer: Peer, request: OutgoingRequest) -> ClientId {
        self.next_client += 1;
        let id = self.next_client;
        let branch = format!("z9hG4bK{}", self.random.token());
        let port = self.config.ports.get(&peer.transport).copied().unwrap_or(5060);
        let via = format!(
            "SIP/2.0/{} {}:{port};branch={branch};rport",
            peer.transport.as_str().to_ascii_uppercase(),
            self.config.host
        );
        let bytes = request.to_bytes(&via);
        self.transmits.push_back(Transmit {
            peer,
            bytes: bytes.clone(),
        });
        let retransmit_at = (!peer.is_reliable()).then(|| now + T1);
        let end_at = now + 64 * T1;
        if let Some(at) = retransmit_at {
            self.timers.schedule(at, TimerRef::Client(id));
        }
        self.timers.schedule(end_at, TimerRef::Client(id));
        self.client_by_branch.insert(branch.clone(), id);
        self.clients.insert(
            id,
            ClientTransaction {
                peer,
                branch,
                method: request.method,
                bytes,
                state: ClientState::Trying,
                retransmit_at,
                interval: T1,
                end_at,
            },
        );
        ClientId(id)
    }

    fn handle_response(&mut self, now: Instant, peer: Peer, response: Response) {
        let branch = response.core.vias[0].branch().unwrap_or_default().to_owned();
        let Some(&id) = self.client_by_branch.get(&branch) else {
            tracing::debug!(code = response.code, "response matches no transaction; dropped");
            return;
        };
        let Some(transaction) = self.clients.get_mut(&id) else {
            return;
        };
        // Only the peer we sent to may answer: a UAS sends responses back
        // to the request's source (RFC 3261 §18.2.2, RFC 3581 rport) or on
        // its connection (§18.2.2 for streams). Anyone else who learned
        // the branch must not be able to end the transaction or, for a
        // check-sync, obtain credentials with a challenge (issue 17).
        if (transaction.peer.transport, transaction.peer.address) != (peer.transport, peer.address) {
            self.stats.responses_from_elsewhere += 1;
            tracing::debug!(code = response.code, %peer, expected = %transaction.peer, "response from another peer; dropped");
            return;
        }
        if transaction.method != response.core.cseq_method || transaction.state == ClientState::Completed {
            return;
        }
        if response.code < 200 {
            transaction.state = ClientState::Proceeding;
            if !transaction.peer.is_reliable() {
                transaction.interval = T2;
            }
            return;
        }
        transaction.state = ClientState::Completed;
        transaction.retransmit_at = None;
        // Timer K: absorb response retransmissions for T4 on UDP.
        transaction.end_at = if transaction.peer.is_reliable() {
            now
        } else {
            now + T4
        };
        self.timers.schedule(transaction.end_at, TimerRef::Client(id));
        self.events.push_back(Event::Response {
            id: ClientId(id),
            response: Box::new(response),
        });
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                TimerRef::Server(key) => {
                    if self
                        .servers
                        .get(&key)
                        .and_then(|t| t.remove_at)
                        .is_some_and(|at| at <= now)
                    {
                        self.servers.remove(&key);
                        self.completed.prune(&self.servers);
                    }
                }
                TimerRef::Client(id) => self.client_timer(now, id),
            }
        }
    }

    fn client_timer(&mut self, now: Instant, id: u64) {
        let Some(transaction) = self.clients.get_mut(&id) else {
            return;
        };
        if transaction.end_at <= now {
            let timed_out = transaction.state != ClientState::Completed;
            let branch = transaction.branch.clone();
            self.clients.remove(&id);
            self.client_by_branch.remove(&branch);
            if timed_out {
                self.events.push_back(Event::Timeout { id: ClientId(id) });
            }
            return;
        }
        if let Some(at) = transaction.retransmit_at
            && at <= now
        {
            self.transmits.push_back(Transmit {
                peer: transaction.peer,
                bytes: transaction.bytes.clone(),
            });
            if transaction.state == ClientState::Trying {
                transaction.interval = (transaction.interval * 2).min(T2);
            }
            let next = now + transaction.interval;
            transaction.retransmit_at = Some(next);
            self.timers.schedule(next, TimerRef::Client(id));
        }
    }

    /// Ends every transaction on a connection that is gone (their
    /// responses can no longer be delivered).
    pub fn connection_lost(&mut self, now: Instant, connection: ConnectionId) {
        self.connection_closed(connection);
        let lost: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, t)| t.peer.connection == Some(connection) && t.state != ClientState::Completed)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(transaction) = self.clients.get_mut(&id) {
                transaction.end_at = now;
            }
            self.client_timer(now, id);
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Shrinks transaction tables left mostly empty after a burst; true
    /// when any shrank (see `presence_server/memory.rs`).
    pub fn compact(&mut self) -> bool {
        shrink_if_mostly_empty(&mut self.servers)
            | shrink_if_mostly_empty(&mut self.clients)
            | shrink_if_mostly_empty(&mut self.client_by_branch)
    }

    /// Live transaction counts (server, client), for tests and metrics.
    pub fn transaction_counts(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }

    /// Whether `user` from `ip` is currently locked out (for metrics and tests).
    pub fn is_locked_out(&self, ip: IpAddr, user: &str, now: Instant) -> bool {
        matches!(
            self.lockout.check_user(ip, user, self.seconds(now)),
            Verdict::LockedOut { .. }
        )
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
