//! The presence event package, sans-IO with a fake clock: SUBSCRIBE and
//! NOTIFY (RFC 6665/3856) and PUBLISH (RFC 3903), every rule of issue 5
//! checked on the exact messages that go out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use opendpma::presence::{Change, DeviceState, PresenceBook, PresenceUpdate};
use opendpma::sip::{Framing, Message, Output, Peer, PresenceServer, Request, Response, parse};

mod support;

use support::sans_io::{book, hint, presence_server};

struct Harness {
    server: PresenceServer,
    book: PresenceBook,
    start: Instant,
    now: Instant,
    phone: Peer,
    stored: HashMap<String, Vec<u8>>,
    /// Authenticated users of requests the server reported seeing.
    seen: Vec<String>,
}

const WALL: u64 = 1_800_000_000;

impl Harness {
    fn new() -> Self {
        let start = Instant::now();
        let book = book(&["2000", "2001"]);
        Self {
            server: presence_server(start, &["2000", "2001"], &book),
            book,
            start,
            now: start,
            phone: Peer::udp("192.0.2.7:5062".parse().unwrap()),
            stored: HashMap::new(),
            seen: Vec::new(),
        }
    }

    fn wall(&self) -> u64 {
        WALL + self.now.duration_since(self.start).as_secs()
    }

    fn send(&mut self, text: &str) {
        let bytes = text.replace('\n', "\r\n").into_bytes();
        let wall = self.wall();
        self.server.handle_datagram(self.now, wall, self.phone, &bytes);
        self.apply_outputs();
    }

    fn apply_outputs(&mut self) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Store {
                    key,
                    record: Some(record),
                } => {
                    self.stored.insert(key, record);
                }
                Output::Store { key, record: None } => {
                    self.stored.remove(&key);
                }
                Output::Publish {
                    token,
                    provider,
                    update,
                } => {
                    if let Some(plan) = self.book.plan_presence(&provider, update, 1).unwrap() {
                        let changes = self.book.apply(plan);
                        self.server.publish_committed(self.now, token, Ok(()));
                        self.fan_out(changes);
                    } else {
                        self.server.publish_committed(self.now, token, Ok(()));
                    }
                }
                Output::Seen { user, .. } => self.seen.push(user),
                Output::CheckSyncDone { .. } => {}
            }
        }
        // The records are "durable" now: the 200s waiting on them go.
        let ticket = self.server.hand_over_records();
        self.server.subscriptions_stored(self.now, ticket, true);
    }

    fn fan_out(&mut self, changes: Vec<Change>) {
        for change in changes {
            self.server.handle_change(self.now, change);
        }
    }

    fn set_presence(&mut self, provider: &str, value: &str) {
        let plan = self
            .book
            .plan_presence(provider, PresenceUpdate::parse_asterisk(value).unwrap(), 1)
            .unwrap();
        if let Some(plan) = plan {
            let changes = self.book.apply(plan);
            self.fan_out(changes);
        }
    }

    fn set_device(&mut self, device: &str, state: DeviceState) {
        if let Some(plan) = self.book.plan_device(device, state).unwrap() {
            let changes = self.book.apply(plan);
            self.fan_out(changes);
        }
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.server.poll_timeout() {
            if at > target {
                break;
            }
            self.now = at.max(self.now);
            let wall = self.wall();
            self.server.handle_timeout(self.now, wall);
            self.apply_outputs();
        }
        self.now = target;
    }

    /// Everything sent since the last call, parsed.
    fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.server.poll_transmit())
            .map(|t| parse(&t.bytes, Framing::Datagram).expect("we send valid SIP"))
            .collect()
    }

    fn responses(&mut self) -> (Vec<Response>, Vec<Request>) {
        let mut responses = Vec::new();
        let mut requests = Vec::new();
        for message in self.sent() {
            match message {
                Message::Response(r) => responses.push(r),
                Message::Request(r) => requests.push(r),
            }
        }
        (responses, requests)
    }

    /// Answers a NOTIFY we sent with `code`.
    fn answer(&mut self, notify: &Request, code: u16) {
        let via = notify.headers.get("Via").unwrap();
        let text = format!(
            "SIP/2.0 {code} X\nVia: {via}\nFrom: {}\nTo: {}\nCall-ID: {}\nCSeq: {} NOTIFY\nContent-Length: 0\n\n",
            notify.headers.get("From").unwrap(),
            notify.headers.get("To").unwrap(),
            notify.core.call_id,
            notify.core.cseq
        );
        self.send(&text);
    }
}

