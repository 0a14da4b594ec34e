//! The SIP driver's feed of hint changes (`PresenceHub::follow_hints`) is
//! lossless: a burst of more hint changes than the change broadcast holds
//! (4,096, where a slow receiver starts missing changes) reaches the feed
//! whole, each change once, even while a broadcast receiver lags.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use opendpma::metrics::Metrics;
use opendpma::presence::{Change, DeviceState, ExtensionState, Hint, PresenceBook};
use opendpma::server::PresenceHub;
use opendpma::store::{Store, StoreError, StoredState, WriteBatch};

/// A store that keeps nothing: this test is about fan-out, not the disk.
struct Forgetful;

impl Store for Forgetful {
    fn load(&self) -> Result<StoredState, StoreError> {
        Ok(StoredState::default())
    }

    fn commit(&self, _batch: &WriteBatch) -> Result<(), StoreError> {
        Ok(())
    }
}

/// More than the broadcast's capacity.
const HINTS: usize = 6_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hint_change_reaches_the_feed_even_beyond_the_broadcast_capacity() {
    let hints = (0..HINTS)
        .map(|n| Hint {
            exten: n.to_string().parse().expect("digits are an extension"),
            devices: vec![format!("PJSIP/{n}")],
            presence: Vec::new(),
        })
        .collect();
    let book = PresenceBook::new(hints, HashMap::new(), HashMap::new());
    let hub = PresenceHub::new(book, Arc::new(Forgetful), Arc::new(Metrics::default()));
    let (states, mut feed) = hub.follow_hints();
    assert_eq!(states.len(), HINTS);
    assert!(
        states
            .iter()
            .all(|state| state.extension_state == ExtensionState::Idle)
    );
    // A broadcast receiver nobody reads: it lags, the feed must not.
    let _lagging = hub.subscribe();

    let writes = (0..HINTS).map(|n| {
        let hub = &hub;
        async move { hub.mirror_device(&format!("PJSIP/{n}"), DeviceState::Inuse).await }
    });
    for result in futures_util::future::join_all(writes).await {
        result.expect("the write is taken");
    }

    let mut seen = HashSet::new();
    while seen.len() < HINTS {
        match tokio::time::timeout(Duration::from_secs(10), feed.recv()).await {
            Ok(Some(Change::Hint(state))) => {
                assert_eq!(state.extension_state, ExtensionState::InUse);
                assert!(seen.insert(state.exten.to_string()), "{} twice", state.exten);
            }
            other => panic!("after {} hint changes: {other:?}", seen.len()),
        }
    }
    assert!(feed.try_recv().is_err(), "nothing but hint changes, each once");
}
