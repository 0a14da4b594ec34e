//! SUBSCRIBE over TCP against the real binary, as a Digium phone does it
//! with `;transport=tcp` in the Request-URI: the first NOTIFY follows the
//! 200 at once (TCP_NODELAY; before, Nagle held it until the phone's
//! delayed ACK, ≈ 40 ms), and both it and the terminating NOTIFY carry
//! Asterisk 22's bytes (`tests/fixtures/asterisk-notify/tcp-*-digium.txt`,
//! with our address in `entity` where Asterisk had 127.0.0.1:5090).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use opendpma::sip::{Framing, Message, Request, Response, parse};
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

/// A phone's TCP connection: whole SIP messages in, text out.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    fn open(server: &Server) -> Self {
        let stream = TcpStream::connect(server.sip).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("send");
    }

    /// The next whole message and when its last byte arrived.
    fn receive(&mut self) -> (Message, Instant) {
        // Bounded: a read blocks at most 5 s, and 64 reads is far more than
        // any one message needs.
        for _ in 0..64 {
            if let Some(length) = whole_message(&self.buffer) {
                let at = Instant::now();
                let message = parse(&self.buffer[..length], Framing::Stream).expect("valid SIP");
                self.buffer.drain(..length);
                return (message, at);
            }
            let mut chunk = [0u8; 8192];
            let read = self
                .stream
                .read(&mut chunk)
                .expect("the server answers within 5 s");
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        panic!("no whole message in {} bytes", self.buffer.len());
    }

    fn response(&mut self) -> (Response, Instant) {
        match self.receive() {
            (Message::Response(response), at) => (response, at),
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// Sends `request(cseq, "")`, answers the 401 with
    /// `request(cseq + 1, "Authorization: …")`, returns the final response.
    fn authorized(
        &mut self,
        signer: &mut SipClient,
        uri: &str,
        request: impl Fn(u32, &str) -> String,
    ) -> (Response, Instant) {
        self.send(&request(1, ""));
        let (challenge, _) = self.response();
        assert_eq!(challenge.code, 401);
        let auth = signer.authorization(&challenge, "SUBSCRIBE", uri);
        self.send(&request(2, &format!("Authorization: {auth}\r\n")));
        self.response()
    }

    /// Waits for a NOTIFY and answers it 200.
    fn notify(&mut self) -> (Request, Instant) {
        let (notify, at) = match self.receive() {
            (Message::Request(request), at) => (request, at),
            other => panic!("expected a NOTIFY, got {other:?}"),
        };
        let mut answer = String::from("SIP/2.0 200 OK\r\n");
        for via in notify.headers.lines("Via") {
            answer.push_str(&format!("Via: {via}\r\n"));
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            let value = notify.headers.get(name).expect("core header");
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
        answer.push_str("Content-Length: 0\r\n\r\n");
        self.send(&answer);
        (notify, at)
    }
}

/// The length of the first whole message in `buffer`, if it holds one.
fn whole_message(buffer: &[u8]) -> Option<usize> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..end]);
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("Content-Length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    (buffer.len() >= end + length).then_some(end + length)
}

fn subscribe(server: &Server, call: u32, cseq: u32, to_tag: &str, expires: u32, auth: &str) -> String {
    format!(
        "SUBSCRIBE sip:2000@{server};transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:41578;branch=z9hG4bKtcp{call}x{cseq};rport\r\n\
         From: <sip:2001@127.0.0.1>;tag=h9mzlbxt\r\n\
         To: <sip:2000@127.0.0.1>{to_tag}\r\n\
         Call-ID: tcp-{call}@test\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <sip:2001@127.0.0.1:41578;transport=tcp>\r\n\
         User-Agent: Digium D65 2_9_27\r\n\
         Event: presence\r\n\
         Accept: application/pidf+xml\r\n\
         Expires: {expires}\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        server = server.sip
    )
}

/// Asterisk's body for a capture, with our address in `entity`.
fn expected_body(server: &Server, capture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/asterisk-notify")
        .join(format!("{capture}.txt"));
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, body) = raw.split_once("\r\n\r\n").expect("a whole message");
    body.replace(
        "entity=\"sip:2000@127.0.0.1:5090;",
        &format!("entity=\"sip:2000@{};", server.sip),
    )
}

#[test]
fn a_tcp_subscription_gets_its_notify_at_once_with_asterisks_bytes() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let uri = format!("sip:2000@{};transport=tcp", server.sip);
    let mut signer = SipClient::new(server.sip, "2001", "line-secret-2001");
    let mut gaps = Vec::new();
    // Three subscriptions on three connections: the smallest gap counts,
    // so one descheduled moment on a loaded machine cannot fail the test,
    // while Nagle delays every one of them.
    for call in 1..=3 {
        let mut phone = Connection::open(&server);
        let (ok, ok_at) = phone.authorized(&mut signer, &uri, |cseq, auth| {
            subscribe(&server, call, cseq, "", 600, auth)
        });
        assert_eq!((ok.code, ok.headers.get("Expires")), (200, Some("600")));
        let (first, first_at) = phone.notify();
        gaps.push(first_at.duration_since(ok_at));
        assert_eq!(
            String::from_utf8_lossy(&first.body),
            expected_body(&server, "tcp-initial-digium")
        );

        let to_tag = format!(";tag={}", ok.core.to.param("tag").expect("a To-tag"));
        let (bye, _) = phone.authorized(&mut signer, &uri, |cseq, auth| {
            subscribe(&server, call, cseq + 2, &to_tag, 0, auth)
        });
        assert_eq!(bye.code, 200);
        let (last, _) = phone.notify();
        assert_eq!(last.headers.get("Subscription-State"), Some("terminated"));
        assert_eq!(
            String::from_utf8_lossy(&last.body),
            expected_body(&server, "tcp-terminated-digium")
        );
    }
    let fastest = gaps.iter().min().expect("three gaps");
    eprintln!("200 → NOTIFY over TCP: {gaps:?}");
    assert!(
        *fastest < Duration::from_millis(25),
        "the NOTIFY waited after the 200: {gaps:?}"
    );
}
