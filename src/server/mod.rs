//! The tokio drivers: everything that owns a socket, a task or a signal.
//! Protocol and domain decisions live in the sans-IO modules; this module
//! moves bytes and time to and from them.

mod shutdown;

use crate::config::Config;

pub use shutdown::shutdown_signal;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Runs the server on `config` until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    tracing::info!(config = %config.source.display(), summary = %config.summary(), "configuration loaded");
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(())
}
