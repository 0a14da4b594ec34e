//! What the package keeps about a check-sync NOTIFY: one in progress
//! (`CheckSync`: where it went, the credentials that answer a challenge)
//! and how it went (`CheckSyncResult`, reported in `Output::CheckSyncDone`).
//! A leaf: `server`, `output` and `check_sync` all import it.

use crate::config::Secret;
use crate::sip::peer::Peer;

/// How a check-sync went, per phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum CheckSyncResult {
    /// A final response (2xx: the phone will re-fetch).
    Answered { code: u16 },
    /// No final response within Timer F, or the connection failed.
    Timeout,
}

/// A check-sync in progress.
pub(super) struct CheckSync {
    pub(super) token: u64,
    pub(super) peer: Peer,
    pub(super) uri: String,
    pub(super) credentials: Option<(String, Secret)>,
    pub(super) cseq: u32,
    pub(super) call_id: String,
    pub(super) from_tag: String,
    /// Already answered one challenge (never loop on 401s).
    pub(super) retried: bool,
}
