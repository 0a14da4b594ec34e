//! SIP sockets: the UDP receive loop and the TCP accept loop with one
//! reader task per connection. They only move bytes: everything they read
//! goes to the SIP driver task over one channel, and the driver writes
//! back through the UDP socket or a connection's writer channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::{Limits, Transport};
use crate::metrics::Metrics;
use crate::sip::{ConnectionId, MAX_MESSAGE_BYTES, Peer};

/// `[limits]` for TCP: connections in total and per address, and the
/// idle timeout (phones send CRLF keep-alives or re-SUBSCRIBE within it).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_address: usize,
    open: Arc<std::sync::Mutex<HashMap<std::net::IpAddr, usize>>>,
    idle: Duration,
    metrics: Arc<Metrics>,
}

impl ConnectionLimits {
    pub fn new(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limits.tcp_connections)),
            per_address: limits.tcp_connections_per_ip,
            open: Arc::default(),
            idle: Duration::from_secs(limits.tcp_idle_timeout),
            metrics,
        }
    }

    /// A slot for a connection from `ip`, or `None` if a limit is reached.
    fn admit(&self, ip: std::net::IpAddr) -> Option<ConnectionSlot> {
        let total = self.total.clone().try_acquire_owned().ok()?;
        let mut open = self.open.lock().expect("connection table lock is never poisoned");
        let count = open.entry(ip).or_default();
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        self.metrics.tcp_connections.fetch_add(1, Ordering::Relaxed);
        Some(ConnectionSlot {
            _total: total,
            ip,
            limits: self.clone(),
        })
    }
}

/// Held for a connection's lifetime; gives its slots back on drop.
struct ConnectionSlot {
    _total: tokio::sync::OwnedSemaphorePermit,
    ip: std::net::IpAddr,
    limits: ConnectionLimits,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .expect("connection table lock is never poisoned");
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
        self.limits
            .metrics
            .tcp_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the sockets hand to the driver.
#[derive(Debug)]
pub enum Inbound {
    Datagram {
        peer: Peer,
        bytes: Vec<u8>,
    },
    Stream {
        peer: Peer,
        bytes: Vec<u8>,
    },
    Opened {
        connection: ConnectionId,
        writer: mpsc::Sender<Vec<u8>>,
    },
    Closed {
        connection: ConnectionId,
    },
}

/// Numbers connections across listeners.
#[derive(Debug, Default)]
pub struct ConnectionCounter(AtomicU64);

impl ConnectionCounter {
    pub fn next(&self) -> ConnectionId {
        ConnectionId(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// Receives datagrams until shutdown.
pub fn spawn_udp(socket: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; MAX_MESSAGE_BYTES + 1];
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = socket.recv_from(&mut buffer) => received,
            };
            match received {
                Ok((length, address)) => {
                    let datagram = Inbound::Datagram {
                        peer: Peer::udp(address),
                        bytes: buffer[..length].to_vec(),
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
    inbound: mpsc::Sender<Inbound>,
    counter: Arc<ConnectionCounter>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
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
            // phone's delayed ACK (~40 ms, issue 14); SIP wants each message out now.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
            let Some(slot) = limits.admit(address.ip()) else {
                limits
                    .metrics
                    .tcp_connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%address, "TCP connection limit reached; refusing");
                continue;
            };
            let connection = counter.next();
            let inbound = inbound.clone();
            let shutdown = shutdown.clone();
            let idle = limits.idle;
            let acceptor = tls.clone();
            tokio::spawn(async move {
                match acceptor {
                    None => {
                        run_connection(
                            stream,
                            Transport::Tcp,
                            address,
                            connection,
                            inbound,
                            idle,
                            shutdown,
                        )
                        .await
                    }
                    Some(acceptor) => {
                        // A silent client must not hold a connection slot forever.
                        let handshake =
                            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                        match handshake.await {
                            Ok(Ok(stream)) => {
                                run_connection(
                                    stream,
                                    Transport::Tls,
                                    address,
                                    connection,
                                    inbound,
                                    idle,
                                    shutdown,
                                )
                                .await
                            }
                            _ => tracing::debug!(%address, "SIP TLS handshake failed"),
                        }
                    }
                }
                drop(slot);
            });
        }
    });
}

/// Connects out to `address` (a restored subscription whose connection is
/// gone) and runs the connection like an accepted one.
pub fn spawn_outbound(
    address: SocketAddr,
    connection: ConnectionId,
    inbound: mpsc::Sender<Inbound>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "TCP_NODELAY not set");
                }
                run_connection(
                    stream,
                    Transport::Tcp,
                    address,
                    connection,
                    inbound,
                    OUTBOUND_IDLE,
                    shutdown,
                )
                .await
            }
            _ => {
                tracing::debug!(%address, "cannot connect to watcher");
                let _ = inbound.send(Inbound::Closed { connection }).await;
            }
        }
    });
}

/// Idle timeout of connections we open ourselves (to restored watchers).
const OUTBOUND_IDLE: Duration = Duration::from_secs(900);

async fn run_connection<S>(
    stream: S,
    transport: Transport,
    address: SocketAddr,
    connection: ConnectionId,
    inbound: mpsc::Sender<Inbound>,
    idle: Duration,
    shutdown: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (sender, mut outgoing) = mpsc::channel::<Vec<u8>>(256);
    if inbound
        .send(Inbound::Opened {
            connection,
            writer: sender,
        })
        .await
        .is_err()
    {
        return;
    }
    let peer = Peer {
        transport,
        address,
        connection: Some(connection),
    };
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            () = shutdown.cancelled() => break,
            read = tokio::time::timeout(idle, reader.read(&mut buffer)) => read,
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(length)) => {
                let bytes = buffer[..length].to_vec();
                if inbound.send(Inbound::Stream { peer, bytes }).await.is_err() {
                    break;
                }
            }
            Err(_) => {
                tracing::debug!(%address, "idle TCP connection closed");
                break;
            }
        }
    }
    write_task.abort();
    let _ = inbound.send(Inbound::Closed { connection }).await;
}

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
