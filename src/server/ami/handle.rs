//! `AmiHandle`: how other tasks ask the AMI driver for a check-sync
//! through Asterisk (`PJSIPNotify`), each ask answered or timed out.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::timeout;

use crate::asterisk::ActionRefused;
use crate::server::sip_driver::{ReconfigureOutcome, ReconfigureReport};
use crate::snapshot::Snapshot;

/// How long a check-sync waits for Asterisk's answer.
const CHECK_SYNC_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a check-sync through Asterisk did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsteriskCheckSyncError {
    #[error("the AMI driver has stopped")]
    Stopped,
    #[error("the AMI connection was lost")]
    ConnectionLost,
    #[error("Asterisk is not connected")]
    NotConnected,
    #[error("Asterisk did not answer in time")]
    NoAnswer,
    /// Asterisk's device state says the endpoint has no contact.
    #[error("{device} is not registered to Asterisk")]
    NotRegistered { device: String },
    /// Asterisk's own message.
    #[error(transparent)]
    Refused(#[from] ActionRefused),
}

/// What the driver is asked.
pub(super) enum AmiCommand {
    CheckSync {
        endpoint: String,
        reply: oneshot::Sender<Result<(), AsteriskCheckSyncError>>,
    },
}

/// Asks the AMI driver for things (cloneable).
#[derive(Debug, Clone)]
pub struct AmiHandle {
    pub(super) commands: mpsc::Sender<AmiCommand>,
    pub(super) snapshots: watch::Receiver<Arc<Snapshot>>,
}

impl std::fmt::Debug for AmiCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AmiCommand")
    }
}

impl AmiHandle {
    /// `PJSIPNotify` `Event: check-sync` to a PJSIP endpoint; `Err` says why not.
    pub async fn check_sync(&self, endpoint: &str) -> Result<(), AsteriskCheckSyncError> {
        let (reply, answer) = oneshot::channel();
        let command = AmiCommand::CheckSync {
            endpoint: endpoint.to_owned(),
            reply,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| AsteriskCheckSyncError::Stopped)?;
        match timeout(CHECK_SYNC_WAIT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(AsteriskCheckSyncError::ConnectionLost),
            Err(_) => Err(AsteriskCheckSyncError::NoAnswer),
        }
    }

    /// For each phone opendpma never heard from, sends the check-sync to
    /// its primary line's PJSIP endpoint through Asterisk instead.
    async fn check_sync_unreached(&self, reports: &mut [ReconfigureReport]) {
        let config = self.snapshots.borrow().config.clone();
        let sends = reports
            .iter_mut()
            .filter(|report| report.outcome == ReconfigureOutcome::UnknownContact)
            .filter_map(|report| {
                let endpoint = config.phone(&report.phone)?.lines.first()?.clone();
                Some(async move {
                    let result = self.check_sync(&endpoint).await;
                    tracing::info!(phone = %report.phone, %endpoint, ?result, "check-sync through Asterisk");
                    report.outcome = match result {
                        Ok(()) => ReconfigureOutcome::SentViaAsterisk { endpoint },
                        Err(error) => ReconfigureOutcome::AsteriskFailed {
                            endpoint,
                            reason: error.to_string(),
                        },
                    };
                })
            });
        futures_util::future::join_all(sends).await;
    }
}

impl crate::server::sip_driver::UnreachedPhones for AmiHandle {
    fn check_sync<'a>(
        &'a self,
        reports: &'a mut [ReconfigureReport],
    ) -> crate::server::sip_driver::CheckSyncFuture<'a> {
        Box::pin(self.check_sync_unreached(reports))
    }
}
