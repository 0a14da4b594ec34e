//! `AuthGate`: the one lock-out → credentials → challenge sequence, used by
//! HTTP provisioning (`provision/access.rs`) and by SIP SUBSCRIBE/PUBLISH
//! (`sip/endpoint/authentication.rs`). Sans-IO: time is passed in.
//!
//! The order is the same for both, and it matters:
//! 1. a locked-out address (or user, when the protocol knows who the
//!    request is for before reading credentials) is refused before any
//!    digest is computed, so a guesser cannot keep the CPU busy;
//! 2. no credentials → a challenge with a fresh nonce;
//! 3. credentials for a user locked out at this address → refused;
//! 4. a right password with an old nonce, or with a nonce count already
//!    used (a replay) → a `stale=true` challenge and no failure (RFC 7616
//!    §3.3: the client retries without asking the user). A replay is
//!    refused, never granted; counting it would let anyone who captured one
//!    request lock its user out by sending it ten times, and it locked out
//!    a whole load generator when an overloaded server had forgotten the
//!    transaction of a retransmitted request (`bench/knee.sh`);
//! 5. anything else wrong counts as a failed login (the fail2ban line,
//!    then the lock-out) and gets a new challenge; a success forgives only
//!    that user at that address.

use std::net::IpAddr;

use super::basic::parse_basic;
use super::digest::{DigestError, DigestVerifier, parse_digest};
use super::lockout::{Lockout, LockoutPolicy, Verdict};
use super::nonce::NonceSecret;
use crate::config::Secret;

/// One request, as far as authentication is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub peer: IpAddr,
    pub method: &'a str,
    pub realm: &'a str,
    /// The `Authorization` (or `Proxy-Authorization`) value, if any.
    pub authorization: Option<&'a str>,
    /// Who the request must be from, when the protocol knows before
    /// reading credentials (HTTP has one configured user); `None` when any
    /// account may log in (SIP lines).
    pub expected_user: Option<&'a str>,
    /// Unix seconds, or seconds since start: nonces and lock-out windows.
    pub now: u64,
}

/// The protocol's accounts and rules for the credentials it is offered.
pub trait Accounts {
    /// The password of `user`, if that user may log in here.
    fn password(&self, user: &str) -> Option<&Secret>;
    /// Whether the `uri` the client signed is acceptable for this request.
    fn accepts_uri(&self, uri: &str) -> bool;
    /// Whether `Authorization: Basic` is accepted too (HTTP only).
    fn accepts_basic(&self) -> bool {
        false
    }
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Authenticated as `user`.
    Granted { user: String },
    /// Too many failures from here: refused until `until`.
    LockedOut { until: u64 },
    /// No credentials, or a right password with an old nonce (`stale`):
    /// challenge with `nonce`.
    Challenge { nonce: String, stale: bool },
    /// Wrong credentials (counted as a failed login): challenge again.
    Refused { nonce: String },
}

/// The digest verifier and the lock-out of one protocol.
pub struct AuthGate {
    verifier: DigestVerifier,
    lockout: Lockout,
    /// `sip` or `http`, for the failed-login log line.
    protocol: &'static str,
}

impl AuthGate {
    pub fn new(secret: NonceSecret, policy: LockoutPolicy, protocol: &'static str) -> Self {
        Self {
            verifier: DigestVerifier::new(secret),
            lockout: Lockout::new(policy),
            protocol,
        }
    }

    /// Runs the whole sequence for `attempt`.
    pub fn check(&mut self, attempt: &Attempt<'_>, accounts: &dyn Accounts) -> Decision {
        if let Some(until) = self.locked_out(attempt.peer, attempt.expected_user, attempt.now) {
            return Decision::LockedOut { until };
        }
        let Some(authorization) = attempt.authorization else {
            return self.challenge(attempt, false);
        };
        let (user, outcome) = match self.read(attempt, authorization, accounts) {
            Ok(read) => read,
            Err(until) => return Decision::LockedOut { until },
        };
        match outcome {
            Ok(()) => {
                self.lockout.record_success(attempt.peer, &user);
                Decision::Granted { user }
            }
            Err(DigestError::StaleNonce | DigestError::Replay) => self.challenge(attempt, true),
            Err(error) => {
                tracing::debug!(%error, protocol = self.protocol, "credentials refused");
                self.lockout
                    .failed_login(attempt.peer, &user, self.protocol, attempt.now);
                let nonce = self.verifier.nonce(attempt.now, attempt.realm);
                Decision::Refused { nonce }
            }
        }
    }

    /// The user the credentials name and whether they hold; `Err(until)`
    /// when that user is locked out at this address.
    fn read(
        &mut self,
        attempt: &Attempt<'_>,
        authorization: &str,
        accounts: &dyn Accounts,
    ) -> Result<(String, Result<(), DigestError>), u64> {
        if accounts.accepts_basic()
            && let Some((user, given)) = parse_basic(authorization)
        {
            let right = accounts
                .password(&user)
                .is_some_and(|password| password.matches(&given));
            let outcome = if right {
                Ok(())
            } else {
                Err(DigestError::WrongResponse)
            };
            return Ok((user, outcome));
        }
        let Ok(credentials) = parse_digest(authorization) else {
            return Ok((String::new(), Err(DigestError::WrongResponse)));
        };
        if attempt.expected_user.is_none()
            && let Some(until) = self.locked_out(attempt.peer, Some(&credentials.username), attempt.now)
        {
            return Err(until);
        }
        let outcome = match accounts.password(&credentials.username) {
            Some(password) if accounts.accepts_uri(&credentials.uri) => self.verifier.verify(
                attempt.now,
                attempt.realm,
                attempt.method,
                &credentials,
                password.expose(),
            ),
            _ => Err(DigestError::WrongResponse),
        };
        Ok((credentials.username, outcome))
    }

    fn challenge(&mut self, attempt: &Attempt<'_>, stale: bool) -> Decision {
        let nonce = self.verifier.nonce(attempt.now, attempt.realm);
        Decision::Challenge { nonce, stale }
    }

    /// When `user` at `peer` (or, with no user, the address as a whole) is
    /// locked out: until when.
    pub fn locked_out(&self, peer: IpAddr, user: Option<&str>, now: u64) -> Option<u64> {
        let verdict = match user {
            Some(user) => self.lockout.check_user(peer, user, now),
            None => self.lockout.check(peer, now),
        };
        match verdict {
            Verdict::LockedOut { until } => Some(until),
            Verdict::Allowed => None,
        }
    }

    /// Counts a failure that is not a password (a guessed document token).
    pub fn failed(&mut self, peer: IpAddr, user: &str, now: u64) {
        self.lockout.failed_login(peer, user, self.protocol, now);
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
