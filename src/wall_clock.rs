//! The wall clock, read only at the edges (drivers, HTTP handlers) and
//! handed to the sans-IO cores as numbers: Unix time for what is stored,
//! shown or compared across restarts (nonces, lock-out windows, records).
//! A clock before 1970 reads as 0 rather than failing.

use std::time::{SystemTime, UNIX_EPOCH};

fn since_epoch() -> std::time::Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    since_epoch().as_secs()
}

/// Unix milliseconds now (saturating far beyond any real date).
pub fn unix_millis() -> u64 {
    u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
}
