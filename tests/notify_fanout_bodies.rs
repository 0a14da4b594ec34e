//! Fan-out renders a PIDF body once per change and variant (issue 16),
//! sans-IO with a fake clock: 60 watchers of one line — Digium and plain,
//! over UDP and over TCP (another entity) — cost three renderings per
//! change, and every watcher still gets its own exact body (its URI as
//! the tuple contact), equal to rendering it alone.

use std::collections::HashMap;
use std::time::Instant;

use opendpma::config::Transport;
use opendpma::presence::{PidfView, PresenceBook, render_pidf};
use opendpma::sip::{ConnectionId, Framing, Message, Peer, PresenceServer, parse};

mod support;

use support::sans_io::{book, presence_server, set_presence};

const WALL: u64 = 1_800_000_000;

/// A watcher: where it is, who it is, what it is.
struct Watcher {
    peer: Peer,
    user: String,
    digium: bool,
}

impl Watcher {
    fn new(index: u16) -> Self {
        let tcp = index.is_multiple_of(10);
        let address = format!("192.0.2.{}:{}", 10 + index / 100, 5000 + index);
        Self {
            peer: Peer {
                transport: if tcp { Transport::Tcp } else { Transport::Udp },
                address: address.parse().expect("literal address"),
                connection: tcp.then_some(ConnectionId(u64::from(index))),
            },
            user: format!("3{index:03}"),
            digium: index.is_multiple_of(2),
        }
    }

    fn entity(&self) -> &'static str {
        match self.peer.transport {
            Transport::Udp => "sip:2001@192.0.2.1:5070",
            _ => "sip:2001@192.0.2.1:5070;transport=tcp",
        }
    }

    fn subscribe(&self) -> String {
        let (via, params) = match self.peer.transport {
            Transport::Udp => ("UDP", ""),
            _ => ("TCP", ";transport=tcp"),
        };
        let user_agent = if self.digium {
            "Digium D65 2_9_27"
        } else {
            "baresip v1.0.0"
        };
        format!(
            "SUBSCRIBE {entity} SIP/2.0\r\nVia: SIP/2.0/{via} {address};branch=z9hG4bKf{user};rport\r\nFrom: <sip:{user}@192.0.2.1>;tag=t{user}\r\nTo: <sip:2001@192.0.2.1>\r\nCall-ID: fan-{user}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:{user}@{address}{params}>\r\nUser-Agent: {user_agent}\r\nEvent: presence\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
            entity = self.entity(),
            address = self.peer.address,
            user = self.user,
        )
    }
}

struct Fanout {
    server: PresenceServer,
    book: PresenceBook,
    now: Instant,
    watchers: Vec<Watcher>,
}

impl Fanout {
    fn feed(&mut self, peer: Peer, bytes: &[u8]) {
        if peer.transport == Transport::Udp {
            self.server.handle_datagram(self.now, WALL, peer, bytes);
        } else {
            self.server
                .handle_stream_bytes(self.now, WALL, peer, bytes)
                .expect("well-framed");
        }
        while self.server.poll_output().is_some() {}
        let ticket = self.server.hand_over_records();
        self.server.subscriptions_stored(self.now, ticket, true);
    }

    /// Every NOTIFY body sent since the last call, by watcher address;
    /// each NOTIFY answered 200 so the next change goes out at once.
    fn notifies(&mut self) -> HashMap<String, String> {
        let mut bodies = HashMap::new();
        let sent: Vec<_> = std::iter::from_fn(|| self.server.poll_transmit()).collect();
        for transmit in sent {
            let framing = match transmit.peer.transport {
                Transport::Udp => Framing::Datagram,
                _ => Framing::Stream,
            };
            let Message::Request(notify) = parse(&transmit.bytes, framing).expect("valid SIP") else {
                continue;
            };
            let answer = format!(
                "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} NOTIFY\r\nContent-Length: 0\r\n\r\n",
                notify.headers.get("Via").expect("Via"),
                notify.headers.get("From").expect("From"),
                notify.headers.get("To").expect("To"),
                notify.core.call_id,
                notify.core.cseq
            );
            let body = String::from_utf8(notify.body.to_vec()).expect("UTF-8");
            assert!(
                bodies.insert(transmit.peer.address.to_string(), body).is_none(),
                "one NOTIFY per watcher"
            );
            self.feed(transmit.peer, answer.as_bytes());
        }
        bodies
    }

    /// Each watcher's body is exactly what rendering it alone gives.
    fn check(&self, bodies: &HashMap<String, String>) {
        let state = self.book.hint_state("2001").expect("line 2001");
        assert_eq!(bodies.len(), self.watchers.len());
        for watcher in &self.watchers {
            let expected = render_pidf(&PidfView {
                entity: watcher.entity(),
                watcher: &format!("sip:{}@192.0.2.1", watcher.user),
                state: &state,
                digium: watcher.digium,
            });
            assert_eq!(bodies[&watcher.peer.address.to_string()], expected);
        }
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
}

#[test]
fn a_change_is_rendered_once_per_variant_and_every_watcher_gets_its_own_body() {
    let now = Instant::now();
    let book = book(&["2000", "2001"]);
    let mut fanout = Fanout {
        server: presence_server(now, &["2000", "2001"], &book),
        book,
        now,
        watchers: (1..=60).map(Watcher::new).collect(),
    };
    for index in 0..fanout.watchers.len() {
        let (peer, text) = (fanout.watchers[index].peer, fanout.watchers[index].subscribe());
        fanout.feed(peer, text.as_bytes());
    }
    assert_eq!(fanout.server.subscription_count(), 60);
    let bodies = fanout.notifies();
    fanout.check(&bodies);
    // Digium over UDP, plain over UDP, Digium over TCP (every tenth
    // watcher is on TCP, and every tenth is even): three variants.
    assert_eq!(fanout.server.pidf_renders(), 3);

    for (value, renders) in [("dnd,meeting,back at 3", 6), ("away,,lunch & <cake>", 9)] {
        fanout.set_presence(value);
        let bodies = fanout.notifies();
        fanout.check(&bodies);
        assert_eq!(fanout.server.pidf_renders(), renders, "{value}");
    }
}
