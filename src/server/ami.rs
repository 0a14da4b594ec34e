//! The AMI driver: one task that keeps a connection to Asterisk's manager
//! interface and carries out what `asterisk::AmiSession` decides. It
//! connects, logs in, resynchronises (`asterisk::plan_resync`), then
//! follows both sides: presence changes accepted here (the hub's broadcast:
//! PUBLISH, API, CLI, dashboard alike) go to Asterisk, and Asterisk's
//! presence and device changes come into the hub. A lost connection is
//! retried with backoff; opendpma keeps serving alone meanwhile and says
//! so (`/healthz` "degraded", `opendpma_asterisk_connected 0`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::presence_hub::PresenceHub;
use super::sip_driver::{ReconfigureOutcome, ReconfigureReport};
use crate::asterisk::{
    AmiError, AmiSession, AsteriskState, Phase, SessionEvent, is_custom_presence, plan_resync,
};
use crate::config::{Asterisk, Secret};
use crate::metrics::Metrics;
use crate::presence::{Change, DeviceState, PresenceValue};
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
/// How long a check-sync waits for Asterisk's answer.
const CHECK_SYNC_WAIT: Duration = Duration::from_secs(5);

enum AmiCommand {
    CheckSync {
        endpoint: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// Asks the AMI driver for things (cloneable).
#[derive(Debug, Clone)]
pub struct AmiHandle {
    commands: mpsc::Sender<AmiCommand>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
}

impl std::fmt::Debug for AmiCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AmiCommand")
    }
}

impl AmiHandle {
    /// `PJSIPNotify` `Event: check-sync` to a PJSIP endpoint; `Err` says why not.
    pub async fn check_sync(&self, endpoint: &str) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let command = AmiCommand::CheckSync {
            endpoint: endpoint.to_owned(),
            reply,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| "the AMI driver has stopped".to_owned())?;
        match timeout(CHECK_SYNC_WAIT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the AMI connection was lost".to_owned()),
            Err(_) => Err("Asterisk did not answer in time".to_owned()),
        }
    }

    /// For each phone opendpma never heard from, sends the check-sync to
    /// its primary line's PJSIP endpoint through Asterisk instead.
    pub async fn check_sync_unreached(&self, reports: &mut [ReconfigureReport]) {
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
                        Err(reason) => ReconfigureOutcome::AsteriskFailed { endpoint, reason },
                    };
                })
            });
        futures_util::future::join_all(sends).await;
    }
}

impl super::sip_driver::UnreachedPhones for AmiHandle {
    fn check_sync<'a>(
        &'a self,
        reports: &'a mut [ReconfigureReport],
    ) -> super::sip_driver::CheckSyncFuture<'a> {
        Box::pin(self.check_sync_unreached(reports))
    }
}

