//! Transaction timers and digest auth of the sans-IO endpoint, with a
//! fake clock: every timer of RFC 3261 §17 for non-INVITE transactions is
//! checked to the millisecond, with no sleeping.

use std::time::{Duration, Instant};

use opendpma::config::Transport;
use opendpma::sip::{ConnectionId, Endpoint, Event, Headers, Method, OutgoingRequest, Peer, ResponseBuilder};

mod support;

use support::digest_client;
use support::sans_io::{PASSWORD, endpoint_config};

fn endpoint(now: Instant) -> Endpoint {
    support::sans_io::endpoint(now, endpoint_config(true))
}

fn options(branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch={branch}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: c-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn subscribe(authorization: Option<&str>, cseq: u32) -> Vec<u8> {
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:2001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKsub{cseq}\r\nFrom: <sip:2000@192.0.2.1>;tag=w\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: sub-1\r\nCSeq: {cseq} SUBSCRIBE\r\nEvent: presence\r\nContact: <sip:2000@192.0.2.7:5062>\r\n{authorization}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn drain(endpoint: &mut Endpoint) -> Vec<String> {
    std::iter::from_fn(|| endpoint.poll_transmit())
        .map(|t| String::from_utf8(t.bytes).unwrap())
        .collect()
}

const PEER: &str = "192.0.2.7:5062";

#[test]
fn server_transactions_absorb_retransmissions_until_timer_j() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp(PEER.parse().unwrap());
    endpoint.handle_datagram(start, peer, &options("z9hG4bKa"));
    let first = drain(&mut endpoint);
    assert_eq!(first.len(), 1);
    // The retransmission gets the very same bytes (same To-tag).
    endpoint.handle_datagram(start + Duration::from_secs(1), peer, &options("z9hG4bKa"));
    assert_eq!(drain(&mut endpoint), first);
    assert_eq!(endpoint.stats.retransmissions_absorbed, 1);
    assert_eq!(
        endpoint.poll_timeout(),
        Some(start + Duration::from_secs(32)),
        "Timer J = 64·T1"
    );
    endpoint.handle_timeout(start + Duration::from_millis(31_999));
    assert_eq!(endpoint.transaction_counts(), (1, 0));
    endpoint.handle_timeout(start + Duration::from_secs(32));
    assert_eq!(endpoint.transaction_counts(), (0, 0));
}

#[test]
fn stream_server_transactions_end_at_once() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer {
        transport: Transport::Tcp,
        address: PEER.parse().unwrap(),
        connection: Some(ConnectionId(3)),
    };
    endpoint
        .handle_stream_bytes(start, peer, &options("z9hG4bKt"))
        .unwrap();
    assert_eq!(drain(&mut endpoint).len(), 1);
    endpoint.handle_timeout(start);
    assert_eq!(
        endpoint.transaction_counts(),
        (0, 0),
        "Timer J is zero on reliable transports"
    );
}

fn notify() -> OutgoingRequest {
    let mut headers = Headers::new();
    headers.push("From", "<sip:2001@192.0.2.1>;tag=n");
    headers.push("To", "<sip:2000@192.0.2.1>;tag=w");
    headers.push("Call-ID", "sub-1");
    headers.push("CSeq", "1 NOTIFY");
    headers.push("Event", "presence");
    OutgoingRequest {
        method: Method::Notify,
        uri: "sip:2000@192.0.2.7:5062".into(),
        headers,
        body: Default::default(),
    }
}

/// Runs timers until `until`, returning the offsets (ms) of every send.
fn sends_until(endpoint: &mut Endpoint, start: Instant, until: Duration) -> (Vec<u64>, Vec<Event>) {
    let mut sends = Vec::new();
    let mut events = Vec::new();
    while let Some(at) = endpoint.poll_timeout() {
        if at > start + until {
            break;
        }
        endpoint.handle_timeout(at);
        for _ in std::iter::from_fn(|| endpoint.poll_transmit()) {
            sends.push(at.duration_since(start).as_millis() as u64);
        }
        events.extend(std::iter::from_fn(|| endpoint.poll_event()));
    }
    (sends, events)
}

