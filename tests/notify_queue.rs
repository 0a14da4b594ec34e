//! The line of NOTIFYs built on demand (issue 16), sans-IO with a fake
//! clock: a change to a line with 10,000 watchers builds nothing until the
//! driver polls; each `poll_transmit` builds at most one NOTIFY, so the
//! first is out before the rest exist; `poll_timeout` says "now" while any
//! wait; a second change during the fan-out replaces the queued state and
//! never puts a second NOTIFY in flight; a restore of many subscriptions
//! hands their records out in bounded batches.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opendpma::presence::PresenceBook;
use opendpma::sip::{
    Framing, LineAccess, Message, Output, Peer, PresenceServer, PresenceServerConfig, Request, parse,
};

mod support;

use support::sans_io::{book, endpoint, endpoint_config, set_presence};

const WALL: u64 = 1_800_000_000;
const WATCHERS: u32 = 10_000;

/// Limits lifted: one line, many watchers from a few addresses.
fn server(now: Instant, book: &PresenceBook) -> PresenceServer {
    let config = PresenceServerConfig {
        min_expires: 60,
        max_expires: 3600,
        max_per_line: 100_000,
        max_per_address: 100_000,
        trusted_networks: Vec::new(),
        max_per_trusted_address: 100_000,
        lines: vec![LineAccess {
            name: "2001".into(),
            exten: "2001".into(),
            publishers: vec!["2001".into()],
        }],
    };
    let mut server = PresenceServer::new(endpoint(now, endpoint_config(false)), config);
    server.handle_hints(now, book.hint_states());
    server
}

struct Harness {
    server: PresenceServer,
    book: PresenceBook,
    now: Instant,
    /// Every record written, as the store would hold them.
    stored: HashMap<String, Vec<u8>>,
}

fn watcher(index: u32) -> Peer {
    let address: SocketAddr = format!("192.0.2.{}:{}", 10 + index / 50_000, 10_000 + index % 50_000)
        .parse()
        .expect("literal address");
    Peer::udp(address)
}

fn notify_of(bytes: &[u8]) -> Request {
    match parse(bytes, Framing::Datagram).expect("valid SIP") {
        Message::Request(request) => request,
        Message::Response(response) => panic!("a response where a NOTIFY was expected: {}", response.code),
    }
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).unwrap_or_default()
}

impl Harness {
    fn new() -> Self {
        let now = Instant::now();
        let book = book(&["2001"]);
        Self {
            server: server(now, &book),
            book,
            now,
            stored: HashMap::new(),
        }
    }

    /// Takes the outputs; the records are "written" at once.
    fn store(&mut self) {
        while let Some(output) = self.server.poll_output() {
            if let Output::Store { key, record } = output {
                match record {
                    Some(record) => self.stored.insert(key, record),
                    None => self.stored.remove(&key),
                };
            }
        }
        let ticket = self.server.hand_over_records();
        self.server.subscriptions_stored(self.now, ticket, true);
    }

    fn feed(&mut self, peer: Peer, bytes: &[u8]) {
        self.server.handle_datagram(self.now, WALL, peer, bytes);
        self.store();
    }

    fn answer(&mut self, peer: Peer, notify: &Request) {
        let answer = format!(
            "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} NOTIFY\r\nContent-Length: 0\r\n\r\n",
            header(notify, "Via"),
            header(notify, "From"),
            header(notify, "To"),
            notify.core.call_id,
            notify.core.cseq
        );
        self.feed(peer, answer.as_bytes());
    }

    /// `count` watchers of 2001, their 200s and first NOTIFYs answered.
    fn subscribe(&mut self, count: u32) {
        for index in 0..count {
            let peer = watcher(index);
            let text = format!(
                "SUBSCRIBE sip:2001@192.0.2.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP {address};branch=z9hG4bKq{index};rport\r\nFrom: <sip:w{index}@192.0.2.1>;tag=t{index}\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: queue-{index}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w{index}@{address}>\r\nEvent: presence\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
                address = peer.address
            );
            self.feed(peer, text.as_bytes());
        }
        self.drain_and_answer();
        assert_eq!(self.server.subscription_count(), count as usize);
    }

    /// Polls every transmit, answers each NOTIFY; the NOTIFYs by watcher.
    fn drain_and_answer(&mut self) -> HashMap<SocketAddr, Request> {
        let mut notifies = HashMap::new();
        while let Some(transmit) = self.server.poll_transmit() {
            if transmit.bytes.starts_with(b"NOTIFY") {
                let notify = notify_of(&transmit.bytes);
                self.answer(transmit.peer, &notify);
                assert!(
                    notifies.insert(transmit.peer.address, notify).is_none(),
                    "one NOTIFY per watcher per drain"
                );
            }
        }
        notifies
    }

    fn set_presence(&mut self, value: &str) {
        set_presence(
            &mut self.book,
            &mut self.server,
            self.now,
            "CustomPresence:2001",
            value,
        );
    }

    fn client_transactions(&self) -> usize {
        self.server.endpoint().transaction_counts().1
    }
}

