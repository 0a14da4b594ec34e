//! Sockets for wire tests: connecting from a chosen loopback address (a
//! "phone" on 127.0.0.2 beside an attacker on 127.0.0.1), and waiting for
//! the server to close a connection.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A blocking TCP connection to `to` from the loopback address `source`
/// (std cannot bind before connecting; tokio's socket can).
pub fn tcp_from(source: std::net::IpAddr, to: SocketAddr) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0))?;
            socket.connect(to).await
        })
        .expect("connect");
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
}

/// Waits (at most `limit`) for the server to close `stream`, sending
/// `trickle` one byte every 100 ms meanwhile; returns when it closed.
pub fn closed_within(stream: &mut std::net::TcpStream, trickle: &[u8], limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut bytes = trickle.iter().cycle();
    let mut buffer = [0u8; 4096];
    while start.elapsed() < limit {
        if !trickle.is_empty() {
            let byte = *bytes.next().expect("cycle");
            if stream.write_all(&[byte]).is_err() {
                return Some(start.elapsed());
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}
