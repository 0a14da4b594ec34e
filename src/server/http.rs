//! Serving an axum router (provisioning or admin, HTTP or HTTPS) on a
//! bound TCP listener until shutdown, with the limits every listener
//! has: connection caps in total and per source address, a TLS
//! handshake and request-head deadline that bytes do not extend (hyper's
//! header read timeout runs from the moment the connection waits for a
//! head, including between keep-alive requests, and is only reset by a
//! complete head), a deadline for the rest of a request (body and
//! handler), a limit on how long sending an answer may stay blocked (a
//! client that never reads), and optionally a per-address request rate (429).
//! A 429 is held back for `TARPIT` before it is sent: HTTP/1.1 answers in
//! order, so a client flooding over its connections is slowed to one
//! request per connection per `TARPIT` instead of keeping the server busy
//! refusing it, while other addresses are served as usual.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection_limits::ConnectionLimits;
use super::write_deadline::WriteDeadline;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// How one listener is served.
pub struct Listener {
    pub name: &'static str,
    pub listener: TcpListener,
    pub router: Router,
    /// HTTPS when set.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub connections: ConnectionLimits,
    /// For a TLS handshake, and for each request head.
    pub request_timeout: Duration,
    pub metrics: Arc<Metrics>,
}

/// How long requests in flight at shutdown have to finish; then their
/// connections are dropped. Most answers take milliseconds, but a
/// reconfigure waits up to 5 s for phones, and the stop as a whole must
/// stay within `app::STOP_DEADLINE`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1000);

/// Serves until `shutdown`, in tasks owned by `tasks`; then the listener
/// closes, idle connections close, and requests in flight get
/// `SHUTDOWN_GRACE` to be answered.
pub fn spawn(listener: Listener, shutdown: CancellationToken, tasks: &TaskTracker) {
    let Listener {
        name,
        listener,
        router,
        tls,
        connections,
        request_timeout,
        metrics,
    } = listener;
    let local = listener.local_addr().ok();
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listener = name, address = ?local, "listening ({scheme})");
    let connection_tasks = tasks.clone();
    tasks.spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                () = shutdown.cancelled() => {
                    tracing::debug!(listener = name, "no longer accepting");
                    return;
                }
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(listener = name, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Over a cap: the stream drops here, closing the connection.
            let Some(slot) = connections.admit(peer.ip()) else {
                continue;
            };
            // The router reads the peer address like axum's own server provides it.
            let deadline = REQUEST_DEADLINE_FACTOR * request_timeout;
            let router = router
                .clone()
                .layer(axum::middleware::from_fn(tarpit))
                .layer(axum::middleware::from_fn_with_state(deadline, within_deadline))
                .layer(axum::Extension(ConnectInfo(peer)));
            let tls = tls.clone();
            let shutdown = shutdown.clone();
            let metrics = metrics.clone();
            connection_tasks.spawn(async move {
                let timed_out = match tls {
                    None => serve_connection(stream, router, request_timeout, shutdown).await,
                    Some(acceptor) => {
                        let handshake = tokio::time::timeout(request_timeout, acceptor.accept(stream));
                        match handshake.await {
                            Ok(Ok(stream)) => {
                                serve_connection(stream, router, request_timeout, shutdown).await
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                                false
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                true
                            }
                        }
                    }
                };
                if timed_out {
                    metrics.request_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                drop(slot);
            });
        }
    });
}

/// Serves one connection; `true` if it ended because a request head (or
/// the next one, on an idle keep-alive connection) did not come in time.
async fn serve_connection<S>(
    stream: S,
    router: Router,
    request_timeout: Duration,
    shutdown: CancellationToken,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // A client that stops reading our answers must not hold its slot.
    let stream = WriteDeadline::new(stream, request_timeout);
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!("request still running at shutdown; connection dropped");
                    return false;
                }
            }
        }
    };
    match result {
        Ok(()) => false,
        Err(error) => {
            tracing::debug!(%error, "http connection ended with an error");
            error.is_timeout()
        }
    }
}

/// A request's body and handler together get this many `request_timeout`s
/// (30 s by default): a body trickled a byte at a time is not read forever,
/// and the longest handler (a reconfigure, which waits 5 s for phones)
/// fits. Event streams are not cut: their response starts at once.
const REQUEST_DEADLINE_FACTOR: u32 = 3;

async fn within_deadline(State(deadline): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(axum::http::header::CONNECTION, "close")],
            "request not complete in time\n",
        )
            .into_response(),
    }
}

/// How long a refusal for being over the rate is held back.
const TARPIT: Duration = Duration::from_secs(1);

async fn tarpit(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        tokio::time::sleep(TARPIT).await;
    }
    response
}

/// A per-source-address request rate for `router`: the excess gets 429.
/// (Provisioning has its own, in its access check; this is for the admin
/// API, which had none.)
pub fn rate_limited(router: Router, per_second: u32, metrics: Arc<Metrics>) -> Router {
    let state = Arc::new(RequestRate {
        limiter: Mutex::new(RateLimiter::new(per_second)),
        metrics,
    });
    router.layer(axum::middleware::from_fn_with_state(state, limit_rate))
}

struct RequestRate {
    limiter: Mutex<RateLimiter>,
    metrics: Arc<Metrics>,
}

async fn limit_rate(State(rate): State<Arc<RequestRate>>, request: Request, next: Next) -> Response {
    let ip: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Some(ip) = ip {
        let allowed = rate
            .limiter
            .lock()
            .expect("rate limiter lock is never poisoned")
            .allow(ip, Instant::now());
        if !allowed {
            rate.metrics.http_rate_limited.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response();
        }
    }
    next.run(request).await
}
