//! `GET /api/v1/events`: server-sent events, one per change, as they
//! become durable — `presence`, `device`, `hint` and `hint_removed` — with
//! keep-alive comments so proxies and `curl -N` see a live connection.
//! The stream ends when the server shuts down.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::presence::{hint_json, presence_json};
use super::state::AdminState;
use crate::metrics::Metrics;
use crate::presence::Change;

/// Counts a stream in the watcher gauge for as long as it lives.
struct WatcherGuard(Arc<Metrics>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.event_watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

pub async fn events(State(state): State<AdminState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    state.metrics.event_watchers.fetch_add(1, Ordering::Relaxed);
    let guard = WatcherGuard(state.metrics.clone());
    let changes = BroadcastStream::new(state.hub.subscribe());
    // Ends at shutdown, so the connection closes like any finished answer.
    let changes = changes.take_until(state.shutdown.clone().cancelled_owned());
    let stream = changes.map(move |item| {
        let _alive = &guard;
        Ok(match item {
            Ok(change) => to_event(&change),
            // A slow reader missed some changes: tell it to re-read state.
            Err(BroadcastStreamRecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
        })
    });
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}

fn to_event(change: &Change) -> Event {
    let (name, data) = match change {
        Change::Presence { provider, value } => ("presence", presence_json(provider, value)),
        Change::Device { device, state } => {
            ("device", serde_json::json!({ "device": device, "state": state }))
        }
        Change::Hint(state) => ("hint", hint_json(None, state)),
        Change::HintRemoved { exten } => ("hint_removed", serde_json::json!({ "exten": exten })),
    };
    Event::default().event(name).data(data.to_string())
}
