//! SUBSCRIBE handling and NOTIFY sending: creating, refreshing and ending
//! subscriptions, and the one-in-flight, latest-wins NOTIFY queue.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::entity::entity_uri;
use super::{Expiry, HintSource, Output, PresenceServer};
use crate::presence::{HintState, is_digium_user_agent};
use crate::sip::endpoint::RequestId;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::response::{ACCEPT, ALLOW_EVENTS, ResponseBuilder};
use crate::sip::subscription::{Dialog, NotifyContent, Subscription};
use crate::sip::uri::{NameAddr, SipUri};

impl PresenceServer {
    pub(super) fn subscribe(
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
        if self.at_subscription_limit(&exten, peer) {
            self.refused_subscriptions += 1;
            return refuse(self, id, 503, Some(("Retry-After", "60".to_owned())));
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
        let entity = entity_uri(&uri, &exten);
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
        let mut response = ResponseBuilder::new(&request, 200, peer.address, &local_tag)
            .header("Expires", granted.to_string())
            .header("Contact", our_contact);
        // RFC 3261 §12.1.1: a response that creates a dialog copies every
        // Record-Route value, in order, so the watcher's in-dialog requests
        // (refresh, un-SUBSCRIBE) take the same proxies as our NOTIFYs.
        for record_route in request.headers.lines("Record-Route") {
            response = response.header("Record-Route", record_route);
        }
        self.insert(now, subscription);
        if granted == 0 {
            // RFC 6665 §4.4.3: a fetch — one terminated NOTIFY with the
            // state; nothing is stored, so nothing waits.
            self.endpoint.respond(now, id, response);
            return self.terminate(now, &local_tag, Some("timeout"), Some(state));
        }
        self.store(now, wall, &local_tag);
        // Refusals reuse the tag: drawing a new one would shift every
        // later tag of a seeded run.
        let refusal = ResponseBuilder::new(&request, 503, peer.address, &local_tag);
        self.await_record(&local_tag, id, response, refusal, true);
        // Held (queued) until the record is durable.
        self.send_or_queue(now, &local_tag, NotifyContent::Active(state));
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn resubscribe(
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
        // A NAT may have moved the watcher: follow its current address
        // (and move it in the per-address count).
        let old_ip = subscription.peer.address.ip();
        subscription.peer = peer;
        if old_ip != peer.address.ip() {
            if let Some(count) = self.by_address.get_mut(&old_ip) {
                *count = count.saturating_sub(1);
            }
            *self.by_address.entry(peer.address.ip()).or_default() += 1;
        }
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
        if granted == 0 {
            // The watcher asked: no reason (RFC 6665 §4.2.2 leaves it out),
            // and the final state as Asterisk sends it.
            self.endpoint.respond(now, id, response);
            return self.terminate(now, &tag, None, hints.hint_state(&exten));
        }
        if let Some(subscription) = self.subscriptions.get_mut(&tag) {
            subscription.expires_at = now + Duration::from_secs(u64::from(granted));
            self.expiries.push(Reverse((
                subscription.expires_at,
                Expiry::Subscription(tag.clone()),
            )));
        }
        self.store(now, wall, &tag);
        let refusal = ResponseBuilder::new(request, 503, peer.address, &tag);
        self.await_record(&tag, id, response, refusal, false);
        match hints.hint_state(&exten) {
            Some(state) => self.send_or_queue(now, &tag, NotifyContent::Active(state)),
            None => self.terminate(now, &tag, Some("noresource"), None),
        }
    }

    /// Whether another subscription to `exten` from `peer` would exceed
    /// `[limits] subscriptions_per_line` or `subscriptions_per_ip`.
    fn at_subscription_limit(&self, exten: &str, peer: Peer) -> bool {
        let per_line = self.by_exten.get(exten).map_or(0, |tags| tags.len());
        let ip = peer.address.ip();
        let per_address = self.by_address.get(&ip).copied().unwrap_or(0);
        let max_per_address = if self.config.trusted_networks.iter().any(|n| n.contains(ip)) {
            self.config.max_per_trusted_address
        } else {
            self.config.max_per_address
        };
        per_line >= self.config.max_per_line || per_address >= max_per_address
    }

    pub(super) fn contact(&self, exten: &str, peer: Peer) -> String {
        let config = self.endpoint.config();
        let port = config.ports.get(&peer.transport).copied().unwrap_or(5060);
        format!(
            "<sip:{exten}@{}:{port};transport={}>",
            config.host, peer.transport
        )
    }

    pub(super) fn insert(&mut self, _now: Instant, subscription: Subscription) {
        let tag = subscription.dialog.local_tag.clone();
        let key = (
            subscription.dialog.call_id.clone(),
            subscription.dialog.remote_tag.clone(),
            tag.clone(),
        );
        self.by_dialog.insert(key, tag.clone());
        *self.by_address.entry(subscription.peer.address.ip()).or_default() += 1;
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

    pub(super) fn store(&mut self, now: Instant, wall: u64, tag: &str) {
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
    /// A subscription whose 200 waits for its record queues the same way.
    pub(super) fn send_or_queue(&mut self, now: Instant, tag: &str, content: NotifyContent) {
        let held = self.confirmations.holds(tag);
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        if subscription.in_flight.is_some() || held {
            if subscription.queue(content) {
                self.superseded_notifies += 1;
            }
            return;
        }
        self.send_notify(now, tag, content);
    }

    pub(super) fn send_notify(&mut self, now: Instant, tag: &str, content: NotifyContent) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        let state = match &content {
            NotifyContent::Active(state) => Some(state),
            NotifyContent::Terminated { state, .. } => state.as_ref(),
        };
        // Rendered once per state and variant, shared by the line's watchers.
        let body = state.map(|state| {
            self.bodies
                .parts(&subscription.entity, state, subscription.digium)
                .body(&watcher_uri(&subscription.dialog.remote_uri))
        });
        let request = subscription.notify_request(now, &content, body);
        let peer = subscription.peer;
        let id = self.endpoint.send_request(now, peer, request);
        if let Some(subscription) = self.subscriptions.get_mut(tag) {
            subscription.in_flight = Some(id);
        }
        self.notifies.insert(id, tag.to_owned());
    }

    pub(super) fn notify_done(&mut self, now: Instant, tag: &str) {
        let held = self.confirmations.holds(tag);
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        subscription.in_flight = None;
        if held {
            // The queued NOTIFY goes when the refresh's record is durable.
            return;
        }
        match subscription.queued.take() {
            Some(content) => self.send_notify(now, tag, content),
            None if subscription.terminating => {
                self.subscriptions.remove(tag);
            }
            None => {}
        }
    }

    /// Ends a subscription with a final NOTIFY; forgets the dialog now.
    pub(super) fn terminate(
        &mut self,
        now: Instant,
        tag: &str,
        reason: Option<&'static str>,
        state: Option<HintState>,
    ) {
        self.unindex(tag);
        self.outputs.push_back(Output::Store {
            key: tag.to_owned(),
            record: None,
        });
        let held = self.confirmations.holds(tag);
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        subscription.terminating = true;
        let content = NotifyContent::Terminated { reason, state };
        if subscription.in_flight.is_some() || held {
            subscription.queued = Some(content);
        } else {
            self.send_notify(now, tag, content);
        }
    }

    /// The watcher refused a NOTIFY or did not answer: forget it entirely.
    pub(super) fn drop_subscription(&mut self, tag: &str) {
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

    pub(super) fn unindex(&mut self, tag: &str) {
        let Some(subscription) = self.subscriptions.get(tag) else {
            return;
        };
        let key = (
            subscription.dialog.call_id.clone(),
            subscription.dialog.remote_tag.clone(),
            tag.to_owned(),
        );
        // Only the first unindexing counts (a terminating subscription is
        // unindexed, then dropped when its last NOTIFY is answered).
        if self.by_dialog.remove(&key).is_none() {
            return;
        }
        if let Some(tags) = self.by_exten.get_mut(subscription.exten.as_str()) {
            tags.remove(tag);
        }
        let ip = subscription.peer.address.ip();
        if let Some(count) = self.by_address.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.by_address.remove(&ip);
            }
        }
    }
}

/// The watcher URI as pjsip prints it in the tuple contact: no port, no
/// parameters (reference §7).
pub(super) fn watcher_uri(uri: &str) -> String {
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
