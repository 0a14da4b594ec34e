//! `PresenceServer`: the package's state — subscriptions by dialog,
//! extension and address, publications, held answers, the hint states it
//! was handed — and its surface for the driver: bytes and time in,
//! transmits and outputs out. The request handling lives in the sibling
//! files as further `impl PresenceServer` blocks.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use super::body_cache::BodyCache;
use super::check_sync_state::CheckSync;
use super::config::PresenceServerConfig;
use super::confirmations::{Confirmations, RETRY_AFTER};
use super::output::{Expiry, Output};
use super::publish_state::{PendingPublish, Publication, PublishFailure};
use super::shared_texts::SharedTexts;
use crate::presence::HintState;
use crate::sip::endpoint::{ClientId, Endpoint, EndpointConfig};
use crate::sip::framing::FramingError;
use crate::sip::peer::{ConnectionId, Peer, Transmit};
use crate::sip::response::ResponseBuilder;
use crate::sip::subscription::{Subscription, reconnect_peer};

/// The presence package.
pub struct PresenceServer {
    pub(super) endpoint: Endpoint,
    pub(super) config: PresenceServerConfig,
    /// By our local tag (unique per dialog).
    pub(super) subscriptions: HashMap<String, Subscription>,
    /// (Call-ID, remote tag, local tag) → local tag.
    pub(super) by_dialog: HashMap<(String, String, String), String>,
    pub(super) by_exten: HashMap<String, BTreeSet<String>>,
    /// Live subscriptions per source address (for the per-address limit).
    pub(super) by_address: HashMap<std::net::IpAddr, usize>,
    /// Texts subscriptions share (presentity, Contact, User-Agent).
    pub(super) texts: SharedTexts,
    pub(super) notifies: HashMap<ClientId, String>,
    /// Every hint's state as last handed in, by extension: what a new
    /// SUBSCRIBE gets first and a final NOTIFY carries.
    pub(super) hints: HashMap<String, HintState>,
    pub(super) publications: HashMap<String, Publication>,
    pub(super) pending_publishes: HashMap<u64, PendingPublish>,
    /// 200s (and their NOTIFYs) waiting for records to be durable.
    pub(super) confirmations: Confirmations,
    pub(super) check_syncs: HashMap<ClientId, CheckSync>,
    /// SUBSCRIBEs refused by a subscription limit (for metrics).
    pub refused_subscriptions: u64,
    /// NOTIFY states dropped from the one-deep queue (for metrics).
    pub superseded_notifies: u64,
    pub(super) bodies: BodyCache,
    pub(super) expiries: BinaryHeap<Reverse<(Instant, Expiry)>>,
    pub(super) outputs: VecDeque<Output>,
    pub(super) next_token: u64,
    /// Subscriptions whose queued NOTIFY waits to be built, in order
    /// (`notify_queue`).
    pub(super) ready: VecDeque<String>,
    /// The latest `now` handed in: when NOTIFYs built on demand are built.
    pub(super) clock: Option<Instant>,
    /// Restored subscriptions whose records are still to be rewritten,
    /// with the restore's (now, wall) to write them with (`restore`).
    pub(super) rewrites: VecDeque<String>,
    pub(super) rewrite_time: Option<(Instant, u64)>,
    /// Rewrites handed out since the last `hand_over_records`.
    pub(super) rewrites_handed: usize,
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
            texts: SharedTexts::default(),
            notifies: HashMap::new(),
            hints: HashMap::new(),
            publications: HashMap::new(),
            pending_publishes: HashMap::new(),
            confirmations: Confirmations::default(),
            check_syncs: HashMap::new(),
            refused_subscriptions: 0,
            superseded_notifies: 0,
            bodies: BodyCache::default(),
            expiries: BinaryHeap::new(),
            outputs: VecDeque::new(),
            next_token: 0,
            ready: VecDeque::new(),
            clock: None,
            rewrites: VecDeque::new(),
            rewrite_time: None,
            rewrites_handed: 0,
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

    pub fn handle_datagram(&mut self, now: Instant, wall: u64, peer: Peer, bytes: &[u8]) {
        self.advance_clock(now);
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
        self.advance_clock(now);
        let result = self.endpoint.handle_stream_bytes(now, peer, bytes);
        self.process_events(now, wall);
        result
    }

    /// A stream connection is gone: NOTIFYs in flight on it fail.
    pub fn connection_lost(&mut self, now: Instant, wall: u64, connection: ConnectionId) {
        self.advance_clock(now);
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
        self.advance_clock(now);
        self.build_notifies_ahead();
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
        self.advance_clock(now);
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
                    .header("Retry-After", RETRY_AFTER)
            }
        };
        self.endpoint.respond(now, pending.id, response);
    }

    /// The next message to send: the endpoint's (answers, resends)
    /// first, then the next NOTIFY in line, built now (`notify_queue`).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(transmit) = self.endpoint.poll_transmit() {
            return Some(transmit);
        }
        if self.build_next_notify() {
            return self.endpoint.poll_transmit();
        }
        None
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front().or_else(|| self.next_rewrite())
    }

    /// When `handle_timeout` is next due. While NOTIFYs wait to be built
    /// or restored records to be handed out, that is now (the latest time
    /// handed in): a driver that takes a bounded amount per turn comes
    /// straight back for the rest after serving its other input. Each
    /// `handle_timeout` builds a few of them, so a caller that only runs
    /// timers (never polling transmits) still sees the line empty.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let waiting = !self.ready.is_empty() || !self.rewrites.is_empty();
        if waiting && let Some(clock) = self.clock {
            return Some(clock);
        }
        let expiry = self.expiries.peek().map(|Reverse((at, _))| *at);
        match (self.endpoint.poll_timeout(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Live subscriptions (not counting ones that are ending). The
    /// driver reads it every turn, so it is the dialog index's size (an
    /// ending subscription is unindexed at once), not a walk over all.
    pub fn subscription_count(&self) -> usize {
        self.by_dialog.len()
    }

    /// PIDF bodies rendered since start: once per state change and
    /// variant, however many watchers a line has.
    pub fn pidf_renders(&self) -> u64 {
        self.bodies.renders
    }
}
