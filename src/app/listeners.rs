//! `Listeners`: every socket the server answers on, bound before the
//! application starts, so a taken port fails start-up loudly and tests can
//! start the whole application in-process on port 0.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::server::ServerError;
use crate::server::sip_driver::{self, SipSockets};
use crate::server::tls;

/// The SIP sockets and the provisioning and admin TCP listeners.
pub struct Listeners {
    pub(super) sip: SipSockets,
    pub(super) provisioning: TcpListener,
    pub(super) admin: TcpListener,
}

impl Listeners {
    /// Binds `[sip] listen`, `[http] listen` and `[admin] listen` now.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        let sip = sip_driver::bind(config, tls::sip_acceptor(config)?).await?;
        let provisioning = bind_tcp(config.http.listen).await?;
        let admin = bind_tcp(config.admin.listen).await?;
        Ok(Self {
            sip,
            provisioning,
            admin,
        })
    }

    /// Writes the bound HTTP addresses into `config` (they differ from
    /// the configured ones only where it asked for port 0), so documents
    /// name the ports really open.
    pub(super) fn settle_addresses(&self, config: &mut Config) {
        if let Ok(address) = self.provisioning.local_addr() {
            config.http.listen = address;
        }
        if let Ok(address) = self.admin.local_addr() {
            config.admin.listen = address;
        }
    }
}

async fn bind_tcp(address: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })
}
