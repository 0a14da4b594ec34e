//! The SIP driver: the one task that owns the sans-IO `PresenceServer`.
//! It feeds it socket bytes, timer ticks, hint changes (pushed from the
//! presence hub's lossless feed), new config snapshots and store
//! completions, and carries out what comes back. Durable writes are handed
//! to the committer (`server::committer`) without waiting; the server
//! holds a SUBSCRIBE's or PUBLISH's 200 until the completion for its
//! write comes back, so nothing is acknowledged before it is on disk and
//! nothing else waits for the disk meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod bind;
mod flush;
mod handle;
mod new_snapshot;
mod reconfigure;
mod settings;
mod shedding;
mod unreached;

pub use self::bind::{BindError, SipSockets, bind};
use self::flush::publish_failure;
pub use self::handle::{SipCommand, SipHandle};
use self::reconfigure::PendingReconfigure;
pub use self::reconfigure::{PhoneContact, ReconfigureOutcome, ReconfigureReport};
pub use self::settings::lockout_policy;
use self::settings::{endpoint_config, server_config};
pub use self::unreached::{CheckSyncFuture, UnreachedPhones};
use super::committer::Completion;
use super::connection_limits::{ConnectionLimits, ListenerKind};
use super::presence_hub::PresenceHub;
use super::sip_rate::SipRateLimit;
use super::sip_stream::StreamPolicy;
use super::sip_transport::{self, ConnectionCounter, Connections, Inbound};
use crate::auth::NonceSecret;
use crate::config::Transport;
use crate::metrics::Metrics;
use crate::presence::Change;
use crate::sip::{ConnectionId, Endpoint, PresenceServer, Random};
use crate::snapshot::Snapshot;

/// Unix seconds, for what the SIP core stores.
fn wall() -> u64 {
    crate::wall_clock::unix_now()
}

/// Everything the driver task needs.
pub struct SipDriver {
    pub sockets: SipSockets,
    pub hub: Arc<PresenceHub>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    pub subscriptions: Vec<(String, Vec<u8>)>,
    pub phone_contacts: Vec<(String, Vec<u8>)>,
    /// TCP/TLS connections in total, in and out (below the handle limit).
    pub connection_cap: usize,
    /// Check-syncs to phones never heard from (Asterisk, if configured).
    pub unreached: Option<Arc<dyn UnreachedPhones>>,
    pub shutdown: CancellationToken,
    /// Every task the driver starts, so that shutdown can wait for them.
    pub tasks: TaskTracker,
}

impl SipDriver {
    /// Starts the socket tasks and the driver task; returns its handle.
    pub fn spawn(self) -> SipHandle {
        let (inbound_sender, inbound) = mpsc::channel(4096);
        let counter = Arc::new(ConnectionCounter::default());
        let SipDriver {
            sockets,
            hub,
            snapshots,
            metrics,
            subscriptions,
            phone_contacts,
            connection_cap,
            unreached,
            shutdown,
            tasks,
        } = self;
        let limits = snapshots.borrow().config.limits.clone();
        let rate = Arc::new(SipRateLimit::new(&limits, metrics.clone()));
        for socket in &sockets.udp {
            let inbound = inbound_sender.clone();
            sip_transport::spawn_udp(socket.clone(), inbound, rate.clone(), shutdown.clone(), &tasks);
        }
        let contacts = phone_contacts
            .into_iter()
            .filter_map(|(phone, bytes)| Some((phone, serde_json::from_slice(&bytes).ok()?)))
            .collect();
        let connection_limits = ConnectionLimits::new(
            ListenerKind::SipStream,
            connection_cap,
            limits.tcp_connections_per_ip,
            (&limits.trusted_networks, limits.trusted_connections_per_ip),
            metrics.clone(),
        );
        let stream_policy = StreamPolicy {
            idle: Duration::from_secs(limits.tcp_idle_timeout),
            message_deadline: Duration::from_secs(limits.request_timeout),
            rate,
            metrics: metrics.clone(),
            inbound: inbound_sender,
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        };
        for (listener, tls) in sockets.streams {
            let limits = connection_limits.clone();
            sip_transport::spawn_stream_listener(
                listener,
                tls,
                counter.clone(),
                limits,
                stream_policy.clone(),
            );
        }
        let (commands_sender, commands) = mpsc::channel(16);
        let config = snapshots.borrow().config.clone();
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).expect("the OS random source is available");
        let now = Instant::now();
        let endpoint = Endpoint::new(
            endpoint_config(&config, &sockets.ports),
            Random::seeded(u64::from_le_bytes(seed)),
            NonceSecret::random(),
            now,
        );
        let mut server = PresenceServer::new(endpoint, server_config(&config));
        // Hint states first: restored subscriptions are told the current one.
        let (hints, hint_feed) = hub.follow_hints();
        server.handle_hints(now, hints);
        server.restore(now, wall(), subscriptions);
        let (completed, completions) = mpsc::unbounded_channel();
        let task = DriverTask {
            server,
            hub: hub.clone(),
            completed,
            metrics,
            udp: sockets.udp.first().cloned(),
            ports: sockets.ports,
            connections: Connections::default(),
            pending: HashMap::new(),
            contacts,
            snapshot: snapshots.borrow().clone(),
            reconfigures: HashMap::new(),
            check_syncs: HashMap::new(),
            next_token: 0,
            counter,
            connection_limits,
            stream_policy,
            unreached: unreached.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        };
        tasks.spawn(task.run(inbound, hint_feed, snapshots, commands, completions));
        SipHandle {
            commands: commands_sender,
            unreached,
        }
    }
}

struct DriverTask {
    server: PresenceServer,
    hub: Arc<PresenceHub>,
    /// Where the committer reports our writes done. Unbounded, yet bounded
    /// in practice: one completion per job, and the committer's queue is.
    completed: mpsc::UnboundedSender<Completion>,
    metrics: Arc<Metrics>,
    udp: Option<Arc<UdpSocket>>,
    ports: HashMap<Transport, u16>,
    connections: Connections,
    /// Messages for outbound connections still being set up.
    pending: HashMap<ConnectionId, Vec<Vec<u8>>>,
    /// Phone name → where it was last heard from.
    contacts: HashMap<String, PhoneContact>,
    snapshot: Arc<Snapshot>,
    reconfigures: HashMap<u64, PendingReconfigure>,
    /// Check-sync token → (reconfigure request, index in its reports).
    check_syncs: HashMap<u64, (u64, usize)>,
    next_token: u64,
    counter: Arc<ConnectionCounter>,
    /// Outbound connections count under the same caps as inbound ones.
    connection_limits: ConnectionLimits,
    stream_policy: StreamPolicy,
    unreached: Option<Arc<dyn UnreachedPhones>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl DriverTask {
    async fn run(
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
                    self.hint_changes(&mut hint_feed, new_snapshot::HINT_CHANGES_PER_TURN);
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
