//! Binding the `[sip] listen` sockets before the driver starts.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};

use tokio::net::TcpListener;

use crate::config::{Config, Transport};

/// A `[sip] listen` address that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {source}")]
pub struct BindError {
    pub address: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Bound sockets, before the driver runs.
pub struct SipSockets {
    /// Non-blocking std sockets: they are registered with the SIP thread's
    /// own runtime when it starts (`spawn`), not with the caller's.
    pub(super) udp: Vec<UdpSocket>,
    /// Stream listeners, with the TLS acceptor for `tls:` ones.
    pub(super) streams: Vec<(TcpListener, Option<tokio_rustls::TlsAcceptor>)>,
    pub(super) ports: HashMap<Transport, u16>,
}

/// Binds every `[sip] listen` entry now, so start-up fails on a taken port.
pub async fn bind(config: &Config, tls: Option<tokio_rustls::TlsAcceptor>) -> Result<SipSockets, BindError> {
    let mut sockets = SipSockets {
        udp: Vec::new(),
        streams: Vec::new(),
        ports: HashMap::new(),
    };
    for listen in &config.sip.listen {
        let address = listen.address;
        let bind_error = |source| BindError { address, source };
        match listen.transport {
            Transport::Udp => {
                let socket = UdpSocket::bind(address).map_err(bind_error)?;
                socket.set_nonblocking(true).map_err(bind_error)?;
                crate::server::udp_buffers::enlarge(&socket);
                let port = socket.local_addr().map_err(bind_error)?.port();
                sockets.ports.entry(Transport::Udp).or_insert(port);
                tracing::info!(address = %socket.local_addr().map_err(bind_error)?, "listening (sip/udp)");
                sockets.udp.push(socket);
            }
            Transport::Tcp | Transport::Tls => {
                let listener = TcpListener::bind(address).await.map_err(bind_error)?;
                let port = listener.local_addr().map_err(bind_error)?.port();
                sockets.ports.entry(listen.transport).or_insert(port);
                tracing::info!(address = %listener.local_addr().map_err(bind_error)?, "listening (sip/{})", listen.transport);
                // Validation guarantees a certificate for tls: listeners.
                let acceptor = (listen.transport == Transport::Tls)
                    .then(|| tls.clone())
                    .flatten();
                sockets.streams.push((listener, acceptor));
            }
        }
    }
    Ok(sockets)
}
