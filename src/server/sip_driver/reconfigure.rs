//! check-sync on the driver's side: where each phone was last heard
//! from, and reconfigure requests that wait (at most `RECONFIGURE_WAIT`)
//! for their phones' answers.

use std::time::Instant;

use tokio::sync::oneshot;

use super::driver_task::{DriverTask, wall};
use super::phone_contact::PhoneContact;
use super::reconfigure_report::{PendingReconfigure, ReconfigureOutcome, ReconfigureReport};
use crate::sip::subscription::connect_peer;
use crate::sip::{CheckSyncResult, Peer};

/// How long a reconfigure request waits for phones to answer.
pub(super) const RECONFIGURE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl DriverTask {
    /// Records where the phones of the line `user` authenticated as are;
    /// returns store writes for contacts that changed. Only phones whose
    /// *first* line that is: a check-sync answers challenges with the first
    /// line's secret, and a peer that proved it knows one line (a line
    /// shared with another phone) must not be sent a digest of another
    /// (a digest answer can be cracked offline).
    pub(super) fn seen(
        &mut self,
        user: &str,
        peer: Peer,
        contact: Option<String>,
        user_agent: String,
    ) -> Vec<(String, Option<Vec<u8>>)> {
        let config = &self.snapshot.config;
        let Some(line) = config.line_by_authname(user) else {
            return Vec::new();
        };
        let mut writes = Vec::new();
        let first_line_of = |phone: &&crate::config::Phone| phone.lines.first() == Some(&line.name);
        for phone in config.phones_with_line(&line.name).filter(first_line_of) {
            let record = PhoneContact {
                address: peer.address,
                transport: peer.transport,
                contact: contact.clone(),
                user_agent: user_agent.clone(),
                seen_at_unix: wall(),
                connection: peer.connection,
            };
            let changed = self.contacts.get(&phone.name).is_none_or(|old| {
                (&old.address, old.transport, &old.contact, &old.user_agent)
                    != (
                        &record.address,
                        record.transport,
                        &record.contact,
                        &record.user_agent,
                    )
            });
            if changed {
                tracing::info!(phone = %phone.name, address = %peer.address, "phone contact recorded");
                let bytes = serde_json::to_vec(&record).expect("contacts serialise");
                writes.push((phone.name.clone(), Some(bytes)));
            }
            self.contacts.insert(phone.name.clone(), record);
        }
        writes
    }

    /// Starts check-syncs for a reconfigure request.
    pub(super) fn reconfigure(
        &mut self,
        phones: Vec<String>,
        reply: oneshot::Sender<Vec<ReconfigureReport>>,
    ) {
        let now = Instant::now();
        self.next_token += 1;
        let request = self.next_token;
        let mut pending = PendingReconfigure {
            reply,
            reports: Vec::new(),
            deadline: now + RECONFIGURE_WAIT,
        };
        let config = self.snapshot.config.clone();
        for name in phones {
            let index = pending.reports.len();
            let phone = config.phone(&name);
            let first_line = phone.and_then(|p| p.lines.first()).and_then(|l| config.line(l));
            let (Some(contact), Some(line)) = (self.contacts.get(&name), first_line) else {
                pending.reports.push(ReconfigureReport {
                    phone: name,
                    outcome: ReconfigureOutcome::UnknownContact,
                });
                continue;
            };
            let uri = contact
                .contact
                .clone()
                .unwrap_or_else(|| format!("sip:{}@{}", line.exten, contact.address));
            let recorded = Peer {
                transport: contact.transport,
                address: contact.address,
                connection: None,
            };
            // Over the connection the phone authenticated on while it is
            // open; otherwise a stream phone listens at its Contact (after
            // a restart, or once its connection closed) — never over another
            // connection from its old address.
            let open = contact
                .connection
                .filter(|&connection| self.connections.writer(connection).is_some());
            let peer = match open {
                Some(connection) => Peer {
                    connection: Some(connection),
                    ..recorded
                },
                None => connect_peer(&uri, recorded),
            };
            self.next_token += 1;
            let token = self.next_token;
            self.check_syncs.insert(token, (request, index));
            tracing::info!(phone = %name, %uri, "sending check-sync");
            self.server.send_check_sync(
                now,
                token,
                peer,
                &uri,
                Some((line.authname.clone(), line.secret.clone())),
            );
            pending.reports.push(ReconfigureReport {
                phone: name,
                outcome: ReconfigureOutcome::Sent,
            });
        }
        self.reconfigures.insert(request, pending);
    }

    pub(super) fn check_sync_done(&mut self, token: u64, result: CheckSyncResult) {
        let Some((request, index)) = self.check_syncs.remove(&token) else {
            return;
        };
        let Some(pending) = self.reconfigures.get_mut(&request) else {
            return;
        };
        let outcome = match result {
            CheckSyncResult::Answered { code } => ReconfigureOutcome::Answered { code },
            CheckSyncResult::Timeout => ReconfigureOutcome::Timeout,
        };
        tracing::info!(phone = %pending.reports[index].phone, ?outcome, "check-sync finished");
        pending.reports[index].outcome = outcome;
    }

    /// Answers reconfigure requests that are complete or out of time.
    pub(super) fn finish_reconfigures(&mut self, all: bool) {
        let now = Instant::now();
        let done: Vec<u64> = self
            .reconfigures
            .iter()
            .filter(|(_, p)| {
                all || p.deadline <= now || p.reports.iter().all(|r| r.outcome != ReconfigureOutcome::Sent)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(pending) = self.reconfigures.remove(&id) {
                let _ = pending.reply.send(pending.reports);
            }
        }
    }
}
