//! SUBSCRIBE handling: creating and refreshing subscriptions, the
//! per-line and per-address limits, and our Contact for the dialog.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::entity::entity_uri;
use super::output::Expiry;
use super::server::PresenceServer;
use crate::presence::is_digium_user_agent;
use crate::sip::endpoint::RequestId;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::response::{ACCEPT, ALLOW_EVENTS, ResponseBuilder};
use crate::sip::subscription::{Dialog, NotifyContent, Subscription, pidf_contact};
use crate::sip::uri::{NameAddr, SipUri};

impl PresenceServer {
    pub(super) fn subscribe(&mut self, now: Instant, wall: u64, id: RequestId, request: Request, peer: Peer) {
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
            return self.resubscribe(now, wall, id, &request, peer, local_tag.to_owned(), requested);
        }
        let Ok(uri) = SipUri::parse(&request.uri) else {
            return refuse(self, id, 416, None);
        };
        let exten = uri.user_name().unwrap_or_default().to_owned();
        let Some(state) = self.hint_state(&exten) else {
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
            user_agent: user_agent.into(),
            entity: entity.into(),
            contact: our_contact.as_str().into(),
            pidf_contact: pidf_contact(&request.core.from.uri),
            in_flight: None,
            queued: None,
            scheduled: false,
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
        self.await_record(&local_tag, id, response, true);
        // Held (queued) until the record is durable.
        self.send_or_queue(now, &local_tag, NotifyContent::Active);
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
            .header("Contact", contact.as_ref());
        if granted == 0 {
            // The watcher asked: no reason (RFC 6665 §4.2.2 leaves it out),
            // and the final state as Asterisk sends it.
            self.endpoint.respond(now, id, response);
            return self.terminate(now, &tag, None, self.hint_state(&exten));
        }
        if let Some(subscription) = self.subscriptions.get_mut(&tag) {
            subscription.expires_at = now + Duration::from_secs(u64::from(granted));
            self.expiries.push(Reverse((
                subscription.expires_at,
                Expiry::Subscription(tag.clone()),
            )));
        }
        self.store(now, wall, &tag);
        self.await_record(&tag, id, response, false);
        if self.hints.contains_key(&exten) {
            self.send_or_queue(now, &tag, NotifyContent::Active);
        } else {
            self.terminate(now, &tag, Some("noresource"), None);
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
}
