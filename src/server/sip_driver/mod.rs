//! The SIP driver: the one task that owns the sans-IO `PresenceServer`.
//! It feeds it socket bytes, timer ticks, hint changes and store
//! completions, and carries out what comes back. Durable writes are handed
//! to the committer (`server::committer`) without waiting; the server
//! holds a SUBSCRIBE's or PUBLISH's 200 until the completion for its
//! write comes back, so nothing is acknowledged before it is on disk and
//! nothing else waits for the disk meanwhile (issue 16).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

mod reconfigure;
mod shedding;

use self::reconfigure::PendingReconfigure;
pub use self::reconfigure::{PhoneContact, ReconfigureOutcome, ReconfigureReport};
use super::ServerError;
use super::ami::AmiHandle;
use super::committer::Completion;
use super::connection_limits::{ConnectionLimits, ListenerKind};
use super::presence_hub::{HubError, PresenceHub};
use super::sip_rate::SipRateLimit;
use super::sip_stream::StreamPolicy;
use super::sip_transport::{self, ConnectionCounter, Connections, Inbound};
use crate::auth::{Algorithm, LockoutPolicy, NonceSecret};
use crate::config::{Config, DigestAlgorithm, Transport};
use crate::metrics::Metrics;
use crate::presence::{Change, HintState};
use crate::sip::{
    ConnectionId, Endpoint, EndpointConfig, HintSource, LineAccess, Output, Peer, PresenceServer,
    PresenceServerConfig, PublishFailure, Random, SubscriptionSummary, Transmit,
};
use crate::snapshot::Snapshot;
use crate::store::RecordTable;

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
pub struct SipHandle(mpsc::Sender<SipCommand>, Option<AmiHandle>);

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

impl HintSource for PresenceHub {
    fn hint_state(&self, exten: &str) -> Option<HintState> {
        PresenceHub::hint_state(self, exten)
    }
}

/// What a PUBLISH answers when its write did not happen: internal error
/// text never goes on the wire.
fn publish_failure(error: HubError) -> PublishFailure {
    match error {
        HubError::Store(_) | HubError::Overloaded => PublishFailure::Unavailable,
        other => PublishFailure::Refused(other.to_string()),
    }
}

fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Bound sockets, before the driver runs.
pub struct SipSockets {
    udp: Vec<Arc<UdpSocket>>,
    /// Stream listeners, with the TLS acceptor for `tls:` ones.
    streams: Vec<(TcpListener, Option<tokio_rustls::TlsAcceptor>)>,
    ports: HashMap<Transport, u16>,
}

