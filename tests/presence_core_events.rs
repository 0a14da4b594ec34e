//! The presence core hears hint states as events the driver pushes in
//! (`handle_hints` at start, `handle_change` per book change) and keeps its
//! own copy: a SUBSCRIBE is answered from it, a repeated state sends
//! nothing, a hint that is gone ends its watchers with `noresource`
//! (RFC 6665 §4.2.2). And a PUBLISH the book refuses is a 500 that says
//! why.

use std::time::Instant;

use opendpma::presence::{BookError, Change, PresenceBook, PresenceUpdate};
use opendpma::sip::{Output, Peer, PresenceServer, PublishFailure};

mod support;

use support::sans_io::{book, presence_server};

const WALL: u64 = 1_800_000_000;

/// A new SUBSCRIBE to `exten`; `attempt` makes its transaction and dialog
/// new (a retry is not a retransmission).
fn subscribe(exten: &str, attempt: u32) -> Vec<u8> {
    format!(
        "SUBSCRIBE sip:{exten}@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKev{exten}x{attempt}\r\nFrom: <sip:2001@192.0.2.1>;tag=w{exten}x{attempt}\r\nTo: <sip:{exten}@192.0.2.1>\r\nCall-ID: events-{exten}-{attempt}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nExpires: 600\r\nContact: <sip:2001@192.0.2.7:5062>\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn publish() -> Vec<u8> {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:2000@192.0.2.1"><tuple id="digium-presence"><status><digium_presence type="dnd" subtype="">busy</digium_presence></status></tuple></presence>"#;
    format!(
        "PUBLISH sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.8:5062;branch=z9hG4bKpubev\r\nFrom: <sip:2000@192.0.2.1>;tag=pe\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: pub-events\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn watcher() -> Peer {
    Peer::udp("192.0.2.7:5062".parse().expect("literal address"))
}

/// Everything sent, as text; records are made durable and NOTIFYs
/// answered with 200 first, like a driver and a phone would.
fn exchange(server: &mut PresenceServer, now: Instant) -> Vec<String> {
    while server.poll_output().is_some() {}
    let ticket = server.hand_over_records();
    server.subscriptions_stored(now, ticket, true);
    let sent: Vec<String> = std::iter::from_fn(|| server.poll_transmit())
        .map(|transmit| String::from_utf8(transmit.bytes).expect("SIP is text"))
        .collect();
    for notify in sent.iter().filter(|text| text.starts_with("NOTIFY ")) {
        server.handle_datagram(now, WALL, watcher(), ok_to(notify).as_bytes());
    }
    sent
}

/// A 200 to `request`, copying its Via, From, To, Call-ID and CSeq.
fn ok_to(request: &str) -> String {
    let mut answer = "SIP/2.0 200 OK\r\n".to_owned();
    for line in request.lines() {
        let name = line.split(':').next().unwrap_or_default();
        if ["Via", "From", "To", "Call-ID", "CSeq"].contains(&name) {
            answer.push_str(line);
            answer.push_str("\r\n");
        }
    }
    answer.push_str("Content-Length: 0\r\n\r\n");
    answer
}

fn notifies(sent: &[String]) -> Vec<&String> {
    sent.iter().filter(|text| text.starts_with("NOTIFY ")).collect()
}

fn set(book: &mut PresenceBook, provider: &str, value: &str) -> Vec<Change> {
    let update = PresenceUpdate::parse_asterisk(value).expect("valid value");
    let plan = book
        .plan_presence(provider, update, 1)
        .expect("room")
        .expect("a change");
    book.apply(plan)
}

#[test]
fn an_extension_unknown_until_a_change_names_it_can_then_be_watched() {
    let now = Instant::now();
    let mut server = presence_server(now, &["2000"], &book(&[]));
    server.handle_datagram(now, WALL, watcher(), &subscribe("2000", 1));
    let sent = exchange(&mut server, now);
    assert!(sent[0].starts_with("SIP/2.0 404 "), "{sent:#?}");

    let mut book = book(&[]);
    let changes = book.set_hints(vec![support::sans_io::hint("2000")]);
    for change in changes {
        server.handle_change(now, change);
    }
    server.handle_datagram(now, WALL, watcher(), &subscribe("2000", 2));
    let sent = exchange(&mut server, now);
    assert!(sent[0].starts_with("SIP/2.0 200 "), "{sent:#?}");
    assert_eq!(notifies(&sent).len(), 1, "the first NOTIFY carries the state");
}

#[test]
fn a_state_the_core_already_holds_sends_no_notify() {
    let now = Instant::now();
    let mut book = book(&["2000"]);
    let mut server = presence_server(now, &["2000"], &book);
    server.handle_datagram(now, WALL, watcher(), &subscribe("2000", 1));
    exchange(&mut server, now);

    let changes = set(&mut book, "CustomPresence:2000", "away");
    for change in changes.clone() {
        server.handle_change(now, change);
    }
    let sent = exchange(&mut server, now);
    assert_eq!(notifies(&sent).len(), 1, "{sent:#?}");
    assert!(notifies(&sent)[0].contains("away"), "{}", notifies(&sent)[0]);

    // The same change again (a start-up read overlapping the feed): nothing.
    for change in changes {
        server.handle_change(now, change);
    }
    server.handle_hints(now, book.hint_states());
    assert!(exchange(&mut server, now).is_empty());
}

#[test]
fn hints_handed_in_without_an_extension_end_its_watchers_with_noresource() {
    let now = Instant::now();
    let mut server = presence_server(now, &["2000", "2001"], &book(&["2000", "2001"]));
    server.handle_datagram(now, WALL, watcher(), &subscribe("2001", 1));
    exchange(&mut server, now);
    assert_eq!(server.subscription_count(), 1);

    server.handle_hints(now, book(&["2000"]).hint_states());
    let sent = exchange(&mut server, now);
    let ends = notifies(&sent);
    assert_eq!(ends.len(), 1, "{sent:#?}");
    assert!(
        ends[0].contains("\r\nSubscription-State: terminated;reason=noresource\r\n"),
        "{}",
        ends[0]
    );
    assert_eq!(server.subscription_count(), 0);
    server.handle_datagram(now, WALL, watcher(), &subscribe("2001", 2));
    let sent = exchange(&mut server, now);
    assert!(sent[0].starts_with("SIP/2.0 404 "), "the hint is gone: {sent:#?}");
}

#[test]
fn a_publish_the_book_refuses_is_a_500_saying_why() {
    let now = Instant::now();
    let mut server = presence_server(now, &["2000"], &book(&["2000"]));
    let publisher = Peer::udp("192.0.2.8:5062".parse().expect("literal address"));
    server.handle_datagram(now, WALL, publisher, &publish());
    let token = std::iter::from_fn(|| server.poll_output())
        .find_map(|output| match output {
            Output::Publish { token, .. } => Some(token),
            _ => None,
        })
        .expect("the PUBLISH is handed over for its write");
    let refusal = BookError::Full("presence providers");
    server.publish_committed(now, token, Err(PublishFailure::Refused(refusal.into())));
    let answer = String::from_utf8(server.poll_transmit().expect("an answer").bytes).expect("text");
    assert!(
        answer.starts_with("SIP/2.0 500 too many presence providers (at most 100000)\r\n"),
        "{answer}"
    );
    assert!(!answer.contains("SIP-ETag"), "{answer}");
}
