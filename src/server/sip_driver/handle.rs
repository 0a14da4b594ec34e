//! `SipHandle`: how other tasks ask the SIP driver for its subscriptions,
//! phone contacts and check-syncs.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::phone_contact::PhoneContact;
use super::reconfigure_report::ReconfigureReport;
use super::unreached::{self, UnreachedPhones};
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

/// A handle to ask the driver things; check-syncs to phones never heard
/// from go to `unreached` (Asterisk, with `[asterisk]`).
#[derive(Clone)]
pub struct SipHandle {
    pub(super) commands: mpsc::Sender<SipCommand>,
    pub(super) unreached: Option<Arc<dyn UnreachedPhones>>,
}

impl std::fmt::Debug for SipHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipHandle")
            .field("unreached", &self.unreached.is_some())
            .finish_non_exhaustive()
    }
}

impl SipHandle {
    pub async fn subscriptions(&self) -> Vec<SubscriptionSummary> {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(SipCommand::Subscriptions(reply))
            .await
            .is_err()
        {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Where each phone was last heard from.
    pub async fn contacts(&self) -> HashMap<String, PhoneContact> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(SipCommand::Contacts(reply)).await.is_err() {
            return HashMap::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Sends check-sync to `phones` and reports per phone.
    pub async fn reconfigure(&self, phones: Vec<String>) -> Vec<ReconfigureReport> {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(SipCommand::Reconfigure { phones, reply })
            .await
            .is_err()
        {
            return Vec::new();
        }
        let reports = answer.await.unwrap_or_default();
        unreached::complete(reports, self.unreached.as_deref()).await
    }
}