/// Binds every `[sip] listen` entry now, so start-up fails on a taken port.
pub async fn bind(
    config: &Config,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<SipSockets, ServerError> {
    let mut sockets = SipSockets {
        udp: Vec::new(),
        streams: Vec::new(),
        ports: HashMap::new(),
    };
    for listen in &config.sip.listen {
        let address = listen.address;
        let bind_error = |source| ServerError::Bind { address, source };
        match listen.transport {
            Transport::Udp => {
                let socket = UdpSocket::bind(address).await.map_err(bind_error)?;
                super::udp_buffers::enlarge(&socket);
                let port = socket.local_addr().map_err(bind_error)?.port();
                sockets.ports.entry(Transport::Udp).or_insert(port);
                tracing::info!(address = %socket.local_addr().map_err(bind_error)?, "listening (sip/udp)");
                sockets.udp.push(Arc::new(socket));
            }
            Transport::Tcp | Transport::Tls => {
                let listener = TcpListener::bind(address).await.map_err(bind_error)?;
                let port = listener.local_addr().map_err(bind_error)?.port();
                sockets.ports.entry(listen.transport).or_insert(port);
                tracing::info!(address = %listener.local_addr().map_err(bind_error)?, "listening (sip/{})", listen.transport);
                // Validation guarantees a certificate for tls: listeners.
                let acceptor = (listen.transport == Transport::Tls)
                    .then(|| tls.clone())
                    .flatten();
                sockets.streams.push((listener, acceptor));
            }
        }
    }
    Ok(sockets)
}

fn endpoint_config(config: &Config, ports: &HashMap<Transport, u16>) -> EndpointConfig {
    EndpointConfig {
        realm: config.general.realm.clone(),
        require_auth: config.sip.require_auth,
        credentials: config
            .lines
            .iter()
            .map(|line| (line.authname.clone(), line.secret.clone()))
            .collect(),
        host: config.general.server_address.clone(),
        ports: ports.clone(),
        algorithms: config
            .sip
            .digest_algorithms
            .iter()
            .map(|algorithm| match algorithm {
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
                DigestAlgorithm::Md5 => Algorithm::Md5,
            })
            .collect(),
        lockout: lockout_policy(&config.limits),
    }
}

/// The brute-force policy from `[limits]`, shared by SIP and HTTP.
pub fn lockout_policy(limits: &crate::config::Limits) -> LockoutPolicy {
    LockoutPolicy {
        max_failures: limits.auth_failures,
        window: limits.auth_window,
        cooldown: limits.auth_cooldown,
        shared_addresses: limits.trusted_networks.clone(),
        ..LockoutPolicy::default()
    }
}

/// Who may PUBLISH for each line: its own user and the users of the other
/// lines on any phone that carries it.
fn server_config(config: &Config) -> PresenceServerConfig {
    let lines = config
        .lines
        .iter()
        .map(|line| {
            let mut publishers = vec![line.authname.clone()];
            for phone in config.phones_with_line(&line.name) {
                for mate in phone.lines.iter().filter_map(|name| config.line(name)) {
                    if !publishers.contains(&mate.authname) {
                        publishers.push(mate.authname.clone());
                    }
                }
            }
            LineAccess {
                name: line.name.clone(),
                exten: line.exten.to_string(),
                publishers,
            }
        })
        .collect();
    PresenceServerConfig {
        min_expires: config.sip.min_expires,
        max_expires: config.sip.max_expires,
        lines,
        max_per_line: config.limits.subscriptions_per_line,
        max_per_address: config.limits.subscriptions_per_ip,
        trusted_networks: config.limits.trusted_networks.clone(),
        max_per_trusted_address: config.limits.trusted_subscriptions_per_ip,
    }
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
    pub shutdown: CancellationToken,
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
            shutdown,
        } = self;
        let limits = snapshots.borrow().config.limits.clone();
        let rate = Arc::new(SipRateLimit::new(&limits, metrics.clone()));
        for socket in &sockets.udp {
            let inbound = inbound_sender.clone();
            sip_transport::spawn_udp(socket.clone(), inbound, rate.clone(), shutdown.clone());
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
        server.restore(now, wall(), subscriptions, hub.as_ref());
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
            shutdown: shutdown.clone(),
        };
        let changes = hub.subscribe();
        tokio::spawn(task.run(inbound, changes, snapshots, commands, completions));
        SipHandle(commands_sender, None)
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
    shutdown: CancellationToken,
}

