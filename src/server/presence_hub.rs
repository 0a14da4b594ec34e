//! `PresenceHub`: the driver around the pure `PresenceBook` — it reads the
//! clock, commits to the store, and fans changes out.
//!
//! Write path, for every accepted change: plan (validate, de-duplicate) →
//! store commit (fsync, on a blocking thread) → apply to the book →
//! broadcast. Writes are serialised by an async mutex so that the plan a
//! commit is based on is still current when it is applied. The book sits
//! behind a std `Mutex`: it is only held for in-memory work, never across
//! an `.await`, so readers (API, SIP) are never blocked by an fsync.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use crate::metrics::Metrics;
use crate::presence::{
    BookError, Change, DeviceState, Hint, HintState, InvalidName, InvalidUpdate, MAX_MESSAGE_BYTES,
    MAX_SUBTYPE_BYTES, Plan, PresenceBook, PresenceState, PresenceUpdate, PresenceValue, UnknownDeviceState,
    normalize_name,
};
use crate::store::{Store, StoreError};
use std::sync::atomic::Ordering;

/// Why a presence or device write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Update(#[from] InvalidUpdate),
    #[error(transparent)]
    Device(#[from] UnknownDeviceState),
    #[error(transparent)]
    Book(#[from] BookError),
    #[error("{0:?} is not an Asterisk device name (TECH/resource)")]
    DeviceName(String),
    #[error("could not store the change, nothing was changed: {0}")]
    Store(#[from] StoreError),
}

/// Shared presence state and its durable, broadcasting write path.
pub struct PresenceHub {
    book: Mutex<PresenceBook>,
    store: Arc<dyn Store>,
    writes: tokio::sync::Mutex<()>,
    changes: broadcast::Sender<Change>,
    metrics: Arc<Metrics>,
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl PresenceHub {
    pub fn new(book: PresenceBook, store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            book: Mutex::new(book),
            store,
            writes: tokio::sync::Mutex::new(()),
            changes,
            metrics,
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PresenceBook> {
        self.book
            .lock()
            .expect("the presence book lock is never poisoned")
    }

    /// Changes as they happen (after they are durable).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// A provider's value; the name is validated and normalised.
    pub fn presence(&self, provider: &str) -> Result<(String, PresenceValue), InvalidName> {
        let provider = normalize_name(provider, "CustomPresence:")?;
        let value = self.book().presence(&provider);
        Ok((provider, value))
    }

    pub fn providers(&self) -> Vec<(String, PresenceValue)> {
        self.book().providers()
    }

    pub fn device(&self, device: &str) -> Result<(String, DeviceState), InvalidName> {
        let device = normalize_name(device, "Custom:")?;
        let state = self.book().device(&device);
        Ok((device, state))
    }

    pub fn hint_states(&self) -> Vec<(Hint, HintState)> {
        let book = self.book();
        book.hints().iter().cloned().zip(book.hint_states()).collect()
    }

    pub fn hint_state(&self, exten: &str) -> Option<HintState> {
        self.book().hint_state(exten)
    }

    /// Sets `CustomPresence:<name>`; returns the value now in force.
    pub async fn set_presence(
        &self,
        provider: &str,
        update: PresenceUpdate,
    ) -> Result<(String, PresenceValue), HubError> {
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        let _serial = self.writes.lock().await;
        let plan = self.refusing(self.book().plan_presence(&provider, update, unix_millis()))?;
        self.commit(plan).await?;
        let value = self.book().presence(&provider);
        Ok((provider, value))
    }

    /// Mirrors a value Asterisk announced for `provider` (any of its seven
    /// states; `not_set` clears). Asterisk validated the state; the name
    /// and the field lengths are checked here like any other input.
    pub async fn mirror_presence(
        &self,
        provider: &str,
        value: PresenceValue,
    ) -> Result<(String, PresenceValue), HubError> {
        if value.state == PresenceState::NotSet {
            return self.clear_presence(provider).await;
        }
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        if value.subtype.len() > MAX_SUBTYPE_BYTES {
            return self.refusing(Err(InvalidUpdate::SubtypeTooLong(value.subtype.len())));
        }
        if value.message.len() > MAX_MESSAGE_BYTES {
            return self.refusing(Err(InvalidUpdate::MessageTooLong(value.message.len())));
        }
        let _serial = self.writes.lock().await;
        let value = PresenceValue {
            changed_at: Some(unix_millis()),
            ..value
        };
        let plan = self.refusing(self.book().plan_value(&provider, value))?;
        self.commit(plan).await?;
        let value = self.book().presence(&provider);
        Ok((provider, value))
    }

    /// Mirrors an Asterisk device state (`PJSIP/2000`, `Custom:x`, …).
    pub async fn mirror_device(&self, device: &str, state: DeviceState) -> Result<(), HubError> {
        let (technology, resource) = device.split_once('/').unwrap_or(("", ""));
        let valid = |part: &str, extra: &str| {
            !part.is_empty()
                && part.len() <= 80
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        if !valid(technology, "_") || !valid(resource, "-_.@+*#:") {
            return self.refusing(Err(HubError::DeviceName(device.to_owned())));
        }
        let _serial = self.writes.lock().await;
        let plan = self.refusing(self.book().plan_device(device, state))?;
        self.commit(plan).await
    }

    /// Returns a provider to `not_set`.
    pub async fn clear_presence(&self, provider: &str) -> Result<(String, PresenceValue), HubError> {
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        let _serial = self.writes.lock().await;
        let plan = self.book().plan_clear(&provider);
        self.commit(plan).await?;
        Ok((provider, PresenceValue::not_set()))
    }

    /// Sets `Custom:<name>` to a device state.
    pub async fn set_device(&self, device: &str, state: &str) -> Result<(String, DeviceState), HubError> {
        let device = self.refusing(normalize_name(device, "Custom:"))?;
        let state: DeviceState = self.refusing(state.parse())?;
        let _serial = self.writes.lock().await;
        let plan = self.refusing(self.book().plan_device(&device, state))?;
        self.commit(plan).await?;
        Ok((device, state))
    }

    /// Replaces the hints after a config reload and tells watchers.
    pub async fn set_hints(&self, hints: Vec<Hint>) {
        let _serial = self.writes.lock().await;
        let changes = self.book().set_hints(hints);
        self.announce(changes);
    }

    /// Counts refusals on the way out.
    fn refusing<T, E: Into<HubError>>(&self, result: Result<T, E>) -> Result<T, HubError> {
        result.map_err(|error| {
            self.metrics.refused_changes.fetch_add(1, Ordering::Relaxed);
            error.into()
        })
    }

    /// Store, then apply, then broadcast. `None` (a repeat) does nothing.
    async fn commit(&self, plan: Option<Plan>) -> Result<(), HubError> {
        let Some(plan) = plan else { return Ok(()) };
        let store = self.store.clone();
        let started = Instant::now();
        let (plan, stored) = tokio::task::spawn_blocking(move || {
            let stored = store.apply(&plan);
            (plan, stored)
        })
        .await
        .expect("store task does not panic");
        self.metrics.store_commit.observe(started.elapsed());
        if let Err(error) = stored {
            tracing::error!(%error, "store commit failed; change refused");
            return Err(error.into());
        }
        let changes = self.book().apply(plan);
        self.announce(changes);
        Ok(())
    }

    fn announce(&self, changes: Vec<Change>) {
        for change in changes {
            let counter = match &change {
                Change::Presence { provider, value } => {
                    tracing::info!(provider, state = %value.state, subtype = %value.subtype, "presence changed");
                    &self.metrics.presence_changes
                }
                Change::Device { device, state } => {
                    tracing::info!(device, %state, "device state changed");
                    &self.metrics.device_changes
                }
                Change::Hint(_) | Change::HintRemoved { .. } => &self.metrics.hint_changes,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            // No receivers is fine: nobody is watching.
            let _ = self.changes.send(change);
        }
    }
}
