//! `PresenceServer`: the presence event package on top of the endpoint —
//! SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856) and PUBLISH (RFC 3903). Sans-IO
//! like the endpoint it wraps: the driver feeds it bytes, time (`now` for
//! timers, `wall` Unix seconds for what is stored) and hint changes, and
//! carries out its outputs: transmits, durable presence writes
//! (`Output::Publish`, answered with `publish_committed`) and subscription
//! records (`Output::Store`).
//!
//! Decisions settled against Asterisk (reference §11): an initial
//! `Expires: 0` is a one-shot fetch; 423 carries Min-Expires; an Accept
//! without PIDF gets 489; terminated NOTIFYs carry a reason except when
//! the watcher asked; PUBLISH expiry is capped and checked against the
//! minimum.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::endpoint::{ClientId, Endpoint, EndpointConfig, Event, RequestId};
use super::framing::FramingError;
use super::header_views::contact_expires;
use super::message::{Method, Request};
use super::peer::{ConnectionId, Peer, Transmit};
use super::response::{ACCEPT, ALLOW_EVENTS, ResponseBuilder};
use super::subscription::{Dialog, NotifyContent, Subscription, SubscriptionRecord};
use super::uri::{NameAddr, SipUri};
use crate::presence::{HintState, PidfView, PresenceUpdate, is_digium_user_agent, read_pidf, render_pidf};

/// RFC 3856 §6.4 / RFC 3903: the interval when a request names none.
pub const DEFAULT_EXPIRES: u32 = 3600;

/// Current hint states, from the presence hub.
pub trait HintSource {
    fn hint_state(&self, exten: &str) -> Option<HintState>;
}

/// A line as PUBLISH sees it: who may publish for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAccess {
    pub name: String,
    pub exten: String,
    /// Digest users allowed to publish: the line's own authname and those
    /// of lines on the same phone.
    pub publishers: Vec<String>,
}

/// Settings from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceServerConfig {
    pub min_expires: u32,
    pub max_expires: u32,
    pub lines: Vec<LineAccess>,
}

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
}

/// A PUBLISH waiting for its presence write.
struct PendingPublish {
    id: RequestId,
    request: Box<Request>,
    peer: Peer,
    line: String,
    expires: u32,
}

/// A publication's entity tag and when it lapses.
struct Publication {
    line: String,
    expires_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Expiry {
    Subscription(String),
    Publication(String),
}

/// A subscription as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionSummary {
    pub exten: String,
    pub watcher: String,
    pub peer: String,
    pub user_agent: String,
    pub digium: bool,
    pub expires_in: u64,
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
    notifies: HashMap<ClientId, String>,
    publications: HashMap<String, Publication>,
    pending_publishes: HashMap<u64, PendingPublish>,
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
            notifies: HashMap::new(),
            publications: HashMap::new(),
            pending_publishes: HashMap::new(),
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
    /// a NOTIFY with the current state, expired ones are deleted.
    pub fn restore(
        &mut self,
        now: Instant,
        wall: u64,
        records: Vec<(String, Vec<u8>)>,
        hints: &dyn HintSource,
    ) {
        for (key, bytes) in records {
            let record: Option<SubscriptionRecord> = serde_json::from_slice(&bytes).ok();
            let Some(subscription) = record.and_then(|record| Subscription::restore(record, now, wall))
            else {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            };
            let Some(state) = hints.hint_state(subscription.exten.as_str()) else {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            };
            let tag = subscription.dialog.local_tag.clone();
            self.insert(now, subscription);
            self.store(now, wall, &tag);
            self.send_or_queue(now, &tag, NotifyContent::Active(state));
        }
    }

    pub fn handle_datagram(
        &mut self,
        now: Instant,
        wall: u64,
        peer: Peer,
        bytes: &[u8],
        hints: &dyn HintSource,
    ) {
        self.endpoint.handle_datagram(now, peer, bytes);
        self.process_events(now, wall, hints);
    }