fn subscribe(exten: &str, extra: &str, cseq: u32, to_tag: Option<&str>) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "SUBSCRIBE sip:{exten}@192.0.2.1:5070 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKs{cseq}{exten};rport\nFrom: \"Bob\" <sip:2000@192.0.2.1:5070>;tag=watcher\nTo: <sip:{exten}@192.0.2.1:5070>{to_tag}\nCall-ID: call-{exten}\nCSeq: {cseq} SUBSCRIBE\nContact: <sip:2000@10.0.0.7:5062>\nUser-Agent: Digium D65 2_9_27\n{extra}Content-Length: 0\n\n"
    )
}

fn header<'a>(message: &'a Request, name: &str) -> &'a str {
    message
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {message:?}"))
}

#[test]
fn subscribe_gets_200_then_an_immediate_full_state_notify() {
    let mut h = Harness::new();
    h.set_presence("CustomPresence:2001", "dnd,meeting,until 3");
    h.send(&subscribe(
        "2001",
        "Event: presence\nAccept: application/pidf+xml\nExpires: 600\n",
        1,
        None,
    ));
    let (responses, requests) = h.responses();
    assert_eq!(responses.len(), 1);
    let ok = &responses[0];
    assert_eq!((ok.code, ok.reason.as_str()), (200, "OK"), "never 202");
    assert_eq!(ok.headers.get("Expires"), Some("600"));
    let to_tag = ok.core.to.param("tag").expect("a To-tag").to_owned();
    assert_eq!(
        ok.headers.get("Contact"),
        Some("<sip:2001@192.0.2.1:5070;transport=udp>")
    );
    assert_eq!(requests.len(), 1);
    let notify = &requests[0];
    assert_eq!(notify.uri, "sip:2000@10.0.0.7:5062");
    assert_eq!(header(notify, "Event"), "presence");
    assert_eq!(header(notify, "Subscription-State"), "active;expires=600");
    assert_eq!(header(notify, "Content-Type"), "application/pidf+xml");
    assert_eq!(notify.core.from.param("tag"), Some(to_tag.as_str()));
    assert_eq!(notify.core.to.param("tag"), Some("watcher"));
    assert_eq!(notify.core.call_id, "call-2001");
    let body = String::from_utf8_lossy(&notify.body);
    assert!(
        body.contains("<presence entity=\"sip:2001@192.0.2.1:5070\""),
        "{body}"
    );
    assert!(
        body.contains("<contact priority=\"1\">sip:2000@192.0.2.1</contact>"),
        "watcher without port: {body}"
    );
    assert!(
        body.contains("<digium_presence type=\"dnd\" subtype=\"meeting\">until 3</digium_presence>"),
        "{body}"
    );
    assert_eq!(h.server.subscription_count(), 1);
    assert_eq!(h.stored.len(), 1, "the dialog is stored");
    assert!(
        h.seen.is_empty(),
        "an unauthenticated watcher's whereabouts are never reported (issue 17)"
    );
}

#[test]
fn refusals_carry_the_right_codes_and_headers() {
    let mut h = Harness::new();
    let cases = [
        (subscribe("2999", "Event: presence\n", 1, None), 404, None),
        (
            subscribe("2001", "", 2, None),
            489,
            Some(("Allow-Events", "presence")),
        ),
        (
            subscribe("2001", "Event: dialog\n", 3, None),
            489,
            Some(("Allow-Events", "presence")),
        ),
        (
            subscribe(
                "2001",
                "Event: presence\nAccept: application/xpidf+xml\n",
                4,
                None,
            ),
            489,
            None,
        ),
        (
            subscribe("2001", "Event: presence\nExpires: 30\n", 5, None),
            423,
            Some(("Min-Expires", "60")),
        ),
        (
            subscribe("2001", "Event: presence\nExpires: 600\n", 6, Some("nosuchdialog")),
            481,
            None,
        ),
    ];
    for (request, code, header) in cases {
        h.send(&request);
        let (responses, requests) = h.responses();
        assert_eq!(responses[0].code, code, "{request}");
        if let Some((name, value)) = header {
            assert_eq!(responses[0].headers.get(name), Some(value), "{request}");
        }
        assert!(requests.is_empty(), "no NOTIFY after a refusal");
    }
    assert_eq!(h.server.subscription_count(), 0);
}

