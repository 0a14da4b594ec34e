//! Hostile load from loopback: 200,000 garbage datagrams and 50,000
//! valid-but-unauthenticated SUBSCRIBEs, then a legitimate phone (another
//! loopback address) must still get its OPTIONS answered within 100 ms,
//! and the server's memory must not have grown by 50 MB.

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

fn metric(server: &Server, name: &str) -> u64 {
    server.metric(name).unwrap_or(0)
}

#[test]
fn a_flood_neither_grows_memory_nor_starves_a_phone() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let before = server.rss_kib();
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    let garbage: Vec<u8> = (0..700u32).map(|i| (i * 37 % 251) as u8).collect();
    for _ in 0..200_000 {
        let _ = attacker.send_to(&garbage, server.sip);
    }
    for n in 0..50_000 {
        let subscribe = format!(
            "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKflood{n}\r\nFrom: <sip:x@y>;tag={n}\r\nTo: <sip:2001@{server}>\r\nCall-ID: flood-{n}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContact: <sip:x@127.0.0.1:9>\r\nContent-Length: 0\r\n\r\n",
            server = server.sip
        );
        let _ = attacker.send_to(subscribe.as_bytes(), server.sip);
    }
    // Let the server work through what the kernel queued (a few thousand
    // datagrams; the rest were dropped by the kernel), then a legitimate
    // phone on another address must be answered at once.
    let mut last = 0;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = metric(&server, "opendpma_sip_rate_limited_total");
        if now == last {
            break;
        }
        last = now;
    }
    let phone = UdpSocket::bind("127.0.0.2:0").expect("127.0.0.2 is loopback too");
    phone.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let local = phone.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:2000@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKlegit;rport\r\nFrom: <sip:2000@{server}>;tag=l\r\nTo: <sip:2000@{server}>\r\nCall-ID: legit\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        server = server.sip
    );
    let sent = Instant::now();
    phone.send_to(options.as_bytes(), server.sip).unwrap();
    let mut buffer = [0u8; 4096];
    let (length, _) = phone
        .recv_from(&mut buffer)
        .expect("the phone is answered within 100 ms");
    let waited = sent.elapsed();
    assert!(buffer[..length].starts_with(b"SIP/2.0 200 OK"));
    eprintln!("OPTIONS answered {waited:?} after the flood");
    let after = server.rss_kib();
    eprintln!("RSS before {before} KiB, after {after} KiB");
    assert!(
        after < before + 50 * 1024,
        "memory grew from {before} to {after} KiB"
    );
    let limited = metric(&server, "opendpma_sip_rate_limited_total");
    eprintln!("datagrams dropped by the rate limit: {limited}");
    assert!(limited > 1_000, "the limiter did the work");
}
