//! `[limits] sip_requests_per_second` for every SIP transport alike: the
//! UDP loop asks per datagram (and drops the excess, as Kamailio's pike
//! does) and each TCP/TLS connection per framed message (and waits, see
//! `sip_stream`), before anything reaches the driver's queue, so a flood
//! from one address neither costs the driver work nor delays other
//! addresses, whichever transport it comes over. Addresses in
//! `trusted_networks` get `trusted_sip_requests_per_second`.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{Cidr, Limits};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// Shared by the SIP socket tasks.
#[derive(Debug)]
pub struct SipRateLimit {
    trusted: Vec<Cidr>,
    limiters: Mutex<Limiters>,
    metrics: Arc<Metrics>,
}

#[derive(Debug)]
struct Limiters {
    normal: RateLimiter,
    trusted: RateLimiter,
}

impl SipRateLimit {
    pub fn new(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            trusted: limits.trusted_networks.clone(),
            limiters: Mutex::new(Limiters {
                normal: RateLimiter::new(limits.sip_requests_per_second),
                trusted: RateLimiter::new(limits.trusted_sip_requests_per_second),
            }),
            metrics,
        }
    }

    /// Whether one more SIP message from `ip` may be handled; counts the
    /// ones that may not.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let allowed = self.try_take(ip);
        if !allowed {
            self.metrics.sip_rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }

    /// Like `allow`, without counting a refusal (for a connection that is
    /// already waiting on a counted one).
    pub fn try_take(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let trusted = self.trusted.iter().any(|network| network.contains(ip));
        let mut limiters = self.limiters.lock().expect("rate limiter lock is never poisoned");
        if trusted {
            limiters.trusted.allow(ip, now)
        } else {
            limiters.normal.allow(ip, now)
        }
    }
}
