//! Waiting for the signals that end the process.

use std::future::Future;

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, `kill`). The handlers
/// are installed when this is *called*, not when the future is first
/// polled: call it before the listeners open, so that a SIGTERM sent as
/// soon as the server answers stops it cleanly instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut terminate = match terminate {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                    let _ = interrupt.await;
                    return;
                }
            };
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = interrupt.await;
        }
    }
}
