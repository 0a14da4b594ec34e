//! The SIP corpus (tests/sip/corpus: RFC 4475 §3.1.1, §3.1.2 and §3.3.1
//! messages written out from the RFC, plus shapes real clients send) fed
//! to the sans-IO endpoint over UDP and over a TCP stream in odd chunks:
//! every message gets exactly the expected answer, or none.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use opendpma::config::Transport;
use opendpma::sip::{ConnectionId, Endpoint, Framing, Message, Peer, parse};

mod support;

use support::sans_io::endpoint_config;

fn endpoint(now: Instant) -> Endpoint {
    support::sans_io::endpoint(now, endpoint_config(true))
}

/// Expected first status line code for each fixture (`None`: dropped).
const EXPECTED: &[(&str, Option<u16>)] = &[
    ("valid/wsinv", Some(405)),
    ("valid/intmeth", Some(501)),
    ("valid/esc01", Some(405)),
    ("valid/escnull", Some(405)),
    ("valid/esc02", Some(501)),
    ("valid/lwsdisp", Some(200)),
    ("valid/longreq", Some(405)),
    ("valid/dblreq", Some(405)),
    ("valid/semiuri", Some(200)),
    ("valid/transports", Some(200)),
    ("valid/mpart01", Some(405)),
    ("valid/unreason", None),
    ("valid/noreason", None),
    ("valid/badbranch", Some(200)),
    ("valid/compact", Some(200)),
    ("valid/folded", Some(200)),
    ("valid/lf-only", Some(200)),
    ("valid/ipv6", Some(200)),
    ("valid/linphone-subscribe", Some(401)),
    // RFC 3261 §8.2.2.1: an unknown Request-URI scheme → 416.
    ("valid/unkscm", Some(416)),
    ("valid/novelsc", Some(416)),
    // RFC 3261 §8.2.2.3: an unknown Require option-tag → 420.
    ("valid/bext01", Some(420)),
    ("invalid/badinv01", Some(400)),
    ("invalid/clerr", Some(400)),
    ("invalid/ncl", Some(400)),
    ("invalid/scalar02", Some(400)),
    ("invalid/scalarlg", None),
    ("invalid/quotbal", Some(400)),
    ("invalid/ltgtruri", Some(400)),
    ("invalid/lwsruri", Some(400)),
    ("invalid/lwsstart", Some(400)),
    ("invalid/trws", Some(400)),
    ("invalid/escruri", Some(400)),
    ("invalid/baddate", Some(400)),
    ("invalid/regbadct", Some(400)),
    ("invalid/badaspec", Some(400)),
    ("invalid/baddn", Some(400)),
    ("invalid/badvers", Some(505)),
    ("invalid/mismatch01", Some(400)),
    ("invalid/mismatch02", Some(400)),
    ("invalid/bigcode", None),
    ("invalid/no-blank-line", None),
    ("invalid/missing-call-id", None),
    ("invalid/header-without-colon", Some(400)),
    ("invalid/garbage", None),
];

fn corpus(name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip/corpus")
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn status_of(bytes: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {text}"))
}

fn answers(endpoint: &mut Endpoint) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| endpoint.poll_transmit())
        .map(|t| t.bytes)
        .collect()
}

