//! One SIP TCP/TLS connection, accepted or opened by us: it frames the
//! byte stream itself so that it can police it before the driver sees
//! anything:
//! - a message must arrive whole within `[limits] request_timeout` of its
//!   first byte, and only complete messages (or CRLF keep-alives) reset
//!   the idle timer — a sender trickling one byte a second is dropped;
//! - each message counts against the per-address SIP rate; over it, the
//!   connection stops reading until the address has a token again, so a
//!   flooding sender is slowed by TCP's own flow control and costs us no
//!   framing work (dropping and reading on would let one address keep the
//!   runtime busy framing messages it then throws away, starving others);
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
use tokio_util::task::TaskTracker;

use super::connection_limits::ConnectionSlot;
use super::sip_inbound::Inbound;
use super::sip_rate::SipRateLimit;
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
    /// Where connection tasks are spawned, so shutdown can wait for them.
    pub tasks: TaskTracker,
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
    let write_task = policy.tasks.spawn({
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
                let waited = tokio::select! {
                    () = policy.shutdown.cancelled() => return Ending::Closed,
                    () = driver_closed.cancelled() => return Ending::DriverClosed,
                    waited = wait_for_token(policy, peer) => waited,
                };
                if !waited {
                    return Ending::Closed;
                }
            }
            let message = Inbound::Stream { peer, bytes };
            if policy.inbound.send(message).await.is_err() {
                return Ending::Closed;
            }
        }
        // After any wait for the rate: deadlines count from here.
        let now = Instant::now();
        if completed {
            idle_until = now + idle;
        }
        // Line ends alone (a lone CRLF keep-alive) start no deadline.
        message_until = match (framer.holds_partial_message(), message_until) {
            (false, _) => None,
            // A new message started in this read: its own deadline.
            (true, None) => Some(now + policy.message_deadline),
            (true, Some(_)) if completed => Some(now + policy.message_deadline),
            (true, Some(until)) => Some(until),
        };
    }
}

/// Waits until `peer`'s address may send again (polling its bucket, at
/// most once per `RATE_POLL`); `false` if it did not get a token within
/// the idle time (then the connection is given up).
async fn wait_for_token(policy: &StreamPolicy, peer: Peer) -> bool {
    let give_up = Instant::now() + policy.idle;
    while Instant::now() < give_up {
        tokio::time::sleep(RATE_POLL).await;
        if policy.rate.try_take(peer.address.ip()) {
            return true;
        }
    }
    false
}

/// How often a throttled connection checks its address's bucket.
const RATE_POLL: Duration = Duration::from_millis(20);
