//! `PresenceHub` itself: validation at the edge, reads from the book,
//! and writes handed to the committer thread (shed or waited for).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::error::HubError;
use super::shared::HubShared;
use crate::metrics::Metrics;
use crate::presence::{
    Change, DeviceState, Hint, HintState, InvalidName, InvalidUpdate, MAX_MESSAGE_BYTES, MAX_SUBTYPE_BYTES,
    PresenceBook, PresenceState, PresenceUpdate, PresenceValue, normalize_name,
};
use crate::server::committer::{self, Completion, Job, PresenceWrite, Reply};
use crate::store::{RecordTable, Store};
use crate::wall_clock::unix_millis;

/// Whether a write waits for room in a full queue or is refused at once.
#[derive(Clone, Copy)]
enum Admission {
    Shed,
    Wait,
}

/// Shared presence state and its durable, broadcasting write path.
pub struct PresenceHub {
    shared: Arc<HubShared>,
    store: Arc<dyn Store>,
    jobs: mpsc::Sender<Job>,
    committer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for PresenceHub {
    /// Closes the queue and waits for the committer to finish what it
    /// took, so the store is closed cleanly at shutdown (not torn down
    /// with the process while a commit runs).
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.committer.take()
            && thread.join().is_err()
        {
            tracing::error!("the store thread panicked");
        }
    }
}