impl DriverTask {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut changes: broadcast::Receiver<Change>,
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
                    self.server.handle_timeout(now, wall(), self.hub.as_ref());
                }
                Some(completion) = completions.recv() => {
                    self.completed(completion);
                    while let Ok(completion) = completions.try_recv() {
                        self.completed(completion);
                    }
                }
                change = changes.recv() => self.change(change),
                Ok(()) = snapshots.changed() => {
                    self.snapshot = snapshots.borrow_and_update().clone();
                    let config = &self.snapshot.config;
                    self.server.set_config(endpoint_config(config, &self.ports), server_config(config));
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
        let hub = self.hub.clone();
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
                self.server
                    .handle_datagram(now, wall(), peer, &bytes, hub.as_ref());
            }
            Inbound::Stream { peer, bytes } => {
                if let Some(connection) = peer.connection {
                    self.connections.remember_address(connection, peer.address);
                }
                if let Err(error) = self
                    .server
                    .handle_stream_bytes(now, wall(), peer, &bytes, hub.as_ref())
                {
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
                self.server.connection_lost(now, wall(), connection, hub.as_ref());
            }
        }
    }

    fn change(&mut self, change: Result<Change, broadcast::error::RecvError>) {
        let now = Instant::now();
        match change {
            Ok(Change::Hint(state)) => self.server.handle_hint_change(now, &state),
            Ok(Change::HintRemoved { exten }) => self.server.handle_hint_removed(now, exten.as_str()),
            Ok(_) => {}
            // Missed changes: send everyone the current state (de-duplication
            // is per change, so a full resend is the safe answer).
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::info!(missed, "presence changes missed (a burst); re-sending every hint");
                for (_, state) in self.hub.hint_states() {
                    self.server.handle_hint_change(now, &state);
                }
            }
            Err(broadcast::error::RecvError::Closed) => {}
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

    /// Hands durable writes to the committer (never waiting for it), then
    /// sends what is ready.
    async fn flush(&mut self) {
        let mut records = Vec::new();
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Store { key, record } => records.push((RecordTable::Subscriptions, key, record)),
                Output::Publish {
                    token,
                    provider,
                    update,
                } => {
                    if let Err(error) = self.hub.submit_publish(&provider, update, token, &self.completed) {
                        self.server
                            .publish_committed(Instant::now(), token, Err(publish_failure(error)));
                    }
                }
                Output::Seen {
                    user,
                    peer,
                    contact,
                    user_agent,
                } => records.extend(
                    self.seen(&user, peer, contact, user_agent)
                        .into_iter()
                        .map(|(key, record)| (RecordTable::PhoneContacts, key, record)),
                ),
                Output::CheckSyncDone { token, result } => self.check_sync_done(token, result),
            }
        }
        if !records.is_empty() {
            // Subscriptions and contacts that arrived together: one job,
            // one transaction. A full queue refuses the SUBSCRIBEs now
            // (503 + Retry-After) instead of queueing them (graceful
            // overload); contacts are best effort.
            let ticket = self.server.hand_over_records();
            if self.hub.submit_records(ticket, records, &self.completed).is_err() {
                tracing::warn!("the store is behind; SUBSCRIBEs refused with 503 until it catches up");
                self.server.subscriptions_stored(Instant::now(), ticket, false);
            }
        }
        if self.server.compact() {
            super::memory::release_free_memory();
        }
        // Counters first, so that anyone who saw our answer sees them too.
        self.metrics
            .sip_subscriptions
            .store(self.server.subscription_count() as i64, Ordering::Relaxed);
        *self.metrics.sip.lock().expect("metrics lock is never poisoned") = self.server.endpoint().stats;
        self.metrics
            .subscriptions_refused
            .store(self.server.refused_subscriptions, Ordering::Relaxed);
        self.metrics
            .notifies_superseded
            .store(self.server.superseded_notifies, Ordering::Relaxed);
        while let Some(transmit) = self.server.poll_transmit() {
            self.send(transmit).await;
        }
    }

    async fn send(&mut self, transmit: Transmit) {
        let Transmit { peer, bytes } = transmit;
        match peer.transport {
            Transport::Udp => {
                if let Some(socket) = &self.udp {
                    // Waiting for buffer space (rather than `try_send_to`)
                    // matters in bursts: a fan-out to thousands of watchers
                    // would otherwise lose most NOTIFYs to a full buffer and
                    // leave them to retransmission timers. Other errors (no
                    // route) are like loss, which those timers handle.
                    if let Err(error) = socket.send_to(&bytes, peer.address).await {
                        tracing::debug!(%error, %peer, "udp send failed");
                    }
                }
            }
            Transport::Tcp | Transport::Tls => self.send_stream(peer, bytes),
        }
    }

    fn send_stream(&mut self, peer: Peer, bytes: Vec<u8>) {
        let connection = peer
            .connection
            .or_else(|| self.connections.to_address(peer.address));
        if let Some(connection) = connection {
            if let Some(waiting) = self.pending.get_mut(&connection) {
                waiting.push(bytes);
                return;
            }
            if let Some(writer) = self.connections.writer(connection) {
                if writer.try_send(bytes).is_err() {
                    tracing::debug!(%peer, "connection backlog full; message dropped");
                }
                return;
            }
        }
        if peer.connection.is_some() {
            // A response or request bound to a connection that is gone (or
            // that we closed after a framing error): never connect out to
            // a client's ephemeral port for it (issue 17). Its transaction
            // times out; subscriptions move to their Contact on
            // `connection_lost`.
            tracing::debug!(%peer, "connection gone; message dropped");
            return;
        }
        if peer.transport == Transport::Tls {
            // We would need the watcher's trust anchors to connect out over
            // TLS; the NOTIFY's Timer F ends the subscription instead, and
            // the phone subscribes again on its own connection.
            tracing::debug!(%peer, "no TLS connection to this watcher; message dropped");
            return;
        }
        // No live connection (e.g. after a restart): connect out to the
        // watcher's Contact and send once it is up. If it cannot be
        // reached, the NOTIFY's own Timer F ends the subscription. One
        // connection per address at a time, under the connection caps.
        let connection = self.counter.next();
        self.connections.remember_address(connection, peer.address);
        self.pending.insert(connection, vec![bytes]);
        sip_transport::spawn_outbound(
            peer.address,
            connection,
            &self.connection_limits,
            self.stream_policy.clone(),
        );
    }
}
