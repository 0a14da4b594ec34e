//! Shedding early when the CPU falls behind: a UDP request that
//! waited in the inbound queue longer than 2·T1 is dropped unread. By then
//! its client has retransmitted it (RFC 3261 §17.1.2.2: Timer E starts at
//! T1 = 500 ms), so answering the old copy only adds work; dropping it is
//! the cheapest way to bring the queue back to fresh requests, which are
//! answered before their clients give up. Responses (to our NOTIFYs) are
//! kept: dropping one would only make us retransmit the NOTIFY.

use std::time::Duration;

/// How long a request may wait before it is shed: 2·T1.
pub(super) const STALE_AFTER: Duration = Duration::from_millis(1000);

/// True for a request (not a response) that waited longer than `STALE_AFTER`.
pub(super) fn is_stale_request(waited: Duration, bytes: &[u8]) -> bool {
    waited > STALE_AFTER && !bytes.starts_with(b"SIP/2.0 ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISH: &[u8] = b"PUBLISH sip:2000@pbx SIP/2.0\r\n";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\n";

    #[test]
    fn only_requests_that_waited_past_two_t1_are_shed() {
        assert!(!is_stale_request(Duration::ZERO, PUBLISH));
        assert!(!is_stale_request(STALE_AFTER, PUBLISH), "at the limit: kept");
        assert!(is_stale_request(STALE_AFTER + Duration::from_millis(1), PUBLISH));
        assert!(
            !is_stale_request(Duration::from_secs(5), OK),
            "a late answer to our NOTIFY is still used"
        );
    }
}
