//! NOTIFY sending and subscription bookkeeping: indexing, storing and
//! ending subscriptions, and the one-in-flight, latest-wins NOTIFY queue.

use std::cmp::Reverse;
use std::time::Instant;

use super::output::{Expiry, Output};
use super::server::PresenceServer;
use crate::presence::HintState;
use crate::sip::subscription::{NotifyContent, Subscription};
use crate::sip::uri::SipUri;

impl PresenceServer {
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
        self.release_notify(now, tag);
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

/// The watcher URI as Asterisk's PIDF tuple contact shows it: the From
/// URI printed the way pjsip prints From/To URIs, without port or
/// parameters (`res_pjsip_pidf_body_generator.c`).
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
