//! SIP sockets: the UDP receive loop and the TCP accept loop with one
//! reader task per connection (`sip_stream`). They only move bytes, after
//! the per-address rate limit and the connection caps: everything they
//! read goes to the SIP driver task over one channel, and the driver
//! writes back through the UDP socket or a connection's writer channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection_limits::ConnectionLimits;
use super::sip_rate::SipRateLimit;
use super::sip_stream::{self, StreamPolicy};
use crate::config::Transport;
use crate::sip::{ConnectionId, MAX_MESSAGE_BYTES, Peer};

// Defined in a leaf (`sip_stream` sends it too); re-exported so the
// channel's message keeps its path, `sip_transport::Inbound`.
pub use super::sip_inbound::Inbound;

/// Numbers connections across listeners.
#[derive(Debug, Default)]
pub struct ConnectionCounter(AtomicU64);

impl ConnectionCounter {
    pub fn next(&self) -> ConnectionId {
        ConnectionId(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// Receives datagrams until shutdown; those over the per-address rate are
/// dropped here, before they queue for the driver.
pub fn spawn_udp(
    socket: Arc<UdpSocket>,
    inbound: mpsc::Sender<Inbound>,
    rate: Arc<SipRateLimit>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) {
    tasks.spawn(async move {
        let mut buffer = vec![0u8; MAX_MESSAGE_BYTES + 1];
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = socket.recv_from(&mut buffer) => received,
            };
            match received {
                Ok((length, address)) => {
                    if !rate.allow(address.ip()) {
                        continue;
                    }
                    let datagram = Inbound::Datagram {
                        peer: Peer::udp(address),
                        bytes: buffer[..length].to_vec(),
                        received: std::time::Instant::now(),
                    };
                    if inbound.send(datagram).await.is_err() {
                        return;
                    }
                }
                // ICMP errors from earlier sends surface here on Linux; not fatal.
                Err(error) => tracing::debug!(%error, "udp receive error"),
            }
        }
    });
}

/// Accepts TCP connections (TLS when `tls` is set) until shutdown.
pub fn spawn_stream_listener(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    counter: Arc<ConnectionCounter>,
    limits: ConnectionLimits,
    policy: StreamPolicy,
) {
    let tasks = policy.tasks.clone();
    tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = policy.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, address) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Nagle would hold the NOTIFY sent right after a 200 until the
            // phone's delayed ACK (~40 ms); SIP wants each message out now.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
            // Refused connections are closed at once (the stream drops).
            let Some(slot) = limits.admit(address.ip()) else {
                continue;
            };
            let connection = counter.next();
            let (acceptor, policy) = (tls.clone(), policy.clone());
            policy.tasks.clone().spawn(async move {
                let idle = policy.idle;
                let Some((stream, transport)) = open(stream, acceptor, address, &policy).await else {
                    return;
                };
                sip_stream::run(stream, transport, address, connection, idle, policy, slot).await;
            });
        }
    });
}

/// An accepted connection, after the TLS handshake on `tls:` listeners;
/// `None` when the handshake failed or a silent client did not finish it
/// within the message deadline (it must not hold a connection slot).
async fn open(
    stream: TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    address: SocketAddr,
    policy: &StreamPolicy,
) -> Option<(Box<dyn SipByteStream>, Transport)> {
    let Some(acceptor) = acceptor else {
        return Some((Box::new(stream), Transport::Tcp));
    };
    match tokio::time::timeout(policy.message_deadline, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some((Box::new(stream), Transport::Tls)),
        Ok(Err(error)) => {
            tracing::debug!(%address, %error, "SIP TLS handshake failed");
            None
        }
        Err(_) => {
            policy.metrics.request_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%address, "SIP TLS handshake timed out");
            None
        }
    }
}

/// A TCP or TLS byte stream, so both run through one `sip_stream::run`.
pub trait SipByteStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> SipByteStream for S {}

/// Connects out to `address` (a watcher whose connection is gone) and
/// runs the connection like an accepted one. It takes a slot under the
/// same caps as accepted connections; without one, nothing is opened.
pub fn spawn_outbound(
    address: SocketAddr,
    connection: ConnectionId,
    limits: &ConnectionLimits,
    policy: StreamPolicy,
) {
    let slot = limits.admit(address.ip());
    policy.tasks.clone().spawn(async move {
        let Some(slot) = slot else {
            let _ = policy.inbound.send(Inbound::Closed { connection }).await;
            return;
        };
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "TCP_NODELAY not set");
                }
                let transport = Transport::Tcp;
                sip_stream::run(
                    stream,
                    transport,
                    address,
                    connection,
                    OUTBOUND_IDLE,
                    policy,
                    slot,
                )
                .await
            }
            _ => {
                tracing::debug!(%address, "cannot connect to watcher");
                let _ = policy.inbound.send(Inbound::Closed { connection }).await;
            }
        }
    });
}

/// Idle timeout of connections we open ourselves (to watchers).
const OUTBOUND_IDLE: Duration = Duration::from_secs(900);

/// The driver's view of open connections: where to write.
#[derive(Debug, Default)]
pub struct Connections {
    writers: HashMap<ConnectionId, mpsc::Sender<Vec<u8>>>,
    by_address: HashMap<SocketAddr, ConnectionId>,
    addresses: HashMap<ConnectionId, SocketAddr>,
}

impl Connections {
    pub fn opened(&mut self, connection: ConnectionId, writer: mpsc::Sender<Vec<u8>>) {
        self.writers.insert(connection, writer);
    }

    pub fn remember_address(&mut self, connection: ConnectionId, address: SocketAddr) {
        self.by_address.insert(address, connection);
        self.addresses.insert(connection, address);
    }

    pub fn closed(&mut self, connection: ConnectionId) {
        self.writers.remove(&connection);
        if let Some(address) = self.addresses.remove(&connection) {
            self.by_address.remove(&address);
        }
    }

    pub fn writer(&self, connection: ConnectionId) -> Option<&mpsc::Sender<Vec<u8>>> {
        self.writers.get(&connection)
    }

    pub fn to_address(&self, address: SocketAddr) -> Option<ConnectionId> {
        self.by_address.get(&address).copied()
    }
}
