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
