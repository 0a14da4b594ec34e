//! Transaction state (RFC 3261 §17): server transactions keep their last
//! response to absorb retransmissions until Timer J; client transactions
//! (our NOTIFYs) retransmit on Timers E/F over UDP and end on a final
//! response, Timer F, or a lost connection.

use std::time::Instant;

use super::events::{ClientId, Event, RequestId};
use super::machine::Endpoint;
use crate::config::Transport;
use crate::sip::message::{Method, Response};
use crate::sip::peer::{ConnectionId, Peer, Transmit};
use crate::sip::response::{OutgoingRequest, ResponseBuilder};
use crate::sip::transaction::{ClientState, ClientTransaction, T1, T2, T4, TimerRef};

impl Endpoint {
    /// Answers a request from `Event::Request` (or our own dispatch).
    pub fn respond(&mut self, now: Instant, id: RequestId, response: ResponseBuilder) {
        self.reply(now, id, response);
    }

    pub(super) fn reply(&mut self, now: Instant, RequestId(key): RequestId, response: ResponseBuilder) {
        let bytes = response.to_bytes();
        // Unknown only when the table was full and the request was not
        // remembered: then it is answered statelessly, or not at all.
        if let Some(peer) = self.servers.answer(now, key, response.code, &bytes) {
            self.transmits.push_back(Transmit { peer, bytes });
        }
    }

    /// Sends a request in a new client transaction; its final response
    /// (or timeout) comes back as an event.
    pub fn send_request(&mut self, now: Instant, peer: Peer, request: OutgoingRequest) -> ClientId {
        let method = request.method.clone();
        self.send_built(now, peer, method, |via| request.to_bytes(via))
    }

