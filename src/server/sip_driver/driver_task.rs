//! `DriverTask`: the one task that owns the `PresenceServer`, and its
//! loop — sockets, timers, store completions, hint changes, snapshots and
//! commands in; a flush of what the core produced after every turn.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::handle::SipCommand;
use super::phone_contact::PhoneContact;
use super::publish_failure::publish_failure;
use super::reconfigure_report::PendingReconfigure;
use super::shedding;
use super::unreached::UnreachedPhones;
use crate::config::Transport;
use crate::metrics::Metrics;
use crate::presence::Change;
use crate::server::committer::Completion;
use crate::server::connection_limits::ConnectionLimits;
use crate::server::presence_hub::PresenceHub;
use crate::server::sip_stream::StreamPolicy;
use crate::server::sip_transport::{ConnectionCounter, Connections, Inbound};
use crate::sip::{ConnectionId, PresenceServer};
use crate::snapshot::Snapshot;

/// Unix seconds, for what the SIP core stores.
pub(super) fn wall() -> u64 {
    crate::wall_clock::unix_now()
}

/// Most queued hint changes applied in one turn of the loop, so a burst
/// cannot keep the driver from its sockets; the rest wait for the next.
pub(super) const HINT_CHANGES_PER_TURN: usize = 4096;

pub(super) struct DriverTask {
    pub(super) server: PresenceServer,
    pub(super) hub: Arc<PresenceHub>,
    /// Where the committer reports our writes done. Unbounded, yet bounded
    /// in practice: one completion per job, and the committer's queue is.
    pub(super) completed: mpsc::UnboundedSender<Completion>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) udp: Option<Arc<UdpSocket>>,
    pub(super) ports: HashMap<Transport, u16>,
    pub(super) connections: Connections,
    /// Messages for outbound connections still being set up.
    pub(super) pending: HashMap<ConnectionId, Vec<Vec<u8>>>,
    /// Phone name → where it was last heard from.
    pub(super) contacts: HashMap<String, PhoneContact>,
    pub(super) snapshot: Arc<Snapshot>,
    pub(super) reconfigures: HashMap<u64, PendingReconfigure>,
    /// Check-sync token → (reconfigure request, index in its reports).
    pub(super) check_syncs: HashMap<u64, (u64, usize)>,
    pub(super) next_token: u64,
    pub(super) counter: Arc<ConnectionCounter>,
    /// Outbound connections count under the same caps as inbound ones.
    pub(super) connection_limits: ConnectionLimits,
    pub(super) stream_policy: StreamPolicy,
    pub(super) unreached: Option<Arc<dyn UnreachedPhones>>,
    pub(super) shutdown: CancellationToken,
    pub(super) tasks: TaskTracker,
}

impl DriverTask {
    pub(super) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut hint_feed: mpsc::UnboundedReceiver<Change>,
        mut snapshots: watch::Receiver<Arc<Snapshot>>,
        mut commands: mpsc::Receiver<SipCommand>,
        mut completions: mpsc::UnboundedReceiver<Completion>,
    ) {
        self.flush().await;
        loop {
            let reconfigure_deadline = self.reconfigures.values().map(|r| r.deadline).min();
            let deadline = match (self.server.poll_timeout(), reconfigure_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                Some(message) = inbound.recv() => {
                    self.inbound(message);
                    // Take whatever else is waiting, then commit once.
                    for _ in 0..64 {
                        match inbound.try_recv() {
                            Ok(message) => self.inbound(message),
                            Err(_) => break,
                        }
                    }
                }
                () = sleep => {
                    let now = Instant::now();
                    self.server.handle_timeout(now, wall());
                }
                Some(completion) = completions.recv() => {
                    self.completed(completion);
                    while let Ok(completion) = completions.try_recv() {
                        self.completed(completion);
                    }
                }
                Some(change) = hint_feed.recv() => {
                    self.server.handle_change(Instant::now(), change);
                    self.hint_changes(&mut hint_feed, HINT_CHANGES_PER_TURN);
                }
                Ok(()) = snapshots.changed() => {
                    let snapshot = snapshots.borrow_and_update().clone();
                    self.new_snapshot(snapshot, &mut hint_feed).await;
                }
                Some(command) = commands.recv() => match command {
                    SipCommand::Subscriptions(reply) => {
                        let _ = reply.send(self.server.summaries(Instant::now()));
                    }
                    SipCommand::Reconfigure { phones, reply } => self.reconfigure(phones, reply),
                    SipCommand::Contacts(reply) => {
                        let _ = reply.send(self.contacts.clone());
                    }
                },
            }
            self.finish_reconfigures(false);
            self.flush().await;
        }
        // Subscriptions are not terminated on shutdown: they are stored,
        // and phones would otherwise all re-subscribe at once on restart.
        self.flush().await;
        tracing::info!("SIP driver stopped");
    }

    fn inbound(&mut self, message: Inbound) {
        let now = Instant::now();
        match message {
            Inbound::Datagram {
                peer,
                bytes,
                received,
            } => {
                if shedding::is_stale_request(now.saturating_duration_since(received), &bytes) {
                    self.metrics.sip_shed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.server.handle_datagram(now, wall(), peer, &bytes);
            }
            Inbound::Stream { peer, bytes } => {
                if let Some(connection) = peer.connection {
                    self.connections.remember_address(connection, peer.address);
                }
                if let Err(error) = self.server.handle_stream_bytes(now, wall(), peer, &bytes) {
                    tracing::info!(%peer, %error, "closing a connection that cannot be framed");
                    if let Some(connection) = peer.connection {
                        // Dropping the writer ends the connection's write half.
                        self.connections.closed(connection);
                    }
                }
            }
            Inbound::Opened { connection, writer } => {
                for bytes in self.pending.remove(&connection).unwrap_or_default() {
                    let _ = writer.try_send(bytes);
                }
                self.connections.opened(connection, writer);
            }
            Inbound::Closed { connection } => {
                self.pending.remove(&connection);
                self.connections.closed(connection);
                self.server.connection_lost(now, wall(), connection);
            }
        }
    }

    /// A write handed to the committer is done: its held answers go.
    fn completed(&mut self, completion: Completion) {
        let now = Instant::now();
        match completion {
            Completion::Published { token, result } => {
                let result = result.map_err(publish_failure);
                self.server.publish_committed(now, token, result);
            }
            Completion::Stored { ticket, stored } => {
                if !stored {
                    tracing::error!("cannot store subscriptions; their SUBSCRIBEs are refused with 503");
                }
                self.server.subscriptions_stored(now, ticket, stored);
            }
        }
    }
}