#[test]
fn client_transactions_retransmit_with_backoff_then_time_out() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let id = endpoint.send_request(start, Peer::udp(PEER.parse().unwrap()), notify());
    let first = drain(&mut endpoint);
    assert!(first[0].starts_with(
        "NOTIFY sip:2000@192.0.2.7:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK"
    ));
    let (sends, events) = sends_until(&mut endpoint, start, Duration::from_secs(40));
    // Timer E: 0.5, 1, 2, 4, 4, 4 … seconds apart; Timer F at 32 s.
    assert_eq!(
        sends,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], Event::Timeout { id: timed_out } if timed_out == id));
    assert_eq!(endpoint.transaction_counts(), (0, 0));
}

#[test]
fn client_transactions_over_tcp_never_retransmit() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer {
        transport: Transport::Tcp,
        address: PEER.parse().unwrap(),
        connection: Some(ConnectionId(1)),
    };
    endpoint.send_request(start, peer, notify());
    assert!(drain(&mut endpoint)[0].contains("Via: SIP/2.0/TCP 192.0.2.1:5070;branch="));
    let (sends, events) = sends_until(&mut endpoint, start, Duration::from_secs(40));
    assert!(sends.is_empty());
    assert!(matches!(events[..], [Event::Timeout { .. }]));
}

fn response_to(request: &str, code: u16) -> Vec<u8> {
    let via = request
        .lines()
        .find(|l| l.starts_with("Via: "))
        .unwrap()
        .trim_start_matches("Via: ");
    format!(
        "SIP/2.0 {code} Whatever\r\nVia: {via}\r\nFrom: <sip:2001@192.0.2.1>;tag=n\r\nTo: <sip:2000@192.0.2.1>;tag=w\r\nCall-ID: sub-1\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_final_response_is_reported_once_and_absorbed_until_timer_k() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp(PEER.parse().unwrap());
    let id = endpoint.send_request(start, peer, notify());
    let request = drain(&mut endpoint).remove(0);
    // A provisional response slows retransmissions to T2.
    endpoint.handle_datagram(
        start + Duration::from_millis(100),
        peer,
        &response_to(&request, 100),
    );
    let (sends, _) = sends_until(&mut endpoint, start, Duration::from_millis(4600));
    assert_eq!(sends, [500, 4500]);
    let at = start + Duration::from_secs(5);
    endpoint.handle_datagram(at, peer, &response_to(&request, 200));
    endpoint.handle_datagram(at, peer, &response_to(&request, 200));
    let events: Vec<Event> = std::iter::from_fn(|| endpoint.poll_event()).collect();
    assert_eq!(events.len(), 1, "retransmitted responses are absorbed");
    assert!(
        matches!(&events[0], Event::Response { id: got, response } if *got == id && response.code == 200)
    );
    let (sends, events) = sends_until(&mut endpoint, start, Duration::from_secs(60));
    assert!(
        sends.is_empty() && events.is_empty(),
        "no retransmission or timeout after the final response"
    );
    assert_eq!(endpoint.transaction_counts(), (0, 0), "Timer K ended it");
}

/// Answers the SHA-256 challenge in `challenge` (a whole response) as 2000.
fn answer_challenge(challenge: &str, password: &str, nc: u32, uri: &str) -> String {
    let value = challenge
        .lines()
        .filter_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .find(|value| value.contains("SHA-256"))
        .expect("a SHA-256 challenge");
    digest_client::answer(value, "2000", password, "SUBSCRIBE", uri, nc)
}

#[test]
fn digest_auth_lets_the_right_password_through_once_per_count() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp(PEER.parse().unwrap());
    endpoint.handle_datagram(start, peer, &subscribe(None, 1));
    let challenge = drain(&mut endpoint).remove(0);
    assert!(challenge.starts_with("SIP/2.0 401 Unauthorized\r\n"));
    let authorization = answer_challenge(&challenge, PASSWORD, 1, "sip:2001@192.0.2.1");
    endpoint.handle_datagram(start, peer, &subscribe(Some(&authorization), 2));
    match endpoint.poll_event() {
        Some(Event::Request { request, user, .. }) => {
            assert_eq!(user.as_deref(), Some("2000"));
            assert_eq!(request.method, Method::Subscribe);
        }
        other => panic!("expected the request, got {other:?}"),
    }
    // The same credentials again (a replay): challenged, not passed on.
    endpoint.handle_datagram(start, peer, &subscribe(Some(&authorization), 3));
    assert!(endpoint.poll_event().is_none());
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 401"));
    // A nonce older than five minutes: challenged again with stale=true.
    let later = start + Duration::from_secs(301);
    let stale = answer_challenge(&challenge, PASSWORD, 2, "sip:2001@192.0.2.1");
    endpoint.handle_datagram(later, peer, &subscribe(Some(&stale), 4));
    assert!(drain(&mut endpoint)[0].contains("stale=true"));
    // The signed uri may differ from the Request-URI (sipp signs the host
    // only) but must be a SIP URI.
    let host_only = answer_challenge(&challenge, PASSWORD, 5, "sip:192.0.2.1");
    endpoint.handle_datagram(start, peer, &subscribe(Some(&host_only), 5));
    assert!(matches!(endpoint.poll_event(), Some(Event::Request { .. })));
    let not_sip = answer_challenge(&challenge, PASSWORD, 6, "http://192.0.2.1/");
    endpoint.handle_datagram(start, peer, &subscribe(Some(&not_sip), 6));
    assert!(endpoint.poll_event().is_none());
}

