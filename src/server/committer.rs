//! The committer: the one thread that writes to the store, so that no
//! task (above all the SIP driver) ever waits on the disk.
//!
//! Group commit: every presence change (PUBLISH, API, CLI, dashboard, AMI)
//! and every batch of SIP records is a `Job` on one bounded queue. The
//! thread takes what is waiting, plans it against the book, and commits
//! it all in ONE store transaction (one fsync); what arrives meanwhile
//! waits for the next one. Under load, a batch first waits a little for
//! company (`commit_delay`), so that a busy server commits less often.
//! Only after the commit is durable does it apply the changes to the
//! book, fan them out, and answer each job — so every
//! change is still acknowledged after its own commit, and the SIP driver
//! (which hands jobs over and gets `Completion`s back) never waits on the
//! disk.
//!
//! Several changes to one provider or device may share a batch (a phone
//! that publishes in quick succession): each after the first is planned
//! against a scratch book holding what the batch's earlier plans set, so
//! de-duplication ("a repeat changes nothing") sees the value that will be
//! in force; a repeat of a value the batch writes is answered with the
//! batch. The plans are written and applied in order: the last one wins.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::commit_delay;
use super::presence_hub::{HubError, HubShared};
use crate::presence::{BookError, DeviceState, Hint, Plan, PresenceBook, PresenceUpdate, PresenceValue};
use crate::store::{RecordTable, Store, StoreError, WriteBatch};

/// Jobs waiting for the committer; beyond this, new work is shed (503)
/// rather than queued (graceful overload). At a few milliseconds per
/// fsync this is well under a SIP retransmission interval (T1, 500 ms).
pub const QUEUE_CAPACITY: usize = 2048;

/// Most jobs in one transaction: bounds the time one commit takes.
const MAX_BATCH: usize = 1024;

/// A presence or device write, validated at the edge, planned here.
#[derive(Debug)]
pub enum PresenceWrite {
    /// An update from PUBLISH, the API or the CLI (`at`: Unix millis).
    Update {
        provider: String,
        update: PresenceUpdate,
        at: u64,
    },
    /// A value Asterisk already accepted.
    Value {
        provider: String,
        value: PresenceValue,
    },
    Clear {
        provider: String,
    },
    Device {
        device: String,
        state: DeviceState,
    },
}

impl PresenceWrite {
    fn key(&self) -> &str {
        match self {
            Self::Update { provider, .. } | Self::Value { provider, .. } | Self::Clear { provider } => {
                provider
            }
            Self::Device { device, .. } => device,
        }
    }
}

/// What the SIP driver gets back for the jobs it handed over.
#[derive(Debug)]
pub enum Completion {
    /// The PUBLISH with this token is durable (or failed).
    Published {
        token: u64,
        result: Result<(), HubError>,
    },
    /// The records handed over with this ticket are durable (or not).
    Stored { ticket: u64, stored: bool },
}

/// Who is told when a presence write is done.
#[derive(Debug)]
pub enum Reply {
    /// An API, CLI, dashboard or AMI caller waiting on a oneshot.
    /// The answer carries the presence value this write left in force
    /// (`None` for a device write).
    Caller(oneshot::Sender<Result<Option<PresenceValue>, HubError>>),
    /// The SIP driver, by PUBLISH token.
    Driver {
        token: u64,
        to: mpsc::UnboundedSender<Completion>,
    },
}

impl Reply {
    fn send(self, result: Result<Option<PresenceValue>, HubError>) {
        // A caller that went away (a closed HTTP request) needs no answer.
        match self {
            Self::Caller(reply) => {
                let _ = reply.send(result);
            }
            Self::Driver { token, to } => {
                let result = result.map(|_| ());
                let _ = to.send(Completion::Published { token, result });
            }
        }
    }
}

/// Work for the committer.
#[derive(Debug)]
pub enum Job {
    Presence {
        write: PresenceWrite,
        reply: Reply,
    },
    /// SIP records (subscriptions, phone contacts) from the driver.
    Records {
        ticket: u64,
        records: Vec<(RecordTable, String, Option<Vec<u8>>)>,
        to: mpsc::UnboundedSender<Completion>,
    },
    /// New hints after a reload: applied between batches, in order.
    Hints {
        hints: Vec<Hint>,
        done: oneshot::Sender<()>,
    },
}

/// Starts the committer thread; it finishes the queued work and ends
/// (closing its handle on the store) when every sender is dropped.
pub fn spawn(store: Arc<dyn Store>, shared: Arc<HubShared>) -> (mpsc::Sender<Job>, JoinHandle<()>) {
    let (sender, queue) = mpsc::channel(QUEUE_CAPACITY);
    let committer = Committer { store, shared, queue };
    let thread = std::thread::Builder::new()
        .name("opendpma-store".into())
        .spawn(move || committer.run())
        .expect("the OS can start the store thread");
    (sender, thread)
}

struct Committer {
    store: Arc<dyn Store>,
    shared: Arc<HubShared>,
    queue: mpsc::Receiver<Job>,
}

