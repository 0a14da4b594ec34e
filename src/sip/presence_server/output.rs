//! What the presence package hands the driver beyond bytes (`Output`),
//! its expiry timers (`Expiry`), and the default interval.

use super::check_sync_state::CheckSyncResult;
use crate::presence::PresenceUpdate;
use crate::sip::peer::Peer;

/// RFC 3856 §6.4 / RFC 3903: the interval when a request names none.
pub const DEFAULT_EXPIRES: u32 = 3600;

/// Work for the driver beyond sending bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Set `provider` durably, then call `publish_committed(token, …)`.
    Publish {
        token: u64,
        provider: String,
        update: PresenceUpdate,
    },
    /// Write (`Some`) or delete (`None`) a subscription record.
    Store { key: String, record: Option<Vec<u8>> },
    /// An authenticated request from a phone: where it is, for check-sync
    /// later. Only requests that passed digest are reported: a contact
    /// learned from anything else could be an attacker's, and check-sync
    /// would send a line's digest there.
    Seen {
        user: String,
        peer: Peer,
        contact: Option<String>,
        user_agent: String,
    },
    /// A check-sync NOTIFY finished.
    CheckSyncDone { token: u64, result: CheckSyncResult },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Expiry {
    Subscription(String),
    Publication(String),
}