#[test]
fn a_large_fan_out_is_built_one_notify_per_poll() {
    let mut h = Harness::new();
    h.subscribe(WATCHERS);
    // Later than any time handed in so far: NOTIFYs are built "now".
    h.now += Duration::from_secs(10);
    // Past Timer K of the answered first NOTIFYs.
    h.server.handle_timeout(h.now, WALL + 10);
    assert_eq!(h.client_transactions(), 0, "every NOTIFY so far was answered");
    let before = h.server.poll_timeout().expect("subscriptions expire");
    assert!(before > h.now, "nothing due while nothing waits");

    h.set_presence("away,lunch,");
    assert_eq!(h.server.notifies_waiting(), WATCHERS as usize, "all in line");
    assert_eq!(h.client_transactions(), 0, "none built before the driver polls");
    assert_eq!(h.server.poll_timeout(), Some(h.now), "due now while NOTIFYs wait");

    let first = h.server.poll_transmit().expect("the first NOTIFY");
    assert!(first.bytes.starts_with(b"NOTIFY "));
    assert_eq!(h.client_transactions(), 1, "only the first one is built");
    let first = notify_of(&first.bytes);
    assert_eq!(
        header(&first, "Subscription-State"),
        "active;expires=590",
        "built with the time handed in last"
    );
    assert!(
        String::from_utf8_lossy(&first.body).contains("type=\"away\"")
            || String::from_utf8_lossy(&first.body).contains("<rpid:away />")
    );

    for polled in 2..=100 {
        h.server.poll_transmit().expect("more NOTIFYs");
        assert_eq!(h.client_transactions(), polled, "at most one built per poll");
    }
    assert_eq!(h.server.notifies_waiting(), WATCHERS as usize - 100);

    let mut sent = 100;
    while let Some(transmit) = h.server.poll_transmit() {
        assert!(transmit.bytes.starts_with(b"NOTIFY "));
        sent += 1;
    }
    assert_eq!(sent, WATCHERS as usize);
    assert_eq!(h.server.notifies_waiting(), 0);
    assert!(
        h.server.poll_timeout().expect("timers") > h.now,
        "nothing due once all are out"
    );
}

#[test]
fn a_second_change_during_a_fan_out_replaces_the_queued_state() {
    let mut h = Harness::new();
    h.subscribe(WATCHERS);
    h.set_presence("away,lunch,");
    // The first 100 NOTIFYs go out and stay unanswered (in flight).
    let early: Vec<_> = (0..100)
        .map(|_| h.server.poll_transmit().expect("a NOTIFY"))
        .collect();
    let superseded = h.server.superseded_notifies;

    h.set_presence("dnd,meeting,");
    assert_eq!(
        h.server.superseded_notifies - superseded,
        u64::from(WATCHERS) - 100,
        "each NOTIFY not built yet now carries the new state instead"
    );
    let early_peers: HashSet<SocketAddr> = early.iter().map(|t| t.peer.address).collect();
    let mut rest = HashSet::new();
    while let Some(transmit) = h.server.poll_transmit() {
        assert!(
            !early_peers.contains(&transmit.peer.address),
            "never two in flight for one watcher"
        );
        assert!(rest.insert(transmit.peer.address), "one NOTIFY per watcher");
        let notify = notify_of(&transmit.bytes);
        let body = String::from_utf8_lossy(&notify.body).into_owned();
        assert!(
            body.contains("busy") || body.contains("dnd"),
            "the latest state only: {body}"
        );
        assert!(!body.contains("away"), "the replaced state never goes out");
    }
    assert_eq!(rest.len(), WATCHERS as usize - 100);

    // Answering the early ones releases the newer state queued behind them.
    for transmit in &early {
        let notify = notify_of(&transmit.bytes);
        h.answer(transmit.peer, &notify);
    }
    let released = h.drain_and_answer();
    assert_eq!(released.len(), 100);
    assert!(released.keys().all(|peer| early_peers.contains(peer)));
    assert!(
        released
            .values()
            .all(|n| !String::from_utf8_lossy(&n.body).contains("away"))
    );
}

#[test]
fn a_restore_hands_out_records_in_bounded_batches_and_notifies_on_demand() {
    let mut h = Harness::new();
    h.subscribe(5_000);
    let records: Vec<(String, Vec<u8>)> = h.stored.clone().into_iter().collect();
    assert_eq!(records.len(), 5_000);

    let mut restarted = Harness::new();
    restarted.now += Duration::from_secs(100);
    restarted.server.restore(restarted.now, WALL + 100, records);
    assert_eq!(
        restarted.server.subscription_count(),
        5_000,
        "every dialog is known at once"
    );
    assert_eq!(restarted.client_transactions(), 0, "no NOTIFY built yet");
    assert_eq!(restarted.server.poll_timeout(), Some(restarted.now), "work waits");
    let mut batches = Vec::new();
    loop {
        let mut batch = 0;
        while let Some(output) = restarted.server.poll_output() {
            let Output::Store {
                key,
                record: Some(record),
            } = output
            else {
                panic!("only rewrites expected");
            };
            restarted.stored.insert(key, record);
            batch += 1;
        }
        if batch == 0 {
            break;
        }
        batches.push(batch);
        let ticket = restarted.server.hand_over_records();
        restarted.server.subscriptions_stored(restarted.now, ticket, true);
    }
    assert_eq!(
        batches,
        vec![2048, 2048, 904],
        "bounded batches of rewritten records"
    );
    let first = restarted.server.poll_transmit().expect("a NOTIFY");
    assert_eq!(restarted.client_transactions(), 1);
    let notify = notify_of(&first.bytes);
    assert!(notify.core.cseq > 100_000, "the CSeq jump");
    assert_eq!(header(&notify, "Subscription-State"), "active;expires=500");
    let mut sent = 1;
    while restarted.server.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, 5_000);
    // The rewritten records carry the jump, so a second restart jumps again.
    let cseq_of = |record: &[u8]| {
        let value: serde_json::Value = serde_json::from_slice(record).expect("JSON");
        value["dialog"]["local_cseq"].as_u64().expect("a number")
    };
    assert!(restarted.stored.values().all(|r| cseq_of(r) >= 100_000));
}
