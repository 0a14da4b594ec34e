//! A tiny SIP user agent over a real UDP socket, for wire tests: sends
//! requests, answers NOTIFYs, solves digest challenges with the library's
//! own arithmetic.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use opendpma::sip::{Framing, Message, Request, Response, parse};

pub struct SipClient {
    pub socket: UdpSocket,
    pub server: SocketAddr,
    pub user: String,
    pub password: String,
    nc: u32,
}

impl SipClient {
    pub fn new(server: SocketAddr, user: &str, password: &str) -> Self {
        Self::new_at([127, 0, 0, 1].into(), server, user, password)
    }

    /// Sending from `local` (any 127.x.y.z works on loopback): one address
    /// per simulated device, as on a real network.
    pub fn new_at(local: std::net::IpAddr, server: SocketAddr, user: &str, password: &str) -> Self {
        let socket = UdpSocket::bind((local, 0)).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        Self {
            socket,
            server,
            user: user.into(),
            password: password.into(),
            nc: 0,
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("addr")
    }

    pub fn send(&self, text: &str) {
        self.socket.send_to(text.as_bytes(), self.server).expect("send");
    }

    /// The next message within `timeout`, if any.
    pub fn receive(&self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        let mut buffer = vec![0u8; 65536];
        while Instant::now() < deadline {
            if let Ok((length, _)) = self.socket.recv_from(&mut buffer) {
                return Some(parse(&buffer[..length], Framing::Datagram).expect("server sends valid SIP"));
            }
        }
        None
    }

    pub fn response(&self, timeout: Duration) -> Response {
        match self.receive(timeout) {
            Some(Message::Response(response)) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// Waits for a NOTIFY (skipping nothing else) and answers it 200.
    pub fn notify(&self, timeout: Duration) -> Request {
        match self.receive(timeout) {
            Some(Message::Request(request)) if request.method.as_str() == "NOTIFY" => {
                self.answer(&request, 200);
                request
            }
            other => panic!("expected a NOTIFY, got {other:?}"),
        }
    }

    pub fn answer(&self, request: &Request, code: u16) {
        self.answer_with(request, code, "");
    }

    /// Answers `request` with `code` and `extra` header lines (each ending
    /// in CRLF), e.g. a challenge.
    pub fn answer_with(&self, request: &Request, code: u16, extra: &str) {
        let mut text = format!("SIP/2.0 {code} OK\r\n");
        for via in request.headers.lines("Via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            text.push_str(&format!(
                "{name}: {}\r\n",
                request.headers.get(name).expect("core header")
            ));
        }
        text.push_str(extra);
        text.push_str("Content-Length: 0\r\n\r\n");
        self.send(&text);
    }

    /// An Authorization value answering the first challenge of `response`
    /// (in the server's order of preference, RFC 8760 §2.4).
    pub fn authorization(&mut self, response: &Response, method: &str, uri: &str) -> String {
        let challenge = response
            .headers
            .lines("WWW-Authenticate")
            .next()
            .expect("a digest challenge");
        self.nc += 1;
        super::digest_client::answer(challenge, &self.user, &self.password, method, uri, self.nc)
    }
}
