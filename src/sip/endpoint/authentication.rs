//! Digest authentication of SUBSCRIBE and PUBLISH through the shared
//! `AuthGate`: what SIP accepts (any line's authname, any SIP URI as the
//! signed uri) and how its decisions are answered — 401 with one
//! challenge per configured algorithm, 403 to locked-out clients.

use std::net::IpAddr;
use std::time::Instant;

use super::config::EndpointConfig;
use super::events::{Event, RequestId};
use super::machine::Endpoint;
use crate::auth::{Accounts, Attempt, Challenge, Decision};
use crate::config::Secret;
use crate::sip::inspection::inspect;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::response::ResponseBuilder;
use crate::sip::transaction::ServerKey;
use crate::sip::uri::SipUri;

impl Accounts for EndpointConfig {
    fn password(&self, user: &str) -> Option<&Secret> {
        self.credentials.get(user)
    }

    /// The digest covers the uri the client signed; clients differ in
    /// what they put there (sipp signs the host only, some phones their
    /// AOR), so it need not equal the Request-URI — but it must be a SIP
    /// URI.
    fn accepts_uri(&self, uri: &str) -> bool {
        SipUri::parse(uri).is_ok()
    }
}

impl Endpoint {
    /// Digest check for SUBSCRIBE/PUBLISH; passes them on or challenges.
    pub(super) fn authenticate(&mut self, now: Instant, key: ServerKey, peer: Peer, request: Request) {
        let user = if self.config.require_auth {
            let authorization = request
                .headers
                .lines("Authorization")
                .chain(request.headers.lines("Proxy-Authorization"))
                .find(|value| value.trim_start().to_ascii_lowercase().starts_with("digest"));
            let attempt = Attempt {
                peer: peer.address.ip(),
                method: request.method.as_str(),
                realm: &self.config.realm,
                authorization,
                expected_user: None,
                now: self.seconds(now),
            };
            match self.gate.check(&attempt, &self.config) {
                Decision::Granted { user } => Some(user),
                Decision::LockedOut { .. } => return self.refuse_locked_out(now, key, &request, peer),
                Decision::Challenge { nonce, stale } => {
                    return self.challenge(now, key, &request, peer, &nonce, stale);
                }
                Decision::Refused { nonce } => {
                    self.stats.auth_failures += 1;
                    return self.challenge(now, key, &request, peer, &nonce, false);
                }
            }
        } else {
            None
        };
        // RFC 3261 §8.2: header inspection follows authentication.
        if let Some(refusal) = inspect(&request) {
            return self.refuse(now, key, &request, peer, refusal);
        }
        self.events.push_back(Event::Request {
            id: RequestId(key),
            request: Box::new(request),
            peer,
            user,
        });
    }

    fn refuse_locked_out(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer) {
        let tag = self.random.token();
        let response =
            ResponseBuilder::new(request, 403, peer.address, &tag).reason("Too Many Failed Authentications");
        self.reply(now, RequestId(key), response);
    }

    /// 401 with one challenge per configured algorithm, in order (RFC 8760
    /// §2.4: the client takes the first it supports).
    fn challenge(
        &mut self,
        now: Instant,
        key: ServerKey,
        request: &Request,
        peer: Peer,
        nonce: &str,
        stale: bool,
    ) {
        self.stats.challenges += 1;
        let tag = self.random.token();
        let mut response = ResponseBuilder::new(request, 401, peer.address, &tag);
        for value in Challenge::each(&self.config.realm, nonce, stale, &self.config.algorithms) {
            response = response.header("WWW-Authenticate", value);
        }
        self.reply(now, RequestId(key), response);
    }

    /// Whether `user` from `ip` is currently locked out (for metrics and tests).
    pub fn is_locked_out(&self, ip: IpAddr, user: &str, now: Instant) -> bool {
        self.gate.locked_out(ip, Some(user), self.seconds(now)).is_some()
    }
}
