//! One SIP TCP/TLS connection, accepted or opened by us: it frames the
//! byte stream itself so that it can police it before the driver sees
//! anything (issue 17):
//! - a message must arrive whole within `[limits] request_timeout` of its
//!   first byte, and only complete messages (or CRLF keep-alives) reset
//!   the idle timer — a sender trickling one byte a second is dropped;
//! - each message counts against the per-address SIP rate;
//! - a framing error (bad or missing Content-Length, an oversized head)
//!   closes the connection: nothing after it can be trusted to be framed;
//! - when the driver drops the connection's writer, the connection closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection_limits::ConnectionSlot;
use super::sip_rate::SipRateLimit;
use super::sip_transport::Inbound;
use crate::config::Transport;
use crate::metrics::Metrics;
use crate::sip::framing::{Frame, StreamFramer};
use crate::sip::{ConnectionId, Peer};

/// What every stream connection shares.
#[derive(Debug, Clone)]
pub struct StreamPolicy {
    /// Without a complete message for this long, the connection closes.
    pub idle: Duration,
    /// A message must be complete this long after its first byte.
    pub message_deadline: Duration,
    pub rate: Arc<SipRateLimit>,
    pub metrics: Arc<Metrics>,
    pub inbound: mpsc::Sender<Inbound>,
    pub shutdown: CancellationToken,
}

/// Why a connection ended (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Closed,
    Idle,
    SlowMessage,
    Unframeable,
    DriverClosed,
}

/// Runs `stream` until it ends, then tells the driver. `slot` (its place
/// under the connection caps) is held until then.
pub async fn run<S>(
    stream: S,
    transport: Transport,
    address: SocketAddr,
    connection: ConnectionId,
    idle: Duration,
    policy: StreamPolicy,
    slot: ConnectionSlot,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (sender, mut outgoing) = mpsc::channel::<Vec<u8>>(256);
    let opened = Inbound::Opened {
        connection,
        writer: sender,
    };
    if policy.inbound.send(opened).await.is_err() {
        return;
    }
    let driver_closed = CancellationToken::new();
    let write_task = tokio::spawn({
        let driver_closed = driver_closed.clone();
        async move {
            while let Some(bytes) = outgoing.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            // The driver dropped our writer (or writing failed): close.
            let _ = writer.shutdown().await;
            driver_closed.cancel();
        }
    });
    let peer = Peer {
        transport,
        address,
        connection: Some(connection),
    };
    let ending = read_messages(&mut reader, peer, idle, &policy, &driver_closed).await;
    match ending {
        Ending::SlowMessage => {
            policy.metrics.request_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%peer, "closing a connection whose message did not arrive in time");
        }
        Ending::Unframeable => tracing::info!(%peer, "closing a connection that cannot be framed"),
        Ending::Idle => tracing::debug!(%peer, "idle connection closed"),
        Ending::Closed | Ending::DriverClosed => tracing::debug!(%peer, ?ending, "connection closed"),
    }
    write_task.abort();
    let _ = policy.inbound.send(Inbound::Closed { connection }).await;
    drop(slot);
}

async fn read_messages<R>(
    reader: &mut R,
    peer: Peer,
    idle: Duration,
    policy: &StreamPolicy,
    driver_closed: &CancellationToken,
) -> Ending
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut framer = StreamFramer::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let mut idle_until = Instant::now() + idle;
    // Set while part of a message is buffered: when it must be complete.
    let mut message_until: Option<Instant> = None;
    loop {
        let deadline = message_until.unwrap_or(idle_until);
        let read = tokio::select! {
            () = policy.shutdown.cancelled() => return Ending::Closed,
            () = driver_closed.cancelled() => return Ending::DriverClosed,
            () = tokio::time::sleep_until(deadline) => {
                return if message_until.is_some() { Ending::SlowMessage } else { Ending::Idle };
            }
            read = reader.read(&mut buffer) => read,
        };
        let length = match read {
            Ok(0) | Err(_) => return Ending::Closed,
            Ok(length) => length,
        };
        let now = Instant::now();
        framer.push(&buffer[..length]);
        let mut completed = false;
        loop {
            let bytes = match framer.next_frame() {
                Ok(Some(Frame::Message(message))) => message,
                // The endpoint answers the ping with a pong.
                Ok(Some(Frame::KeepAlive)) => b"\r\n\r\n".to_vec(),
                Ok(None) => break,
                Err(_) => return Ending::Unframeable,
            };
            completed = true;
            if !policy.rate.allow(peer.address.ip()) {
                continue;
            }
            let message = Inbound::Stream { peer, bytes };
            if policy.inbound.send(message).await.is_err() {
                return Ending::Closed;
            }
        }
        if completed {
            idle_until = now + idle;
        }
        message_until = match (framer.pending() > 0, message_until) {
            (false, _) => None,
            // A new message started in this read: its own deadline.
            (true, None) => Some(now + policy.message_deadline),
            (true, Some(_)) if completed => Some(now + policy.message_deadline),
            (true, Some(until)) => Some(until),
        };
    }
}
