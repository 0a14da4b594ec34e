//! How SIP state follows a reload. The driver's `snapshots.changed()` arm
//! is the one place where it reacts to a new config snapshot, in this
//! order, within one turn of its loop:
//!
//! 1. line access and endpoint settings (realm, credentials, digest
//!    algorithms, who may publish for which line), so every request from
//!    here on is judged by the new config;
//! 2. hints: handed to the presence book behind the writes queued before
//!    them (so states stay in commit order), then the hint changes that
//!    produces — new, changed, removed hints — applied to the SIP core, so
//!    watchers of a removed line get their final NOTIFY in this turn;
//! 3. check-sync to the phones whose provisioning documents changed, when
//!    `[http] auto_reconfigure` is on, sent with the new credentials in
//!    force and reported in the log.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::driver_task::DriverTask;
use super::settings::{endpoint_config, server_config};
use super::unreached;
use crate::presence::{Change, Hint};
use crate::snapshot::Snapshot;

impl DriverTask {
    pub(super) async fn new_snapshot(
        &mut self,
        snapshot: Arc<Snapshot>,
        hint_feed: &mut mpsc::UnboundedReceiver<Change>,
    ) {
        let previous = std::mem::replace(&mut self.snapshot, snapshot);
        let config = &self.snapshot.config;
        self.server
            .set_config(endpoint_config(config, &self.ports), server_config(config));
        let hints = config.hints.iter().map(Hint::from).collect();
        // Returns once the book has them (one committer round: a reload
        // waits behind at most one group commit); their changes are in
        // the feed by then, and all of them are applied before step 3.
        self.hub.set_hints(hints).await;
        self.hint_changes(hint_feed, usize::MAX);
        let changed: Vec<String> = previous
            .catalog
            .changed_since(&self.snapshot.catalog)
            .filter_map(|mac| self.snapshot.config.phone_by_mac(mac))
            .map(|phone| phone.name.clone())
            .collect();
        if self.snapshot.config.http.auto_reconfigure && !changed.is_empty() {
            self.auto_reconfigure(changed);
        }
    }

    /// Applies up to `most` of the hint changes waiting in the feed.
    pub(super) fn hint_changes(&mut self, hint_feed: &mut mpsc::UnboundedReceiver<Change>, most: usize) {
        let now = Instant::now();
        for _ in 0..most {
            match hint_feed.try_recv() {
                Ok(change) => self.server.handle_change(now, change),
                Err(_) => break,
            }
        }
    }

    /// Check-sync to `phones` after a reload; the outcome goes to the log.
    fn auto_reconfigure(&mut self, phones: Vec<String>) {
        let (reply, answer) = oneshot::channel();
        self.reconfigure(phones, reply);
        let unreached = self.unreached.clone();
        self.tasks.spawn(async move {
            let reports = answer.await.unwrap_or_default();
            for report in unreached::complete(reports, unreached.as_deref()).await {
                tracing::info!(phone = %report.phone, outcome = ?report.outcome, "automatic check-sync after reload");
            }
        });
    }
}
