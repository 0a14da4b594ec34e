//! `PresenceServer`: the presence event package on top of the endpoint —
//! SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856) and PUBLISH (RFC 3903). Sans-IO
//! like the endpoint it wraps: the driver feeds it bytes, time (`now` for
//! timers, `wall` Unix seconds for what is stored) and hint states as
//! events (`handle_hints`, `handle_change`; it keeps its own copy), and
//! carries out its outputs: transmits, durable presence writes
//! (`Output::Publish`, answered with `publish_committed`) and subscription
//! records (`Output::Store`).
//!
//! Where Asterisk and the RFCs differ, the RFC wins unless phones depend
//! on Asterisk's way: an initial `Expires: 0` is a one-shot fetch (RFC 6665
//! §4.4.3; Asterisk answers 400); 423 carries Min-Expires (RFC 6665
//! §4.2.1.1; Asterisk leaves it out); an Accept without PIDF gets 489, as
//! Asterisk's testsuite `mismatch` expects; terminated NOTIFYs carry a
//! reason except when the watcher asked (RFC 6665 §4.2.2); PUBLISH expiry
//! is capped and checked against the minimum (RFC 3903 §6 step 4, which
//! Asterisk does not do).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

mod body_cache;
mod check_sync;
mod config;
mod dispatch;
mod durability;
mod entity;
mod hints;
mod memory;
mod notifier;
mod publication;
mod subscribe;
mod summary;

use self::body_cache::BodyCache;
use self::check_sync::CheckSync;
pub use self::check_sync::CheckSyncResult;
pub use self::config::{LineAccess, PresenceServerConfig};
use self::publication::{PendingPublish, Publication};
pub use self::publication::{PublishFailure, PublishRefusal};
pub use self::summary::SubscriptionSummary;
use super::endpoint::{ClientId, Endpoint, EndpointConfig};
use super::framing::FramingError;
use super::peer::{ConnectionId, Peer, Transmit};
use super::response::ResponseBuilder;
use super::subscription::{NotifyContent, Subscription, SubscriptionRecord, reconnect_peer};
use crate::presence::{HintState, PresenceUpdate};

/// RFC 3856 §6.4 / RFC 3903: the interval when a request names none.
pub const DEFAULT_EXPIRES: u32 = 3600;

/// Work for the driver beyond sending bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Set `provider` durably, then call `publish_committed(token, …)`.
    Publish {
        token: u64,
        provider: String,
        update: PresenceUpdate,
    },
    /// Write (`Some`) or delete (`None`) a subscription record.
    Store { key: String, record: Option<Vec<u8>> },
    /// An authenticated request from a phone: where it is, for check-sync
    /// later. Only requests that passed digest are reported: a contact
    /// learned from anything else could be an attacker's, and check-sync
    /// would send a line's digest there.
    Seen {
        user: String,
        peer: Peer,
        contact: Option<String>,
        user_agent: String,
    },
    /// A check-sync NOTIFY finished.
    CheckSyncDone { token: u64, result: CheckSyncResult },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Expiry {
    Subscription(String),
    Publication(String),
}

/// The presence package.
pub struct PresenceServer {
    endpoint: Endpoint,
    config: PresenceServerConfig,
    /// By our local tag (unique per dialog).
    subscriptions: HashMap<String, Subscription>,
    /// (Call-ID, remote tag, local tag) → local tag.
    by_dialog: HashMap<(String, String, String), String>,
    by_exten: HashMap<String, BTreeSet<String>>,
    /// Live subscriptions per source address (for the per-address limit).
    by_address: HashMap<std::net::IpAddr, usize>,
    notifies: HashMap<ClientId, String>,
    /// Every hint's state as last handed in, by extension: what a new
    /// SUBSCRIBE gets first and a final NOTIFY carries.
    hints: HashMap<String, HintState>,
    publications: HashMap<String, Publication>,
    pending_publishes: HashMap<u64, PendingPublish>,
    /// 200s (and their NOTIFYs) waiting for records to be durable.
    confirmations: durability::Confirmations,
    check_syncs: HashMap<ClientId, CheckSync>,
    /// SUBSCRIBEs refused by a subscription limit (for metrics).
    pub refused_subscriptions: u64,
    /// NOTIFY states dropped from the one-deep queue (for metrics).
    pub superseded_notifies: u64,
    bodies: BodyCache,
    expiries: BinaryHeap<Reverse<(Instant, Expiry)>>,
    outputs: VecDeque<Output>,
    next_token: u64,
}

impl PresenceServer {
    pub fn new(endpoint: Endpoint, config: PresenceServerConfig) -> Self {
        Self {
            endpoint,
            config,
            subscriptions: HashMap::new(),
            by_dialog: HashMap::new(),
            by_exten: HashMap::new(),
            by_address: HashMap::new(),
            notifies: HashMap::new(),
            hints: HashMap::new(),
            publications: HashMap::new(),
            pending_publishes: HashMap::new(),
            confirmations: durability::Confirmations::default(),
            check_syncs: HashMap::new(),
            refused_subscriptions: 0,
            superseded_notifies: 0,
            bodies: BodyCache::default(),
            expiries: BinaryHeap::new(),
            outputs: VecDeque::new(),
            next_token: 0,
        }
    }

