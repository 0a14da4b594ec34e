//! What the package keeps about PUBLISH: entity tags (`Publication`),
//! writes in flight (`PendingPublish`), and why a write did not happen
//! (`PublishFailure`, `PublishRefusal`). A leaf: `server` holds these in
//! its tables, `publication` fills them.

use std::time::Instant;

use crate::presence::{BookError, InvalidName, InvalidUpdate};
use crate::sip::endpoint::RequestId;
use crate::sip::message::Request;
use crate::sip::peer::Peer;

/// Why the presence layer refused the value a PUBLISH carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Update(#[from] InvalidUpdate),
    #[error(transparent)]
    Full(#[from] BookError),
}

/// Why a PUBLISH's presence write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// The change itself was refused (500 with this reason).
    Refused(PublishRefusal),
    /// The store failed or could not take more work (503 + Retry-After).
    Unavailable,
}

/// A PUBLISH waiting for its presence write.
pub(super) struct PendingPublish {
    pub(super) id: RequestId,
    pub(super) request: Box<Request>,
    pub(super) peer: Peer,
    pub(super) line: String,
    pub(super) expires: u32,
}

/// A publication's entity tag and when it lapses.
pub(super) struct Publication {
    pub(super) line: String,
    pub(super) expires_at: Instant,
}
