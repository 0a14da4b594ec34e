//! Subscriptions back from the store after a restart. They are all live
//! again at once (a refresh or un-SUBSCRIBE right after the restart finds
//! its dialog), but what they cost beyond that is paced: their NOTIFYs go
//! through the line of NOTIFYs to build (`notify_queue`), and their
//! records — rewritten so that the CSeq jump survives a second restart —
//! are handed out at most `REWRITES_PER_HAND_OVER` per batch of records,
//! so 100,000 restored subscriptions never stand as 100,000 built
//! NOTIFYs plus 100,000 serialised records in memory at once.

use std::time::Instant;

use super::output::Output;
use super::server::PresenceServer;
use crate::sip::subscription::{NotifyContent, Subscription, SubscriptionRecord};

/// Restored records rewritten per batch handed to the store.
pub(super) const REWRITES_PER_HAND_OVER: usize = 2048;

impl PresenceServer {
    /// Subscriptions loaded from the store after a restart: live ones get
    /// a NOTIFY with the current state, expired ones (and ones to
    /// extensions without a hint) are deleted. Call after `handle_hints`.
    pub fn restore(&mut self, now: Instant, wall: u64, records: Vec<(String, Vec<u8>)>) {
        self.advance_clock(now);
        self.rewrite_time = Some((now, wall));
        for (key, bytes) in records {
            let record: Option<SubscriptionRecord> = serde_json::from_slice(&bytes).ok();
            let Some(subscription) = record.and_then(|record| Subscription::restore(record, now, wall))
            else {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            };
            if !self.hints.contains_key(subscription.exten.as_str()) {
                self.outputs.push_back(Output::Store { key, record: None });
                continue;
            }
            let tag = subscription.dialog.local_tag.clone();
            self.insert(now, subscription);
            self.rewrites.push_back(tag.clone());
            self.send_or_queue(now, &tag, NotifyContent::Active);
        }
    }

    /// The next restored record to rewrite, if this batch has room.
    /// Records of subscriptions that ended meanwhile are not written back
    /// (their deletion is already out).
    pub(super) fn next_rewrite(&mut self) -> Option<Output> {
        if self.rewrites_handed >= REWRITES_PER_HAND_OVER {
            return None;
        }
        let (now, wall) = self.rewrite_time?;
        while let Some(tag) = self.rewrites.pop_front() {
            let Some(subscription) = self.subscriptions.get(&tag).filter(|s| !s.terminating) else {
                continue;
            };
            // The restore's own time pair: `record` gives the same expiry
            // whenever it is written.
            let record = subscription.record_bytes(now, wall);
            self.rewrites_handed += 1;
            return Some(Output::Store {
                key: tag,
                record: Some(record),
            });
        }
        None
    }
}
