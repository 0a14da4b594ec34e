//! `Mirror`: keeping presence and device state the same on both sides of
//! the AMI link. Local changes (the hub's broadcast) are written to
//! Asterisk through the session; Asterisk's changes are taken into the
//! hub, and their own broadcast echo is recognised and not written back.
//! A (re)connection starts with a full comparison (`plan_resync`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{broadcast, watch};

use crate::asterisk::{AmiSession, AsteriskState, SessionEvent, is_custom_presence, plan_resync};
use crate::metrics::Metrics;
use crate::presence::{Change, DeviceState, PresenceValue};
use crate::server::presence_hub::PresenceHub;
use crate::snapshot::Snapshot;

/// Most values from Asterisk remembered per provider while their echo is
/// outstanding.
const ECHOES_PER_PROVIDER: usize = 64;

/// What the mirror made of a local change.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Local {
    Followed,
    /// The hub's broadcast closed: the hub is gone, nothing to mirror.
    HubClosed,
}

/// The state of both sides the driver keeps between events.
pub(super) struct Mirror {
    hub: Arc<PresenceHub>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    metrics: Arc<Metrics>,
    /// Values taken from Asterisk into the hub, per provider, whose
    /// broadcast has not come back yet: not to be written back.
    inbound: HashMap<String, VecDeque<PresenceValue>>,
    /// Last known state of each PJSIP endpoint (registered or not).
    endpoints: HashMap<String, DeviceState>,
}

impl Mirror {
    pub(super) fn new(
        hub: Arc<PresenceHub>,
        snapshots: watch::Receiver<Arc<Snapshot>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            hub,
            snapshots,
            metrics,
            inbound: HashMap::new(),
            endpoints: HashMap::new(),
        }
    }

    /// A new connection: echoes from the last one will not come back.
    pub(super) fn reconnected(&mut self) {
        self.inbound.clear();
    }

    /// The last known state of a line's PJSIP endpoint (`PJSIP/<line>`).
    pub(super) fn endpoint(&self, device: &str) -> Option<DeviceState> {
        self.endpoints.get(device).copied()
    }

    /// A change from the hub's broadcast.
    pub(super) fn local(
        &mut self,
        session: &mut AmiSession,
        change: Result<Change, broadcast::error::RecvError>,
    ) -> Local {
        match change {
            Ok(Change::Presence { provider, value }) => {
                if let Some(queue) = self.inbound.get_mut(&provider)
                    && let Some(index) = queue.iter().position(|v| v.same_as(&value))
                {
                    // Our own copy of an Asterisk change.
                    queue.drain(..=index);
                    return Local::Followed;
                }
                if session.local_change(&provider, &value) {
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
                    if session.local_change(&provider, &value) {
                        self.metrics.asterisk.writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return Local::HubClosed,
        }
        Local::Followed
    }

    /// An event from Asterisk about state (check-sync answers and log-ins
    /// are the driver's).
    pub(super) async fn remote(&mut self, session: &mut AmiSession, address: &str, event: SessionEvent) {
        match event {
            SessionEvent::Loaded(state) => self.resync(session, address, state).await,
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
            SessionEvent::LoggedIn | SessionEvent::CheckSync { .. } => {}
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
                if queue.len() == ECHOES_PER_PROVIDER {
                    queue.pop_front();
                }
                queue.push_back(value);
            }
            Err(error) => tracing::warn!(%provider, %error, "presence from Asterisk not applied"),
        }
    }

    async fn resync(&mut self, session: &mut AmiSession, address: &str, state: AsteriskState) {
        let dirty = session.take_dirty();
        let plan = plan_resync(&self.hub.providers(), &state.presence, &dirty);
        let (pushed, pulled) = (plan.push.len(), plan.pull.len());
        for (provider, value) in plan.push {
            self.metrics.asterisk.writes.fetch_add(1, Ordering::Relaxed);
            session.push(&provider, value);
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
                None => session.query_device(&device),
            }
        }
        self.metrics.asterisk.connected.store(1, Ordering::Relaxed);
        self.metrics.asterisk.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(ami = %address, pushed, pulled, devices, "synchronised with Asterisk");
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
    pub(super) fn hinted_devices(&self) -> HashSet<String> {
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
