//! Who may fetch provisioning files: the network allow-list, the lock-out
//! of addresses that keep guessing, and the credentials check.
//!
//! The order matters: network first, then lock-out, then credentials, and
//! only after all three does anything look at the MAC — so an outsider can
//! never learn which MACs exist.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::auth::{Challenge, DigestError, DigestVerifier, Lockout, LockoutPolicy, NonceSecret, Verdict};
use crate::auth::{parse_basic, parse_digest};
use crate::config::Http;
use crate::rate_limit::RateLimiter;

/// The lock-out's name for guessed `/p/<token>/` paths.
const DOCUMENT_TOKEN_USER: &str = "document-token";

/// What the access check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// Outside `allowed_networks`.
    Forbidden,
    /// Over `[limits] http_requests_per_second` for this address.
    RateLimited,
    /// Locked out: retry after this many seconds.
    TooManyFailures {
        retry_after: u64,
    },
    /// Send these `WWW-Authenticate` values.
    Challenge(Vec<String>),
}

/// Shared verifier and lock-out state. A std `Mutex`: the sections are
/// short hash-map updates with no `.await` inside.
pub struct AccessControl {
    verifier: Mutex<DigestVerifier>,
    lockout: Mutex<Lockout>,
    limiter: Mutex<RateLimiter>,
}

/// One request as far as access is concerned.
pub struct AccessRequest<'a> {
    pub peer: IpAddr,
    pub method: &'a str,
    /// Path and query as sent, for the digest `uri` check.
    pub uri: &'a str,
    pub authorization: Option<&'a str>,
    /// `false` for the per-phone token paths, which carry their own secret
    /// (`DocumentToken`); the allow-list, rate limit and lock-out still apply.
    pub needs_credentials: bool,
    /// Unix seconds (nonces, lock-out).
    pub now: u64,
    /// Monotonic time (rate limiting).
    pub instant: std::time::Instant,
}

impl AccessControl {
    pub fn new(secret: NonceSecret, policy: LockoutPolicy, requests_per_second: u32) -> Self {
        Self {
            verifier: Mutex::new(DigestVerifier::new(secret)),
            lockout: Mutex::new(Lockout::new(policy)),
            limiter: Mutex::new(RateLimiter::new(requests_per_second)),
        }
    }

    /// Decides whether `request` may proceed under the `[http]` settings.
    pub fn check(&self, http: &Http, realm: &str, request: &AccessRequest<'_>) -> Access {
        let within_rate = self
            .limiter
            .lock()
            .expect("limiter lock is never poisoned")
            .allow(request.peer, request.instant);
        if !within_rate {
            return Access::RateLimited;
        }
        if !http.allowed_networks.is_empty()
            && !http.allowed_networks.iter().any(|n| n.contains(request.peer))
        {
            return Access::Forbidden;
        }
        if !request.needs_credentials {
            // No lock-out here: a right token is always served (see
            // `token_refused`), or one guesser behind a site's NAT would
            // lock every phone there out of its keys.
            return Access::Granted;
        }
        let credentials = (&http.username, &http.password);
        if credentials.0.is_none() {
            return match self.locked_out(request, None) {
                Some(refusal) => refusal,
                None => Access::Granted,
            };
        }
        let (Some(username), Some(password)) = credentials else {
            return Access::Granted;
        };
        if let Some(refusal) = self.locked_out(request, Some(username)) {
            return refusal;
        }
        let Some(authorization) = request.authorization else {
            return self.challenge(realm, request.now, false);
        };
        self.verify(realm, request, authorization, username, password)
    }

    /// A wrong document token counts as a failed login (of this pseudo-user,
    /// so that the address ceiling still applies), so guessing tokens locks
    /// an address out of further *guesses* like guessing passwords does.
    /// Returns the seconds left when the address is already locked out.
    ///
    /// Only wrong tokens are refused while locked: the right one is 128
    /// bits no guesser reaches, and refusing it too would let one guesser
    /// (or one phone with a stale URL) behind a site's NAT turn off the
    /// keys of every phone at that address.
    pub fn token_refused(&self, peer: IpAddr, now: u64) -> Option<u64> {
        let mut lockout = self.lockout.lock().expect("lockout lock is never poisoned");
        if let Verdict::LockedOut { until } = lockout.check_user(peer, DOCUMENT_TOKEN_USER, now) {
            return Some(until.saturating_sub(now));
        }
        lockout.failed_login(peer, DOCUMENT_TOKEN_USER, "http", now);
        None
    }

    /// Refuses a locked-out `user` at this address (or, with no user, a
    /// locked-out address).
    fn locked_out(&self, request: &AccessRequest<'_>, user: Option<&str>) -> Option<Access> {
        let lockout = self.lockout.lock().expect("lockout lock is never poisoned");
        let lockout = match user {
            Some(user) => lockout.check_user(request.peer, user, request.now),
            None => lockout.check(request.peer, request.now),
        };
        match lockout {
            Verdict::LockedOut { until } => Some(Access::TooManyFailures {
                retry_after: until.saturating_sub(request.now),
            }),
            Verdict::Allowed => None,
        }
    }

    fn verify(
        &self,
        realm: &str,
        request: &AccessRequest<'_>,
        authorization: &str,
        username: &str,
        password: &crate::config::Secret,
    ) -> Access {
        let (user, outcome) = if let Some((user, given)) = parse_basic(authorization) {
            let ok = user == username && password.matches(&given);
            (
                user,
                if ok {
                    Ok(())
                } else {
                    Err(DigestError::WrongResponse)
                },
            )
        } else {
            match parse_digest(authorization) {
                Ok(credentials) if credentials.uri != request.uri => {
                    (credentials.username, Err(DigestError::WrongResponse))
                }
                Ok(credentials) if credentials.username != username => {
                    (credentials.username, Err(DigestError::WrongResponse))
                }
                Ok(credentials) => {
                    let mut verifier = self.verifier.lock().expect("verifier lock is never poisoned");
                    let outcome = verifier.verify(
                        request.now,
                        realm,
                        request.method,
                        &credentials,
                        password.expose(),
                    );
                    (credentials.username, outcome)
                }
                Err(_) => (String::new(), Err(DigestError::WrongResponse)),
            }
        };
        match outcome {
            Ok(()) => {
                self.lockout
                    .lock()
                    .expect("lockout lock is never poisoned")
                    .record_success(request.peer, &user);
                Access::Granted
            }
            // Right password, old nonce: not a failure, just a new round.
            Err(DigestError::StaleNonce) => self.challenge(realm, request.now, true),
            Err(error) => {
                tracing::debug!(%error, "credentials refused");
                self.lockout
                    .lock()
                    .expect("lockout lock is never poisoned")
                    .failed_login(request.peer, &user, "http", request.now);
                self.challenge(realm, request.now, false)
            }
        }
    }

    fn challenge(&self, realm: &str, now: u64, stale: bool) -> Access {
        let nonce = self
            .verifier
            .lock()
            .expect("verifier lock is never poisoned")
            .nonce(now, realm);
        let mut values = Challenge::both(realm, &nonce, stale);
        values.push(format!("Basic realm=\"{}\"", realm.replace(['"', '\\'], "")));
        Access::Challenge(values)
    }
}