    /// Sends a request that `build` writes out whole, given the Via value
    /// (with the transaction's branch) to put on top: for NOTIFYs, which
    /// a fan-out builds by the thousand and which the presence package
    /// writes in one pass (`Subscription::notify_bytes`).
    pub fn send_built(
        &mut self,
        now: Instant,
        peer: Peer,
        method: Method,
        build: impl FnOnce(&str) -> Vec<u8>,
    ) -> ClientId {
        self.next_client += 1;
        let id = self.next_client;
        // The same texts as `format!("z9hG4bK{:016x}", …)` and `format!("SIP/2.0/{transport}
        // {host}:{port};branch={branch};rport")`, without the formatting
        // machinery (a fifth of this function's own cost in a fan-out).
        let mut branch = String::with_capacity(23);
        branch.push_str("z9hG4bK");
        crate::hex::push_lower(&mut branch, &self.random.next_u64().to_be_bytes());
        let port = self.config.ports.get(&peer.transport).copied().unwrap_or(5060);
        let transport = match peer.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        };
        let mut via = String::with_capacity(64 + self.config.host.len());
        via.push_str("SIP/2.0/");
        via.push_str(transport);
        via.push(' ');
        via.push_str(&self.config.host);
        via.push(':');
        via.push_str(itoa::Buffer::new().format(port));
        via.push_str(";branch=");
        via.push_str(&branch);
        via.push_str(";rport");
        let bytes = build(&via);
        let retransmit_at = (!peer.is_reliable()).then(|| now + T1);
        // Only Timer E resends the bytes, and it runs over unreliable
        // transports only (RFC 3261 §17.1.2.2): over a stream the
        // transaction need not keep a copy.
        let (sent, kept) = match retransmit_at {
            Some(_) => (bytes.clone(), bytes),
            None => (bytes, Vec::new()),
        };
        self.transmits.push_back(Transmit { peer, bytes: sent });
        let end_at = now + 64 * T1;
        if let Some(at) = retransmit_at {
            self.timers.schedule(at, TimerRef::Client(id));
        }
        self.timers.schedule(end_at, TimerRef::Client(id));
        self.client_by_branch.insert(branch.clone(), id);
        self.clients.insert(
            id,
            ClientTransaction {
                peer,
                branch,
                method,
                bytes: kept,
                state: ClientState::Trying,
                retransmit_at,
                interval: T1,
                end_at,
            },
        );
        ClientId(id)
    }

    /// Whether transmits are waiting to be polled (a driver that polls a
    /// bounded number per turn comes back for the rest).
    pub fn has_transmits(&self) -> bool {
        !self.transmits.is_empty()
    }

    pub(super) fn handle_response(&mut self, now: Instant, peer: Peer, response: Response) {
        // Looked up borrowed: one allocation less per answered NOTIFY.
        let branch = response.core.vias[0].branch().unwrap_or_default();
        let Some(&id) = self.client_by_branch.get(branch) else {
            tracing::debug!(code = response.code, "response matches no transaction; dropped");
            return;
        };
        let Some(transaction) = self.clients.get_mut(&id) else {
            return;
        };
        // Only the peer we sent to may answer: a UAS sends responses back
        // to the request's source (RFC 3261 §18.2.2, RFC 3581 rport) or on
        // its connection (§18.2.2 for streams). Anyone else who learned
        // the branch must not be able to end the transaction or, for a
        // check-sync, make us answer its challenge with a line's digest.
        if (transaction.peer.transport, transaction.peer.address) != (peer.transport, peer.address) {
            self.stats.responses_from_elsewhere += 1;
            tracing::debug!(code = response.code, %peer, expected = %transaction.peer, "response from another peer; dropped");
            return;
        }
        if transaction.method != response.core.cseq_method || transaction.state == ClientState::Completed {
            return;
        }
        if response.code < 200 {
            transaction.state = ClientState::Proceeding;
            if !transaction.peer.is_reliable() {
                transaction.interval = T2;
            }
            return;
        }
        transaction.state = ClientState::Completed;
        transaction.retransmit_at = None;
        // Nothing resends it now: in Completed, Timer K only absorbs
        // retransmitted responses (RFC 3261 §17.1.2.2), so the copy need
        // not live on for T4.
        transaction.bytes = Vec::new();
        // Timer K: absorb response retransmissions for T4 on UDP.
        transaction.end_at = if transaction.peer.is_reliable() {
            now
        } else {
            now + T4
        };
        self.timers.schedule(transaction.end_at, TimerRef::Client(id));
        self.events.push_back(Event::Response {
            id: ClientId(id),
            response: Box::new(response),
        });
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.servers.expire(now);
        while let Some(TimerRef::Client(id)) = self.timers.pop_due(now) {
            self.client_timer(now, id);
        }
    }

    fn client_timer(&mut self, now: Instant, id: u64) {
        let Some(transaction) = self.clients.get_mut(&id) else {
            return;
        };
        if transaction.end_at <= now {
            let timed_out = transaction.state != ClientState::Completed;
            let branch = transaction.branch.clone();
            self.clients.remove(&id);
            self.client_by_branch.remove(&branch);
            if timed_out {
                self.events.push_back(Event::Timeout { id: ClientId(id) });
            }
            return;
        }
        if let Some(at) = transaction.retransmit_at
            && at <= now
        {
            self.transmits.push_back(Transmit {
                peer: transaction.peer,
                bytes: transaction.bytes.clone(),
            });
            if transaction.state == ClientState::Trying {
                transaction.interval = (transaction.interval * 2).min(T2);
            }
            let next = now + transaction.interval;
            transaction.retransmit_at = Some(next);
            self.timers.schedule(next, TimerRef::Client(id));
        }
    }

    /// Ends every transaction on a connection that is gone (their
    /// responses can no longer be delivered).
    pub fn connection_lost(&mut self, now: Instant, connection: ConnectionId) {
        self.connection_closed(connection);
        let lost: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, t)| t.peer.connection == Some(connection) && t.state != ClientState::Completed)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(transaction) = self.clients.get_mut(&id) {
                transaction.end_at = now;
            }
            self.client_timer(now, id);
        }
    }
}
