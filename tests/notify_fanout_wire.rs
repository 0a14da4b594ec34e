//! A large fan-out against the binary, over real UDP sockets (issue 16):
//! 2,000 watchers of one line, on four sockets. One change reaches every
//! watcher exactly once; NOTIFYs left unanswered are retransmitted byte
//! for byte (Timer E, RFC 3261 §17.1.2.2) while answered ones are not; the
//! next change goes to every watcher with the next CSeq. A stop in the
//! middle of a fan-out still sends every NOTIFY in line, and every task
//! ends.

mod support;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use opendpma::sip::{Framing, Message, Request, parse};
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

const SOCKETS: usize = 4;
const PER_SOCKET: usize = 500;
const WATCHERS: usize = SOCKETS * PER_SOCKET;
/// Every tenth watcher leaves the change's NOTIFY unanswered.
const SILENT_EVERY: usize = 10;
/// Bound on every wait (each loop ends by then at the latest).
const PATIENCE: Duration = Duration::from_secs(20);

/// Limits lifted for one address with many dialogs on one line; logs at
/// info so that 2,000 dialogs do not turn into a debug log of megabytes.
fn server() -> Server {
    let limits = format!(
        "{SAMPLE_BODY}\n[limits]\nsip_requests_per_second = 0\nsubscriptions_per_ip = {n}\nsubscriptions_per_line = {n}\n",
        n = WATCHERS + 100
    );
    Server::start_full(
        HTTP_CREDENTIALS,
        "require_auth = false",
        &limits,
        &[("RUST_LOG", "info")],
    )
}

/// A NOTIFY as it arrived: its parsed form, raw bytes and socket.
struct Received {
    socket: usize,
    from: SocketAddr,
    bytes: Vec<u8>,
    notify: Request,
}

/// The watchers: `WATCHERS` dialogs (Call-ID `fan-<i>`), watcher `i` on
/// socket `i % SOCKETS`.
struct Watchers {
    sockets: Vec<UdpSocket>,
    server: SocketAddr,
}