    pub fn handle_stream_bytes(
        &mut self,
        now: Instant,
        wall: u64,
        peer: Peer,
        bytes: &[u8],
        hints: &dyn HintSource,
    ) -> Result<(), FramingError> {
        let result = self.endpoint.handle_stream_bytes(now, peer, bytes);
        self.process_events(now, wall, hints);
        result
    }

    /// A stream connection is gone: NOTIFYs in flight on it fail.
    pub fn connection_lost(
        &mut self,
        now: Instant,
        wall: u64,
        connection: ConnectionId,
        hints: &dyn HintSource,
    ) {
        self.endpoint.connection_lost(now, connection);
        for subscription in self.subscriptions.values_mut() {
            if subscription.peer.connection == Some(connection) {
                subscription.peer.connection = None;
            }
        }
        self.process_events(now, wall, hints);
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: u64, hints: &dyn HintSource) {
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
                        .is_some_and(|s| !s.terminating && s.expires_at <= now);
                    if due {
                        self.terminate(now, &tag, Some("timeout"), None);
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
        self.process_events(now, wall, hints);
    }

    /// An extension's state changed: every watcher gets the full state.
    pub fn handle_hint_change(&mut self, now: Instant, state: &HintState) {
        let tags: Vec<String> = self
            .by_exten
            .get(state.exten.as_str())
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for tag in tags {
            self.send_or_queue(now, &tag, NotifyContent::Active(state.clone()));
        }
    }

    /// An extension lost its hint (a reload removed the line).
    pub fn handle_hint_removed(&mut self, now: Instant, exten: &str) {
        let tags: Vec<String> = self.by_exten.get(exten).into_iter().flatten().cloned().collect();
        for tag in tags {
            self.terminate(now, &tag, Some("noresource"), None);
        }
    }

    /// The presence write for a PUBLISH finished.
    pub fn publish_committed(&mut self, now: Instant, token: u64, result: Result<(), String>) {
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
            Err(reason) => {
                ResponseBuilder::new(&pending.request, 500, pending.peer.address, &tag).reason(&reason)
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

    pub fn summaries(&self, now: Instant) -> Vec<SubscriptionSummary> {
        let mut list: Vec<SubscriptionSummary> = self
            .subscriptions
            .values()
            .filter(|s| !s.terminating)
            .map(|s| SubscriptionSummary {
                exten: s.exten.to_string(),
                watcher: s.dialog.remote_uri.clone(),
                peer: s.peer.to_string(),
                user_agent: s.user_agent.clone(),
                digium: s.digium,
                expires_in: s.remaining(now),
            })
            .collect();
        list.sort_by(|a, b| (&a.exten, &a.watcher).cmp(&(&b.exten, &b.watcher)));
        list
    }

    fn process_events(&mut self, now: Instant, wall: u64, hints: &dyn HintSource) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::Request {
                    id,
                    request,
                    peer,
                    user,
                } => match request.method {
                    Method::Subscribe => self.subscribe(now, wall, id, *request, peer, hints),
                    Method::Publish => self.publish(now, id, request, peer, user, hints),
                    _ => {
                        let tag = self.endpoint.random().token();
                        let response = ResponseBuilder::new(&request, 405, peer.address, &tag);
                        self.endpoint.respond(now, id, response);
                    }
                },
                Event::Response { id, response } => {
                    let Some(tag) = self.notifies.remove(&id) else {
                        continue;
                    };
                    if (200..300).contains(&response.code) {
                        self.notify_done(now, &tag);
                    } else {
                        tracing::debug!(code = response.code, "NOTIFY refused; subscription ends");
                        self.drop_subscription(&tag);
                    }
                }
                Event::Timeout { id } => {
                    if let Some(tag) = self.notifies.remove(&id) {
                        tracing::debug!("NOTIFY timed out; subscription ends");
                        self.drop_subscription(&tag);
                    }
                }
            }
        }
    }

