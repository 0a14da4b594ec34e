//! Subscriptions as the admin API lists them.

use std::time::Instant;

use super::server::PresenceServer;

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

impl PresenceServer {
    pub fn summaries(&self, now: Instant) -> Vec<SubscriptionSummary> {
        let mut list: Vec<SubscriptionSummary> = self
            .subscriptions
            .values()
            .filter(|s| !s.terminating)
            .map(|s| SubscriptionSummary {
                exten: s.exten.to_string(),
                watcher: s.dialog.remote_uri.clone(),
                peer: s.peer.to_string(),
                user_agent: s.user_agent.to_string(),
                digium: s.digium,
                expires_in: s.remaining(now),
            })
            .collect();
        list.sort_by(|a, b| (&a.exten, &a.watcher).cmp(&(&b.exten, &b.watcher)));
        list
    }
}