/// Starts the driver.
pub fn spawn(
    settings: &Asterisk,
    secret: Secret,
    hub: Arc<PresenceHub>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> AmiHandle {
    let (sender, commands) = mpsc::channel(64);
    metrics.asterisk.configured.store(1, Ordering::Relaxed);
    let task = AmiTask {
        address: settings.ami.to_string(),
        session: AmiSession::new(settings.username.clone(), secret),
        changes: hub.subscribe(),
        hub,
        snapshots,
        metrics,
        commands,
        shutdown,
        check_syncs: HashMap::new(),
        next_token: 0,
        inbound: HashMap::new(),
        endpoints: HashMap::new(),
    };
    let handle = AmiHandle {
        commands: sender,
        snapshots: task.snapshots.clone(),
    };
    tokio::spawn(task.run());
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
    hub: Arc<PresenceHub>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    metrics: Arc<Metrics>,
    changes: broadcast::Receiver<Change>,
    commands: mpsc::Receiver<AmiCommand>,
    shutdown: CancellationToken,
    check_syncs: HashMap<u64, oneshot::Sender<Result<(), String>>>,
    next_token: u64,
    /// Values taken from Asterisk into the hub, per provider, whose
    /// broadcast has not come back yet: not to be written back.
    inbound: HashMap<String, VecDeque<PresenceValue>>,
    /// Last known state of each PJSIP endpoint (registered or not).
    endpoints: HashMap<String, DeviceState>,
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
                    let _ = reply.send(Err("the AMI connection was lost".to_owned()));
                }
            }
            self.inbound.clear();
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
                    let _ = reply.send(Err("Asterisk is not connected".to_owned()));
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
                    for device in self.hinted_devices() {
                        self.session.query_device(&device);
                    }
                }
            }
        }
    }

    fn command(&mut self, command: AmiCommand) {
        let AmiCommand::CheckSync { endpoint, reply } = command;
        if self.session.phase() != Phase::Synced {
            let _ = reply.send(Err("Asterisk is not connected".to_owned()));
            return;
        }
        // Asterisk answers "NOTIFY sent" even with no contact to send to;
        // its device state says whether the endpoint is registered.
        let device = format!("PJSIP/{endpoint}");
        if self.endpoints.get(&device) == Some(&DeviceState::Unavailable) {
            let _ = reply.send(Err(format!("{device} is not registered to Asterisk")));
            return;
        }
        // Asks whose caller gave up waiting (CHECK_SYNC_WAIT) are dropped,
        // so a peer that never answers PJSIPNotify cannot grow the map.
        self.check_syncs.retain(|_, waiting| !waiting.is_closed());
        self.next_token += 1;
        self.session.check_sync(&endpoint, self.next_token);
        self.check_syncs.insert(self.next_token, reply);
    }

    /// A change from the hub's broadcast.
    fn local(&mut self, change: Result<Change, broadcast::error::RecvError>) {
        match change {
            Ok(Change::Presence { provider, value }) => {
                if let Some(queue) = self.inbound.get_mut(&provider)
                    && let Some(index) = queue.iter().position(|v| v.same_as(&value))
                {
                    // Our own copy of an Asterisk change.
                    queue.drain(..=index);
                    return;
                }
                if self.session.local_change(&provider, &value) {
                    self.metrics.asterisk.writes.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Changes were missed: compare everything (the session
                // only writes what differs from what Asterisk holds).
                tracing::warn!(
                    missed,
                    "AMI driver fell behind the presence changes; comparing all"
                );
                for (provider, value) in self.hub.providers() {
                    if self.session.local_change(&provider, &value) {
                        self.metrics.asterisk.writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => self.shutdown.cancel(),
        }
    }

    async fn handle(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::LoggedIn => tracing::info!(ami = %self.address, "logged in to Asterisk"),
            SessionEvent::Loaded(state) => self.resync(state).await,
            SessionEvent::Presence { provider, value } => {
                if is_custom_presence(&provider) {
                    self.inbound(provider, value).await;
                }
            }
            SessionEvent::Device { device, state } => {
                if self.hinted_devices().contains(&device) {
                    self.device(device, state).await;
                } else if self.is_line_endpoint(&device) {
                    self.endpoints.insert(device, state);
                }
            }
            SessionEvent::WriteRefused { provider, message } => {
                self.metrics
                    .asterisk
                    .write_refusals
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%provider, %message, "Asterisk refused a presence write");
            }
            SessionEvent::CheckSync { token, result } => {
                if let Some(reply) = self.check_syncs.remove(&token) {
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Takes a hinted device's state from Asterisk into the hub.
    async fn device(&mut self, device: String, state: DeviceState) {
        match self.hub.mirror_device(&device, state).await {
            Ok(()) => {
                self.metrics.asterisk.changes_in.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(%device, %error, "device state from Asterisk not applied"),
        }
        if device.starts_with("PJSIP/") {
            self.endpoints.insert(device, state);
        }
    }

    /// Takes a presence value from Asterisk into the hub.
    async fn inbound(&mut self, provider: String, value: PresenceValue) {
        let Ok((_, current)) = self.hub.presence(&provider) else {
            tracing::warn!(%provider, "presence from Asterisk has a name opendpma does not take");
            return;
        };
        if current.same_as(&value) {
            return;
        }
        match self.hub.mirror_presence(&provider, value.clone()).await {
            Ok(_) => {
                self.metrics.asterisk.changes_in.fetch_add(1, Ordering::Relaxed);
                let queue = self.inbound.entry(provider).or_default();
                if queue.len() == 64 {
                    queue.pop_front();
                }
                queue.push_back(value);
            }
            Err(error) => tracing::warn!(%provider, %error, "presence from Asterisk not applied"),
        }
    }

    async fn resync(&mut self, state: AsteriskState) {
        let dirty = self.session.take_dirty();
        let plan = plan_resync(&self.hub.providers(), &state.presence, &dirty);
        let (pushed, pulled) = (plan.push.len(), plan.pull.len());
        for (provider, value) in plan.push {
            self.metrics.asterisk.writes.fetch_add(1, Ordering::Relaxed);
            self.session.push(&provider, value);
        }
        for (provider, value) in plan.pull {
            self.inbound(provider, value).await;
        }
        self.endpoints = state
            .devices
            .iter()
            .filter(|(device, _)| self.is_line_endpoint(device))
            .map(|(device, state)| (device.clone(), *state))
            .collect();
        let mut devices = 0;
        for device in self.hinted_devices() {
            match state.devices.get(&device) {
                Some(&device_state) => {
                    devices += 1;
                    self.device(device, device_state).await;
                }
                // Not in Asterisk's cache: ask for it.
                None => self.session.query_device(&device),
            }
        }
        self.metrics.asterisk.connected.store(1, Ordering::Relaxed);
        self.metrics.asterisk.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(ami = %self.address, pushed, pulled, devices, "synchronised with Asterisk");
    }

    /// Whether `device` is the PJSIP endpoint of one of our lines (the
    /// only ones a check-sync goes to). Only those are remembered, so a
    /// peer announcing endless made-up endpoints cannot grow the map.
    fn is_line_endpoint(&self, device: &str) -> bool {
        device.strip_prefix("PJSIP/").is_some_and(|name| {
            self.snapshots
                .borrow()
                .config
                .lines
                .iter()
                .any(|line| line.name == name)
        })
    }

    /// The Asterisk devices the current hints name (`PJSIP/<line>`, …);
    /// `Custom:` devices stay opendpma's own.
    fn hinted_devices(&self) -> HashSet<String> {
        self.snapshots
            .borrow()
            .config
            .hints
            .iter()
            .flat_map(|hint| hint.devices.iter())
            .filter(|device| device.contains('/'))
            .cloned()
            .collect()
    }
}
