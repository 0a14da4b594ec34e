//! `SipDriver`: everything the driver needs, and `spawn`, which starts
//! the socket tasks, builds the sans-IO core (hint states first, then the
//! stored subscriptions) and starts the driver task.
//!
//! The driver and its UDP sockets run on a thread of their own
//! ("opendpma-sip") with a single-threaded runtime. Everything a SIP
//! request touches then stays on one thread: a datagram wakes the receive
//! task, which hands it to the driver task without waking another worker,
//! as the shared work-stealing runtime did (futex wake-ups and context
//! switches were ~10 % of the server's CPU under `sbs.sh`; DECISIONS
//! §22). HTTP keeps the shared runtime and its two workers; the two sides
//! only meet through channels, as before.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::bind::SipSockets;
use super::driver_task::{DriverTask, wall};
use super::handle::SipHandle;
use super::settings::{endpoint_config, server_config};
use super::unreached::UnreachedPhones;
use crate::auth::NonceSecret;
use crate::metrics::Metrics;
use crate::server::connection_limits::{ConnectionLimits, ListenerKind};
use crate::server::presence_hub::PresenceHub;
use crate::server::sip_rate::SipRateLimit;
use crate::server::sip_stream::StreamPolicy;
use crate::server::sip_transport::{self, ConnectionCounter, Connections};
use crate::sip::{Endpoint, PresenceServer, Random};
use crate::snapshot::Snapshot;

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
        let udp_receivers = UdpReceivers {
            sockets: sockets.udp,
            inbound: inbound_sender.clone(),
            rate: rate.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        };
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
            udp: None,
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
        // Built here so that a failure shows at start, on the caller's thread.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the OS can start the SIP runtime (an epoll and an eventfd)");
        let driver = tasks.track_future(async move {
            let mut task = task;
            task.udp = udp_receivers.start();
            task.run(inbound, hint_feed, snapshots, commands, completions)
                .await;
        });
        std::thread::Builder::new()
            .name("opendpma-sip".into())
            // Tasks the driver started (outbound connections) end with the
            // runtime, once the driver has flushed and returned.
            .spawn(move || runtime.block_on(driver))
            .expect("the OS can start the SIP thread");
        SipHandle {
            commands: commands_sender,
            unreached,
        }
    }
}

/// The UDP sockets, until the SIP thread registers them with its runtime.
struct UdpReceivers {
    sockets: Vec<std::net::UdpSocket>,
    inbound: mpsc::Sender<sip_transport::Inbound>,
    rate: Arc<SipRateLimit>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl UdpReceivers {
    /// On the SIP thread: one receive task per socket; returns the first
    /// socket, which the driver sends from.
    fn start(self) -> Option<Arc<UdpSocket>> {
        let mut first = None;
        for socket in self.sockets {
            let socket = match UdpSocket::from_std(socket) {
                Ok(socket) => Arc::new(socket),
                Err(error) => {
                    tracing::error!(%error, "cannot register a SIP UDP socket; it stays silent");
                    continue;
                }
            };
            first.get_or_insert_with(|| socket.clone());
            sip_transport::spawn_udp(
                socket,
                self.inbound.clone(),
                self.rate.clone(),
                self.shutdown.clone(),
                &self.tasks,
            );
        }
        first
    }
}