    /// A response with a fresh To-tag (for refusals outside any dialog).
    fn response(&mut self, request: &Request, peer: Peer, code: u16) -> ResponseBuilder {
        let tag = self.endpoint.random().token();
        ResponseBuilder::new(request, code, peer.address, &tag)
    }

    /// The requested interval: Expires, else the Contact's expires
    /// parameter, else the package default.
    fn requested_expires(request: &Request) -> u32 {
        request
            .expires()
            .or_else(|| contact_expires(&request.headers))
            .unwrap_or(DEFAULT_EXPIRES)
    }

    fn subscribe(
        &mut self,
        now: Instant,
        wall: u64,
        id: RequestId,
        request: Request,
        peer: Peer,
        hints: &dyn HintSource,
    ) {
        let refuse = |server: &mut Self, id: RequestId, code: u16, extra: Option<(&str, String)>| {
            let mut response = server.response(&request, peer, code);
            if let Some((name, value)) = extra {
                response = response.header(name, value);
            }
            server.endpoint.respond(now, id, response);
        };
        let is_presence = request.event().is_some_and(|event| event.package == "presence");
        if !is_presence {
            return refuse(self, id, 489, Some(("Allow-Events", ALLOW_EVENTS.to_owned())));
        }
        let accept = request.accept();
        if !accept.is_empty() && !accept.iter().any(|t| t == ACCEPT) {
            return refuse(self, id, 489, Some(("Allow-Events", ALLOW_EVENTS.to_owned())));
        }
        let requested = Self::requested_expires(&request);
        if let Some(local_tag) = request.core.to.param("tag") {
            return self.resubscribe(
                now,
                wall,
                id,
                &request,
                peer,
                local_tag.to_owned(),
                requested,
                hints,
            );
        }
        let Ok(uri) = SipUri::parse(&request.uri) else {
            return refuse(self, id, 416, None);
        };
        let exten = uri.user_name().unwrap_or_default().to_owned();
        let Some(state) = hints.hint_state(&exten) else {
            return refuse(self, id, 404, None);
        };
        if requested > 0 && requested < self.config.min_expires {
            return refuse(
                self,
                id,
                423,
                Some(("Min-Expires", self.config.min_expires.to_string())),
            );
        }
        let Some(contact) = request
            .headers
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
        else {
            return refuse(self, id, 400, None);
        };
        let granted = requested.min(self.config.max_expires);
        let local_tag = self.endpoint.random().token();
        let our_contact = self.contact(&exten, peer);
        let port = uri.port.map(|p| format!(":{p}")).unwrap_or_default();
        let host = if uri.host.contains(':') {
            format!("[{}]", uri.host)
        } else {
            uri.host.clone()
        };
        let entity = format!("sip:{exten}@{host}{port}");
        let user_agent = request.user_agent().unwrap_or("").to_owned();
        let subscription = Subscription {
            exten: state.exten.clone(),
            dialog: Dialog {
                call_id: request.core.call_id.clone(),
                local_tag: local_tag.clone(),
                remote_tag: request.core.from.param("tag").unwrap_or("").to_owned(),
                local_uri: request.core.to.uri.clone(),
                remote_uri: request.core.from.uri.clone(),
                remote_target: contact.uri.clone(),
                route_set: request
                    .headers
                    .values("Record-Route")
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect(),
                local_cseq: 0,
                remote_cseq: request.core.cseq,
            },
            peer,
            expires_at: now + Duration::from_secs(u64::from(granted)),
            event_id: request.event().and_then(|e| e.id),
            digium: is_digium_user_agent(&user_agent),
            user_agent,
            entity,
            contact: our_contact.clone(),
            in_flight: None,
            queued: None,
            terminating: false,
        };
        let response = ResponseBuilder::new(&request, 200, peer.address, &local_tag)
            .header("Expires", granted.to_string())
            .header("Contact", our_contact);
        self.endpoint.respond(now, id, response);
        self.insert(now, subscription);
        if granted == 0 {
            // RFC 6665 §4.4.3: a fetch — one terminated NOTIFY with the state.
            return self.terminate(now, &local_tag, Some("timeout"), Some(state));
        }
        self.store(now, wall, &local_tag);
        self.send_or_queue(now, &local_tag, NotifyContent::Active(state));
    }

