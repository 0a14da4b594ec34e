//! Requests the endpoint answers on its own: malformed messages (400
//! saying what is wrong, or dropped when there is nobody to answer),
//! retransmissions, OPTIONS, CANCEL, in-dialog requests we have no dialog
//! for (481), INVITE and other methods we do not serve (405/501), and
//! header refusals (416/420). SUBSCRIBE and PUBLISH go on to
//! authentication.

use std::time::Instant;

use super::events::RequestId;
use super::machine::Endpoint;
use crate::sip::inspection::{Refusal, inspect};
use crate::sip::message::{Message, Method, Request};
use crate::sip::parse::{Framing, parse};
use crate::sip::peer::{Peer, Transmit};
use crate::sip::response::{ACCEPT, ALLOW, ALLOW_EVENTS, ResponseBuilder};
use crate::sip::server_transactions::Seen;
use crate::sip::transaction::ServerKey;

impl Endpoint {
    pub(super) fn handle_message(&mut self, now: Instant, peer: Peer, bytes: &[u8], framing: Framing) {
        match parse(bytes, framing) {
            Ok(Message::Request(request)) => self.handle_request(now, peer, request),
            Ok(Message::Response(response)) => self.handle_response(now, peer, response),
            Err(malformed) => {
                let tag = self.random.token();
                let answer = malformed.answer_with.as_ref().and_then(|headers| {
                    ResponseBuilder::from_headers(headers, malformed.status, peer.address, &tag)
                });
                match answer {
                    Some(response) => {
                        self.stats.malformed_answered += 1;
                        tracing::debug!(%peer, reason = %malformed.reason, "malformed request answered");
                        let response = response.reason(&malformed.reason);
                        self.transmits.push_back(Transmit {
                            peer,
                            bytes: response.to_bytes(),
                        });
                    }
                    None => {
                        self.stats.malformed_dropped += 1;
                        tracing::debug!(%peer, reason = %malformed.reason, "malformed message dropped");
                    }
                }
            }
        }
    }

    fn handle_request(&mut self, now: Instant, peer: Peer, request: Request) {
        self.stats.requests += 1;
        let key = self.servers.key(&request);
        if request.method == Method::Ack {
            // Either acknowledges our 405 to an INVITE, or nothing: no answer.
            return;
        }
        match self.servers.receive(key, peer) {
            (Seen::Retransmission(last), _) => {
                self.stats.retransmissions_absorbed += 1;
                if let Some(bytes) = last {
                    let bytes = bytes.to_vec();
                    self.transmits.push_back(Transmit { peer, bytes });
                }
                return;
            }
            (Seen::New, true) => {}
            (Seen::New, false) => self.stats.stateless_answers += 1,
        }
        let answer = |code| (code, None::<&str>);
        // SUBSCRIBE and PUBLISH are inspected after authentication;
        // CANCEL never is (§8.2.2.3), refused methods get their 405/501.
        if matches!(request.method, Method::Options | Method::Notify | Method::Bye)
            && let Some(refusal) = inspect(&request)
        {
            return self.refuse(now, key, &request, peer, refusal);
        }
        let (code, extra) = match &request.method {
            Method::Subscribe | Method::Publish => return self.authenticate(now, key, peer, request),
            Method::Options => answer(200),
            Method::Cancel => {
                let known = self
                    .servers
                    .cancelled(&request)
                    .is_some_and(|target| self.servers.contains(&target));
                answer(if known { 200 } else { 481 })
            }
            Method::Bye | Method::Notify => answer(481),
            Method::Other(_) => (501, Some(ALLOW)),
            _ => (405, Some(ALLOW)),
        };
        let tag = self.random.token();
        let mut response = ResponseBuilder::new(&request, code, peer.address, &tag);
        if let Some(allow) = extra {
            response = response.header("Allow", allow);
        }
        if request.method == Method::Options && code == 200 {
            response = response
                .header("Allow", ALLOW)
                .header("Accept", ACCEPT)
                .header("Allow-Events", ALLOW_EVENTS);
        }
        self.reply(now, RequestId(key), response);
    }

    pub(super) fn refuse(
        &mut self,
        now: Instant,
        key: ServerKey,
        request: &Request,
        peer: Peer,
        refusal: Refusal,
    ) {
        let tag = self.random.token();
        let response = match refusal {
            Refusal::UriScheme => ResponseBuilder::new(request, 416, peer.address, &tag),
            Refusal::Extensions(tags) => {
                ResponseBuilder::new(request, 420, peer.address, &tag).header("Unsupported", tags.join(", "))
            }
        };
        self.reply(now, RequestId(key), response);
    }
}
