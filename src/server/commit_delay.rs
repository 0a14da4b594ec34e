//! How long the committer lets a new batch wait for company before it
//! commits: PostgreSQL's `commit_delay` / `commit_siblings` rule.
//!
//! Every commit costs one fsync and a fixed amount of CPU (redb's page
//! writes, the kernel's block submission): about 240 µs on the build
//! machine, whatever the batch holds. Without a delay, the batch size is
//! whatever arrived during the previous fsync (~12 PUBLISHes at 5,000/s),
//! so the fixed cost was the committer's largest share of the CPU. When
//! the previous commit was busy (`SIBLINGS` jobs or more), more work is
//! clearly on its way, and waiting as long as that commit took roughly
//! doubles the next batch and halves the commits per change. A quiet
//! server (a lone change) never waits: the delay applies only under load,
//! where it at most doubles the time an answer already waits for its
//! fsync. (PostgreSQL documents the same trade-off for `commit_delay`,
//! "Write Ahead Log" settings, §19.5.)

use std::time::Duration;

/// A commit with at least this many jobs means more are coming.
pub const SIBLINGS: usize = 4;

/// The longest a batch waits for company, whatever the last commit took
/// (a slow disk must not add its slowness twice).
pub const MAX_DELAY: Duration = Duration::from_millis(5);

/// The wait before the next commit, from the last one's size and time.
pub fn delay(last_jobs: usize, last_took: Duration) -> Duration {
    if last_jobs >= SIBLINGS {
        last_took.min(MAX_DELAY)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_server_never_waits() {
        assert_eq!(delay(0, Duration::from_millis(3)), Duration::ZERO);
        assert_eq!(delay(1, Duration::from_millis(3)), Duration::ZERO);
        assert_eq!(delay(SIBLINGS - 1, Duration::from_millis(3)), Duration::ZERO);
    }

    #[test]
    fn a_busy_one_waits_as_long_as_the_last_commit_took_up_to_the_cap() {
        assert_eq!(
            delay(SIBLINGS, Duration::from_micros(2400)),
            Duration::from_micros(2400)
        );
        assert_eq!(delay(1000, Duration::from_millis(2)), Duration::from_millis(2));
        assert_eq!(delay(1000, Duration::from_millis(80)), MAX_DELAY);
    }
}
