//! The CPU floor of `bench/sipp/publish_load.xml` on this machine: the
//! cheapest responder that completes its calls. One thread, blocking
//! `recv_from`/`send_to`: 401 to a request without Authorization, 200 to
//! one with it (headers echoed as RFC 3261 §8.2.6 asks, nothing checked).
//! Built and run by `bench/publish_floor.sh`; not part of the server.
use std::net::UdpSocket;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: publish_floor PORT");
    let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind");
    let mut buffer = vec![0u8; 65536];
    let mut out = Vec::with_capacity(2048);
    loop {
        let Ok((length, from)) = socket.recv_from(&mut buffer) else { continue };
        let Ok(text) = std::str::from_utf8(&buffer[..length]) else { continue };
        let authorized = text.contains("\nAuthorization:");
        out.clear();
        out.extend_from_slice(if authorized { b"SIP/2.0 200 OK\r\n" } else { b"SIP/2.0 401 Unauthorized\r\n" });
        for line in text.split("\r\n").skip(1).take_while(|line| !line.is_empty()) {
            let lower = line.to_ascii_lowercase();
            if ["via:", "from:", "call-id:", "cseq:"].iter().any(|name| lower.starts_with(name)) {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else if lower.starts_with("to:") {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b";tag=floor\r\n");
            }
        }
        if authorized {
            out.extend_from_slice(b"SIP-ETag: floor\r\nExpires: 300\r\n");
        } else {
            out.extend_from_slice(b"WWW-Authenticate: Digest realm=\"floor\", nonce=\"0123456789abcdef\", algorithm=MD5, qop=\"auth\"\r\n");
        }
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let _ = socket.send_to(&out, from);
    }
}