#[test]
fn every_fixture_is_listed() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip/corpus");
    let mut on_disk = Vec::new();
    for kind in ["valid", "invalid"] {
        for entry in std::fs::read_dir(folder.join(kind)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            on_disk.push(format!("{kind}/{}", name.trim_end_matches(".sip")));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn udp_answers_match_the_expected_outcomes() {
    let now = Instant::now();
    let mut endpoint = endpoint(now);
    let peer = Peer::udp("192.0.2.7:5062".parse().unwrap());
    for (name, expected) in EXPECTED {
        endpoint.handle_datagram(now, peer, &corpus(name));
        let sent = answers(&mut endpoint);
        let codes: Vec<u16> = sent.iter().map(|b| status_of(b)).collect();
        assert_eq!(codes, expected.iter().copied().collect::<Vec<_>>(), "{name}");
        while endpoint.poll_event().is_some() {}
    }
}

#[test]
fn answers_copy_the_request_fields_and_say_what_is_wrong() {
    let now = Instant::now();
    let mut endpoint = endpoint(now);
    let peer = Peer::udp("192.0.2.7:5062".parse().unwrap());
    endpoint.handle_datagram(now, peer, &corpus("valid/wsinv"));
    let answer = String::from_utf8(answers(&mut endpoint).remove(0)).unwrap();
    let lines: Vec<&str> = answer.lines().collect();
    assert_eq!(lines[0], "SIP/2.0 405 Method Not Allowed");
    // All three Vias, in order; the top one stamped with received.
    assert_eq!(
        lines[1],
        "Via: SIP/2.0/UDP 192.0.2.2;branch=390skdjuw;received=192.0.2.7"
    );
    assert_eq!(
        lines[2],
        "Via: SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8"
    );
    assert!(lines[3].starts_with("Via: SIP  /    2.0   / UDP  192.168.255.111"));
    assert!(answer.contains("\r\nTo: sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"));
    assert!(answer.contains("\r\nCall-ID: wsinv.ndaksdj@192.0.2.1\r\n"));
    assert!(answer.contains("\r\nCSeq: 0009 INVITE\r\n"));
    assert!(answer.contains("\r\nAllow: OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH\r\n"));
    assert!(answer.ends_with("Content-Length: 0\r\n\r\n"));

    endpoint.handle_datagram(now, peer, &corpus("invalid/mismatch01"));
    let answer = String::from_utf8(answers(&mut endpoint).remove(0)).unwrap();
    assert!(
        answer.starts_with("SIP/2.0 400 CSeq method does not match the request\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nTo: sip:j.user@example.com;tag="),
        "a To-tag is added"
    );

    endpoint.handle_datagram(now, peer, &corpus("valid/compact"));
    let answer = String::from_utf8(answers(&mut endpoint).remove(0)).unwrap();
    assert!(answer.starts_with("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKcompact;rport=5062;received=192.0.2.7\r\n"), "{answer}");
    for header in [
        "Allow: OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH",
        "Accept: application/pidf+xml",
        "Allow-Events: presence",
        "Server: opendpma/",
    ] {
        assert!(answer.contains(header), "{header} missing:\n{answer}");
    }
}

#[test]
fn valid_fixtures_parse_to_the_right_typed_values() {
    let parsed =
        |name| match parse(&corpus(name), Framing::Datagram).unwrap_or_else(|e| panic!("{name}: {e:?}")) {
            Message::Request(request) => request,
            Message::Response(_) => panic!("{name} is a response"),
        };
    let wsinv = parsed("valid/wsinv");
    assert_eq!(wsinv.core.vias.len(), 3);
    assert_eq!(wsinv.core.vias[1].transport, "TCP");
    assert_eq!(wsinv.core.vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(wsinv.core.from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(wsinv.core.cseq, 9);
    assert_eq!(wsinv.headers.get("Max-Forwards"), Some("0068"));
    assert_eq!(
        wsinv.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(wsinv.headers.get("Subject"), Some(""));
    assert_eq!(wsinv.body.len(), 150);
    let intmeth = parsed("valid/intmeth");
    assert_eq!(
        intmeth.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert_eq!(intmeth.core.from.param("tag"), Some("_token~1'+`*%!-."));
    let dblreq = parsed("valid/dblreq");
    assert!(
        dblreq.body.is_empty(),
        "the second request in the datagram is ignored"
    );
    let compact = parsed("valid/compact");
    assert_eq!(compact.core.call_id, "compact-1@127.0.0.1");
    assert_eq!(compact.headers.get("Allow-Events"), Some("presence"));
    let ipv6 = parsed("valid/ipv6");
    assert_eq!(ipv6.top_via().host, "2001:db8::9");
    let linphone = parsed("valid/linphone-subscribe");
    assert_eq!(linphone.event().unwrap().package, "presence");
    assert_eq!(linphone.expires(), Some(600));
    assert!(linphone.accept().is_empty());
    assert!(
        linphone.body.is_empty(),
        "no Content-Length over UDP: body is the rest (nothing)"
    );
    let mpart = parsed("valid/mpart01");
    assert_eq!(
        mpart.body.len(),
        99,
        "extra bytes after Content-Length are ignored on UDP"
    );
}

/// All requests with a Content-Length, back to back on one TCP stream and
/// cut into 13-byte reads, get the same answers as over UDP.
#[test]
fn tcp_stream_gives_the_same_answers() {
    let now = Instant::now();
    let mut endpoint = endpoint(now);
    let address: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let peer = Peer {
        transport: Transport::Tcp,
        address,
        connection: Some(ConnectionId(1)),
    };
    let names = [
        "valid/lwsdisp",
        "valid/wsinv",
        "valid/intmeth",
        "valid/compact",
        "valid/esc01",
        "invalid/mismatch01",
    ];
    let stream: Vec<u8> = names
        .iter()
        .flat_map(|name| corpus(name))
        .chain(b"\r\n\r\n".iter().copied())
        .collect();
    let mut sent = Vec::new();
    for chunk in stream.chunks(13) {
        endpoint.handle_stream_bytes(now, peer, chunk).unwrap();
        sent.extend(answers(&mut endpoint));
    }
    let pong = sent.pop().unwrap();
    assert_eq!(pong, b"\r\n", "double CRLF ping gets a CRLF pong");
    let codes: Vec<u16> = sent.iter().map(|b| status_of(b)).collect();
    assert_eq!(codes, [200, 405, 501, 200, 405, 400]);
    let bad =
        endpoint.handle_stream_bytes(now, peer, b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n");
    assert!(bad.is_err(), "an unframeable stream must be closed");
}

#[test]
fn the_subscribe_challenge_offers_sha256_then_md5() {
    let now = Instant::now();
    let mut endpoint = endpoint(now);
    endpoint.handle_datagram(
        now,
        Peer::udp("192.0.2.7:5090".parse().unwrap()),
        &corpus("valid/linphone-subscribe"),
    );
    let answer = String::from_utf8(answers(&mut endpoint).remove(0)).unwrap();
    let challenges: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("WWW-Authenticate: "))
        .collect();
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"));
    assert!(challenges[0].contains("realm=\"opendpma\"") && challenges[0].contains("qop=\"auth\""));
    assert!(
        endpoint.poll_event().is_none(),
        "unauthenticated requests never reach the application"
    );
}

#[test]
fn bad_extension_lists_every_unsupported_option_tag() {
    let now = Instant::now();
    let mut endpoint = endpoint(now);
    endpoint.handle_datagram(
        now,
        Peer::udp("192.0.2.1:5080".parse().unwrap()),
        &corpus("valid/bext01"),
    );
    let answer = String::from_utf8(answers(&mut endpoint).remove(0)).unwrap();
    assert!(answer.starts_with("SIP/2.0 420 Bad Extension\r\n"), "{answer}");
    assert!(
        answer.contains("\r\nUnsupported: newfeature1, newfeature2\r\n"),
        "{answer}"
    );
}
