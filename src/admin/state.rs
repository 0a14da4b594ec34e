//! `AdminState`: what the admin handlers share — services, never state
//! of their own.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::metrics::Metrics;
use crate::provision_http::FetchLog;
use crate::server::{PresenceHub, Reloader, SipHandle};
use crate::snapshot::Snapshot;

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub reloader: Arc<Reloader>,
    /// `OPENDPMA_ADMIN_TOKEN` at start; wins over the config's token.
    pub token_override: Option<Secret>,
    pub hub: Arc<PresenceHub>,
    pub metrics: Arc<Metrics>,
    pub sip: SipHandle,
    pub fetches: Arc<FetchLog>,
    /// Cancelled at shutdown: event streams end then, so their
    /// connections close with the others instead of being cut.
    pub shutdown: CancellationToken,
}

impl AdminState {
    /// The token requests must carry, if any.
    pub fn token(&self) -> Option<Secret> {
        self.token_override
            .clone()
            .or_else(|| self.snapshots.borrow().config.admin.token.clone())
    }
}