impl Watchers {
    fn new(server: SocketAddr) -> Self {
        let sockets = (0..SOCKETS)
            .map(|_| {
                let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
                // Room for a whole burst, as a phone never needs (capped by
                // net.core.rmem_max; the test still works with less, as
                // unread NOTIFYs are retransmitted).
                let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 4 << 20);
                socket.set_nonblocking(true).expect("non-blocking");
                socket
            })
            .collect();
        Self { sockets, server }
    }

    fn subscribe(&self, index: usize) {
        let socket = &self.sockets[index % SOCKETS];
        let local = socket.local_addr().expect("addr");
        let text = format!(
            "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKfan{index};rport\r\nFrom: <sip:w{index}@127.0.0.1>;tag=t{index}\r\nTo: <sip:2001@{server}>\r\nCall-ID: fan-{index}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w{index}@{local}>\r\nEvent: presence\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
            server = self.server
        );
        socket.send_to(text.as_bytes(), self.server).expect("send");
    }

    /// Every datagram waiting on any socket: (socket, source, bytes).
    fn drain(&self) -> Vec<(usize, SocketAddr, Vec<u8>)> {
        let mut buffer = vec![0u8; 65536];
        let mut got = Vec::new();
        for (index, socket) in self.sockets.iter().enumerate() {
            while let Ok((length, from)) = socket.recv_from(&mut buffer) {
                got.push((index, from, buffer[..length].to_vec()));
            }
        }
        if got.is_empty() {
            std::thread::sleep(Duration::from_millis(2));
        }
        got
    }

    /// Splits what arrived into SUBSCRIBE responses (by Call-ID) and NOTIFYs.
    fn receive(&self) -> (Vec<(String, u16)>, Vec<Received>) {
        let (mut responses, mut notifies) = (Vec::new(), Vec::new());
        for (socket, from, bytes) in self.drain() {
            match parse(&bytes, Framing::Datagram).expect("the server sends valid SIP") {
                Message::Response(response) => responses.push((response.core.call_id.clone(), response.code)),
                Message::Request(notify) => {
                    assert_eq!(notify.method.as_str(), "NOTIFY");
                    notifies.push(Received {
                        socket,
                        from,
                        bytes,
                        notify,
                    });
                }
            }
        }
        (responses, notifies)
    }

    fn answer(&self, received: &Received) {
        let notify = &received.notify;
        let header = |name| notify.headers.get(name).unwrap_or_default();
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} NOTIFY\r\nContent-Length: 0\r\n\r\n",
            header("Via"),
            header("From"),
            header("To"),
            notify.core.call_id,
            notify.core.cseq
        );
        self.sockets[received.socket]
            .send_to(text.as_bytes(), received.from)
            .expect("send");
    }

    /// Subscribes every watcher (200 and first NOTIFY, answered) and
    /// returns the CSeq of each dialog's first NOTIFY.
    fn subscribe_all(&self, server: &Server) -> HashMap<String, u32> {
        let deadline = Instant::now() + PATIENCE;
        let (mut accepted, mut first) = (0, HashMap::new());
        // In batches, as phones come up: the test measures no overload.
        for batch in (0..WATCHERS).collect::<Vec<_>>().chunks(100) {
            for &index in batch {
                self.subscribe(index);
            }
            let target = batch[batch.len() - 1] + 1;
            while accepted < target || first.len() < target {
                assert!(
                    Instant::now() < deadline,
                    "{accepted} of {target} subscribed:\n{}",
                    server.log()
                );
                let (responses, notifies) = self.receive();
                for (call_id, code) in responses {
                    assert_eq!(code, 200, "SUBSCRIBE {call_id}");
                    accepted += 1;
                }
                for received in notifies {
                    self.answer(&received);
                    first.insert(received.notify.core.call_id.clone(), received.notify.core.cseq);
                }
            }
        }
        assert_eq!(server.metric("opendpma_sip_subscriptions"), Some(WATCHERS as u64));
        first
    }
}

