//! The AMI driver: one task that keeps a connection to Asterisk's manager
//! interface and carries out what `asterisk::AmiSession` decides. It
//! connects, logs in, resynchronises (`asterisk::plan_resync`), then
//! follows both sides: presence changes accepted here (the hub's broadcast:
//! PUBLISH, API, CLI, dashboard alike) go to Asterisk, and Asterisk's
//! presence and device changes come into the hub. A lost connection is
//! retried with backoff; opendpma keeps serving alone meanwhile and says
//! so (`/healthz` "degraded", `opendpma_asterisk_connected 0`).
//!
//! This file holds the connection's life (connect, log in, ping, back
//! off); `mirror` keeps the state of both sides alike, `handle` is how
//! other tasks ask for a check-sync through Asterisk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::handle::{AmiCommand, AmiHandle, AsteriskCheckSyncError};
use super::mirror::{Local, Mirror};
use crate::asterisk::{AmiError, AmiSession, Phase, SessionEvent};
use crate::config::{Asterisk, Secret};
use crate::metrics::Metrics;
use crate::presence::{Change, DeviceState};
use crate::server::presence_hub::PresenceHub;
use crate::snapshot::Snapshot;

/// First retry delay; doubled per failure up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// A synced link that lasted this long was a good one: its loss (an
/// Asterisk restart) is retried from `FIRST_BACKOFF`. A shorter one keeps
/// the backoff growing, so a peer that drops every link right after the
/// resync is not reconnected to (and resynchronised with) 4 times a second.
const STABLE_LINK: Duration = Duration::from_secs(10);
/// The wait after a refused login. Each refusal is a failed login in
/// Asterisk's security log, which fail2ban (FreePBX ships a jail for it)
/// counts; the secret is only read at start, so retrying fast gains nothing.
const AFTER_REFUSED_LOGIN: Duration = Duration::from_secs(60);
/// From TCP connect to synchronised; past this the attempt is given up.
const LOGIN_DEADLINE: Duration = Duration::from_secs(10);
/// How often a synced link is pinged; an unanswered ping by the next one
/// (or a write stuck this long) means the link is dead.
const PING_EVERY: Duration = Duration::from_secs(20);

/// What the driver is started with.
pub struct AmiLink {
    pub settings: Asterisk,
    pub secret: Secret,
    pub hub: Arc<PresenceHub>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
}

/// Starts the driver in a task owned by `tasks`.
pub fn spawn(link: AmiLink, tasks: &TaskTracker) -> AmiHandle {
    let AmiLink {
        settings,
        secret,
        hub,
        snapshots,
        metrics,
        shutdown,
    } = link;
    let (sender, commands) = mpsc::channel(64);
    metrics.asterisk.configured.store(1, Ordering::Relaxed);
    let handle = AmiHandle {
        commands: sender,
        snapshots: snapshots.clone(),
    };
    let task = AmiTask {
        address: settings.ami.to_string(),
        session: AmiSession::new(settings.username.clone(), secret),
        changes: hub.subscribe(),
        mirror: Mirror::new(hub, snapshots.clone(), metrics.clone()),
        snapshots,
        metrics,
        commands,
        shutdown,
        check_syncs: HashMap::new(),
        next_token: 0,
    };
    tasks.spawn(task.run());
    handle
}

/// Why a connection ended.
enum Ended {
    Shutdown,
    Lost {
        reason: String,
        synced: bool,
    },
    /// Asterisk refused our login (wrong secret or rights).
    Refused(String),
}

struct AmiTask {
    address: String,
    session: AmiSession,
    mirror: Mirror,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    metrics: Arc<Metrics>,
    changes: broadcast::Receiver<Change>,
    commands: mpsc::Receiver<AmiCommand>,
    shutdown: CancellationToken,
    check_syncs: HashMap<u64, oneshot::Sender<Result<(), AsteriskCheckSyncError>>>,
    next_token: u64,
}

