//! `HubShared`: what the presence hub and its committer thread share —
//! the book behind a std mutex, and the way changes go out once applied:
//! the broadcast (observers that may miss some) and the SIP driver's
//! lossless feed of hint changes.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use super::error::HubError;
use crate::metrics::Metrics;
use crate::presence::{Change, PresenceBook};

/// What the hub and its committer thread share.
pub struct HubShared {
    book: Mutex<PresenceBook>,
    changes: broadcast::Sender<Change>,
    /// The SIP driver's feed of hint changes (see `follow_hints`).
    hint_feed: Mutex<Option<mpsc::UnboundedSender<Change>>>,
    pub(in crate::server) metrics: Arc<Metrics>,
}

impl HubShared {
    pub(super) fn new(book: PresenceBook, metrics: Arc<Metrics>) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            book: Mutex::new(book),
            changes,
            hint_feed: Mutex::new(None),
            metrics,
        }
    }

    /// Changes as they happen, for observers that may miss some.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Where hint changes go from now on (one follower).
    pub(super) fn set_hint_feed(&self, feed: mpsc::UnboundedSender<Change>) {
        *self
            .hint_feed
            .lock()
            .expect("the hint feed lock is never poisoned") = Some(feed);
    }

    pub(in crate::server) fn book(&self) -> std::sync::MutexGuard<'_, PresenceBook> {
        self.book
            .lock()
            .expect("the presence book lock is never poisoned")
    }

    /// Counts a refusal on the way out.
    pub(in crate::server) fn refused(&self, error: HubError) -> HubError {
        self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
        error
    }

    pub(in crate::server) fn announce(&self, changes: Vec<Change>) {
        let feed = self
            .hint_feed
            .lock()
            .expect("the hint feed lock is never poisoned")
            .clone();
        for change in changes {
            let counter = match &change {
                Change::Presence { provider, value } => {
                    tracing::info!(provider, state = %value.state, subtype = %value.subtype, "presence changed");
                    &self.metrics.presence_changes
                }
                Change::Device { device, state } => {
                    tracing::info!(device, %state, "device state changed");
                    &self.metrics.device_changes
                }
                Change::Hint(_) | Change::HintRemoved { .. } => &self.metrics.hint_changes,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if let Some(feed) = &feed
                && matches!(change, Change::Hint(_) | Change::HintRemoved { .. })
            {
                // A driver that is gone (shutdown) no longer listens.
                let _ = feed.send(change.clone());
            }
            // No receivers is fine: nobody is watching.
            let _ = self.changes.send(change);
        }
    }
}