    #[allow(clippy::too_many_arguments)]
    fn resubscribe(
        &mut self,
        now: Instant,
        wall: u64,
        id: RequestId,
        request: &Request,
        peer: Peer,
        local_tag: String,
        requested: u32,
        hints: &dyn HintSource,
    ) {
        let key = (
            request.core.call_id.clone(),
            request.core.from.param("tag").unwrap_or("").to_owned(),
            local_tag,
        );
        let Some(tag) = self.by_dialog.get(&key).cloned() else {
            let response = self.response(request, peer, 481);
            return self.endpoint.respond(now, id, response);
        };
        if requested > 0 && requested < self.config.min_expires {
            let response = self
                .response(request, peer, 423)
                .header("Min-Expires", self.config.min_expires.to_string());
            return self.endpoint.respond(now, id, response);
        }
        let granted = requested.min(self.config.max_expires);
        let Some(subscription) = self.subscriptions.get_mut(&tag) else {
            return;
        };
        if request.core.cseq <= subscription.dialog.remote_cseq {
            let response = ResponseBuilder::new(request, 500, peer.address, &tag).reason("CSeq Out of Order");
            return self.endpoint.respond(now, id, response);
        }
        subscription.dialog.remote_cseq = request.core.cseq;
        // A NAT may have moved the watcher: follow its current address.
        subscription.peer = peer;
        if let Some(contact) = request
            .headers
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
        {
            subscription.dialog.remote_target = contact.uri;
        }
        let exten = subscription.exten.to_string();
        let contact = subscription.contact.clone();
        let response = ResponseBuilder::new(request, 200, peer.address, &tag)
            .header("Expires", granted.to_string())
            .header("Contact", contact);
        self.endpoint.respond(now, id, response);
        if granted == 0 {
            // The watcher asked: no reason (RFC 6665 §4.2.2 leaves it out).
            return self.terminate(now, &tag, None, None);
        }
        if let Some(subscription) = self.subscriptions.get_mut(&tag) {
            subscription.expires_at = now + Duration::from_secs(u64::from(granted));
            self.expiries.push(Reverse((
                subscription.expires_at,
                Expiry::Subscription(tag.clone()),
            )));
        }
        self.store(now, wall, &tag);
        match hints.hint_state(&exten) {
            Some(state) => self.send_or_queue(now, &tag, NotifyContent::Active(state)),
            None => self.terminate(now, &tag, Some("noresource"), None),
        }
    }

    fn contact(&self, exten: &str, peer: Peer) -> String {
        let config = self.endpoint.config();
        let port = config.ports.get(&peer.transport).copied().unwrap_or(5060);
        format!(
            "<sip:{exten}@{}:{port};transport={}>",
            config.host, peer.transport
        )
    }

    fn insert(&mut self, _now: Instant, subscription: Subscription) {
        let tag = subscription.dialog.local_tag.clone();
        let key = (
            subscription.dialog.call_id.clone(),
            subscription.dialog.remote_tag.clone(),
            tag.clone(),
        );
        self.by_dialog.insert(key, tag.clone());
        self.by_exten
            .entry(subscription.exten.to_string())
            .or_default()
            .insert(tag.clone());
        self.expiries.push(Reverse((
            subscription.expires_at,
            Expiry::Subscription(tag.clone()),
        )));
        self.subscriptions.insert(tag, subscription);
    }

    fn store(&mut self, now: Instant, wall: u64, tag: &str) {
        if let Some(subscription) = self.subscriptions.get(tag) {
            let record = serde_json::to_vec(&subscription.record(now, wall)).expect("records serialise");
            self.outputs.push_back(Output::Store {
                key: tag.to_owned(),
                record: Some(record),
            });
        }
    }

