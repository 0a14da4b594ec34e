//! A full server-transaction table (a burst: 64·T1 of Timer J holds every
//! transaction of the last 32 s) still remembers each new request, so its
//! retransmission gets the same answer; the oldest completed transaction
//! gives way (issue 16: SUBSCRIBE retransmissions past 20,000 transactions
//! were answered afresh, a second digest check of a used nonce count → 401).
//! Also: CANCEL matching.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use opendpma::auth::{LockoutPolicy, NonceSecret};
use opendpma::config::{Secret, Transport};
use opendpma::sip::endpoint::MAX_SERVER_TRANSACTIONS;
use opendpma::sip::{Endpoint, EndpointConfig, Peer, Random};

fn endpoint(now: Instant) -> Endpoint {
    let config = EndpointConfig {
        realm: "opendpma".into(),
        require_auth: true,
        credentials: HashMap::from([("2000".to_owned(), Secret::new("pw-2000"))]),
        host: "192.0.2.1".into(),
        ports: HashMap::from([(Transport::Udp, 5070)]),
        algorithms: vec![opendpma::auth::Algorithm::Md5],
        lockout: LockoutPolicy::default(),
    };
    Endpoint::new(config, Random::seeded(7), NonceSecret::new([3; 32]), now)
}

fn options(branch: usize) -> Vec<u8> {
    format!(
        "OPTIONS sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{branch}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: c-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn subscribe() -> Vec<u8> {
    b"SUBSCRIBE sip:2001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKsub\r\nFrom: <sip:2000@192.0.2.1>;tag=w\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: sub-1\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContact: <sip:2000@192.0.2.7:5062>\r\nContent-Length: 0\r\n\r\n".to_vec()
}

fn drain(endpoint: &mut Endpoint) -> Vec<String> {
    std::iter::from_fn(|| endpoint.poll_transmit())
        .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
        .collect()
}

#[test]
fn a_full_table_forgets_the_oldest_completed_transaction_not_the_new_one() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
    for branch in 0..MAX_SERVER_TRANSACTIONS {
        endpoint.handle_datagram(start, peer, &options(branch));
    }
    drain(&mut endpoint);
    assert_eq!(endpoint.transaction_counts().0, MAX_SERVER_TRANSACTIONS);

    let later = start + Duration::from_secs(1);
    endpoint.handle_datagram(later, peer, &subscribe());
    let challenge = drain(&mut endpoint);
    assert_eq!(challenge.len(), 1);
    assert!(challenge[0].starts_with("SIP/2.0 401 "), "{}", challenge[0]);
    // The retransmission (T1 later) is absorbed: the very same 401, same
    // nonce and To-tag, not a second challenge.
    endpoint.handle_datagram(later + Duration::from_millis(500), peer, &subscribe());
    assert_eq!(drain(&mut endpoint), challenge);
    assert_eq!(endpoint.stats.retransmissions_absorbed, 1);
    assert_eq!(endpoint.stats.stateless_answers, 0);
    assert_eq!(endpoint.transaction_counts().0, MAX_SERVER_TRANSACTIONS);

    // The oldest OPTIONS made room: its retransmission is answered afresh;
    // the newest is still absorbed.
    endpoint.handle_datagram(later, peer, &options(MAX_SERVER_TRANSACTIONS - 1));
    assert_eq!(endpoint.stats.retransmissions_absorbed, 2);
    endpoint.handle_datagram(later, peer, &options(0));
    assert_eq!(endpoint.stats.retransmissions_absorbed, 2);
    drain(&mut endpoint);

    // Timer J still ends everything, and the table stays bounded.
    endpoint.handle_timeout(later + Duration::from_secs(33));
    assert_eq!(endpoint.transaction_counts().0, 0);
}

fn request(method: &str, branch: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch={branch}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: {branch}\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Twice the SUBSCRIBE knee: 20,000 calls/s are 40,000 server
/// transactions/s. A challenge whose 401 was lost is retransmitted by its
/// client at T1, 3·T1, 7·T1 …; 10 s later, with 60,000 transactions
/// answered in between, it must still get the stored 401 (the same nonce
/// and To-tag), not a second challenge. With 20,000 entries it did not.
#[test]
fn a_retransmission_ten_seconds_into_a_60k_burst_gets_the_stored_response() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
    endpoint.handle_datagram(start, peer, &subscribe());
    let challenge = drain(&mut endpoint);
    assert!(challenge[0].starts_with("SIP/2.0 401 "), "{}", challenge[0]);
    for branch in 0..60_000u32 {
        let at = start + Duration::from_micros(u64::from(branch) * 160);
        endpoint.handle_datagram(at, peer, &options(branch as usize));
        drain(&mut endpoint);
        endpoint.handle_timeout(at);
    }
    let later = start + Duration::from_secs(10);
    endpoint.handle_timeout(later);
    endpoint.handle_datagram(later, peer, &subscribe());
    assert_eq!(drain(&mut endpoint), challenge);
    assert_eq!(endpoint.stats.retransmissions_absorbed, 1);
    assert_eq!(endpoint.stats.challenges, 1, "no second challenge");
    assert_eq!(endpoint.transaction_counts().0, 60_001);
}

/// CANCEL (RFC 3261 §9.2) matches the INVITE with the same branch and
/// sent-by: 200 when that transaction is known, 481 when it is not.
#[test]
fn cancel_matches_its_invite_by_branch_and_sent_by() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp("192.0.2.7:5062".parse().expect("address"));
    endpoint.handle_datagram(start, peer, &request("INVITE", "z9hG4bKcall", ""));
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 405 "));
    endpoint.handle_datagram(start, peer, &request("CANCEL", "z9hG4bKcall", ""));
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 200 "));
    endpoint.handle_datagram(start, peer, &request("CANCEL", "z9hG4bKother", ""));
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 481 "));
    // The same branch from another sent-by is another transaction.
    let elsewhere = request("CANCEL", "z9hG4bKcall", "").replace_bytes("192.0.2.7:5062", "192.0.2.8:5062");
    endpoint.handle_datagram(start, peer, &elsewhere);
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 481 "));
}

trait ReplaceBytes {
    fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8_lossy(self).replace(from, to).into_bytes()
    }
}