#[test]
fn ten_wrong_passwords_lock_the_user_out_at_that_address() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let peer = Peer::udp(PEER.parse().unwrap());
    endpoint.handle_datagram(start, peer, &subscribe(None, 1));
    let challenge = drain(&mut endpoint).remove(0);
    for attempt in 0..10 {
        let guess = answer_challenge(&challenge, "guess", attempt + 1, "sip:2001@192.0.2.1");
        endpoint.handle_datagram(start, peer, &subscribe(Some(&guess), 10 + attempt));
        assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 401"));
    }
    let ip = PEER.parse::<std::net::SocketAddr>().unwrap().ip();
    assert!(endpoint.is_locked_out(ip, "2000", start));
    assert!(
        !endpoint.is_locked_out(ip, "2001", start),
        "other users at that address are not"
    );
    let right = answer_challenge(&challenge, PASSWORD, 50, "sip:2001@192.0.2.1");
    endpoint.handle_datagram(start, peer, &subscribe(Some(&right), 50));
    assert!(drain(&mut endpoint)[0].starts_with("SIP/2.0 403 Too Many Failed Authentications"));
    assert!(endpoint.poll_event().is_none());
    assert_eq!(endpoint.stats.auth_failures, 10);
}

#[test]
fn the_application_answers_through_respond() {
    let start = Instant::now();
    let mut endpoint = endpoint(start);
    let mut config = endpoint.config().clone();
    config.require_auth = false;
    endpoint.set_config(config);
    let peer = Peer::udp(PEER.parse().unwrap());
    endpoint.handle_datagram(start, peer, &subscribe(None, 1));
    let Some(Event::Request {
        id, request, user, ..
    }) = endpoint.poll_event()
    else {
        panic!("no event")
    };
    assert_eq!(user, None);
    endpoint.respond(
        start,
        id,
        ResponseBuilder::new(&request, 200, peer.address, "dialog-tag").header("Expires", "600"),
    );
    let answer = drain(&mut endpoint).remove(0);
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"));
    assert!(answer.contains("\r\nTo: <sip:2001@192.0.2.1>;tag=dialog-tag\r\n"));
    assert!(answer.contains("\r\nExpires: 600\r\n"));
}
