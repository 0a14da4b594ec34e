//! Nothing acknowledged that is not durable, sans-IO (issue 17 item 6):
//! a SUBSCRIBE's 200 and first NOTIFY wait in the transmit queue until the
//! driver reports the record written; a failed write turns them into one
//! 503 with a generic reason and Retry-After, and the subscription is gone.
//! Also RFC 3261 §8.2.2.3 after authentication: an unknown Require → 420.

use std::time::Instant;

use opendpma::sip::{Output, Peer, PresenceServer, PublishFailure};

mod support;

use support::sans_io::{book, presence_server};

const WALL: u64 = 1_800_000_000;

fn subscribe(extra: &str) -> Vec<u8> {
    format!(
        "SUBSCRIBE sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKdur\r\nFrom: <sip:2001@192.0.2.1>;tag=w\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: durable\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nExpires: 600\r\nContact: <sip:2001@192.0.2.7:5062>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn setup() -> (PresenceServer, Peer, Instant) {
    let now = Instant::now();
    let server = presence_server(now, &["2000", "2001"], &book(&["2000", "2001"]));
    (server, Peer::udp("192.0.2.7:5062".parse().unwrap()), now)
}

fn sent(server: &mut PresenceServer) -> Vec<String> {
    std::iter::from_fn(|| server.poll_transmit())
        .map(|t| String::from_utf8(t.bytes).unwrap())
        .collect()
}

#[test]
fn a_failed_record_write_turns_the_200_into_a_503_and_drops_the_subscription() {
    let (mut server, peer, now) = setup();
    server.handle_datagram(now, WALL, peer, &subscribe(""));
    while server.poll_output().is_some() {}
    let ticket = server.hand_over_records();
    server.subscriptions_stored(now, ticket, false);
    let sent = sent(&mut server);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(
        sent[0].starts_with("SIP/2.0 503 Service Unavailable\r\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("\r\nRetry-After: 10\r\n"), "{}", sent[0]);
    assert_eq!(server.subscription_count(), 0);
    // A retransmission of the SUBSCRIBE gets the same 503, not a 200.
    server.handle_datagram(now, WALL, peer, &subscribe(""));
    let again = self::sent(&mut server);
    assert!(again[0].starts_with("SIP/2.0 503 "), "{again:#?}");
}

#[test]
fn a_stored_record_lets_the_200_and_the_notify_go() {
    let (mut server, peer, now) = setup();
    server.handle_datagram(now, WALL, peer, &subscribe(""));
    while server.poll_output().is_some() {}
    let ticket = server.hand_over_records();
    server.subscriptions_stored(now, ticket, true);
    let sent = sent(&mut server);
    assert!(sent[0].starts_with("SIP/2.0 200 OK\r\n"), "{sent:#?}");
    assert!(sent[1].starts_with("NOTIFY "), "{sent:#?}");
    assert_eq!(server.subscription_count(), 1);
}

#[test]
fn an_unknown_require_on_a_subscribe_is_420_and_creates_nothing() {
    let (mut server, peer, now) = setup();
    server.handle_datagram(now, WALL, peer, &subscribe("Require: 100rel\r\n"));
    let sent = sent(&mut server);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(
        sent[0].starts_with("SIP/2.0 420 Bad Extension\r\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("\r\nUnsupported: 100rel\r\n"), "{}", sent[0]);
    assert_eq!(server.subscription_count(), 0);
}

fn publish(cseq: u32) -> Vec<u8> {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:2001@192.0.2.1"><tuple id="digium-presence"><status><digium_presence type="dnd" subtype="">busy</digium_presence></status></tuple></presence>"#;
    format!(
        "PUBLISH sip:2001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.8:5062;branch=z9hG4bKpub{cseq}\r\nFrom: <sip:2001@192.0.2.1>;tag=p{cseq}\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: pub-{cseq}\r\nCSeq: {cseq} PUBLISH\r\nEvent: presence\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn publish_token(server: &mut PresenceServer) -> u64 {
    std::iter::from_fn(|| server.poll_output())
        .find_map(|output| match output {
            Output::Publish { token, .. } => Some(token),
            _ => None,
        })
        .expect("the PUBLISH is handed over for its write")
}

// Issue 16: while a write is with the store, nothing is answered for it,
// and a store that cannot take it (full queue, failed commit) is a 503
// with Retry-After — a clear "try later", not a 500 and not a timeout.
#[test]
fn a_publish_the_store_cannot_take_is_503_with_retry_after() {
    let (mut server, _, now) = setup();
    let publisher = Peer::udp("192.0.2.8:5062".parse().unwrap());
    server.handle_datagram(now, WALL, publisher, &publish(1));
    let token = publish_token(&mut server);
    assert!(sent(&mut server).is_empty(), "no answer before the write is done");
    server.publish_committed(now, token, Err(PublishFailure::Unavailable));
    let sent = sent(&mut server);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(
        sent[0].starts_with("SIP/2.0 503 Service Unavailable\r\n"),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("\r\nRetry-After: 10\r\n"), "{}", sent[0]);
    assert!(!sent[0].contains("SIP-ETag"), "{}", sent[0]);
}

// Issue 16: the driver no longer waits for the disk, so other requests
// are handled while a SUBSCRIBE's record is being written — and that
// SUBSCRIBE (and a retransmission of it) still gets nothing until then.
#[test]
fn a_subscribe_waiting_for_its_record_holds_its_200_while_others_flow() {
    let (mut server, peer, now) = setup();
    server.handle_datagram(now, WALL, peer, &subscribe(""));
    while server.poll_output().is_some() {}
    let ticket = server.hand_over_records();
    assert!(sent(&mut server).is_empty(), "the 200 waits for the record");
    server.handle_datagram(now, WALL, peer, &subscribe(""));
    assert!(
        sent(&mut server).is_empty(),
        "a retransmission is absorbed, not answered 200"
    );
    // Meanwhile a PUBLISH from someone else is handled and answered.
    let publisher = Peer::udp("192.0.2.8:5062".parse().unwrap());
    server.handle_datagram(now, WALL, publisher, &publish(1));
    let token = publish_token(&mut server);
    server.publish_committed(now, token, Ok(()));
    let answered = sent(&mut server);
    assert_eq!(answered.len(), 1, "{answered:#?}");
    assert!(answered[0].starts_with("SIP/2.0 200 OK\r\n"), "{}", answered[0]);
    assert!(answered[0].contains("pub-1"), "{}", answered[0]);
    // A completion for another batch changes nothing here.
    server.subscriptions_stored(now, ticket + 1, true);
    assert!(sent(&mut server).is_empty());
    server.subscriptions_stored(now, ticket, true);
    let released = sent(&mut server);
    assert!(released[0].starts_with("SIP/2.0 200 OK\r\n"), "{released:#?}");
    assert!(released[0].contains("Call-ID: durable"), "{released:#?}");
    assert!(released[1].starts_with("NOTIFY "), "{released:#?}");
    assert_eq!(released.len(), 2, "{released:#?}");
}
