//! Lock-out and stale nonces at the sans-IO endpoint,
//! with a fake clock: failures count per (address, user); a success does
//! not forgive other users; a phone presenting a nonce from before a
//! restart with the right password gets `stale=true` and is no failure.

use std::time::Instant;

use opendpma::auth::{Algorithm, NonceSecret};
use opendpma::config::Secret;
use opendpma::sip::{Endpoint, Event, Peer, Random};

mod support;

use support::digest_client;
use support::sans_io::{PASSWORD, endpoint_config};

/// The NAT or proxy address every phone here shares.
const SHARED: &str = "192.0.2.7:5062";

/// The shared endpoint with a second line (2001) and MD5 only; `secret`
/// seeds the nonce key, so a new value stands for a restarted server.
fn endpoint(now: Instant, secret: u8) -> Endpoint {
    let mut config = endpoint_config(true);
    config
        .credentials
        .insert("2001".to_owned(), Secret::new("pw-2001"));
    config.algorithms = vec![Algorithm::Md5];
    Endpoint::new(
        config,
        Random::seeded(secret.into()),
        NonceSecret::new([secret; 32]),
        now,
    )
}

fn subscribe(user: &str, cseq: u32, authorization: Option<&str>) -> Vec<u8> {
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:2002@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{user}x{cseq}\r\nFrom: <sip:{user}@192.0.2.1>;tag=w{user}\r\nTo: <sip:2002@192.0.2.1>\r\nCall-ID: sub-{user}\r\nCSeq: {cseq} SUBSCRIBE\r\nEvent: presence\r\nContact: <sip:{user}@192.0.2.7:5062>\r\n{authorization}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The one answer the endpoint sent.
fn answer(endpoint: &mut Endpoint) -> String {
    let transmit = endpoint.poll_transmit().expect("an answer");
    assert!(endpoint.poll_transmit().is_none(), "exactly one answer");
    String::from_utf8(transmit.bytes).expect("text")
}

/// Authorization answering the challenge in `challenge` (a whole
/// response) as `user`.
fn authorization(challenge: &str, user: &str, password: &str) -> String {
    let value = challenge
        .lines()
        .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .expect("a challenge");
    digest_client::answer(value, user, password, "SUBSCRIBE", "sip:2002@192.0.2.1", 1)
}

/// One full round: challenge, then credentials; the final answer.
fn login(endpoint: &mut Endpoint, now: Instant, user: &str, password: &str, cseq: u32) -> String {
    let peer = Peer::udp(SHARED.parse().expect("address"));
    endpoint.handle_datagram(now, peer, &subscribe(user, cseq, None));
    let challenge = answer(endpoint);
    assert!(challenge.starts_with("SIP/2.0 401 "), "{challenge}");
    let credentials = authorization(&challenge, user, password);
    endpoint.handle_datagram(now, peer, &subscribe(user, cseq + 1, Some(&credentials)));
    if let Some(Event::Request { user: Some(who), .. }) = endpoint.poll_event() {
        assert_eq!(who, user);
        return "accepted".into();
    }
    answer(endpoint)
}

#[test]
fn ten_bad_tries_from_one_user_do_not_lock_out_the_other_phones_behind_the_address() {
    let now = Instant::now();
    let mut endpoint = endpoint(now, 1);
    for attempt in 0..10 {
        let refused = login(&mut endpoint, now, "2001", "guess", attempt * 2 + 1);
        assert!(refused.starts_with("SIP/2.0 401 "), "{refused}");
    }
    let locked = login(&mut endpoint, now, "2001", "pw-2001", 100);
    assert!(
        locked.starts_with("SIP/2.0 403 Too Many Failed Authentications"),
        "{locked}"
    );
    assert_eq!(
        login(&mut endpoint, now, "2000", PASSWORD, 200),
        "accepted",
        "2000 behind the same address still logs in"
    );
}

#[test]
fn a_known_secret_does_not_reset_the_guesses_at_another_line() {
    let now = Instant::now();
    let mut endpoint = endpoint(now, 1);
    // An attacker who knows 2000's secret logs in between guesses at 2001.
    for attempt in 0..10 {
        assert_eq!(
            login(&mut endpoint, now, "2000", PASSWORD, attempt * 4 + 1),
            "accepted"
        );
        let refused = login(&mut endpoint, now, "2001", "guess", attempt * 4 + 3);
        assert!(refused.starts_with("SIP/2.0 401 "), "{refused}");
    }
    let locked = login(&mut endpoint, now, "2001", "pw-2001", 100);
    assert!(
        locked.starts_with("SIP/2.0 403 Too Many Failed Authentications"),
        "the successes did not forgive 2001's failures: {locked}"
    );
    assert_eq!(endpoint.stats.auth_failures, 10);
}

#[test]
fn a_nonce_from_before_a_restart_with_the_right_password_is_stale_not_a_failure() {
    let now = Instant::now();
    let peer = Peer::udp(SHARED.parse().expect("address"));
    let mut before = endpoint(now, 1);
    before.handle_datagram(now, peer, &subscribe("2000", 1, None));
    let old_challenge = answer(&mut before);
    // The restarted process has a new nonce key; every phone behind the
    // address comes back with its old nonce (more than the lock-out limit).
    let mut after = endpoint(now, 2);
    for attempt in 0..15 {
        let credentials = authorization(&old_challenge, "2000", PASSWORD);
        after.handle_datagram(now, peer, &subscribe("2000", 10 + attempt, Some(&credentials)));
        let refreshed = answer(&mut after);
        assert!(refreshed.starts_with("SIP/2.0 401 "), "{refreshed}");
        assert!(refreshed.contains("stale=true"), "{refreshed}");
    }
    assert_eq!(after.stats.auth_failures, 0);
    let ip = peer.address.ip();
    assert!(!after.is_locked_out(ip, "2000", now));
    // Answering the fresh challenge gets through at once.
    assert_eq!(login(&mut after, now, "2000", PASSWORD, 50), "accepted");
    // A wrong password with an old nonce is still a failure.
    let guess = authorization(&old_challenge, "2001", "guess");
    after.handle_datagram(now, peer, &subscribe("2001", 60, Some(&guess)));
    let refused = answer(&mut after);
    assert!(!refused.contains("stale=true"), "{refused}");
    assert_eq!(after.stats.auth_failures, 1);
}
