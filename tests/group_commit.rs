//! Group commit and graceful overload on the store path (issue 16), with a
//! real redb store behind a gate that holds the first commit open: what
//! arrives while a commit is in flight shares the next one, every change
//! is answered only after its own commit, and a full queue refuses new
//! writes at once instead of growing.
//!
//! Deterministic by construction: each write is polled once by hand (a
//! hub write queues itself on its first poll), so the test knows exactly
//! what is queued when it opens the gate — no sleeping, no timing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use opendpma::metrics::Metrics;
use opendpma::presence::{PresenceBook, PresenceUpdate, PresenceValue};
use opendpma::server::{HubError, PresenceHub, STORE_QUEUE_CAPACITY};
use opendpma::store::{RedbStore, Store, StoreError, StoredState, WriteBatch};

/// A redb store whose first commit waits until the test opens the gate,
/// and which counts its commits (transactions, i.e. fsyncs).
struct GatedStore {
    inner: RedbStore,
    commits: AtomicUsize,
    entered: Mutex<mpsc::Sender<()>>,
    gate: Mutex<mpsc::Receiver<()>>,
}

impl Store for GatedStore {
    fn load(&self) -> Result<StoredState, StoreError> {
        self.inner.load()
    }

    fn commit(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if self.commits.fetch_add(1, Ordering::SeqCst) == 0 {
            self.entered.lock().unwrap().send(()).unwrap();
            self.gate
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(30))
                .expect("the test opens the gate");
        }
        self.inner.commit(batch)
    }
}

struct Setup {
    hub: PresenceHub,
    store: Arc<GatedStore>,
    metrics: Arc<Metrics>,
    entered: mpsc::Receiver<()>,
    open: mpsc::Sender<()>,
    folder: tempfile::TempDir,
}

fn setup() -> Setup {
    let folder = tempfile::tempdir().unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (open, gate) = mpsc::channel();
    let store = Arc::new(GatedStore {
        inner: RedbStore::open(folder.path()).unwrap(),
        commits: AtomicUsize::new(0),
        entered: Mutex::new(entered_tx),
        gate: Mutex::new(gate),
    });
    let metrics = Arc::new(Metrics::default());
    let book = PresenceBook::new(Vec::new(), HashMap::new(), HashMap::new());
    let hub = PresenceHub::new(book, store.clone(), metrics.clone());
    Setup {
        hub,
        store,
        metrics,
        entered,
        open,
        folder,
    }
}

type Write<'a> = Pin<Box<dyn Future<Output = Result<(String, PresenceValue), HubError>> + 'a>>;

type Answer = Result<(String, PresenceValue), HubError>;

/// Polls a write once: it validates and queues itself, then waits (or is
/// answered at once: then do not await it again).
fn start<'a>(hub: &'a PresenceHub, provider: String, state: &str) -> (Write<'a>, Poll<Answer>) {
    let update = PresenceUpdate::new(state, "", "").unwrap();
    let provider = format!("CustomPresence:{provider}");
    let mut write: Write<'a> = Box::pin(async move { hub.set_presence(&provider, update).await });
    let polled = write.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    (write, polled)
}

#[tokio::test]
async fn changes_that_arrive_during_a_commit_share_the_next_one() {
    let s = setup();
    let (first, polled) = start(&s.hub, "first".into(), "away");
    assert!(polled.is_pending(), "queued, waiting for its commit");
    s.entered.recv_timeout(Duration::from_secs(30)).unwrap();
    // While the first commit is open, 200 more changes arrive.
    let mut rest = Vec::new();
    for i in 0..200 {
        let (write, polled) = start(&s.hub, format!("line{i}"), "dnd");
        assert!(polled.is_pending(), "change {i} waits for its commit");
        rest.push(write);
    }
    assert_eq!(
        s.metrics.presence_changes.load(Ordering::SeqCst),
        0,
        "nothing announced before it is durable"
    );
    s.open.send(()).unwrap();
    assert_eq!(first.await.unwrap().1.state.to_string(), "away");
    for result in futures_util::future::join_all(rest).await {
        assert_eq!(result.unwrap().1.state.to_string(), "dnd");
    }
    assert_eq!(
        s.store.commits.load(Ordering::SeqCst),
        2,
        "one commit, then one for the 200 together"
    );
    assert_eq!(s.metrics.presence_changes.load(Ordering::SeqCst), 201);
    // The histogram counts commits, for /metrics.
    assert!(
        s.metrics
            .render()
            .contains("\nopendpma_store_commit_seconds_count 2\n"),
        "{}",
        s.metrics.render()
    );
    drop(s.hub);
    let stored = s.store.inner.load().unwrap();
    assert_eq!(stored.providers.len(), 201);
    assert_eq!(
        stored.providers["CustomPresence:line199"].state.to_string(),
        "dnd"
    );
    drop(s.folder);
}

#[tokio::test]
async fn changes_to_one_provider_share_a_commit_and_apply_in_order() {
    let s = setup();
    let (first, _) = start(&s.hub, "2000".into(), "away");
    s.entered.recv_timeout(Duration::from_secs(30)).unwrap();
    // Queued together: dnd, then away again (not a repeat of what is in
    // force — dnd is, by then), then a true repeat.
    let (dnd, _) = start(&s.hub, "2000".into(), "dnd");
    let (away, _) = start(&s.hub, "2000".into(), "away");
    let (again, _) = start(&s.hub, "2000".into(), "away");
    s.open.send(()).unwrap();
    first.await.unwrap();
    assert_eq!(dnd.await.unwrap().1.state.to_string(), "dnd");
    assert_eq!(away.await.unwrap().1.state.to_string(), "away");
    assert_eq!(again.await.unwrap().1.state.to_string(), "away");
    // away, dnd, away: three changes; the repeat changes nothing. The
    // three queued during the first commit share the second.
    assert_eq!(s.metrics.presence_changes.load(Ordering::SeqCst), 3);
    assert_eq!(s.store.commits.load(Ordering::SeqCst), 2);
    let stored = s.store.inner.load().unwrap();
    assert_eq!(stored.providers["CustomPresence:2000"].state.to_string(), "away");
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_and_loses_nothing_it_took() {
    let s = setup();
    let (first, _) = start(&s.hub, "first".into(), "away");
    s.entered.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut taken = Vec::new();
    for i in 0..STORE_QUEUE_CAPACITY {
        let (write, polled) = start(&s.hub, format!("line{i}"), "dnd");
        assert!(polled.is_pending(), "change {i} fits in the queue");
        taken.push(write);
    }
    // The disk is behind and the queue is full: refused now, not queued.
    let (_, polled) = start(&s.hub, "one-too-many".into(), "dnd");
    let Poll::Ready(answer) = polled else {
        panic!("a full queue answers without waiting");
    };
    let error = answer.unwrap_err();
    assert!(matches!(error, HubError::Overloaded), "{error}");
    assert!(error.to_string().contains("try again"), "{error}");
    assert_eq!(s.metrics.store_shed.load(Ordering::SeqCst), 1);
    s.open.send(()).unwrap();
    first.await.unwrap();
    for result in futures_util::future::join_all(taken).await {
        result.unwrap();
    }
    let stored = s.store.inner.load().unwrap();
    assert_eq!(stored.providers.len(), STORE_QUEUE_CAPACITY + 1);
    assert!(!stored.providers.contains_key("CustomPresence:one-too-many"));
    // Once the disk caught up, writes are taken again.
    let (write, _) = start(&s.hub, "one-too-many".into(), "dnd");
    write.await.unwrap();
}