    /// Sends now, or queues behind the one NOTIFY in flight (a newer state
    /// replaces an older queued one: a burst ends with the latest state).
    fn send_or_queue(&mut self, now: Instant, tag: &str, content: NotifyContent) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        if subscription.in_flight.is_some() {
            subscription.queue(content);
            return;
        }
        self.send_notify(now, tag, content);
    }

    fn send_notify(&mut self, now: Instant, tag: &str, content: NotifyContent) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        let state = match &content {
            NotifyContent::Active(state) => Some(state),
            NotifyContent::Terminated { state, .. } => state.as_ref(),
        };
        let body = state.map(|state| {
            render_pidf(&PidfView {
                entity: &subscription.entity,
                watcher: &watcher_uri(&subscription.dialog.remote_uri),
                state,
                digium: subscription.digium,
            })
        });
        let request = subscription.notify_request(now, &content, body);
        let peer = subscription.peer;
        let id = self.endpoint.send_request(now, peer, request);
        if let Some(subscription) = self.subscriptions.get_mut(tag) {
            subscription.in_flight = Some(id);
        }
        self.notifies.insert(id, tag.to_owned());
    }

    fn notify_done(&mut self, now: Instant, tag: &str) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        subscription.in_flight = None;
        match subscription.queued.take() {
            Some(content) => self.send_notify(now, tag, content),
            None if subscription.terminating => {
                self.subscriptions.remove(tag);
            }
            None => {}
        }
    }

    /// Ends a subscription with a final NOTIFY; forgets the dialog now.
    fn terminate(&mut self, now: Instant, tag: &str, reason: Option<&'static str>, state: Option<HintState>) {
        self.unindex(tag);
        self.outputs.push_back(Output::Store {
            key: tag.to_owned(),
            record: None,
        });
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        subscription.terminating = true;
        let content = NotifyContent::Terminated { reason, state };
        if subscription.in_flight.is_some() {
            subscription.queued = Some(content);
        } else {
            self.send_notify(now, tag, content);
        }
    }

    /// The watcher refused a NOTIFY or did not answer: forget it entirely.
    fn drop_subscription(&mut self, tag: &str) {
        let was_live = self.subscriptions.get(tag).is_some_and(|s| !s.terminating);
        self.unindex(tag);
        self.subscriptions.remove(tag);
        if was_live {
            self.outputs.push_back(Output::Store {
                key: tag.to_owned(),
                record: None,
            });
        }
    }

    fn unindex(&mut self, tag: &str) {
        let Some(subscription) = self.subscriptions.get(tag) else {
            return;
        };
        let key = (
            subscription.dialog.call_id.clone(),
            subscription.dialog.remote_tag.clone(),
            tag.to_owned(),
        );
        self.by_dialog.remove(&key);
        if let Some(tags) = self.by_exten.get_mut(subscription.exten.as_str()) {
            tags.remove(tag);
        }
    }

    fn publish(
        &mut self,
        now: Instant,
        id: RequestId,
        request: Box<Request>,
        peer: Peer,
        user: Option<String>,
        _hints: &dyn HintSource,
    ) {
        let refuse = |server: &mut Self, id: RequestId, response: ResponseBuilder| {
            server.endpoint.respond(now, id, response)
        };
        let tag = self.endpoint.random().token();
        let base = |code| ResponseBuilder::new(&request, code, peer.address, &tag);
        let Ok(uri) = SipUri::parse(&request.uri) else {
            return refuse(self, id, base(416));
        };
        let exten = uri.user_name().unwrap_or_default();
        let Some(line) = self.config.lines.iter().find(|line| line.exten == exten).cloned() else {
            return refuse(self, id, base(404));
        };
        if request.event().is_none_or(|event| event.package != "presence") {
            return refuse(self, id, base(489).header("Allow-Events", ALLOW_EVENTS));
        }
        if let Some(user) = &user
            && !line.publishers.contains(user)
        {
            return refuse(self, id, base(403).reason("Not Your Line"));
        }
        let requested = Self::requested_expires(&request);
        if requested > 0 && requested < self.config.min_expires {
            return refuse(
                self,
                id,
                base(423).header("Min-Expires", self.config.min_expires.to_string()),
            );
        }
        let expires = requested.min(self.config.max_expires);
        let if_match = request.sip_if_match().map(str::to_owned);
        if let Some(etag) = &if_match {
            let known = self
                .publications
                .get(etag)
                .is_some_and(|p| p.line == line.name && p.expires_at > now);
            if !known {
                return refuse(self, id, base(412));
            }
        }
        let has_body = !request.body.is_empty();
        match (&if_match, has_body, expires) {
            (None, false, _) => {
                return refuse(self, id, base(400).reason("PUBLISH Without Body Or SIP-If-Match"));
            }
            (None, true, 0) => return refuse(self, id, base(400).reason("Initial PUBLISH With Expires 0")),
            // Remove: the etag goes, the line's presence stays.
            (Some(etag), _, 0) => {
                self.publications.remove(etag);
                let response = self.issue_etag(now, &request, peer, &tag, &line.name, 0);
                return self.endpoint.respond(now, id, response);
            }
            // Refresh: a new etag, a new expiry, nothing else.
            (Some(etag), false, _) => {
                self.publications.remove(etag);
                let response = self.issue_etag(now, &request, peer, &tag, &line.name, expires);
                return self.endpoint.respond(now, id, response);
            }
            _ => {}
        }
        if request.content_type().as_deref() != Some(ACCEPT) {
            return refuse(self, id, base(415).header("Accept", ACCEPT));
        }
        let body = String::from_utf8_lossy(&request.body);
        let published = match read_pidf(&body) {
            Ok(published) => published,
            Err(error) => return refuse(self, id, base(400).reason(&error.to_string())),
        };
        let update = match PresenceUpdate::new(&published.state, &published.subtype, &published.message) {
            Ok(update) => update,
            Err(error) => {
                let host = self.endpoint.config().host.clone();
                let text = error.to_string().replace(['"', '\\'], "'");
                return refuse(
                    self,
                    id,
                    base(488).header("Warning", format!("399 {host} \"{text}\"")),
                );
            }
        };
        if let Some(etag) = &if_match {
            self.publications.remove(etag);
        }
        self.next_token += 1;
        let token = self.next_token;
        self.outputs.push_back(Output::Publish {
            token,
            provider: format!("CustomPresence:{}", line.name),
            update,
        });
        self.pending_publishes.insert(
            token,
            PendingPublish {
                id,
                request,
                peer,
                line: line.name,
                expires,
            },
        );
    }

    /// 200 with a fresh entity tag (RFC 3903 §6 step 6: new on every success).
    fn issue_etag(
        &mut self,
        now: Instant,
        request: &Request,
        peer: Peer,
        to_tag: &str,
        line: &str,
        expires: u32,
    ) -> ResponseBuilder {
        let etag = self.endpoint.random().token();
        if expires > 0 {
            let expires_at = now + Duration::from_secs(u64::from(expires));
            self.publications.insert(
                etag.clone(),
                Publication {
                    line: line.to_owned(),
                    expires_at,
                },
            );
            self.expiries
                .push(Reverse((expires_at, Expiry::Publication(etag.clone()))));
        }
        ResponseBuilder::new(request, 200, peer.address, to_tag)
            .header("SIP-ETag", etag)
            .header("Expires", expires.to_string())
    }
}

/// The watcher URI as pjsip prints it in the tuple contact: no port, no
/// parameters (reference §7).
fn watcher_uri(uri: &str) -> String {
    match SipUri::parse(uri) {
        Ok(parsed) => {
            let scheme = if parsed.secure { "sips" } else { "sip" };
            let host = if parsed.host.contains(':') {
                format!("[{}]", parsed.host)
            } else {
                parsed.host
            };
            match parsed.user {
                Some(user) => format!("{scheme}:{user}@{host}"),
                None => format!("{scheme}:{host}"),
            }
        }
        Err(_) => uri.to_owned(),
    }
}