impl PresenceHub {
    /// Starts the committer thread, which owns every write to `store`.
    pub fn new(book: PresenceBook, store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        let shared = Arc::new(HubShared::new(book, metrics));
        let (jobs, committer) = committer::spawn(store.clone(), shared.clone());
        Self {
            shared,
            store,
            jobs,
            committer: Some(committer),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PresenceBook> {
        self.shared.book()
    }

    /// Whether the store takes writes; a failing one is probed with a
    /// real write (blocking I/O: call from a blocking thread).
    pub fn store_works(&self) -> bool {
        self.store.probe()
    }

    /// Changes as they happen (after they are durable).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.shared.subscribe()
    }

    /// Every hint's state now, and from then on every hint change in
    /// commit order, never dropped (one follower: a second call replaces
    /// the first). Unbounded, yet bounded in practice: one entry per
    /// committed hint change, drained by the driver on every turn of its
    /// loop. Registered under the book lock, so no change falls between
    /// the states read and the feed; a change applied just before may
    /// arrive once more, which the SIP core ignores as no change.
    pub fn follow_hints(&self) -> (Vec<HintState>, mpsc::UnboundedReceiver<Change>) {
        let (sender, feed) = mpsc::unbounded_channel();
        let book = self.book();
        self.shared.set_hint_feed(sender);
        (book.hint_states(), feed)
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
        let write = PresenceWrite::Update {
            provider: provider.clone(),
            update,
            at: unix_millis(),
        };
        let value = self.write(write, Admission::Shed).await?;
        Ok((provider, value))
    }

    /// Hands a PUBLISH's change to the committer without waiting: the
    /// answer comes back on `to` as `Completion::Published { token }`.
    /// `Err(Overloaded)` at once when the queue is full.
    pub fn submit_publish(
        &self,
        provider: &str,
        update: PresenceUpdate,
        token: u64,
        to: &mpsc::UnboundedSender<Completion>,
    ) -> Result<(), HubError> {
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        let write = PresenceWrite::Update {
            provider,
            update,
            at: unix_millis(),
        };
        let reply = Reply::Driver {
            token,
            to: to.clone(),
        };
        self.offer(Job::Presence { write, reply })
    }

    /// Hands SIP records to the committer without waiting: the answer
    /// comes back on `to` as `Completion::Stored { ticket }`.
    pub fn submit_records(
        &self,
        ticket: u64,
        records: Vec<(RecordTable, String, Option<Vec<u8>>)>,
        to: &mpsc::UnboundedSender<Completion>,
    ) -> Result<(), HubError> {
        self.offer(Job::Records {
            ticket,
            records,
            to: to.clone(),
        })
    }

    /// Mirrors a value Asterisk announced for `provider` (any of its seven
    /// states; `not_set` clears). Asterisk validated the state; the name
    /// and the field lengths are checked here like any other input.
    pub async fn mirror_presence(
        &self,
        provider: &str,
        value: PresenceValue,
    ) -> Result<(String, PresenceValue), HubError> {
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        if value.state == PresenceState::NotSet {
            self.write(
                PresenceWrite::Clear {
                    provider: provider.clone(),
                },
                Admission::Wait,
            )
            .await?;
            return Ok((provider, PresenceValue::not_set()));
        }
        if value.subtype.len() > MAX_SUBTYPE_BYTES {
            return self.refusing(Err(InvalidUpdate::SubtypeTooLong(value.subtype.len())));
        }
        if value.message.len() > MAX_MESSAGE_BYTES {
            return self.refusing(Err(InvalidUpdate::MessageTooLong(value.message.len())));
        }
        let value = PresenceValue {
            changed_at: Some(unix_millis()),
            ..value
        };
        let write = PresenceWrite::Value {
            provider: provider.clone(),
            value,
        };
        let value = self.write(write, Admission::Wait).await?;
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
        let write = PresenceWrite::Device {
            device: device.to_owned(),
            state,
        };
        self.write(write, Admission::Wait).await.map(|_| ())
    }

    /// Returns a provider to `not_set`.
    pub async fn clear_presence(&self, provider: &str) -> Result<(String, PresenceValue), HubError> {
        let provider = self.refusing(normalize_name(provider, "CustomPresence:"))?;
        self.write(
            PresenceWrite::Clear {
                provider: provider.clone(),
            },
            Admission::Shed,
        )
        .await?;
        Ok((provider, PresenceValue::not_set()))
    }

    /// Sets `Custom:<name>` to a device state.
    pub async fn set_device(&self, device: &str, state: &str) -> Result<(String, DeviceState), HubError> {
        let device = self.refusing(normalize_name(device, "Custom:"))?;
        let state: DeviceState = self.refusing(state.parse())?;
        let write = PresenceWrite::Device {
            device: device.clone(),
            state,
        };
        self.write(write, Admission::Shed).await?;
        Ok((device, state))
    }

    /// Replaces the hints after a config reload and tells watchers (in
    /// order with the changes queued before).
    pub async fn set_hints(&self, hints: Vec<Hint>) {
        let (done, finished) = oneshot::channel();
        if self.jobs.send(Job::Hints { hints, done }).await.is_ok() {
            let _ = finished.await;
        }
    }

    /// Counts refusals on the way out.
    fn refusing<T, E: Into<HubError>>(&self, result: Result<T, E>) -> Result<T, HubError> {
        result.map_err(|error| self.shared.refused(error.into()))
    }

    /// Queues a write and waits until it is durable (or refused).
    /// Returns the presence value the write left in force (`not_set` for
    /// a device write, which has none).
    async fn write(&self, write: PresenceWrite, admission: Admission) -> Result<PresenceValue, HubError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Presence {
            write,
            reply: Reply::Caller(reply),
        };
        match admission {
            Admission::Shed => self.offer(job)?,
            Admission::Wait => self.jobs.send(job).await.map_err(|_| HubError::Overloaded)?,
        }
        // The committer answers every job it takes; it only stops when the
        // hub is gone.
        let value = answer.await.unwrap_or(Err(HubError::Overloaded))?;
        Ok(value.unwrap_or_else(PresenceValue::not_set))
    }

    /// Queues a job if there is room; refuses it otherwise.
    fn offer(&self, job: Job) -> Result<(), HubError> {
        self.jobs.try_send(job).map_err(|_| {
            self.shared.metrics.store_shed.fetch_add(1, Ordering::Relaxed);
            HubError::Overloaded
        })
    }
}
