//! Fan-out: the time from one presence change (an admin API call) to the
//! last of N watchers receiving its NOTIFY, against the real binary on
//! loopback. Watchers are plain UDP sockets (64 of them, N/64 dialogs
//! each) that answer every NOTIFY with 200.
//!
//! `cargo bench --bench fanout -- 1000 10000` (bounded: each run gives up
//! after 60 s). Auth is off for the run so that setting up 10,000 dialogs
//! measures nothing but setup; the change itself is what is timed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SOCKETS: usize = 64;

fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
        port
    } else {
        free_port()
    }
}

fn http(address: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn start(watchers: usize) -> (Child, tempfile::TempDir, SocketAddr, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let (http_port, admin, sip) = (free_port(), free_port(), free_port());
    // Every limit the run would hit is set here: all watchers come from one
    // address and subscribe to one line, which the defaults refuse.
    let cap = watchers + 100;
    let config = format!(
        "[general]\nserver_address = \"127.0.0.1\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n[sip]\nlisten = [\"udp:127.0.0.1:{sip}\"]\nrequire_auth = false\n[admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken = \"bench\"\n[limits]\nsip_requests_per_second = 0\nsubscriptions_per_ip = {cap}\nsubscriptions_per_line = {cap}\n[lines.2000]\nsecret = \"a\"\n[lines.2001]\nsecret = \"b\"\n"
    );
    let path = dir.path().join("phones.toml");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["--log-level", "warn", "serve", "--config"])
        .arg(&path)
        .stderr(if std::env::var_os("FANOUT_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{admin}").parse().unwrap();
    for _ in 0..200 {
        if TcpStream::connect(admin).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    (child, dir, admin, format!("127.0.0.1:{sip}").parse().unwrap())
}

fn answer(socket: &UdpSocket, text: &str, to: SocketAddr) {
    let mut reply = String::from("SIP/2.0 200 OK\r\n");
    for line in text.split("\r\n") {
        for name in ["Via:", "From:", "To:", "Call-ID:", "CSeq:"] {
            if line.starts_with(name) {
                reply.push_str(line);
                reply.push_str("\r\n");
            }
        }
    }
    reply.push_str("Content-Length: 0\r\n\r\n");
    let _ = socket.send_to(reply.as_bytes(), to);
}

fn run(watchers: usize) -> (usize, Duration, Duration, usize) {
    let (mut child, _dir, admin, server) = start(watchers);
    let marker = format!("fanout-{watchers}");
    let started_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::with_capacity(watchers)));
    let subscribed = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for index in 0..SOCKETS {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let local = socket.local_addr().unwrap();
        let count = watchers / SOCKETS + usize::from(index < watchers % SOCKETS);
        let (marker, started_at, latencies, subscribed) = (
            marker.clone(),
            started_at.clone(),
            latencies.clone(),
            subscribed.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let request = |dialog: usize| {
                format!(
                    "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{index}x{dialog};rport\r\nFrom: <sip:2000@127.0.0.1>;tag=t{dialog}\r\nTo: <sip:2001@{server}>\r\nCall-ID: fan-{index}-{dialog}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:2000@{local}>\r\nUser-Agent: Digium D65 fanout\r\nEvent: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n"
                )
            };
            // Like a phone: retransmit a SUBSCRIBE until its 200 arrives
            // (a burst of thousands can overflow a socket buffer).
            let mut pending: std::collections::BTreeSet<usize> = (0..count).collect();
            let mut next_send = Instant::now();
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut seen = 0;
            let mut buffer = vec![0u8; 65536];
            while (seen < count || !pending.is_empty()) && Instant::now() < deadline {
                if !pending.is_empty() && Instant::now() >= next_send {
                    for dialog in pending.iter().take(16) {
                        socket.send_to(request(*dialog).as_bytes(), server).unwrap();
                    }
                    next_send = Instant::now() + Duration::from_millis(250);
                }
                let Ok((length, from)) = socket.recv_from(&mut buffer) else { continue };
                let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
                if text.starts_with("SIP/2.0 200") {
                    if let Some(dialog) = text
                        .split("\r\n")
                        .find_map(|l| l.strip_prefix("Call-ID: "))
                        .and_then(|c| c.rsplit('-').next())
                        .and_then(|d| d.parse::<usize>().ok())
                        && pending.remove(&dialog)
                    {
                        subscribed.fetch_add(1, Ordering::Relaxed);
                        next_send = Instant::now();
                    }
                } else if text.starts_with("NOTIFY ") {
                    answer(&socket, &text, from);
                    if text.contains(&marker) {
                        if let Some(start) = *started_at.lock().unwrap() {
                            latencies.lock().unwrap().push(start.elapsed());
                        }
                        seen += 1;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while subscribed.load(Ordering::Relaxed) < watchers && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if std::env::var_os("FANOUT_LOG").is_some() {
        eprintln!("subscribed: {} of {watchers}", subscribed.load(Ordering::Relaxed));
    }
    std::thread::sleep(Duration::from_millis(200));
    let body = format!("{{\"state\":\"dnd\",\"message\":\"{marker}\"}}");
    *started_at.lock().unwrap() = Some(Instant::now());
    let reply = http(
        admin,
        &format!(
            "PUT /api/v1/presence/CustomPresence:2001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    for thread in threads {
        thread.join().unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let received = latencies.len();
    let median = latencies.get(received / 2).copied().unwrap_or_default();
    let last = latencies.last().copied().unwrap_or_default();
    (subscribed.load(Ordering::Relaxed), median, last, received)
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1000, 10_000]
    } else {
        sizes
    };
    println!("watchers  subscribed  received  median latency  last NOTIFY");
    let mut failed = false;
    for watchers in sizes {
        let (subscribed, median, last, received) = run(watchers);
        println!("{watchers:>8}  {subscribed:>10}  {received:>8}  {median:>14.1?}  {last:>11.1?}");
        // A run where any watcher missed its dialog or the change measured
        // something other than what it claims.
        if subscribed < watchers || received < watchers {
            eprintln!(
                "FAILED: {watchers} watchers offered, {subscribed} subscribed, {received} received the change"
            );
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
