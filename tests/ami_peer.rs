//! opendpma against a broken or hostile AMI peer (a scripted TCP server on
//! loopback standing in for Asterisk; no chroot needed): a peer that drops
//! every link right after the resync, one that sends an endless packet,
//! one that never answers. opendpma must keep serving SIP and HTTP, say
//! it is degraded, bound its memory and back off its reconnects.

#[path = "asterisk/harness.rs"]
mod harness;
#[path = "asterisk/opendpma_side.rs"]
mod opendpma_side;
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::wait_until;
use opendpma_side::{WAIT, admin, publish, start_server};

const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// Listens on a free loopback port; each accepted link is handed to
/// `script` on its own thread, and its accept time reported.
fn peer(script: fn(TcpStream)) -> (u16, mpsc::Receiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (accepted, accepts) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if accepted.send(Instant::now()).is_err() {
                return;
            }
            std::thread::spawn(move || script(stream));
        }
    });
    (port, accepts)
}

fn section(port: u16) -> String {
    format!(
        "[asterisk]\nami = \"127.0.0.1:{port}\"\nusername = \"opendpma\"\nsecret = \"peer-test-secret\"\n"
    )
}

/// One AMI packet's fields (`None` once the link is closed).
fn read_packet(reader: &mut impl BufRead) -> Option<HashMap<String, String>> {
    let mut fields = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Some(fields);
        }
        if let Some((key, value)) = line.split_once(": ") {
            fields.insert(key.to_ascii_lowercase(), value.to_owned());
        }
    }
}

/// Plays a healthy Asterisk with nothing set until both lists are
/// complete (opendpma is then synchronised), then closes the link.
fn sync_then_close(mut stream: TcpStream) {
    let _ = stream.write_all(GREETING);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut lists = 0;
    while lists < 2 {
        let Some(packet) = read_packet(&mut reader) else {
            return;
        };
        let id = packet.get("actionid").cloned().unwrap_or_default();
        let answer = match packet.get("action").map(String::as_str) {
            Some("Getvar") => format!("Response: Success\r\nActionID: {id}\r\nValue: not_set\r\n\r\n"),
            Some(list @ ("PresenceStateList" | "DeviceStateList")) => {
                lists += 1;
                format!(
                    "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\nEvent: {list}Complete\r\nActionID: {id}\r\nEventList: Complete\r\n\r\n"
                )
            }
            _ => format!("Response: Success\r\nActionID: {id}\r\n\r\n"),
        };
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A peer that synchronises and drops the link at once, again and again:
/// each time is a real resync, and the retries slow down (250 ms, 500 ms,
/// 1 s, 2 s) instead of hammering it 4 times a second.
#[test]
fn a_peer_that_drops_every_link_after_the_resync_is_retried_with_growing_backoff() {
    let (port, accepts) = peer(sync_then_close);
    let server = start_server(&section(port), &[]);
    let times: Vec<Instant> = (0..5)
        .map(|n| {
            accepts
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("link {n}:\n{}", server.log()))
        })
        .collect();
    assert!(
        wait_until(WAIT, || server.metric("opendpma_asterisk_connects_total")
            >= Some(5)),
        "every link was synchronised:\n{}",
        server.log()
    );
    let last_gap = times[4] - times[3];
    assert!(
        last_gap >= Duration::from_millis(1500),
        "the fifth link came {last_gap:?} after the fourth"
    );
}

/// A peer that sends one endless packet: opendpma drops the link at the
/// packet limit (bounded memory), keeps serving, says it is degraded, and
/// tries again.
#[test]
fn a_peer_sending_an_endless_packet_is_dropped_and_opendpma_keeps_serving() {
    fn endless(mut stream: TcpStream) {
        let _ = stream.write_all(GREETING);
        let junk = vec![b'x'; 16 * 1024];
        // Bounded: 64 MiB at most, or until opendpma closes the link.
        for _ in 0..4096 {
            if stream.write_all(&junk).is_err() {
                return;
            }
        }
    }
    let (port, accepts) = peer(endless);
    let server = start_server(&section(port), &[]);
    accepts.recv_timeout(WAIT).expect("first link");
    assert!(
        server.wait_for_log("AMI packet too large", WAIT),
        "{}",
        server.log()
    );
    accepts.recv_timeout(WAIT).expect("opendpma tries again");
    assert_eq!(
        admin(&server, "GET", "/healthz", None),
        (200, "degraded: Asterisk AMI not connected\n".to_owned())
    );
    assert_eq!(publish(&server, "2000", "away", "still here"), 200, "SIP serves");
    assert!(!server.log().contains("peer-test-secret"));
}

/// A peer that greets and then never answers: the attempt is given up
/// after the login deadline (10 s) and retried; opendpma serves meanwhile.
#[test]
fn a_peer_that_never_answers_is_given_up_and_retried() {
    fn silent(mut stream: TcpStream) {
        let _ = stream.write_all(GREETING);
        let mut reader = BufReader::new(stream);
        // Reads (so opendpma's writes go through) until the link closes.
        while read_packet(&mut reader).is_some() {}
    }
    let (port, accepts) = peer(silent);
    let server = start_server(&section(port), &[]);
    accepts.recv_timeout(WAIT).expect("first link");
    assert_eq!(
        admin(&server, "GET", "/healthz", None),
        (200, "degraded: Asterisk AMI not connected\n".to_owned())
    );
    accepts
        .recv_timeout(Duration::from_secs(20))
        .expect("a new attempt after the 10 s login deadline");
    assert!(
        server.log().contains("no login and resync within 10 s"),
        "{}",
        server.log()
    );
}

/// A refused login is not retried at once: every attempt is a failed
/// login in Asterisk's security log, which fail2ban counts. The next try
/// waits a minute (nothing may come within 5 s here; a loaded machine can
/// only make it later).
#[test]
fn a_refused_login_is_not_retried_at_once() {
    fn refuse(mut stream: TcpStream) {
        let _ = stream.write_all(GREETING);
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        if let Some(login) = read_packet(&mut reader) {
            let id = login.get("actionid").cloned().unwrap_or_default();
            let _ = stream.write_all(
                format!("Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n")
                    .as_bytes(),
            );
        }
        while read_packet(&mut reader).is_some() {}
    }
    let (port, accepts) = peer(refuse);
    let server = start_server(&section(port), &[]);
    accepts.recv_timeout(WAIT).expect("first link");
    assert!(
        server.wait_for_log("Asterisk refused the login: Authentication failed", WAIT),
        "{}",
        server.log()
    );
    assert!(
        accepts.recv_timeout(Duration::from_secs(5)).is_err(),
        "retried within 5 s:\n{}",
        server.log()
    );
    assert!(server.log().contains("retry_in_ms=60000"), "{}", server.log());
    assert!(!server.log().contains("peer-test-secret"));
}