#[test]
fn expiry_is_capped_and_defaulted_and_a_fetch_gets_one_terminated_notify() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 99999\n", 1, None));
    let (responses, requests) = h.responses();
    assert_eq!(responses[0].headers.get("Expires"), Some("3600"));
    assert_eq!(header(&requests[0], "Subscription-State"), "active;expires=3600");
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\n", 1, None));
    assert_eq!(
        h.responses().0[0].headers.get("Expires"),
        Some("3600"),
        "no Expires: the RFC 3856 default"
    );
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 0\n", 1, None));
    let (responses, requests) = h.responses();
    assert_eq!(responses[0].headers.get("Expires"), Some("0"));
    assert_eq!(requests.len(), 1, "exactly one NOTIFY");
    assert_eq!(
        header(&requests[0], "Subscription-State"),
        "terminated;reason=timeout"
    );
    assert!(
        String::from_utf8_lossy(&requests[0].body).contains("<basic>open</basic>"),
        "with the state"
    );
    assert_eq!(h.server.subscription_count(), 0);
    assert!(h.stored.is_empty());
}

#[test]
fn every_change_notifies_and_a_burst_ends_with_the_latest_state() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 600\n", 1, None));
    let (_, mut requests) = h.responses();
    let first = requests.remove(0);
    h.answer(&first, 200);
    h.set_device("Custom:2001", DeviceState::Inuse);
    let (_, requests) = h.responses();
    assert_eq!(requests.len(), 1);
    assert!(String::from_utf8_lossy(&requests[0].body).contains("<note>On the phone</note>"));
    // While that NOTIFY is unanswered, three presence changes arrive.
    h.set_presence("CustomPresence:2001", "away");
    h.set_presence("CustomPresence:2001", "xa");
    h.set_presence("CustomPresence:2001", "dnd,,back soon");
    assert!(h.responses().1.is_empty(), "one NOTIFY in flight at a time");
    h.answer(&requests[0], 200);
    let (_, next) = h.responses();
    assert_eq!(next.len(), 1, "only the latest queued state is sent");
    assert_eq!(
        h.server.superseded_notifies, 2,
        "away and xa were dropped for dnd"
    );
    let body = String::from_utf8_lossy(&next[0].body);
    assert!(
        body.contains("<digium_presence type=\"dnd\">back soon</digium_presence>"),
        "{body}"
    );
    assert!(next[0].core.cseq > requests[0].core.cseq);
    // A repeat of the same state produces nothing.
    h.answer(&next[0], 200);
    h.set_presence("CustomPresence:2001", "dnd,,back soon");
    assert!(h.responses().1.is_empty());
}

#[test]
fn refresh_unsubscribe_and_expiry() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 300\n", 1, None));
    let (responses, requests) = h.responses();
    let tag = responses[0].core.to.param("tag").unwrap().to_owned();
    h.answer(&requests[0], 200);
    h.advance(Duration::from_secs(100));
    h.send(&subscribe(
        "2001",
        "Event: presence\nExpires: 600\n",
        2,
        Some(&tag),
    ));
    let (responses, requests) = h.responses();
    assert_eq!(
        (responses[0].code, responses[0].headers.get("Expires")),
        (200, Some("600"))
    );
    assert_eq!(
        responses[0].core.to.param("tag"),
        Some(tag.as_str()),
        "same dialog"
    );
    assert_eq!(header(&requests[0], "Subscription-State"), "active;expires=600");
    h.answer(&requests[0], 200);
    // Unsubscribe: 200, then terminated with no reason (the watcher asked),
    // carrying the final state as Asterisk's does.
    h.send(&subscribe("2001", "Event: presence\nExpires: 0\n", 3, Some(&tag)));
    let (responses, requests) = h.responses();
    assert_eq!(
        (responses[0].code, responses[0].headers.get("Expires")),
        (200, Some("0"))
    );
    assert_eq!(header(&requests[0], "Subscription-State"), "terminated");
    assert_eq!(header(&requests[0], "Content-Type"), "application/pidf+xml");
    assert!(String::from_utf8_lossy(&requests[0].body).contains("<basic>open</basic>"));
    h.answer(&requests[0], 200);
    assert_eq!(h.server.subscription_count(), 0);
    assert!(h.stored.is_empty());
    h.send(&subscribe(
        "2001",
        "Event: presence\nExpires: 600\n",
        4,
        Some(&tag),
    ));
    assert_eq!(h.responses().0[0].code, 481, "the dialog is gone");

    // Expiry without refresh: terminated;reason=timeout exactly on time.
    h.send(&subscribe("2000", "Event: presence\nExpires: 120\n", 1, None));
    let (_, requests) = h.responses();
    h.answer(&requests[0], 200);
    h.advance(Duration::from_millis(119_900));
    assert!(h.responses().1.is_empty());
    h.advance(Duration::from_millis(100));
    let (_, requests) = h.responses();
    assert_eq!(
        header(&requests[0], "Subscription-State"),
        "terminated;reason=timeout"
    );
}

