//! Digest authentication of SUBSCRIBE and PUBLISH: lock-out check,
//! credentials, 401 challenges (stale or fresh) and 403 to locked-out
//! clients.

use std::net::IpAddr;
use std::time::Instant;

use super::{Endpoint, Event, RequestId};
use crate::auth::{Challenge, DigestError, Verdict, parse_digest};
use crate::sip::inspection::inspect;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::response::ResponseBuilder;
use crate::sip::transaction::ServerKey;
use crate::sip::uri::SipUri;

impl Endpoint {
    /// Digest check for SUBSCRIBE/PUBLISH; passes them on or challenges.
    pub(super) fn authenticate(&mut self, now: Instant, key: ServerKey, peer: Peer, request: Request) {
        if !self.config.require_auth {
            if let Some(refusal) = inspect(&request) {
                return self.refuse(now, key, &request, peer, refusal);
            }
            self.events.push_back(Event::Request {
                id: RequestId(key),
                request: Box::new(request),
                peer,
                user: None,
            });
            return;
        }
        let seconds = self.seconds(now);
        if let Verdict::LockedOut { .. } = self.lockout.check(peer.address.ip(), seconds) {
            return self.refuse_locked_out(now, key, &request, peer);
        }
        let authorization = request
            .headers
            .lines("Authorization")
            .chain(request.headers.lines("Proxy-Authorization"))
            .find(|value| value.trim_start().to_ascii_lowercase().starts_with("digest"));
        let Some(authorization) = authorization else {
            return self.challenge(now, key, &request, peer, false);
        };
        let (user, outcome) = match parse_digest(authorization) {
            Ok(credentials) => {
                if let Verdict::LockedOut { .. } =
                    self.lockout
                        .check_user(peer.address.ip(), &credentials.username, seconds)
                {
                    return self.refuse_locked_out(now, key, &request, peer);
                }
                let password = self.config.credentials.get(&credentials.username).cloned();
                let outcome = match password {
                    None => Err(DigestError::WrongResponse),
                    // The digest covers the uri the client signed; clients
                    // differ in what they put there (sipp signs the host
                    // only, some phones their AOR), so it need not equal
                    // the Request-URI — but it must be a SIP URI.
                    Some(_) if SipUri::parse(&credentials.uri).is_err() => Err(DigestError::WrongResponse),
                    Some(password) => self.verifier.verify(
                        seconds,
                        &self.config.realm,
                        request.method.as_str(),
                        &credentials,
                        password.expose(),
                    ),
                };
                (credentials.username, outcome)
            }
            Err(_) => (String::new(), Err(DigestError::WrongResponse)),
        };
        match outcome {
            Ok(()) => {
                self.lockout.record_success(peer.address.ip(), &user);
                // RFC 3261 §8.2: header inspection follows authentication.
                if let Some(refusal) = inspect(&request) {
                    return self.refuse(now, key, &request, peer, refusal);
                }
                self.events.push_back(Event::Request {
                    id: RequestId(key),
                    request: Box::new(request),
                    peer,
                    user: Some(user),
                });
            }
            Err(DigestError::StaleNonce) => self.challenge(now, key, &request, peer, true),
            Err(error) => {
                self.stats.auth_failures += 1;
                tracing::debug!(%error, "SIP credentials refused");
                self.lockout
                    .failed_login(peer.address.ip(), &user, "sip", seconds);
                self.challenge(now, key, &request, peer, false);
            }
        }
    }

    fn refuse_locked_out(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer) {
        let tag = self.random.token();
        let response =
            ResponseBuilder::new(request, 403, peer.address, &tag).reason("Too Many Failed Authentications");
        self.reply(now, RequestId(key), response);
    }

    fn challenge(&mut self, now: Instant, key: ServerKey, request: &Request, peer: Peer, stale: bool) {
        self.stats.challenges += 1;
        let nonce = self.verifier.nonce(self.seconds(now), &self.config.realm);
        let tag = self.random.token();
        let mut response = ResponseBuilder::new(request, 401, peer.address, &tag);
        for value in Challenge::each(&self.config.realm, &nonce, stale, &self.config.algorithms) {
            response = response.header("WWW-Authenticate", value);
        }
        self.reply(now, RequestId(key), response);
    }

    /// Whether `user` from `ip` is currently locked out (for metrics and tests).
    pub fn is_locked_out(&self, ip: IpAddr, user: &str, now: Instant) -> bool {
        matches!(
            self.lockout.check_user(ip, user, self.seconds(now)),
            Verdict::LockedOut { .. }
        )
    }
}
