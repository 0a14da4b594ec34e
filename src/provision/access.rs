//! Who may fetch provisioning files: the network allow-list, the lock-out
//! of addresses that keep guessing, and the credentials check.
//!
//! The order matters: network first, then lock-out, then credentials, and
//! only after all three does anything look at the MAC — so an outsider can
//! never learn which MACs exist.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::auth::{Accounts, Attempt, AuthGate, Challenge, Decision, LockoutPolicy, NonceSecret};
use crate::config::{Http, Secret};
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

/// Shared gate and rate state. A std `Mutex`: the sections are short
/// hash-map updates with no `.await` inside.
pub struct AccessControl {
    gate: Mutex<AuthGate>,
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

/// The `[http]` account: one user, Basic or digest, and a digest signed
/// for exactly the path requested (RFC 7616 §3.4: the `uri` must be the
/// request target).
struct Provisioning<'a> {
    username: &'a str,
    password: &'a Secret,
    uri: &'a str,
}

impl Accounts for Provisioning<'_> {
    fn password(&self, user: &str) -> Option<&Secret> {
        (user == self.username).then_some(self.password)
    }

    fn accepts_uri(&self, uri: &str) -> bool {
        uri == self.uri
    }

    fn accepts_basic(&self) -> bool {
        true
    }
}

impl AccessControl {
    pub fn new(secret: NonceSecret, policy: LockoutPolicy, requests_per_second: u32) -> Self {
        Self {
            gate: Mutex::new(AuthGate::new(secret, policy, "http")),
            limiter: Mutex::new(RateLimiter::new(requests_per_second)),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, AuthGate> {
        self.gate.lock().expect("gate lock is never poisoned")
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
        let (Some(username), Some(password)) = (&http.username, &http.password) else {
            // No credentials configured: only an address locked out (by
            // guessed tokens) is refused.
            return match self.gate().locked_out(request.peer, None, request.now) {
                Some(until) => too_many_failures(until, request.now),
                None => Access::Granted,
            };
        };
        let attempt = Attempt {
            peer: request.peer,
            method: request.method,
            realm,
            authorization: request.authorization,
            expected_user: Some(username),
            now: request.now,
        };
        let account = Provisioning {
            username,
            password,
            uri: request.uri,
        };
        match self.gate().check(&attempt, &account) {
            Decision::Granted { .. } => Access::Granted,
            Decision::LockedOut { until } => too_many_failures(until, request.now),
            Decision::Challenge { nonce, stale } => challenge(realm, &nonce, stale),
            Decision::Refused { nonce } => challenge(realm, &nonce, false),
        }
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
        let mut gate = self.gate();
        if let Some(until) = gate.locked_out(peer, Some(DOCUMENT_TOKEN_USER), now) {
            return Some(until.saturating_sub(now));
        }
        gate.failed(peer, DOCUMENT_TOKEN_USER, now);
        None
    }
}

fn too_many_failures(until: u64, now: u64) -> Access {
    Access::TooManyFailures {
        retry_after: until.saturating_sub(now),
    }
}

/// Digest challenges (MD5 first, see `Challenge::both`), then Basic.
fn challenge(realm: &str, nonce: &str, stale: bool) -> Access {
    let mut values = Challenge::both(realm, nonce, stale);
    values.push(format!("Basic realm=\"{}\"", realm.replace(['"', '\\'], "")));
    Access::Challenge(values)
}
