//! What a reconfigure request reports per phone (`ReconfigureReport`,
//! `ReconfigureOutcome`) and a request still waiting for its phones
//! (`PendingReconfigure`). A leaf: the driver's state, its handle,
//! `unreached` and `reconfigure` import it.

use std::time::Instant;

use tokio::sync::oneshot;

/// The outcome of a check-sync for one phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum ReconfigureOutcome {
    /// The phone has never contacted us: nowhere to send to.
    UnknownContact,
    /// Sent; no final answer yet.
    Sent,
    /// The phone answered (200: it re-fetches its config).
    Answered { code: u16 },
    /// No answer at all.
    Timeout,
    /// Never heard from here; Asterisk accepted to send the check-sync to
    /// the phone's PJSIP endpoint (AMI `PJSIPNotify`). Asterisk does not
    /// pass on the phone's answer.
    SentViaAsterisk { endpoint: String },
    /// Never heard from here, and Asterisk could not send it either.
    AsteriskFailed { endpoint: String, reason: String },
}

/// One phone's line in a reconfigure report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconfigureReport {
    pub phone: String,
    #[serde(flatten)]
    pub outcome: ReconfigureOutcome,
}

/// A reconfigure request waiting for its phones.
pub(super) struct PendingReconfigure {
    pub(super) reply: oneshot::Sender<Vec<ReconfigureReport>>,
    pub(super) reports: Vec<ReconfigureReport>,
    pub(super) deadline: Instant,
}
