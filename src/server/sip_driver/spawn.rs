//! `SipDriver`: everything the driver needs, and `spawn`, which starts
//! the socket tasks, builds the sans-IO core (hint states first, then the
//! stored subscriptions) and starts the driver task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
