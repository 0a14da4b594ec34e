//! Dialogs behind a proxy (RFC 3261 §12), sans-IO: the 200 that creates a
//! subscription copies Record-Route in order (§12.1.1), NOTIFYs carry the
//! route set as Route headers with the watcher's Contact as Request-URI
//! (loose routing, §12.2.1.1), and a refresh neither changes the route set
//! (§12.2) nor fails to follow a new Contact (target refresh).

use std::time::Instant;

use opendpma::sip::{Peer, PresenceServer};

mod support;

use support::sans_io::{book, presence_server};

const PROXY: &str = "192.0.2.50:5060";
const WALL: u64 = 1_800_000_000;

fn subscribe(
    cseq: u32,
    to_tag: Option<&str>,
    contact: &str,
    record_routes: &[&str],
    expires: u32,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let routes: String = record_routes
        .iter()
        .map(|r| format!("Record-Route: {r}\r\n"))
        .collect();
    format!(
        "SUBSCRIBE sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKproxy{cseq}\r\nVia: SIP/2.0/UDP 10.0.0.9:5090;branch=z9hG4bKphone{cseq}\r\n{routes}From: <sip:2001@192.0.2.1>;tag=watcher\r\nTo: <sip:2000@192.0.2.1>{to_tag}\r\nCall-ID: behind-proxy\r\nCSeq: {cseq} SUBSCRIBE\r\nEvent: presence\r\nExpires: {expires}\r\nContact: {contact}\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn transmits(server: &mut PresenceServer) -> Vec<String> {
    // A store that commits at once: records written, held 200s released.
    while server.poll_output().is_some() {}
    let ticket = server.hand_over_records();
    server.subscriptions_stored(Instant::now(), ticket, true);
    std::iter::from_fn(|| server.poll_transmit())
        .map(|t| String::from_utf8(t.bytes).expect("text"))
        .collect()
}

/// The watcher's 200 to one of our NOTIFYs (back through the proxy).
fn ok_to(notify: &str) -> Vec<u8> {
    let mut answer = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for value in header_lines(notify, name) {
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    answer.push_str("Content-Length: 0\r\n\r\n");
    answer.into_bytes()
}

fn header_lines<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}: ");
    message
        .split("\r\n")
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

#[test]
fn subscriptions_behind_record_routing_proxies_keep_their_route_set() {
    let now = Instant::now();
    let mut server = presence_server(now, &["2000", "2001"], &book(&["2000", "2001"]));
    let proxy = Peer::udp(PROXY.parse().expect("address"));
    let record_routes = [
        "<sip:192.0.2.50;lr;ftag=watcher>",
        "<sip:198.51.100.7:5070;transport=udp;lr>",
    ];
    server.handle_datagram(
        now,
        WALL,
        proxy,
        &subscribe(1, None, "<sip:2001@10.0.0.9:5090>", &record_routes, 600),
    );
    let sent = transmits(&mut server);
    let ok = sent
        .iter()
        .find(|m| m.starts_with("SIP/2.0 200 "))
        .expect("a 200");
    assert_eq!(header_lines(ok, "Record-Route"), record_routes, "{ok}");
    let notify = sent.iter().find(|m| m.starts_with("NOTIFY ")).expect("a NOTIFY");
    assert!(
        notify.starts_with("NOTIFY sip:2001@10.0.0.9:5090 SIP/2.0\r\n"),
        "{notify}"
    );
    assert_eq!(header_lines(notify, "Route"), record_routes, "{notify}");
    server.handle_datagram(now, WALL, proxy, &ok_to(notify));
    let local_tag = header_lines(ok, "To")[0]
        .split(";tag=")
        .nth(1)
        .expect("our tag")
        .to_owned();

    // A refresh through the proxy, with a new Contact and a different
    // Record-Route: the target moves, the route set does not (§12.2).
    server.handle_datagram(
        now,
        WALL,
        proxy,
        &subscribe(
            2,
            Some(&local_tag),
            "<sip:2001@10.0.0.9:6000>",
            &["<sip:203.0.113.1;lr>"],
            600,
        ),
    );
    let sent = transmits(&mut server);
    assert!(sent.iter().any(|m| m.starts_with("SIP/2.0 200 ")), "{sent:#?}");
    let notify = sent.iter().find(|m| m.starts_with("NOTIFY ")).expect("a NOTIFY");
    assert!(
        notify.starts_with("NOTIFY sip:2001@10.0.0.9:6000 SIP/2.0\r\n"),
        "{notify}"
    );
    assert_eq!(header_lines(notify, "Route"), record_routes, "{notify}");
    server.handle_datagram(now, WALL, proxy, &ok_to(notify));

    // The un-SUBSCRIBE through the proxy ends it with a terminated NOTIFY
    // on the same route.
    server.handle_datagram(
        now,
        WALL,
        proxy,
        &subscribe(3, Some(&local_tag), "<sip:2001@10.0.0.9:6000>", &[], 0),
    );
    let sent = transmits(&mut server);
    assert!(sent.iter().any(|m| m.starts_with("SIP/2.0 200 ")), "{sent:#?}");
    let last = sent
        .iter()
        .find(|m| m.starts_with("NOTIFY "))
        .expect("a final NOTIFY");
    assert!(last.contains("\r\nSubscription-State: terminated"), "{last}");
    assert_eq!(header_lines(last, "Route"), record_routes, "{last}");
}
