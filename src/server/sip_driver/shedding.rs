//! What the driver does with a UDP datagram, by how far behind the server
//! is — signals that cost nothing to read: how long the socket had held
//! unread datagrams when this one was read (`backlog`, the kernel buffer's
//! queue, which no timestamp of ours sees), and how long it then waited
//! in the channel to the driver (`waited`).
//!
//! - Neither past `BUSY_AFTER`: handled as usual.
//! - Either past it, the server is behind: requests that would start a
//!   new call get 503 with Retry-After at once (`sip::endpoint::overload`,
//!   RFC 3261 §21.5.4), so the queue drains and the calls already admitted
//!   finish before their clients retransmit. Measured with `bench/knee.sh
//!   subscribe` (docs/DECISIONS.md §22): at twice the knee the kernel
//!   buffer held ~7 MB from the first second on and dropped 200,000
//!   datagrams in 5 s, and calls stalled on retransmission timers (T1 =
//!   500 ms, doubling) long after the offered load ended.
//! - `waited` past `STALE_AFTER` (2·T1): a request is dropped unread. By
//!   then its client has retransmitted it (RFC 3261 §17.1.2.2: Timer E
//!   starts at T1 = 500 ms), so answering the old copy only adds work.
//!
//! Responses (to our NOTIFYs) are always handled: dropping one would only
//! make us retransmit the NOTIFY.

use std::time::Duration;

/// Backlog or wait past which new calls are refused: T1/2. A request that
/// waited that long is answered, at best, as its client's retransmission
/// timer (T1) fires, and the call's next request would wait as long
/// again: admitting more only adds retransmissions. Not lower: on a
/// machine shared with other work, 25 ms refused a quarter of the calls
/// at half the knee (`bench/knee.sh subscribe`, docs/DECISIONS.md §22).
pub(super) const BUSY_AFTER: Duration = Duration::from_millis(250);

/// How long a request may wait before it is shed: 2·T1.
pub(super) const STALE_AFTER: Duration = Duration::from_millis(1000);

/// What to do with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    Handle,
    /// Handle, refusing new calls (503).
    RefuseNewCalls,
    /// Drop unread.
    Shed,
}

/// The admission of a datagram read after the socket had been non-empty
/// for `backlog`, then waited `waited` for the driver.
pub(super) fn admission(waited: Duration, backlog: Duration, bytes: &[u8]) -> Admission {
    if bytes.starts_with(b"SIP/2.0 ") {
        Admission::Handle
    } else if waited > STALE_AFTER {
        Admission::Shed
    } else if waited.max(backlog) > BUSY_AFTER {
        Admission::RefuseNewCalls
    } else {
        Admission::Handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISH: &[u8] = b"PUBLISH sip:2000@pbx SIP/2.0\r\n";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\n";
    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn requests_are_handled_then_refused_then_shed_as_their_wait_grows() {
        assert_eq!(admission(ZERO, ZERO, PUBLISH), Admission::Handle);
        let at_mark = admission(BUSY_AFTER, BUSY_AFTER, PUBLISH);
        assert_eq!(at_mark, Admission::Handle, "at the mark: handled");
        let busy = BUSY_AFTER + Duration::from_millis(1);
        assert_eq!(admission(busy, ZERO, PUBLISH), Admission::RefuseNewCalls);
        let at_limit = admission(STALE_AFTER, ZERO, PUBLISH);
        assert_eq!(at_limit, Admission::RefuseNewCalls, "at the limit: kept");
        let stale = STALE_AFTER + Duration::from_millis(1);
        assert_eq!(admission(stale, ZERO, PUBLISH), Admission::Shed);
    }

    #[test]
    fn a_backlog_in_the_socket_refuses_new_calls_but_sheds_nothing() {
        let busy = BUSY_AFTER + Duration::from_millis(1);
        assert_eq!(admission(ZERO, busy, PUBLISH), Admission::RefuseNewCalls);
        assert_eq!(
            admission(ZERO, Duration::from_secs(5), PUBLISH),
            Admission::RefuseNewCalls,
            "a long backlog says the server is behind, not that this request is stale"
        );
    }

    #[test]
    fn responses_are_always_handled() {
        for late in [ZERO, BUSY_AFTER * 2, Duration::from_secs(5)] {
            let admitted = admission(late, late, OK);
            assert_eq!(
                admitted,
                Admission::Handle,
                "a late answer to our NOTIFY is still used"
            );
        }
    }
}