impl AmiTask {
    async fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let attempt = Instant::now();
            let ended = match timeout(LOGIN_DEADLINE, TcpStream::connect(&self.address)).await {
                Ok(Ok(stream)) => self.connection(stream).await,
                Ok(Err(error)) => Ended::Lost {
                    reason: error.to_string(),
                    synced: false,
                },
                Err(_) => Ended::Lost {
                    reason: "connect timed out".to_owned(),
                    synced: false,
                },
            };
            self.metrics.asterisk.connected.store(0, Ordering::Relaxed);
            let (reason, synced) = match ended {
                Ended::Shutdown => return,
                Ended::Lost { reason, synced } => (reason, synced),
                Ended::Refused(reason) => {
                    backoff = backoff.max(AFTER_REFUSED_LOGIN);
                    (reason, false)
                }
            };
            self.metrics
                .asterisk
                .connect_failures
                .fetch_add(1, Ordering::Relaxed);
            for token in self.session.reconnected() {
                if let Some(reply) = self.check_syncs.remove(&token) {
                    let _ = reply.send(Err(AsteriskCheckSyncError::ConnectionLost));
                }
            }
            self.mirror.reconnected();
            if synced && attempt.elapsed() >= STABLE_LINK {
                backoff = FIRST_BACKOFF;
            }
            tracing::warn!(ami = %self.address, %reason, retry_in_ms = backoff.as_millis() as u64, "Asterisk AMI not connected; serving alone");
            if !self.wait(backoff).await {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Waits out a backoff while still noting local changes (they become
    /// dirty) and refusing check-syncs. `false` on shutdown.
    async fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                () = sleep_until(until) => return true,
                change = self.changes.recv() => self.local(change),
                Some(command) = self.commands.recv() => {
                    let AmiCommand::CheckSync { reply, .. } = command;
                    let _ = reply.send(Err(AsteriskCheckSyncError::NotConnected));
                }
            }
        }
    }

    async fn connection(&mut self, stream: TcpStream) -> Ended {
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let mut buffer = vec![0u8; 16 * 1024];
        let login_deadline = Instant::now() + LOGIN_DEADLINE;
        let mut pings = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let lost = |reason: String, session: &AmiSession| Ended::Lost {
            reason,
            synced: session.phase() == Phase::Synced,
        };
        loop {
            let output = self.session.take_output();
            if !output.is_empty() {
                match timeout(PING_EVERY, writer.write_all(&output)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => return lost(error.to_string(), &self.session),
                    Err(_) => return lost("Asterisk stopped reading".to_owned(), &self.session),
                }
            }
            let synced = self.session.phase() == Phase::Synced;
            tokio::select! {
                () = self.shutdown.cancelled() => return Ended::Shutdown,
                () = sleep_until(login_deadline), if !synced => {
                    return lost("no login and resync within 10 s".to_owned(), &self.session);
                }
                read = reader.read(&mut buffer) => {
                    let bytes = match read {
                        Ok(0) => return lost("closed by Asterisk".to_owned(), &self.session),
                        Ok(n) => &buffer[..n],
                        Err(error) => return lost(error.to_string(), &self.session),
                    };
                    match self.session.receive(bytes) {
                        Ok(events) => {
                            for event in events {
                                self.handle(event).await;
                            }
                        }
                        Err(error @ AmiError::LoginRefused(_)) => return Ended::Refused(error.to_string()),
                        Err(error) => return lost(error.to_string(), &self.session),
                    }
                }
                change = self.changes.recv() => self.local(change),
                Some(command) = self.commands.recv() => self.command(command),
                _ = pings.tick(), if synced => {
                    if !self.session.ping() {
                        return lost(format!("no answer to Ping within {} s", PING_EVERY.as_secs()), &self.session);
                    }
                }
                Ok(()) = self.snapshots.changed(), if synced => {
                    // A reload may name new devices: ask for every hinted
                    // device's state (answers come as SessionEvent::Device).
                    for device in self.mirror.hinted_devices() {
                        self.session.query_device(&device);
                    }
                }
            }
        }
    }

    fn command(&mut self, command: AmiCommand) {
        let AmiCommand::CheckSync { endpoint, reply } = command;
        if self.session.phase() != Phase::Synced {
            let _ = reply.send(Err(AsteriskCheckSyncError::NotConnected));
            return;
        }
        // Asterisk answers "NOTIFY sent" even with no contact to send to;
        // its device state says whether the endpoint is registered.
        let device = format!("PJSIP/{endpoint}");
        if self.mirror.endpoint(&device) == Some(DeviceState::Unavailable) {
            let _ = reply.send(Err(AsteriskCheckSyncError::NotRegistered { device }));
            return;
        }
        // Asks whose caller gave up waiting (CHECK_SYNC_WAIT) are dropped,
        // so a peer that never answers PJSIPNotify cannot grow the map.
        self.check_syncs.retain(|_, waiting| !waiting.is_closed());
        self.next_token += 1;
        self.session.check_sync(&endpoint, self.next_token);
        self.check_syncs.insert(self.next_token, reply);
    }

    /// A change from the hub's broadcast, for the mirror.
    fn local(&mut self, change: Result<Change, broadcast::error::RecvError>) {
        if self.mirror.local(&mut self.session, change) == Local::HubClosed {
            self.shutdown.cancel();
        }
    }

    async fn handle(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::LoggedIn => tracing::info!(ami = %self.address, "logged in to Asterisk"),
            SessionEvent::CheckSync { token, result } => {
                if let Some(reply) = self.check_syncs.remove(&token) {
                    let _ = reply.send(result.map_err(AsteriskCheckSyncError::from));
                }
            }
            event => self.mirror.remote(&mut self.session, &self.address, event).await,
        }
    }
}
