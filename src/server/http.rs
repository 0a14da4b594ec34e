//! Serving an axum router on a bound TCP listener until shutdown.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::ServerError;

/// Binds `address` now (so start-up fails loudly on a taken port).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })
}

/// Serves `router` on `listener` until `shutdown`, then lets in-flight
/// requests finish.
pub fn spawn(name: &'static str, listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let local = listener.local_addr().ok();
    tracing::info!(listener = name, address = ?local, "listening (http)");
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::error!(listener = name, %error, "http listener failed");
        }
    });
}

/// Serves `router` over TLS: a handshake per connection (bounded by a
/// timeout, so a silent client cannot hold a task forever), then HTTP/1.1.
pub fn spawn_tls(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: CancellationToken,
) {
    let local = listener.local_addr().ok();
    tracing::info!(listener = name, address = ?local, "listening (https)");
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(listener = name, %error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => return tracing::debug!(%peer, %error, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                };
                // The router reads the peer address like axum's own server provides it.
                let router = router.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
                let service = hyper_util::service::TowerToHyperService::new(router);
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "https connection ended with an error");
                }
            });
        }
    });
}
