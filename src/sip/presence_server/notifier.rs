//! NOTIFY sending and subscription bookkeeping: indexing, storing and
//! ending subscriptions, and the one-in-flight, latest-wins NOTIFY queue.

use std::cmp::Reverse;
use std::time::Instant;

use super::output::{Expiry, Output};
use super::server::PresenceServer;
use crate::presence::HintState;
use crate::sip::message::Method;
use crate::sip::subscription::{NotifyContent, Subscription};

impl PresenceServer {
    pub(super) fn insert(&mut self, _now: Instant, mut subscription: Subscription) {
        subscription.entity = self.texts.get(&subscription.entity);
        subscription.contact = self.texts.get(&subscription.contact);
        subscription.user_agent = self.texts.get(&subscription.user_agent);
        self.texts.prune(self.subscriptions.len());
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
            let record = subscription.record_bytes(now, wall);
            self.outputs.push_back(Output::Store {
                key: tag.to_owned(),
                record: Some(record),
            });
        }
    }

    /// Queues `content` for the subscription (a newer state replaces an
    /// older queued one: a burst ends with the latest state) and, unless a
    /// NOTIFY is in flight or its 200 waits for its record, puts it in
    /// line to be built (`notify_queue`). What waits goes when the one in
    /// flight is answered or the record is durable (`release_notify`).
    pub(super) fn send_or_queue(&mut self, now: Instant, tag: &str, content: NotifyContent) {
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        if subscription.queue(content) {
            self.superseded_notifies += 1;
        }
        self.schedule(now, tag);
    }

    /// Builds and sends `content` now (the one place a NOTIFY is built;
    /// `notify_queue` calls it for the next subscription in line, handing
    /// over its tag, which then names the NOTIFY in flight); false when
    /// there was nothing to send.
    pub(super) fn send_notify(&mut self, now: Instant, tag: String, content: NotifyContent) -> bool {
        let Self {
            endpoint,
            subscriptions,
            hints,
            bodies,
            notifies,
            ..
        } = self;
        let Some(subscription) = subscriptions.get_mut(&tag) else {
            return false;
        };
        let state = match &content {
            // The line's state now; a line without a hint has had its
            // watchers ended (`hint_removed`), so there is nothing to say.
            NotifyContent::Active => match hints.get(subscription.exten.as_str()) {
                Some(state) => Some(state),
                None => return false,
            },
            NotifyContent::Terminated { state, .. } => state.as_ref(),
        };
        // Rendered once per state and variant, shared by the line's watchers.
        let body = state.map(|state| bodies.parts(&subscription.entity, state, subscription.digium));
        let peer = subscription.peer;
        let id = endpoint.send_built(now, peer, Method::Notify, |via| {
            subscription.notify_bytes(now, &content, body.as_deref(), via)
        });
        subscription.in_flight = Some(id);
        notifies.insert(id, tag);
        true
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
        let Some(subscription) = self.subscriptions.get_mut(tag) else {
            return;
        };
        subscription.terminating = true;
        // Replaces whatever was queued: nothing goes after the last NOTIFY.
        subscription.queued = Some(NotifyContent::Terminated { reason, state });
        self.schedule(now, tag);
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
