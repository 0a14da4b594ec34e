//! `SipHandle`: how other tasks ask the SIP driver for its subscriptions,
//! phone contacts and check-syncs.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::reconfigure::{PhoneContact, ReconfigureReport};
use crate::server::ami::AmiHandle;
use crate::sip::SubscriptionSummary;

/// Questions other tasks may ask the driver.
#[derive(Debug)]
pub enum SipCommand {
    Subscriptions(oneshot::Sender<Vec<SubscriptionSummary>>),
    /// Send check-sync to these phones; answer when all are done or after
    /// `RECONFIGURE_WAIT`.
    Reconfigure {
        phones: Vec<String>,
        reply: oneshot::Sender<Vec<ReconfigureReport>>,
    },
    /// Where each phone was last heard from.
    Contacts(oneshot::Sender<HashMap<String, PhoneContact>>),
}

/// A handle to ask the driver things; with `[asterisk]`, check-syncs to
/// phones never heard from go through Asterisk.
#[derive(Debug, Clone)]
pub struct SipHandle(pub(super) mpsc::Sender<SipCommand>, pub(super) Option<AmiHandle>);

impl SipHandle {
    pub async fn subscriptions(&self) -> Vec<SubscriptionSummary> {
        let (reply, answer) = oneshot::channel();
        if self.0.send(SipCommand::Subscriptions(reply)).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Where each phone was last heard from.
    pub async fn contacts(&self) -> HashMap<String, PhoneContact> {
        let (reply, answer) = oneshot::channel();
        if self.0.send(SipCommand::Contacts(reply)).await.is_err() {
            return HashMap::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Sends check-sync to `phones` and reports per phone.
    pub async fn reconfigure(&self, phones: Vec<String>) -> Vec<ReconfigureReport> {
        let (reply, answer) = oneshot::channel();
        if self
            .0
            .send(SipCommand::Reconfigure { phones, reply })
            .await
            .is_err()
        {
            return Vec::new();
        }
        let mut reports = answer.await.unwrap_or_default();
        if let Some(asterisk) = &self.1 {
            asterisk.check_sync_unreached(&mut reports).await;
        }
        reports
    }

    /// Routes the check-syncs of phones never heard from through Asterisk.
    pub fn with_asterisk(self, asterisk: Option<AmiHandle>) -> Self {
        Self(self.0, asterisk)
    }
}