    /// After a reload.
    pub fn set_config(&mut self, endpoint: EndpointConfig, config: PresenceServerConfig) {
        self.endpoint.set_config(endpoint);
        self.config = config;
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Subscriptions loaded from the store after a restart: live ones get
    /// a NOTIFY with the current state, expired ones (and ones to
    /// extensions without a hint) are deleted. Call after `handle_hints`.
    pub fn restore(&mut self, now: Instant, wall: u64, records: Vec<(String, Vec<u8>)>) {
        for (key, bytes) in records {
            let record: Option<SubscriptionRecord> = serde_json::from_slice(&bytes).ok();
            let Some(subscription) = record.and_then(|record| Subscription::restore(record, now, wall))
            else {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            };
            let Some(state) = self.hint_state(subscription.exten.as_str()) else {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            };
            let tag = subscription.dialog.local_tag.clone();
            self.insert(now, subscription);
            self.store(now, wall, &tag);
            self.send_or_queue(now, &tag, NotifyContent::Active(state));
        }
    }

    pub fn handle_datagram(&mut self, now: Instant, wall: u64, peer: Peer, bytes: &[u8]) {
        self.endpoint.handle_datagram(now, peer, bytes);
        self.process_events(now, wall);
    }

    pub fn handle_stream_bytes(
        &mut self,
        now: Instant,
        wall: u64,
        peer: Peer,
        bytes: &[u8],
    ) -> Result<(), FramingError> {
        let result = self.endpoint.handle_stream_bytes(now, peer, bytes);
        self.process_events(now, wall);
        result
    }

    /// A stream connection is gone: NOTIFYs in flight on it fail.
    pub fn connection_lost(&mut self, now: Instant, wall: u64, connection: ConnectionId) {
        self.endpoint.connection_lost(now, connection);
        for subscription in self.subscriptions.values_mut() {
            if subscription.peer.connection != Some(connection) {
                continue;
            }
            let old_ip = subscription.peer.address.ip();
            subscription.peer = reconnect_peer(&subscription.dialog, subscription.peer);
            // The per-address count follows the subscription's address.
            let new_ip = subscription.peer.address.ip();
            if old_ip != new_ip {
                if let Some(count) = self.by_address.get_mut(&old_ip) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.by_address.remove(&old_ip);
                    }
                }
                *self.by_address.entry(new_ip).or_default() += 1;
            }
        }
        self.process_events(now, wall);
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: u64) {
        self.endpoint.handle_timeout(now);
        while let Some(Reverse((at, _))) = self.expiries.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, expiry))) = self.expiries.pop() else {
                break;
            };
            match expiry {
                Expiry::Subscription(tag) => {
                    let due = self
                        .subscriptions
                        .get(&tag)
                        .filter(|s| !s.terminating && s.expires_at <= now)
                        .map(|s| s.exten.to_string());
                    if let Some(exten) = due {
                        // The final NOTIFY carries the state, as Asterisk's does.
                        self.terminate(now, &tag, Some("timeout"), self.hint_state(&exten));
                    }
                }
                Expiry::Publication(etag) => {
                    if self.publications.get(&etag).is_some_and(|p| p.expires_at <= now) {
                        // The line's presence stays: it is the user's setting.
                        self.publications.remove(&etag);
                    }
                }
            }
        }
        self.process_events(now, wall);
    }

    /// The presence write for a PUBLISH finished (or was not taken).
    pub fn publish_committed(&mut self, now: Instant, token: u64, result: Result<(), PublishFailure>) {
        let Some(pending) = self.pending_publishes.remove(&token) else {
            return;
        };
        let tag = self.endpoint.random().token();
        let response = match result {
            Ok(()) => self.issue_etag(
                now,
                &pending.request,
                pending.peer,
                &tag,
                &pending.line,
                pending.expires,
            ),
            Err(PublishFailure::Refused(refusal)) => {
                ResponseBuilder::new(&pending.request, 500, pending.peer.address, &tag)
                    .reason(&refusal.to_string())
            }
            // The store failed or is behind: nothing changed, try later.
            Err(PublishFailure::Unavailable) => {
                ResponseBuilder::new(&pending.request, 503, pending.peer.address, &tag)
                    .header("Retry-After", durability::RETRY_AFTER)
            }
        };
        self.endpoint.respond(now, pending.id, response);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.endpoint.poll_transmit()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = self.expiries.peek().map(|Reverse((at, _))| *at);
        match (self.endpoint.poll_timeout(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Live subscriptions (not counting ones that are ending).
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.values().filter(|s| !s.terminating).count()
    }
}
