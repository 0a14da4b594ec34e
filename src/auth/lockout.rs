//! Brute-force lockout, keyed by (address, username) with a per-address
//! ceiling.
//!
//! Why two levels: keyed by address alone, one site behind a NAT or a
//! proxy shares a single counter, so ten bad tries from one phone lock
//! out every phone there; and a success (with one known secret) would
//! reset the counter that guards all the others. So failures count per
//! (address, username) — only that pair is locked after `max_failures` —
//! and a success forgives only its own pair. Guessing across many
//! usernames from one address is still bounded by a much higher
//! per-address ceiling (`max_failures × ADDRESS_CEILING_FACTOR` within the
//! window), which a success does not reset. Addresses listed as shared
//! (`[limits] trusted_networks`: a proxy, a site's NAT) have no ceiling:
//! every phone behind them would share it, so 100 bad tries from anyone
//! behind the proxy would lock out all of them; the per-user lock still
//! bounds guessing at each line there.
//!
//! Addresses count by `client_address::limit_key` (an IPv6 /64), else a
//! host rotating through its /64 would never be locked out.
//!
//! Memory is bounded: only keys that actually failed are tracked, user
//! names are truncated, and when a table is full the entries whose window
//! and lock have both lapsed are dropped first; if it is still full, new
//! keys are not tracked (a flood from many addresses cannot grow it).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use super::log_safe::log_safe;
use crate::client_address::limit_key;
use crate::config::Cidr;

/// The per-address ceiling is this many times the per-user limit.
pub const ADDRESS_CEILING_FACTOR: u32 = 10;

/// Longest user name kept as a key (longer ones are cut, not refused).
const MAX_KEY_USER: usize = 64;

/// When to lock out, and for how long (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures of one (address, username) pair within `window`.
    pub max_failures: u32,
    pub window: u64,
    pub cooldown: u64,
    /// Most keys tracked per table.
    pub max_tracked: usize,
    /// Addresses that carry many clients (`[limits] trusted_networks`):
    /// no per-address ceiling for them.
    pub shared_addresses: Vec<Cidr>,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: 60,
            cooldown: 300,
            max_tracked: 65_536,
            shared_addresses: Vec::new(),
        }
    }
}

impl LockoutPolicy {
    /// Failures from one address (any user) within `window` that lock the
    /// whole address.
    pub fn address_ceiling(&self) -> u32 {
        self.max_failures.saturating_mul(ADDRESS_CEILING_FACTOR)
    }
}

