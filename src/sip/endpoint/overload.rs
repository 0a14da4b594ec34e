//! Refusing new calls while overloaded: the driver hands over datagrams
//! that waited in its queue past the overload mark
//! (`server/sip_driver/shedding.rs`), and a request that would start a
//! new call — an out-of-dialog SUBSCRIBE or PUBLISH without credentials —
//! gets `503 Service Unavailable` with `Retry-After` at once (RFC 3261
//! §21.5.4: "temporarily unable to process the request due to a temporary
//! overloading … The server MAY indicate when the client should retry the
//! request in a Retry-After header field"; §20.33).
//!
//! Why these and only these: the challenge that starts a call is the
//! cheapest point to say no — the client has spent one request, we have
//! kept nothing. Everything else goes on as usual, so that calls already
//! admitted (their authenticated request, its retransmissions, the
//! answers to our NOTIFYs) finish before their clients' timers run out
//! instead of everyone stalling in a queue that only grows.

use std::time::Instant;

use super::machine::Endpoint;
use crate::sip::message::{Message, Method, Request};
use crate::sip::parse::{Framing, parse};
use crate::sip::peer::{Peer, Transmit};
use crate::sip::response::ResponseBuilder;

/// Seconds a refused client is asked to wait (RFC 3261 §20.33): long
/// enough for a queue of a few thousand requests to drain, short enough
/// that a phone retrying its SUBSCRIBE comes back within one refresh.
pub const OVERLOAD_RETRY_AFTER: &str = "5";

impl Endpoint {
    /// A datagram received while overloaded: new calls get 503 with
    /// Retry-After; everything else is handled as `handle_datagram` does.
    pub fn handle_datagram_overloaded(&mut self, now: Instant, peer: Peer, bytes: &[u8]) {
        let parsed = parse(bytes, Framing::Datagram);
        match parsed {
            Ok(Message::Request(request)) if starts_a_call(&request) => {
                // A retransmission of a call admitted before still gets
                // its stored answer.
                let key = self.servers.key(&request);
                if self.servers.contains(&key) {
                    return self.handle_request(now, peer, request);
                }
                self.stats.requests += 1;
                self.stats.overload_refusals += 1;
                let tag = self.random.token();
                let response = ResponseBuilder::new(&request, 503, peer.address, &tag)
                    .header("Retry-After", OVERLOAD_RETRY_AFTER);
                // Stateless (§8.2.7): nothing kept, so refusing costs no
                // memory; a retransmission is refused again.
                self.transmits.push_back(Transmit {
                    peer,
                    bytes: response.to_bytes(),
                });
            }
            parsed => self.handle_parsed(now, peer, parsed),
        }
    }
}

/// An out-of-dialog SUBSCRIBE or PUBLISH without credentials: the first
/// request of a call, which would be challenged.
fn starts_a_call(request: &Request) -> bool {
    matches!(request.method, Method::Subscribe | Method::Publish)
        && request.core.to.param("tag").is_none()
        && request.headers.get("Authorization").is_none()
        && request.headers.get("Proxy-Authorization").is_none()
}
