//! How long the committer lets a new batch wait for company before it
//! commits: PostgreSQL's `commit_delay` / `commit_siblings` rule.
//!
//! Every commit costs one fsync and a fixed amount of CPU whatever the
//! batch holds: redb writes ~15 pages, and the kernel submits them and
//! flushes; ~250 µs of CPU on the build machine. Without a delay, a batch
//! is whatever arrived during the previous fsync (~10 writes), and under
//! `sbs.sh` load that fixed cost was a third of the server's CPU. So when
//! the last commit was busy (`SIBLINGS` writes or more: more work is on
//! its way), the next one starts no sooner than `PACE` after it did; at most
//! 50 commits a second then cost ~1 % of a core, at any rate. A quiet
//! server (a lone change) never waits, and under load an answer waits at
//! most `PACE` longer than its fsync: 20 ms, far inside SIP's T1 (500 ms,
//! RFC 3261 §17.1.2.2), so no client retransmits because of it. A 5 ms
//! pace cost 21 % more CPU per PUBLISH and 20 % more per SUBSCRIBE at
//! 2,000 calls/s (DECISIONS §23). (PostgreSQL documents the
//! same trade-off for `commit_delay`: "Write Ahead Log" settings, §19.5.)

use std::time::Duration;

/// A commit of at least this many writes (presence changes, SIP records)
/// means more are coming.
pub const SIBLINGS: usize = 4;

/// Under load, the shortest time from one commit's start to the next.
pub const PACE: Duration = Duration::from_millis(20);

/// The wait before the next commit, from the last one's size and the time
/// since it started.
pub fn delay(last_writes: usize, since_last_start: Duration) -> Duration {
    if last_writes >= SIBLINGS {
        PACE.saturating_sub(since_last_start)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_server_never_waits() {
        assert_eq!(delay(0, Duration::ZERO), Duration::ZERO);
        assert_eq!(delay(1, Duration::from_micros(100)), Duration::ZERO);
        assert_eq!(delay(SIBLINGS - 1, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_busy_one_starts_commits_no_closer_than_the_pace() {
        assert_eq!(
            delay(SIBLINGS, Duration::from_millis(2)),
            Duration::from_millis(18)
        );
        assert_eq!(delay(1000, Duration::ZERO), PACE);
        assert_eq!(delay(1000, PACE), Duration::ZERO);
        assert_eq!(
            delay(1000, Duration::from_millis(80)),
            Duration::ZERO,
            "a slow disk adds nothing"
        );
    }
}
