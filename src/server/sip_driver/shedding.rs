//! What the driver does with a UDP datagram, by how long it waited in the
//! inbound queue — the one overload signal that costs nothing to read.
//!
//! - Up to `BUSY_AFTER`: handled as usual.
//! - Past it, the server is behind: requests that would start a new call
//!   get 503 with Retry-After at once (`sip::endpoint::overload`, RFC 3261
//!   §21.5.4), so the queue drains and the calls already admitted finish
//!   before their clients retransmit. Measured with `bench/knee.sh
//!   subscribe` (docs/DECISIONS.md §22): without it, at twice the knee the
//!   queue filled, the kernel dropped datagrams, and calls stalled on
//!   retransmission timers (T1 = 500 ms, doubling) until long after the
//!   offered load ended.
//! - Past `STALE_AFTER` (2·T1), a request is dropped unread. By then its
//!   client has retransmitted it (RFC 3261 §17.1.2.2: Timer E starts at
//!   T1 = 500 ms), so answering the old copy only adds work. Responses (to
//!   our NOTIFYs) are kept: dropping one would only make us retransmit the
//!   NOTIFY.

use std::time::Duration;

/// Queue wait past which new calls are refused: T1/20. Well below T1, so
/// an admitted call's requests are answered before its client's first
/// retransmission, and well below the wait of a full inbound channel
/// (4,096 datagrams, ~130 ms at the knee): past that the socket task
/// blocks and the kernel's buffer fills, a wait no timestamp of ours
/// sees, then drops. Well above a healthy queue's wait (a turn of 64
/// datagrams takes ~2 ms), so a server keeping up does not refuse.
pub(super) const BUSY_AFTER: Duration = Duration::from_millis(25);

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

/// The admission of a datagram that waited `waited`.
pub(super) fn admission(waited: Duration, bytes: &[u8]) -> Admission {
    if bytes.starts_with(b"SIP/2.0 ") {
        Admission::Handle
    } else if waited > STALE_AFTER {
        Admission::Shed
    } else if waited > BUSY_AFTER {
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

    #[test]
    fn requests_are_handled_then_refused_then_shed_as_their_wait_grows() {
        assert_eq!(admission(Duration::ZERO, PUBLISH), Admission::Handle);
        assert_eq!(
            admission(BUSY_AFTER, PUBLISH),
            Admission::Handle,
            "at the mark: handled"
        );
        let busy = BUSY_AFTER + Duration::from_millis(1);
        assert_eq!(admission(busy, PUBLISH), Admission::RefuseNewCalls);
        assert_eq!(
            admission(STALE_AFTER, PUBLISH),
            Admission::RefuseNewCalls,
            "at the limit: kept"
        );
        let stale = STALE_AFTER + Duration::from_millis(1);
        assert_eq!(admission(stale, PUBLISH), Admission::Shed);
    }

    #[test]
    fn responses_are_always_handled() {
        for waited in [Duration::ZERO, BUSY_AFTER * 2, Duration::from_secs(5)] {
            assert_eq!(
                admission(waited, OK),
                Admission::Handle,
                "a late answer to our NOTIFY is still used"
            );
        }
    }
}
