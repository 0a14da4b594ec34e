//! Hostile input never panics: mutated SIP messages through the whole
//! sans-IO server (UDP path and TCP framing), mutated PIDF bodies through
//! the PUBLISH reader, and mutated phones.toml through the config loader.
//!
//! `cargo test` runs a bounded proptest of each entry point. For a long
//! run, `OPENDPMA_MUTATIONS=1000000 cargo test --release --test mutation
//! -- --ignored` drives the same mutator that many times per entry point
//! (see docs/FUZZING.md for recorded runs).

use std::path::Path;
use std::time::Instant;

use opendpma::config::{Config, Transport};
use opendpma::presence::read_pidf;
use opendpma::sip::{ConnectionId, Peer, PresenceServer, Random};
use proptest::prelude::*;

mod support;

use support::sans_io::{book, presence_server};

fn seeds(folder: &str, extension: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                files.push(std::fs::read(&path).unwrap());
            }
        }
    }
    assert!(!files.is_empty(), "no seeds in {folder}");
    files
}

fn sip_seeds() -> Vec<Vec<u8>> {
    let mut seeds = seeds("tests/sip/corpus", "sip");
    seeds.push(
        b"PUBLISH sip:2000@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nFrom: <sip:2000@h>;tag=1\r\nTo: <sip:2000@h>\r\nCall-ID: c\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: 150\r\n\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"><tuple id=\"d\"><status><digium_presence type=\"dnd\">x</digium_presence></status></tuple></presence>".to_vec(),
    );
    seeds
}

/// Tokens that make parsers take unusual paths.
const TOKENS: &[&[u8]] = &[
    b"\r\n ",
    b";branch=",
    b"[",
    b"]",
    b"\"",
    b"<",
    b">",
    b"Content-Length: 99999999999\r\n",
    b"nc=ffffffff",
    b"\xff",
    b"\0",
    b"\r\n\r\n",
    b":",
    b";tag=",
    b"SIP/2.0",
    b",",
    b"%",
    b"@",
    b"&amp;",
    b"<![CDATA[",
    b"=\"",
    b"Expires: 0\r\n",
    b"l: 5\r\n",
    b"\n",
];

/// One mutation, chosen from `choice`, applied at `position`.
fn mutate(input: &mut Vec<u8>, choice: u8, position: usize, byte: u8) {
    if input.is_empty() {
        input.push(byte);
        return;
    }
    let at = position % input.len();
    match choice % 6 {
        0 => input[at] ^= byte | 1,
        1 => {
            let end = (at + 1 + usize::from(byte % 16)).min(input.len());
            input.drain(at..end);
        }
        2 => input.truncate(at),
        3 => {
            let end = (at + usize::from(byte)).min(input.len());
            let chunk = input[at..end].to_vec();
            input.splice(at..at, chunk);
        }
        4 => {
            let token = TOKENS[usize::from(byte) % TOKENS.len()];
            input.splice(at..at, token.iter().copied());
        }
        _ => input.insert(at, byte),
    }
    input.truncate(70 * 1024);
}

struct Target {
    server: PresenceServer,
    now: Instant,
}

impl Target {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            server: presence_server(now, &["2000"], &book(&["2000", "2001", "vivekg", "user"])),
            now,
        }
    }

    fn feed(&mut self, bytes: &[u8], chunk: usize) {
        let peer = Peer::udp("192.0.2.9:5060".parse().unwrap());
        self.server.handle_datagram(self.now, 1, peer, bytes);
        let stream = Peer {
            transport: Transport::Tcp,
            address: peer.address,
            connection: Some(ConnectionId(1)),
        };
        for piece in bytes.chunks(chunk.max(1)) {
            if self
                .server
                .handle_stream_bytes(self.now, 1, stream, piece)
                .is_err()
            {
                break;
            }
        }
        self.server.connection_lost(self.now, 1, ConnectionId(1));
        while self.server.poll_transmit().is_some() {}
        while let Some(output) = self.server.poll_output() {
            if let opendpma::sip::Output::Publish { token, .. } = output {
                self.server.publish_committed(self.now, token, Ok(()));
            }
        }
        let ticket = self.server.hand_over_records();
        self.server.subscriptions_stored(self.now, ticket, true);
        self.now += std::time::Duration::from_millis(700);
        self.server.handle_timeout(self.now, 2);
    }
}

fn config_seeds() -> Vec<Vec<u8>> {
    let mut seeds = seeds("tests/fixtures/config", "toml");
    seeds.push(std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("phones.toml")).unwrap());
    seeds
}

fn pidf_seeds() -> Vec<Vec<u8>> {
    seeds("tests/golden/pidf", "xml")
}

fn mutations() -> impl Strategy<Value = (usize, Vec<(u8, usize, u8)>, usize)> {
    (
        0usize..1000,
        prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
        1usize..200,
    )
}

fn mutated(seeds: &[Vec<u8>], seed: usize, steps: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut input = seeds[seed % seeds.len()].clone();
    for &(choice, position, byte) in steps {
        mutate(&mut input, choice, position, byte);
    }
    input
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sip_input_never_panics((seed, steps, chunk) in mutations()) {
        let mut target = Target::new();
        target.feed(&mutated(&sip_seeds(), seed, &steps), chunk);
    }

    #[test]
    fn pidf_reader_never_panics((seed, steps, _) in mutations()) {
        let input = mutated(&pidf_seeds(), seed, &steps);
        let _ = read_pidf(&String::from_utf8_lossy(&input));
    }

    #[test]
    fn config_loader_never_panics((seed, steps, _) in mutations()) {
        let input = mutated(&config_seeds(), seed, &steps);
        let _ = Config::parse(&String::from_utf8_lossy(&input), Path::new("/tmp/phones.toml"));
    }
}

/// The long run: `OPENDPMA_MUTATIONS` inputs per entry point (default 1M).
#[test]
#[ignore = "long run; see docs/FUZZING.md"]
fn million_mutations_never_panic() {
    let count: usize = std::env::var("OPENDPMA_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut random = Random::seeded(0x5eed);
    let (sip, pidf, config) = (sip_seeds(), pidf_seeds(), config_seeds());
    let mut target = Target::new();
    let started = Instant::now();
    for round in 0..count {
        let steps: Vec<(u8, usize, u8)> = (0..1 + random.next_u64() % 6)
            .map(|_| {
                let r = random.next_u64();
                (r as u8, (r >> 8) as usize, (r >> 40) as u8)
            })
            .collect();
        let pick = random.next_u64() as usize;
        target.feed(&mutated(&sip, pick, &steps), 1 + pick % 97);
        let _ = read_pidf(&String::from_utf8_lossy(&mutated(&pidf, pick, &steps)));
        if round % 10 == 0 {
            let _ = Config::parse(
                &String::from_utf8_lossy(&mutated(&config, pick, &steps)),
                Path::new("/tmp/p.toml"),
            );
        }
        if round % 100_000 == 0 {
            // Fresh state now and then, so tables stay realistic in size.
            target = Target::new();
        }
    }
    eprintln!(
        "{count} mutated inputs per entry point (config: every 10th) in {:?}",
        started.elapsed()
    );
}