/// Whether a request may try to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused until this time.
    LockedOut {
        until: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Record {
    window_start: u64,
    failures: u32,
    locked_until: Option<u64>,
}

impl Record {
    fn locked_at(&self, now: u64) -> Option<u64> {
        self.locked_until.filter(|&until| now < until)
    }

    /// Counts one failure; `true` when it starts a lock-out.
    fn fail(&mut self, now: u64, limit: u32, policy: &LockoutPolicy) -> bool {
        if self.locked_at(now).is_some() {
            return false;
        }
        if now.saturating_sub(self.window_start) >= policy.window || self.locked_until.is_some() {
            *self = Record::new(now);
        }
        self.failures += 1;
        if self.failures >= limit {
            self.locked_until = Some(now + policy.cooldown);
            return true;
        }
        false
    }

    fn new(now: u64) -> Self {
        Self {
            window_start: now,
            failures: 0,
            locked_until: None,
        }
    }

    fn lapsed(&self, now: u64, policy: &LockoutPolicy) -> bool {
        self.locked_at(now).is_none() && now.saturating_sub(self.window_start) >= policy.window
    }
}

/// A bounded table of failure records.
#[derive(Debug)]
struct Table<K> {
    records: HashMap<K, Record>,
}

impl<K: Eq + Hash> Table<K> {
    fn locked(&self, key: &K, now: u64) -> Option<u64> {
        self.records.get(key).and_then(|record| record.locked_at(now))
    }

    /// Counts a failure of `key`: `Some(true)` when it starts a lock-out,
    /// `None` when the table is full and `key` is not tracked.
    fn fail(&mut self, key: K, now: u64, limit: u32, policy: &LockoutPolicy) -> Option<bool> {
        if !self.records.contains_key(&key) && self.records.len() >= policy.max_tracked {
            self.records.retain(|_, record| !record.lapsed(now, policy));
            if self.records.len() >= policy.max_tracked {
                return None;
            }
        }
        let record = self.records.entry(key).or_insert_with(|| Record::new(now));
        Some(record.fail(now, limit, policy))
    }
}

/// Failure counts per (address, user) and per address.
#[derive(Debug)]
pub struct Lockout {
    policy: LockoutPolicy,
    users: Table<(IpAddr, String)>,
    addresses: Table<IpAddr>,
}

fn key_user(user: &str) -> String {
    user.chars().take(MAX_KEY_USER).collect()
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            users: Table {
                records: HashMap::new(),
            },
            addresses: Table {
                records: HashMap::new(),
            },
        }
    }

    /// Whether `ip` as a whole is locked (the ceiling was reached); used
    /// before the user name is known.
    pub fn check(&self, ip: IpAddr, now: u64) -> Verdict {
        match self.addresses.locked(&limit_key(ip), now) {
            Some(until) => Verdict::LockedOut { until },
            None => Verdict::Allowed,
        }
    }

    /// Whether `user` may try from `ip` at `now`.
    pub fn check_user(&self, ip: IpAddr, user: &str, now: u64) -> Verdict {
        let ip = limit_key(ip);
        let pair = self.users.locked(&(ip, key_user(user)), now);
        match pair.max(self.addresses.locked(&ip, now)) {
            Some(until) => Verdict::LockedOut { until },
            None => Verdict::Allowed,
        }
    }

    /// Counts a failed attempt. Returns `true` exactly when this failure
    /// starts a lock-out (of the pair or of the address), so the caller
    /// logs one warning per episode.
    pub fn record_failure(&mut self, ip: IpAddr, user: &str, now: u64) -> bool {
        let policy = &self.policy;
        let shared = policy.shared_addresses.iter().any(|network| network.contains(ip));
        let ip = limit_key(ip);
        let pair = self
            .users
            .fail((ip, key_user(user)), now, policy.max_failures, policy);
        // A shared address skips the ceiling only while its pairs are
        // counted: with the pair table full (filled from elsewhere), the
        // ceiling is all that bounds guessing through the proxy.
        let address = (!shared || pair.is_none())
            && self
                .addresses
                .fail(ip, now, policy.address_ceiling(), policy)
                .unwrap_or(false);
        pair.unwrap_or(false) || address
    }

    /// A failed login: logs the one fixed line fail2ban filters match
    /// (`auth failure: ip=… user=… proto=…`, see docs/fail2ban.conf),
    /// counts it, and warns once when a lock-out starts.
    pub fn failed_login(&mut self, ip: IpAddr, user: &str, protocol: &'static str, now: u64) {
        tracing::warn!(target: "opendpma::auth", "auth failure: ip={ip} user={} proto={protocol}", log_safe(user));
        if self.record_failure(ip, user, now) {
            tracing::warn!(%ip, user = %log_safe(user), protocol, "too many failed logins; refusing for a while");
        }
    }

    /// A successful login forgives that user's earlier failures from that
    /// address only: the per-address count stays, so one known secret
    /// does not buy unlimited guesses at the others.
    pub fn record_success(&mut self, ip: IpAddr, user: &str) {
        self.users.records.remove(&(limit_key(ip), key_user(user)));
    }

    /// Number of keys tracked (for metrics).
    pub fn tracked(&self) -> usize {
        self.users.records.len()
    }
}

#[cfg(test)]
#[path = "lockout_tests.rs"]
mod tests;
