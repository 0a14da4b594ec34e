//! Per-address rate limiting (like Kamailio's pike): a token bucket per
//! source IP (an IPv6 /64: `client_address::limit_key`). Pure: time comes in as `now`. Memory is bounded: idle
//! buckets are pruned, and when the table is full new addresses share one
//! overflow bucket, so a flood from many addresses cannot grow it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most addresses tracked at once.
const MAX_TRACKED: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Allows `rate` events per second per address, with bursts up to `rate`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    buckets: HashMap<IpAddr, Bucket>,
    overflow: Option<Bucket>,
    last_prune: Option<Instant>,
}

impl RateLimiter {
    /// `rate` events per second per address; 0 disables the limit.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            buckets: HashMap::new(),
            overflow: None,
            last_prune: None,
        }
    }

    /// Whether one more event from `ip` at `now` is within the limit.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let ip = crate::client_address::limit_key(ip);
        if self
            .last_prune
            .is_none_or(|at| now.saturating_duration_since(at) > Duration::from_secs(10))
        {
            self.prune(now);
        }
        let rate = self.rate;
        let full = self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(&ip);
        let bucket = if full {
            self.overflow.get_or_insert(Bucket {
                tokens: rate,
                updated: now,
            })
        } else {
            self.buckets.entry(ip).or_insert(Bucket {
                tokens: rate,
                updated: now,
            })
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Addresses tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Forgets buckets that have refilled: they behave like new ones.
    fn prune(&mut self, now: Instant) {
        let refill = Duration::from_secs(1);
        self.buckets
            .retain(|_, bucket| now.saturating_duration_since(bucket.updated) < refill);
        self.last_prune = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_rate_then_drops_then_refills() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(5);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let allowed = (0..20).filter(|_| limiter.allow(ip, start)).count();
        assert_eq!(allowed, 5, "a burst of the rate");
        assert!(!limiter.allow(ip, start + Duration::from_millis(100)));
        assert!(
            limiter.allow(ip, start + Duration::from_millis(250)),
            "one token after 200 ms at 5/s"
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.allow(other, start), "addresses are independent");
    }

    #[test]
    fn an_ipv6_64_shares_one_bucket() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(5);
        let allowed = (0..20u16)
            .filter(|&host| limiter.allow(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, host]), start))
            .count();
        assert_eq!(allowed, 5, "fresh addresses in one /64 get no fresh tokens");
        assert!(limiter.allow(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]), start));
    }

    #[test]
    fn zero_disables_and_idle_buckets_are_forgotten() {
        let start = Instant::now();
        let mut unlimited = RateLimiter::new(0);
        assert!((0..10_000).all(|_| unlimited.allow("192.0.2.1".parse().unwrap(), start)));
        let mut limiter = RateLimiter::new(5);
        for last in 0..=255u8 {
            limiter.allow(IpAddr::from([10, 0, 0, last]), start);
        }
        assert_eq!(limiter.tracked(), 256);
        limiter.allow("192.0.2.1".parse().unwrap(), start + Duration::from_secs(11));
        assert_eq!(limiter.tracked(), 1);
    }
}
