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
        tracing::warn!(target: "opendpma::auth", "auth failure: ip={ip} user={} proto={protocol}", super::log_safe(user));
        if self.record_failure(ip, user, now) {
            tracing::warn!(%ip, user = %super::log_safe(user), protocol, "too many failed logins; refusing for a while");
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
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn locks_a_user_after_max_failures_within_the_window_then_releases() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for second in 0..9 {
            assert!(!lockout.record_failure(ip(1), "2000", second));
        }
        assert_eq!(lockout.check_user(ip(1), "2000", 9), Verdict::Allowed);
        assert!(
            lockout.record_failure(ip(1), "2000", 9),
            "10th failure starts the lock-out"
        );
        assert_eq!(
            lockout.check_user(ip(1), "2000", 10),
            Verdict::LockedOut { until: 309 }
        );
        assert!(
            !lockout.record_failure(ip(1), "2000", 11),
            "no second warning while locked"
        );
        assert_eq!(
            lockout.check_user(ip(2), "2000", 10),
            Verdict::Allowed,
            "other addresses unaffected"
        );
        assert_eq!(lockout.check_user(ip(1), "2000", 309), Verdict::Allowed);
    }

    #[test]
    fn one_bad_user_behind_a_shared_address_does_not_lock_out_the_others() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for second in 0..10 {
            lockout.record_failure(ip(1), "2000", second);
        }
        assert!(matches!(
            lockout.check_user(ip(1), "2000", 10),
            Verdict::LockedOut { .. }
        ));
        assert_eq!(lockout.check_user(ip(1), "2001", 10), Verdict::Allowed);
        assert_eq!(lockout.check(ip(1), 10), Verdict::Allowed);
    }

    #[test]
    fn a_success_does_not_reset_the_address_ceiling() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        // An attacker who knows 2000's secret guesses at many other users,
        // logging in as 2000 between guesses.
        let mut locked_at = None;
        for attempt in 0..200u32 {
            let user = format!("guess{attempt}");
            if lockout.check_user(ip(1), &user, 0) != Verdict::Allowed {
                locked_at = Some(attempt);
                break;
            }
            lockout.record_failure(ip(1), &user, 0);
            lockout.record_success(ip(1), "2000");
        }
        assert_eq!(locked_at, Some(100), "the ceiling is 10 × max_failures");
        assert_eq!(lockout.check(ip(1), 1), Verdict::LockedOut { until: 300 });
        assert!(matches!(
            lockout.check_user(ip(1), "2000", 1),
            Verdict::LockedOut { .. }
        ));
    }

    #[test]
    fn a_shared_address_has_no_ceiling_but_each_user_still_locks() {
        let policy = LockoutPolicy {
            shared_addresses: vec!["10.0.0.0/24".parse().expect("cidr")],
            ..LockoutPolicy::default()
        };
        let mut lockout = Lockout::new(policy);
        // Someone behind the proxy tries 20 made-up users 10 times each.
        for attempt in 0..200u32 {
            lockout.record_failure(ip(1), &format!("guess{}", attempt % 20), 0);
        }
        assert_eq!(lockout.check(ip(1), 1), Verdict::Allowed);
        assert_eq!(
            lockout.check_user(ip(1), "2000", 1),
            Verdict::Allowed,
            "the real phones still log in"
        );
        assert!(matches!(
            lockout.check_user(ip(1), "guess3", 1),
            Verdict::LockedOut { .. }
        ));
        // Outside the shared network the ceiling holds.
        let other = IpAddr::from([192, 0, 2, 1]);
        for attempt in 0..200u32 {
            lockout.record_failure(other, &format!("guess{}", attempt % 20), 0);
        }
        assert!(matches!(lockout.check(other, 1), Verdict::LockedOut { .. }));
    }

    #[test]
    fn a_shared_address_meets_the_ceiling_when_its_users_cannot_be_counted() {
        let policy = LockoutPolicy {
            shared_addresses: vec!["10.0.0.0/24".parse().expect("cidr")],
            max_tracked: 4,
            ..LockoutPolicy::default()
        };
        let mut lockout = Lockout::new(policy);
        // Someone fills the pair table from elsewhere first.
        for user in ["a", "b", "c", "d"] {
            lockout.record_failure(IpAddr::from([192, 0, 2, 1]), user, 0);
        }
        for attempt in 0..100u32 {
            lockout.record_failure(ip(1), &format!("guess{attempt}"), 0);
        }
        assert!(matches!(lockout.check(ip(1), 1), Verdict::LockedOut { .. }));
    }

    #[test]
    fn ipv6_failures_count_per_64_prefix() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        // Each guess from a fresh address inside one /64.
        for attempt in 0..10u16 {
            let address = IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, attempt, 1]);
            lockout.record_failure(address, "2000", 0);
        }
        let fresh = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 7]);
        assert!(matches!(
            lockout.check_user(fresh, "2000", 1),
            Verdict::LockedOut { .. }
        ));
        let next_prefix = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert_eq!(lockout.check_user(next_prefix, "2000", 1), Verdict::Allowed);
        // A success from any address of the /64 forgives the pair.
        lockout.record_success(fresh, "2000");
        assert_eq!(lockout.check_user(fresh, "2000", 1), Verdict::Allowed);
        // IPv4-mapped addresses count as the IPv4 address.
        for second in 0..10 {
            lockout.record_failure(
                IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0009]),
                "2001",
                second,
            );
        }
        assert!(matches!(
            lockout.check_user(ip(9), "2001", 10),
            Verdict::LockedOut { .. }
        ));
    }

    #[test]
    fn success_forgives_only_its_own_user() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for second in 0..9 {
            lockout.record_failure(ip(1), "2001", second);
            lockout.record_failure(ip(1), "2002", second);
        }
        lockout.record_success(ip(1), "2001");
        assert!(!lockout.record_failure(ip(1), "2001", 9), "2001 starts over");
        assert!(lockout.record_failure(ip(1), "2002", 9), "2002 still counts");
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for attempt in 0..30 {
            assert!(!lockout.record_failure(ip(1), "2000", attempt * 7));
        }
        assert_eq!(lockout.check_user(ip(1), "2000", 300), Verdict::Allowed);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let policy = LockoutPolicy {
            max_tracked: 4,
            ..LockoutPolicy::default()
        };
        let mut lockout = Lockout::new(policy);
        for last in 0..10 {
            lockout.record_failure(ip(last), "u", 0);
        }
        assert_eq!(lockout.tracked(), 4);
        lockout.record_success(ip(0), "u");
        assert_eq!(lockout.tracked(), 3);
        lockout.record_failure(ip(100), "u", 1);
        assert_eq!(lockout.tracked(), 4);
        lockout.record_failure(ip(200), "u", 100);
        assert_eq!(lockout.tracked(), 1, "lapsed entries are pruned when full");
        let long = "x".repeat(10_000);
        lockout.record_failure(ip(201), &long, 100);
        assert!(
            lockout
                .users
                .records
                .keys()
                .all(|(_, user)| user.len() <= MAX_KEY_USER)
        );
    }
}
