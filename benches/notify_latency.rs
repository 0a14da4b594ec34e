//! Change → NOTIFY latency under a steady change rate (issue 16: p99 < 5 ms
//! at 100 changes/s with 1,000 watchers), against the real binary on
//! loopback. Watchers are plain UDP sockets (64, N/64 dialogs each) that
//! answer every NOTIFY, spread evenly over LINES lines; one thread makes
//! the changes through the admin API at the given rate, round-robin over
//! the lines, each with its own message (so a change reaches WATCHERS /
//! LINES watchers: at the defaults 1,000 NOTIFYs/s, like 1,000 phones
//! watching 10 colleagues each, not 100,000/s to one crowd). The clock of a change
//! starts when its API call is sent (so it includes the durable commit)
//! and stops when a watcher reads the NOTIFY carrying it.
//!
//! `cargo bench --bench notify_latency -- WATCHERS RATE SECONDS LINES`
//! (default 1000 100 5 100; bounded: every wait gives up after 60 s). A NOTIFY
//! still unanswered when the next change comes is superseded by it
//! (latest wins), so a watcher may skip a change; the bench prints how
//! many NOTIFYs arrived and fails when none did or any watcher is missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SOCKETS: usize = 64;

fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("address").port();
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
        port
    } else {
        free_port()
    }
}

fn start(watchers: usize, lines: usize) -> (Child, tempfile::TempDir, SocketAddr, SocketAddr) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (http_port, admin, sip) = (free_port(), free_port(), free_port());
    // Every limit the run would hit is set here: all watchers come from one
    // address, and a line may have them all.
    let cap = watchers + 100;
    let config = format!(
        "[general]\nserver_address = \"127.0.0.1\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n[sip]\nlisten = [\"udp:127.0.0.1:{sip}\"]\nrequire_auth = false\n[admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken = \"bench\"\n[limits]\nsip_requests_per_second = 0\nhttp_requests_per_second = 0\nsubscriptions_per_ip = {cap}\nsubscriptions_per_line = {cap}\n"
    );
    let config = (0..lines).fold(config, |config, line| {
        format!("{config}[lines.{}]\nsecret = \"s{line}\"\n", 3000 + line)
    });
    let path = dir.path().join("phones.toml");
    std::fs::write(&path, config).expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["--log-level", "warn", "serve", "--config"])
        .arg(&path)
        .stderr(Stdio::null())
        .spawn()
        .expect("start opendpma");
    let admin: SocketAddr = format!("127.0.0.1:{admin}").parse().expect("address");
    for _ in 0..400 {
        if TcpStream::connect(admin).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let sip = format!("127.0.0.1:{sip}").parse().expect("address");
    (child, dir, admin, sip)
}

fn put_presence(admin: SocketAddr, line: usize, message: &str) -> String {
    let body = format!("{{\"state\":\"dnd\",\"message\":\"{message}\"}}");
    let request = format!(
        "PUT /api/v1/presence/CustomPresence:{line} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    if let Ok(mut stream) = TcpStream::connect(admin) {
        let _ = stream.write_all(request.as_bytes());
        let _ = stream.read_to_string(&mut answer);
    }
    answer
}

fn answer(socket: &UdpSocket, text: &str, to: SocketAddr) {
    let mut reply = String::from("SIP/2.0 200 OK\r\n");
    for line in text.split("\r\n") {
        if ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
            .iter()
            .any(|name| line.starts_with(name))
        {
            reply.push_str(line);
            reply.push_str("\r\n");
        }
    }
    reply.push_str("Content-Length: 0\r\n\r\n");
    let _ = socket.send_to(reply.as_bytes(), to);
}

