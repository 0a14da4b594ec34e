//! `ServerError`: why the server could not start. Each variant names the
//! step that failed, so `main` can say so and exit 1.

use std::net::SocketAddr;

use super::exposure::ExposureError;
use super::tls::TlsError;
use crate::provision::RenderError;
use crate::store::StoreError;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    SipBind(#[from] super::sip_driver::BindError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("refusing to start: {0}")]
    Exposure(#[from] ExposureError),
    #[error("refusing to start: [asterisk] needs a secret: set [asterisk] secret or OPENDPMA_AMI_SECRET")]
    MissingAmiSecret,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}
