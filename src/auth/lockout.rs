//! Brute-force lockout: too many failed logins from one address within a
//! window, and that address is refused for a cool-down.
//!
//! Memory is bounded: only addresses that actually failed are tracked, and
//! when the table is full the entries whose window and lock have both
//! lapsed are dropped first; if it is still full, new addresses are not
//! tracked (a flood from many addresses cannot grow it).

use std::collections::HashMap;
use std::net::IpAddr;

/// When to lock an address out, and for how long (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: u64,
    pub cooldown: u64,
    pub max_tracked: usize,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: 60,
            cooldown: 300,
            max_tracked: 65_536,
        }
    }
}

/// Whether a request from an address may try to authenticate.
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

/// Failure counts per address.
#[derive(Debug)]
pub struct Lockout {
    policy: LockoutPolicy,
    records: HashMap<IpAddr, Record>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            records: HashMap::new(),
        }
    }

    /// Whether `ip` may try at `now`.
    pub fn check(&self, ip: IpAddr, now: u64) -> Verdict {
        match self.records.get(&ip).and_then(|record| record.locked_until) {
            Some(until) if now < until => Verdict::LockedOut { until },
            _ => Verdict::Allowed,
        }
    }

    /// Counts a failed attempt. Returns `true` exactly when this failure
    /// starts a lock-out, so the caller logs one warning per episode.
    pub fn record_failure(&mut self, ip: IpAddr, now: u64) -> bool {
        if !self.records.contains_key(&ip) && self.records.len() >= self.policy.max_tracked {
            self.prune(now);
            if self.records.len() >= self.policy.max_tracked {
                return false;
            }
        }
        let policy = self.policy;
        let record = self.records.entry(ip).or_insert(Record {
            window_start: now,
            failures: 0,
            locked_until: None,
        });
        if record.locked_until.is_some_and(|until| now < until) {
            return false;
        }
        if now.saturating_sub(record.window_start) >= policy.window || record.locked_until.is_some() {
            *record = Record {
                window_start: now,
                failures: 0,
                locked_until: None,
            };
        }
        record.failures += 1;
        if record.failures >= policy.max_failures {
            record.locked_until = Some(now + policy.cooldown);
            return true;
        }
        false
    }

    /// A failed login: logs the one fixed line fail2ban filters match
    /// (`auth failure: ip=… user=… proto=…`, see docs/fail2ban.conf),
    /// counts it, and warns once when the address becomes locked out.
    pub fn failed_login(&mut self, ip: IpAddr, user: &str, protocol: &'static str, now: u64) {
        tracing::warn!(target: "opendpma::auth", "auth failure: ip={ip} user={} proto={protocol}", super::log_safe(user));
        if self.record_failure(ip, now) {
            tracing::warn!(%ip, protocol, "too many failed logins; refusing this address for a while");
        }
    }

    /// A successful login forgives earlier failures.
    pub fn record_success(&mut self, ip: IpAddr) {
        self.records.remove(&ip);
    }

    /// Number of addresses tracked (for metrics).
    pub fn tracked(&self) -> usize {
        self.records.len()
    }

    fn prune(&mut self, now: u64) {
        let policy = self.policy;
        self.records.retain(|_, record| {
            record.locked_until.is_some_and(|until| now < until)
                || now.saturating_sub(record.window_start) < policy.window
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn locks_after_max_failures_within_the_window_then_releases() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for second in 0..9 {
            assert!(!lockout.record_failure(ip(1), second));
        }
        assert_eq!(lockout.check(ip(1), 9), Verdict::Allowed);
        assert!(
            lockout.record_failure(ip(1), 9),
            "10th failure starts the lock-out"
        );
        assert_eq!(lockout.check(ip(1), 10), Verdict::LockedOut { until: 309 });
        assert!(
            !lockout.record_failure(ip(1), 11),
            "no second warning while locked"
        );
        assert_eq!(
            lockout.check(ip(2), 10),
            Verdict::Allowed,
            "other addresses unaffected"
        );
        assert_eq!(lockout.check(ip(1), 309), Verdict::Allowed);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let mut lockout = Lockout::new(LockoutPolicy::default());
        for attempt in 0..30 {
            assert!(!lockout.record_failure(ip(1), attempt * 7));
        }
        assert_eq!(lockout.check(ip(1), 300), Verdict::Allowed);
    }

    #[test]
    fn success_forgives_and_the_table_stays_bounded() {
        let policy = LockoutPolicy {
            max_tracked: 4,
            ..LockoutPolicy::default()
        };
        let mut lockout = Lockout::new(policy);
        for last in 0..10 {
            lockout.record_failure(ip(last), 0);
        }
        assert_eq!(lockout.tracked(), 4);
        lockout.record_success(ip(0));
        assert_eq!(lockout.tracked(), 3);
        lockout.record_failure(ip(100), 1);
        assert_eq!(lockout.tracked(), 4);
        lockout.record_failure(ip(200), 100);
        assert_eq!(lockout.tracked(), 1, "lapsed entries are pruned when full");
    }
}