fn set_presence(server: &Server, message: &str) {
    let body = format!(r#"{{"state":"away","message":"{message}"}}"#);
    let answer = server.admin_request("PUT", "/api/v1/presence/CustomPresence:2001", Some(&body));
    assert_eq!(
        answer.as_ref().map(|(status, _)| *status),
        Some(200),
        "{answer:?}"
    );
}

fn index_of(call_id: &str) -> usize {
    call_id
        .strip_prefix("fan-")
        .and_then(|n| n.parse().ok())
        .expect("a Call-ID of ours")
}

#[test]
fn a_large_fan_out_reaches_every_watcher_once_and_retransmits_only_the_unanswered() {
    let server = server();
    let watchers = Watchers::new(server.sip);
    let first = watchers.subscribe_all(&server);

    set_presence(&server, "wave one");
    // (Call-ID, CSeq) → copies received, the first copy's bytes.
    let mut copies: HashMap<(String, u32), (usize, Vec<u8>)> = HashMap::new();
    let silent = WATCHERS / SILENT_EVERY;
    let retransmitted = |copies: &HashMap<(String, u32), (usize, Vec<u8>)>| {
        copies
            .iter()
            .filter(|((call_id, _), (count, _))| {
                index_of(call_id).is_multiple_of(SILENT_EVERY) && *count >= 2
            })
            .count()
    };
    let deadline = Instant::now() + PATIENCE;
    while copies.len() < WATCHERS || retransmitted(&copies) < silent {
        assert!(
            Instant::now() < deadline,
            "{} of {WATCHERS} NOTIFYs, {} of {silent} retransmitted",
            copies.len(),
            retransmitted(&copies)
        );
        for received in watchers.receive().1 {
            let call_id = received.notify.core.call_id.clone();
            let cseq = received.notify.core.cseq;
            let body = String::from_utf8_lossy(&received.notify.body).into_owned();
            assert!(body.contains("wave one"), "{call_id}: {body}");
            assert_eq!(cseq, first[&call_id] + 1, "{call_id}: one NOTIFY for one change");
            let entry = copies
                .entry((call_id.clone(), cseq))
                .or_insert((0, received.bytes.clone()));
            entry.0 += 1;
            // A retransmission is the same message: same branch, same bytes.
            assert_eq!(entry.1, received.bytes, "{call_id}: a retransmission differs");
            if !index_of(&call_id).is_multiple_of(SILENT_EVERY) {
                watchers.answer(&received);
            }
        }
    }
    // By now (≥ T1 after the burst) an answered NOTIFY would have been
    // retransmitted too, had its 200 been lost or ignored.
    let answered_twice: Vec<_> = copies
        .iter()
        .filter(|((call_id, _), (count, _))| !index_of(call_id).is_multiple_of(SILENT_EVERY) && *count > 1)
        .map(|((call_id, _), _)| call_id.clone())
        .collect();
    assert!(
        answered_twice.is_empty(),
        "answered yet retransmitted: {answered_twice:?}"
    );

    // The silent ones answer their retransmission now; the next change
    // then reaches everyone once more, each with the next CSeq (nothing
    // was left in flight or queued twice).
    let deadline = Instant::now() + PATIENCE;
    let mut seen = HashMap::new();
    let mut answered_silent = false;
    while seen.len() < WATCHERS {
        assert!(
            Instant::now() < deadline,
            "{} of {WATCHERS} saw wave two",
            seen.len()
        );
        if !answered_silent && retransmitted(&copies) == silent {
            set_presence(&server, "wave two");
            answered_silent = true;
        }
        for received in watchers.receive().1 {
            let call_id = received.notify.core.call_id.clone();
            let cseq = received.notify.core.cseq;
            watchers.answer(&received);
            if cseq == first[&call_id] + 1 {
                continue; // a late copy of wave one, answered above
            }
            let body = String::from_utf8_lossy(&received.notify.body).into_owned();
            assert!(body.contains("wave two"), "{call_id}: {body}");
            assert_eq!(cseq, first[&call_id] + 2, "{call_id}");
            assert!(
                seen.insert(call_id.clone(), cseq).is_none(),
                "{call_id}: wave two twice"
            );
        }
    }
}

#[test]
fn a_stop_during_a_fan_out_sends_every_notify_in_line_and_ends_every_task() {
    let mut server = server();
    let watchers = Watchers::new(server.sip);
    let first = watchers.subscribe_all(&server);

    set_presence(&server, "last words");
    // The fan-out is under way once its first NOTIFY is here; stop then,
    // answering nothing.
    let mut got: HashMap<String, u32> = HashMap::new();
    let deadline = Instant::now() + PATIENCE;
    while got.is_empty() {
        assert!(Instant::now() < deadline, "no NOTIFY for the change");
        for received in watchers.receive().1 {
            got.insert(received.notify.core.call_id.clone(), received.notify.core.cseq);
        }
    }
    let signalled = Instant::now();
    server.signal("TERM");
    let code = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert_eq!(code, Some(0), "{}", server.log());
    assert!(
        took < Duration::from_secs(2),
        "exit took {took:?}:\n{}",
        server.log()
    );
    // What the process sent before it exited is in the socket buffers.
    for received in watchers.receive().1 {
        got.insert(received.notify.core.call_id.clone(), received.notify.core.cseq);
    }
    assert_eq!(got.len(), WATCHERS, "every NOTIFY in line went before the exit");
    for (call_id, cseq) in &got {
        assert_eq!(*cseq, first[call_id] + 1, "{call_id}");
    }
    let log = server.log();
    let driver = log.find("SIP driver stopped").expect("the driver ended");
    let stopped = log.find("stopped: 0 tasks left").expect("every task ended");
    assert!(driver < stopped, "{log}");
}