#[test]
fn a_481_or_a_silent_watcher_ends_the_subscription() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 600\n", 1, None));
    let (_, requests) = h.responses();
    h.answer(&requests[0], 481);
    assert_eq!(h.server.subscription_count(), 0);
    assert!(h.stored.is_empty(), "the record is deleted");
    h.set_presence("CustomPresence:2001", "away");
    assert!(h.responses().1.is_empty(), "no NOTIFY to a dead watcher");

    h.send(&subscribe("2000", "Event: presence\nExpires: 600\n", 1, None));
    let (_, requests) = h.responses();
    assert_eq!(requests.len(), 1);
    // Never answered: retransmitted over UDP, then Timer F (32 s).
    h.advance(Duration::from_secs(31));
    assert_eq!(h.server.subscription_count(), 1);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.server.subscription_count(), 0);
}

#[test]
fn a_removed_line_terminates_with_noresource() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 600\n", 1, None));
    let (_, requests) = h.responses();
    h.answer(&requests[0], 200);
    let changes = h.book.set_hints(vec![hint("2000")]);
    h.fan_out(changes);
    let (_, requests) = h.responses();
    assert_eq!(
        header(&requests[0], "Subscription-State"),
        "terminated;reason=noresource"
    );
}

fn publish(exten: &str, extra: &str, body: &str, cseq: u32) -> String {
    let content = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/pidf+xml\n".to_owned()
    };
    format!(
        "PUBLISH sip:{exten}@192.0.2.1:5070 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKp{cseq};rport\nFrom: <sip:{exten}@192.0.2.1>;tag=p{cseq}\nTo: <sip:{exten}@192.0.2.1>\nCall-ID: pub-{cseq}\nCSeq: {cseq} PUBLISH\nEvent: presence\n{content}{extra}Content-Length: {}\n\n{body}",
        body.len()
    )
}

/// One line: the harness turns LF into CRLF, which must not change a body.
const DND: &str = r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:2001@pbx"><tuple id="digium-presence"><status><digium_presence type="dnd" subtype="x">busy &amp; more</digium_presence></status></tuple></presence>"#;

#[test]
fn publish_sets_presence_and_follows_rfc_3903_etag_rules() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 600\n", 1, None));
    let (_, requests) = h.responses();
    h.answer(&requests[0], 200);

    h.send(&publish("2001", "Expires: 120\n", DND, 10));
    let (responses, notifies) = h.responses();
    assert_eq!(responses[0].code, 200);
    assert_eq!(responses[0].headers.get("Expires"), Some("120"));
    let etag = responses[0].headers.get("SIP-ETag").unwrap().to_owned();
    assert_eq!(h.book.presence("CustomPresence:2001").message, "busy & more");
    assert!(
        String::from_utf8_lossy(&notifies[0].body).contains("type=\"dnd\" subtype=\"x\""),
        "the watcher hears it"
    );
    // Refresh: no body, a new etag; the old one is then stale.
    h.send(&publish(
        "2001",
        &format!("SIP-If-Match: {etag}\nExpires: 120\n"),
        "",
        11,
    ));
    let refreshed = h.responses().0.remove(0);
    let new_etag = refreshed.headers.get("SIP-ETag").unwrap().to_owned();
    assert_eq!(refreshed.code, 200);
    assert_ne!(new_etag, etag, "a new etag on every success");
    h.send(&publish("2001", &format!("SIP-If-Match: {etag}\n"), "", 12));
    assert_eq!(h.responses().0[0].code, 412);
    // Remove: 200 with Expires 0; the presence stays (a user setting).
    h.send(&publish(
        "2001",
        &format!("SIP-If-Match: {new_etag}\nExpires: 0\n"),
        "",
        13,
    ));
    let removed = h.responses().0.remove(0);
    assert_eq!((removed.code, removed.headers.get("Expires")), (200, Some("0")));
    assert_eq!(h.book.presence("CustomPresence:2001").state.as_str(), "dnd");
    h.send(&publish("2001", &format!("SIP-If-Match: {new_etag}\n"), "", 14));
    assert_eq!(h.responses().0[0].code, 412);
    // A publication that lapses loses its etag, not its presence.
    h.send(&publish("2001", "Expires: 60\n", DND, 15));
    let etag = h.responses().0[0].headers.get("SIP-ETag").unwrap().to_owned();
    h.advance(Duration::from_secs(61));
    h.send(&publish("2001", &format!("SIP-If-Match: {etag}\n"), "", 16));
    assert_eq!(h.responses().0[0].code, 412);
    assert_eq!(h.book.presence("CustomPresence:2001").state.as_str(), "dnd");
}

