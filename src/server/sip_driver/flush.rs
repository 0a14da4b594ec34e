//! Carrying out what the SIP core produced: durable writes handed to the
//! committer, metrics, and transmits over UDP or stream connections
//! (connecting out to a watcher's Contact when no connection is open).

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::driver_task::DriverTask;
use super::publish_failure::publish_failure;
use crate::config::Transport;
use crate::server::sip_transport;
use crate::sip::{Output, Peer, Transmit};
use crate::store::RecordTable;

/// Most messages sent per turn of the driver loop (~10 ms of sends on
/// loopback): large enough that a fan-out is not slowed by the turns,
/// small enough that other input waits no longer than that.
const TRANSMITS_PER_TURN: usize = 1024;

impl DriverTask {
    /// Hands durable writes to the committer (never waiting for it), then
    /// sends what is ready.
    pub(super) async fn flush(&mut self) {
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
            crate::server::memory::release_free_memory();
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
        // The core builds NOTIFYs as they are polled, so the first of a
        // fan-out leaves before the rest are built. A bounded number per
        // turn keeps sockets, timers and store completions served during
        // a large one; the core's `poll_timeout` says "now" while more
        // wait to be built, which brings the loop straight back. On
        // shutdown all go.
        let budget = if self.shutdown.is_cancelled() {
            usize::MAX
        } else {
            TRANSMITS_PER_TURN
        };
        let mut sent = 0;
        while let Some(transmit) = self.server.poll_transmit() {
            self.send(transmit).await;
            sent += 1;
            // Answers and resends are never left behind (nothing would
            // bring the loop back for them); NOTIFYs still to be built are.
            if sent >= budget && !self.server.endpoint().has_transmits() {
                break;
            }
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
            // a client's ephemeral port for it (whoever holds that port
            // now would get it). Its transaction
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