/// A job in the batch being committed.
enum Waiter {
    Presence(Reply, Option<PresenceValue>),
    Records {
        ticket: u64,
        to: mpsc::UnboundedSender<Completion>,
    },
}

impl Committer {
    fn run(mut self) {
        let mut backlog = VecDeque::new();
        // The last commit: when it started, and how many writes it had.
        let mut last = (Instant::now(), 0);
        loop {
            if backlog.is_empty() {
                match self.queue.blocking_recv() {
                    Some(job) => backlog.push_back(job),
                    None => return,
                }
            }
            let delay = commit_delay::delay(last.1, last.0.elapsed());
            if !delay.is_zero() && backlog.len() < MAX_BATCH {
                std::thread::sleep(delay);
            }
            while backlog.len() < MAX_BATCH {
                match self.queue.try_recv() {
                    Ok(job) => backlog.push_back(job),
                    Err(_) => break,
                }
            }
            let started = Instant::now();
            let writes = self.round(&mut backlog);
            if writes > 0 {
                last = (started, writes);
            }
        }
    }

    /// Plans and commits one batch from the front of `backlog`; what
    /// cannot share it (a second write to a key, hints) stays there.
    /// Returns how many writes it committed (0: no commit was needed).
    fn round(&mut self, backlog: &mut VecDeque<Job>) -> usize {
        let mut batch = WriteBatch::default();
        // Keys this batch writes, and their values after its plans so far.
        let mut keys: HashSet<String> = HashSet::new();
        let mut scratch = PresenceBook::default();
        let mut waiters = Vec::new();
        while let Some(job) = backlog.pop_front() {
            match job {
                Job::Hints { hints, done } => {
                    if !waiters.is_empty() {
                        backlog.push_front(Job::Hints { hints, done });
                        break;
                    }
                    let changes = self.shared.book().set_hints(hints);
                    self.shared.announce(changes);
                    let _ = done.send(());
                }
                Job::Presence { write, reply } => {
                    let in_batch = keys.contains(write.key());
                    let planned = if in_batch {
                        plan(&scratch, &write)
                    } else {
                        plan(&self.shared.book(), &write)
                    };
                    let planned = match planned {
                        Ok(planned) => planned,
                        Err(error) => {
                            reply.send(Err(self.shared.refused(error.into())));
                            continue;
                        }
                    };
                    let repeat = planned.is_none();
                    if let Some(plan) = planned {
                        keys.insert(write.key().to_owned());
                        scratch.apply(plan.clone());
                        batch.plans.push(plan);
                    }
                    // What this write leaves in force, for its answer.
                    let value = match &write {
                        PresenceWrite::Device { .. } => None,
                        _ if keys.contains(write.key()) => Some(scratch.presence(write.key())),
                        _ => Some(self.shared.book().presence(write.key())),
                    };
                    if repeat && !in_batch {
                        // A repeat of the value in force: that value is
                        // already durable (the book holds nothing else).
                        reply.send(Ok(value));
                    } else {
                        // A change, or a repeat of what this batch writes:
                        // answered once the batch is durable.
                        waiters.push(Waiter::Presence(reply, value));
                    }
                }
                Job::Records { ticket, records, to } => {
                    batch.records.extend(records);
                    waiters.push(Waiter::Records { ticket, to });
                }
            }
            if waiters.len() >= MAX_BATCH {
                break;
            }
        }
        if waiters.is_empty() {
            return 0;
        }
        let writes = batch.plans.len() + batch.records.len();
        let result = self.commit(&batch);
        if result.is_ok() {
            let changes: Vec<_> = {
                let mut book = self.shared.book();
                batch
                    .plans
                    .into_iter()
                    .flat_map(|plan| book.apply(plan))
                    .collect()
            };
            self.shared.announce(changes);
        }
        let failure = result.err().map(Arc::new);
        for waiter in waiters {
            match waiter {
                Waiter::Presence(reply, value) => {
                    reply.send(match &failure {
                        None => Ok(value),
                        Some(error) => Err(HubError::Store(error.clone())),
                    });
                }
                Waiter::Records { ticket, to } => {
                    let _ = to.send(Completion::Stored {
                        ticket,
                        stored: failure.is_none(),
                    });
                }
            }
        }
        writes
    }

    fn commit(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.store.commit(batch);
        // One observation per transaction: the histogram's count is the
        // number of commits (fsyncs), to set beside the changes counted.
        self.shared.metrics.store_commit.observe(started.elapsed());
        if let Err(error) = &result {
            tracing::error!(%error, writes = batch.plans.len() + batch.records.len(), "store commit failed; its changes are refused");
        }
        result
    }
}

/// Plans `write` against `book` (the real one, or the batch's scratch).
fn plan(book: &PresenceBook, write: &PresenceWrite) -> Result<Option<Plan>, BookError> {
    match write {
        PresenceWrite::Update { provider, update, at } => book.plan_presence(provider, update.clone(), *at),
        PresenceWrite::Value { provider, value } => book.plan_value(provider, value.clone()),
        PresenceWrite::Clear { provider } => Ok(book.plan_clear(provider)),
        PresenceWrite::Device { device, state } => book.plan_device(device, *state),
    }
}
