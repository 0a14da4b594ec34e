//! `[limits]` at work over real sockets: TCP connections per address,
//! HTTP requests per second per address, subscriptions per line; each
//! counted in /metrics.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, client};

const LIMITS: &str =
    "[limits]\ntcp_connections_per_ip = 2\nhttp_requests_per_second = 5\nsubscriptions_per_line = 1\n";

fn metric(server: &Server, name: &str) -> u64 {
    server
        .metric(name)
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_connections_per_address_are_capped() {
    let server = Server::start(HTTP_CREDENTIALS, &format!("{SAMPLE_BODY}\n{LIMITS}"));
    let first = TcpStream::connect(server.sip).unwrap();
    let second = TcpStream::connect(server.sip).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(server.sip).unwrap();
    third.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buffer = [0u8; 16];
    assert_eq!(
        third.read(&mut buffer).unwrap_or(0),
        0,
        "the third connection is closed at once"
    );
    assert_eq!(metric(&server, "opendpma_tcp_connections_refused_total"), 1);
    assert_eq!(metric(&server, "opendpma_tcp_connections"), 2);
    drop((first, second));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_requests_over_the_rate_get_429() {
    let server = Server::start(HTTP_CREDENTIALS, &format!("{SAMPLE_BODY}\n{LIMITS}"));
    // All at once: the burst of 5 is served, the rest refused; each
    // refusal is held back a second (a tarpit for floods).
    let requests: Vec<_> = (0..12)
        .map(|_| {
            let request = client()
                .get(server.http_url("/0019159c1a2b.cfg"))
                .basic_auth("provision", Some("http-secret-pw"));
            tokio::spawn(async move {
                let sent = std::time::Instant::now();
                let response = request.send().await.unwrap();
                (response.status(), sent.elapsed())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        let (status, took) = request.await.unwrap();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(took >= Duration::from_millis(950), "a 429 after {took:?}");
        }
        statuses.push(status);
    }
    statuses.sort();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 5, "{statuses:?}");
    assert_eq!(statuses[0], StatusCode::OK);
    assert_eq!(
        metric(&server, "opendpma_http_rate_limited_total"),
        limited as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_per_line_are_capped_with_503() {
    let server = Server::start_full(
        HTTP_CREDENTIALS,
        "require_auth = false",
        &format!("{SAMPLE_BODY}\n{LIMITS}"),
        &[],
    );
    let subscribe = |client: &SipClient, call: &str| {
        let local = client.local();
        format!(
            "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call};rport\r\nFrom: <sip:2000@127.0.0.1>;tag={call}\r\nTo: <sip:2001@{server}>\r\nCall-ID: {call}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:2000@{local}>\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n",
            server = client.server
        )
    };
    let watcher = SipClient::new(server.sip, "2000", "x");
    watcher.send(&subscribe(&watcher, "one"));
    assert_eq!(watcher.response(Duration::from_secs(2)).code, 200);
    watcher.notify(Duration::from_secs(2));
    watcher.send(&subscribe(&watcher, "two"));
    let refused = watcher.response(Duration::from_secs(2));
    assert_eq!(
        (refused.code, refused.headers.get("Retry-After")),
        (503, Some("60"))
    );
    assert_eq!(metric(&server, "opendpma_subscriptions_refused_total"), 1);
    // The NOTIFY above was answered at once: nothing waited behind it.
    assert_eq!(metric(&server, "opendpma_sip_notifies_superseded_total"), 0);
}
