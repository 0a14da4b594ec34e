//! A clean stop under load, against the binary: SIGTERM while presence
//! changes pour in over the admin API and SIP PUBLISH → the process exits
//! 0 within 2 s (measured from the signal), its log says every task
//! ended, and after a restart every change that was acknowledged before
//! the stop is there.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opendpma::sip::Message;
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

/// The stop a service manager is promised.
const EXIT_WITHIN: Duration = Duration::from_secs(2);
/// Most writes one writer makes (every loop is bounded).
const MAX_WRITES: u32 = 20_000;
/// Acknowledged writes per writer before the signal: the stop must come
/// while all of them are busy.
const WARM_UP: u32 = 10;

/// What one writer saw: the last sequence number answered with success;
/// its thread returns the last one answered at all and the last one sent
/// (one more when a write was cut off by the stop).
struct Writer {
    provider: &'static str,
    acked: Arc<AtomicU32>,
    thread: JoinHandle<(u32, u32)>,
}

/// Sets `provider` over the admin API, `seq 1`, `seq 2`, … one at a time
/// until the server stops answering.
fn api_writer(server: &Server, provider: &'static str, stop: Arc<AtomicBool>) -> Writer {
    let acked = Arc::new(AtomicU32::new(0));
    let admin = server.admin;
    let seen = acked.clone();
    let thread = std::thread::spawn(move || {
        let (mut answered, mut sent) = (0, 0);
        for seq in 1..=MAX_WRITES {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            sent = seq;
            let state = if seq % 2 == 0 { "away" } else { "dnd" };
            let body = format!(r#"{{"state":"{state}","message":"seq {seq}"}}"#);
            match admin_put(admin, &format!("/api/v1/presence/{provider}"), &body) {
                Some(200) => seen.store(seq, Ordering::SeqCst),
                // Shed under load (503) is an answer that changed nothing.
                Some(503) => {}
                Some(other) => panic!("PUT {provider} answered {other}"),
                None => break,
            }
            answered = seq;
        }
        (answered, sent)
    });
    Writer {
        provider,
        acked,
        thread,
    }
}

/// One PUT with the token over a fresh connection; the status, or `None`
/// when the server does not answer (stopped).
fn admin_put(admin: std::net::SocketAddr, path: &str, body: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&admin, Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {admin}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        support::TOKEN,
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// Publishes line 2001's presence over SIP (digest-authenticated, each
/// PUBLISH modifying the previous publication by its ETag) with the text
/// `seq N`, until the server stops answering.
fn publish_writer(server: &Server, stop: Arc<AtomicBool>) -> Writer {
    let acked = Arc::new(AtomicU32::new(0));
    let seen = acked.clone();
    let mut client = SipClient::new(server.sip, "2001", "line-secret-2001");
    let target = server.sip;
    let thread = std::thread::spawn(move || {
        let uri = format!("sip:2001@{target}");
        let local = client.local();
        let mut etag: Option<String> = None;
        let mut cseq = 0;
        let (mut answered, mut sent) = (0, 0);
        for seq in 1..=MAX_WRITES {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            sent = seq;
            let state = if seq % 2 == 0 { "away" } else { "dnd" };
            let body = format!(
                "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:2001@x\"><tuple id=\"d\"><status><digium_presence type=\"{state}\">seq {seq}</digium_presence></status></tuple></presence>"
            );
            let mut text = |authorization: Option<&str>| {
                cseq += 1;
                let authorization = authorization
                    .map(|a| format!("Authorization: {a}\r\n"))
                    .unwrap_or_default();
                let if_match = etag
                    .as_deref()
                    .map(|tag| format!("SIP-If-Match: {tag}\r\n"))
                    .unwrap_or_default();
                format!(
                    "PUBLISH {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKstop{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:2001@127.0.0.1>;tag=stop\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: stop-publish@test\r\nCSeq: {cseq} PUBLISH\r\nEvent: presence\r\nExpires: 300\r\n{if_match}Content-Type: application/pidf+xml\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            client.send(&text(None));
            let Some(Message::Response(challenge)) = client.receive(Duration::from_secs(5)) else {
                break;
            };
            assert_eq!(challenge.code, 401, "{}", challenge.reason);
            let authorization = client.authorization(&challenge, "PUBLISH", &uri);
            client.send(&text(Some(&authorization)));
            let Some(Message::Response(answer)) = client.receive(Duration::from_secs(5)) else {
                break;
            };
            match answer.code {
                200 => {
                    etag = answer.headers.get("SIP-ETag").map(str::to_owned);
                    seen.store(seq, Ordering::SeqCst);
                }
                503 => {}
                code => panic!("PUBLISH answered {code} {}", answer.reason),
            }
            answered = seq;
        }
        (answered, sent)
    });
    Writer {
        provider: "CustomPresence:2001",
        acked,
        thread,
    }
}

/// The `seq N` a provider's message holds after the restart.
fn stored_seq(server: &Server, provider: &str) -> u32 {
    let (status, body) = server
        .admin_request("GET", &format!("/api/v1/presence/{provider}"), None)
        .expect("the restarted server answers");
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).expect("json");
    let message = value["message"].as_str().expect("a message");
    message
        .strip_prefix("seq ")
        .and_then(|seq| seq.parse().ok())
        .unwrap_or_else(|| panic!("{provider} holds {message:?}"))
}

#[test]
fn sigterm_under_load_exits_cleanly_in_time_and_keeps_every_acknowledged_change() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let stop = Arc::new(AtomicBool::new(false));
    let writers = vec![
        api_writer(&server, "CustomPresence:2000", stop.clone()),
        api_writer(&server, "CustomPresence:2002", stop.clone()),
        publish_writer(&server, stop.clone()),
    ];
    // Under load: every writer has had changes acknowledged.
    let warm = Instant::now() + Duration::from_secs(60);
    while writers
        .iter()
        .any(|writer| writer.acked.load(Ordering::SeqCst) < WARM_UP)
    {
        assert!(
            Instant::now() < warm,
            "writers did not get going:\n{}",
            server.log()
        );
        assert!(
            writers.iter().all(|writer| !writer.thread.is_finished()),
            "a writer stopped early:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    let signalled = Instant::now();
    server.signal("TERM");
    let code = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert_eq!(code, Some(0), "{}", server.log());
    assert!(took < EXIT_WITHIN, "exit took {took:?}:\n{}", server.log());
    let log = server.log();
    let stopped = log
        .lines()
        .find(|line| line.contains("stopped: "))
        .unwrap_or_else(|| panic!("no stop line:\n{log}"));
    assert!(stopped.contains("stopped: 0 tasks left"), "{stopped}");
    // Every task, the SIP driver too, let go of the hub: the committer
    // drained and the store was closed before the process exited.
    assert!(
        stopped.contains("store=\"closed\"") || stopped.contains("store=closed"),
        "{stopped}"
    );

    let outcomes: Vec<_> = writers
        .into_iter()
        .map(|writer| {
            let (answered, sent) = writer.thread.join().expect("writer thread");
            (
                writer.provider,
                writer.acked.load(Ordering::SeqCst),
                answered,
                sent,
            )
        })
        .collect();
    server.restart();
    for (provider, acked, answered, sent) in outcomes {
        let stored = stored_seq(&server, provider);
        // The acknowledged value, or the one write in flight at the stop
        // (committed, its answer cut off) — never an older one.
        assert!(
            stored == acked || (stored == sent && sent == answered + 1),
            "{provider}: stored seq {stored}, last acknowledged {acked}, last answered {answered}, last sent {sent}"
        );
    }
    eprintln!("exit took {took:?}; {stopped}");
}

/// An event stream never ends by itself: at a stop it ends (the stream
/// is finished, the connection closes), well within the deadline.
#[test]
fn an_open_event_stream_does_not_hold_the_stop() {
    use std::io::{BufRead, BufReader, Write};
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut stream = std::net::TcpStream::connect(server.admin).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        server.admin,
        support::TOKEN
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut reader = BufReader::new(&stream);
    let mut status = String::new();
    reader.read_line(&mut status).expect("status line");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    let signalled = Instant::now();
    server.signal("TERM");
    let code = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert_eq!(code, Some(0), "{}", server.log());
    assert!(took < EXIT_WITHIN, "exit took {took:?}:\n{}", server.log());
    assert!(server.log().contains("stopped: 0 tasks left"), "{}", server.log());
    // The stream was finished (its last chunk sent), not cut off.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read to the end");
    assert!(rest.ends_with("0\r\n\r\n"), "{rest:?}");
}