/// The change number a NOTIFY carries (`change-N` in its message).
fn change_of(text: &str) -> Option<usize> {
    let digits = &text[text.find("change-")? + 7..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

struct Shared {
    sent_at: Mutex<Vec<Option<Instant>>>,
    latencies: Mutex<Vec<Duration>>,
    subscribed: AtomicUsize,
    done: AtomicBool,
}

fn watch(index: usize, count: usize, lines: usize, server: SocketAddr, shared: Arc<Shared>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let local = socket.local_addr().expect("address");
    let request = |dialog: usize| {
        let line = 3000 + (index + dialog * SOCKETS) % lines;
        format!(
            "SUBSCRIBE sip:{line}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKl{index}x{dialog};rport\r\nFrom: <sip:w@127.0.0.1>;tag=t{dialog}\r\nTo: <sip:{line}@{server}>\r\nCall-ID: lat-{index}-{dialog}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:2000@{local}>\r\nUser-Agent: Digium D65 latency\r\nEvent: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let mut pending: std::collections::BTreeSet<usize> = (0..count).collect();
    let mut next_send = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut buffer = vec![0u8; 65536];
    while !shared.done.load(Ordering::Relaxed) && Instant::now() < deadline {
        if !pending.is_empty() && Instant::now() >= next_send {
            for dialog in pending.iter().take(16) {
                let _ = socket.send_to(request(*dialog).as_bytes(), server);
            }
            next_send = Instant::now() + Duration::from_millis(250);
        }
        let Ok((length, from)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let received = Instant::now();
        let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
        if text.starts_with("SIP/2.0 200") {
            let dialog = text
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Call-ID: "))
                .and_then(|c| c.rsplit('-').next())
                .and_then(|d| d.parse::<usize>().ok());
            if dialog.is_some_and(|d| pending.remove(&d)) {
                shared.subscribed.fetch_add(1, Ordering::Relaxed);
                next_send = Instant::now();
            }
        } else if text.starts_with("NOTIFY ") {
            answer(&socket, &text, from);
            let sent = change_of(&text).and_then(|change| {
                shared
                    .sent_at
                    .lock()
                    .expect("lock")
                    .get(change)
                    .copied()
                    .flatten()
            });
            if let Some(sent) = sent {
                shared.latencies.lock().expect("lock").push(received - sent);
            }
        }
    }
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let watchers = args.first().copied().unwrap_or(1000);
    let rate = args.get(1).copied().unwrap_or(100).max(1);
    let changes = rate * args.get(2).copied().unwrap_or(5);
    let lines = args.get(3).copied().unwrap_or(100).max(1);
    let (mut child, _dir, admin, server) = start(watchers, lines);
    let shared = Arc::new(Shared {
        sent_at: Mutex::new(vec![None; changes]),
        latencies: Mutex::new(Vec::new()),
        subscribed: AtomicUsize::new(0),
        done: AtomicBool::new(false),
    });
    let threads: Vec<_> = (0..SOCKETS)
        .map(|index| {
            let count = watchers / SOCKETS + usize::from(index < watchers % SOCKETS);
            let shared = shared.clone();
            std::thread::spawn(move || watch(index, count, lines, server, shared))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.subscribed.load(Ordering::Relaxed) < watchers && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let subscribed = shared.subscribed.load(Ordering::Relaxed);
    // The first NOTIFYs of the last dialogs are still being answered.
    std::thread::sleep(Duration::from_millis(500));
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let began = Instant::now();
    let mut refused = 0;
    for change in 0..changes {
        let due = began + interval * change as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        shared.sent_at.lock().expect("lock")[change] = Some(Instant::now());
        let line = 3000 + change % lines;
        if !put_presence(admin, line, &format!("change-{change}")).starts_with("HTTP/1.1 200") {
            refused += 1;
        }
    }
    let took = began.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    shared.done.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut latencies = shared.latencies.lock().expect("lock").clone();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{watchers} watchers ({subscribed} subscribed) of {lines} lines; {changes} changes offered at {rate}/s, achieved {:.0}/s, {refused} refused; {} NOTIFYs carrying a change received",
        changes as f64 / took.as_secs_f64(),
        latencies.len()
    );
    println!(
        "change -> NOTIFY: p50 {:.2?}  p90 {:.2?}  p99 {:.2?}  max {:.2?}",
        at(0.5),
        at(0.9),
        at(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    if subscribed < watchers || latencies.is_empty() || refused > 0 {
        eprintln!(
            "FAILED: {subscribed} of {watchers} subscribed, {refused} changes refused, {} NOTIFYs",
            latencies.len()
        );
        std::process::exit(1);
    }
}