/// A request, the status it must get, and a header the answer must carry.
type RefusalCase = (String, u16, Option<(&'static str, &'static str)>);

#[test]
fn publish_refusals() {
    let mut h = Harness::new();
    let unavailable = DND.replace("type=\"dnd\"", "type=\"unavailable\"");
    let cases: Vec<RefusalCase> = vec![
        (publish("2999", "", DND, 1), 404, None),
        (
            publish("2001", "Expires: 30\n", DND, 2),
            423,
            Some(("Min-Expires", "60")),
        ),
        (publish("2001", "SIP-If-Match: nope\n", "", 3), 412, None),
        (publish("2001", "", "", 4), 400, None),
        (
            publish("2001", "", &unavailable, 5),
            488,
            Some((
                "Warning",
                "399 192.0.2.1 \"'unavailable' cannot be set (phones do not support it); allowed states are: available, away, dnd, xa, chat\"",
            )),
        ),
        (
            publish(
                "2001",
                "",
                "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple>",
                6,
            ),
            400,
            None,
        ),
        (
            publish("2001", "", DND, 7).replace("Event: presence", "Event: dialog"),
            489,
            Some(("Allow-Events", "presence")),
        ),
        (
            publish("2001", "", DND, 8).replace("application/pidf+xml", "text/plain"),
            415,
            Some(("Accept", "application/pidf+xml")),
        ),
    ];
    for (request, code, header) in cases {
        h.send(&request);
        let (responses, _) = h.responses();
        assert_eq!(responses[0].code, code, "{request}");
        if let Some((name, value)) = header {
            assert_eq!(responses[0].headers.get(name), Some(value), "{request}");
        }
    }
    assert_eq!(
        h.book.presence("CustomPresence:2001").state.as_str(),
        "not_set",
        "nothing changed"
    );
    let malformed = {
        h.send(&publish(
            "2001",
            "",
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><note>x</nope></presence>",
            9,
        ));
        h.responses().0.remove(0)
    };
    assert!(
        malformed.reason.starts_with("malformed XML"),
        "{}",
        malformed.reason
    );
    // baresip's first PUBLISH: well-formed, `<basic>unknown</basic>`. It is
    // accepted (an etag) and changes nothing.
    let unknown = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:2001@x\"><tuple id=\"t\"><status><basic>unknown</basic></status></tuple></presence>";
    h.send(&publish("2001", "", unknown, 11));
    let accepted = h.responses().0.remove(0);
    assert_eq!(accepted.code, 200);
    assert!(accepted.headers.get("SIP-ETag").is_some());
    assert_eq!(h.book.presence("CustomPresence:2001").state.as_str(), "not_set");
    let capped = {
        h.send(&publish("2001", "Expires: 99999\n", DND, 10));
        h.responses().0.remove(0)
    };
    assert_eq!(capped.headers.get("Expires"), Some("3600"));
}

#[test]
fn restored_subscriptions_get_a_notify_and_keep_working() {
    let mut h = Harness::new();
    h.send(&subscribe("2001", "Event: presence\nExpires: 600\n", 1, None));
    let (responses, requests) = h.responses();
    let tag = responses[0].core.to.param("tag").unwrap().to_owned();
    h.answer(&requests[0], 200);
    h.send(&subscribe("2000", "Event: presence\nExpires: 60\n", 1, None));
    let _ = h.responses();
    let records: Vec<(String, Vec<u8>)> = h.stored.clone().into_iter().collect();
    assert_eq!(records.len(), 2);

    // "Restart" 100 s later: a new server from the records.
    let mut restarted = Harness::new();
    restarted.now = restarted.start + Duration::from_secs(100);
    let wall = restarted.wall();
    restarted.server.restore(restarted.now, wall, records);
    restarted.apply_outputs();
    let (_, requests) = restarted.responses();
    assert_eq!(requests.len(), 1, "only the live subscription is notified");
    assert_eq!(header(&requests[0], "Subscription-State"), "active;expires=500");
    assert!(
        requests[0].core.cseq > 100_000,
        "CSeq jumps past anything sent before"
    );
    assert_eq!(restarted.stored.len(), 1, "the expired record is deleted");
    restarted.answer(&requests[0], 200);
    restarted.send(&subscribe(
        "2001",
        "Event: presence\nExpires: 600\n",
        2,
        Some(&tag),
    ));
    let (responses, _) = restarted.responses();
    assert_eq!(responses[0].code, 200, "refresh after restart works");
}
