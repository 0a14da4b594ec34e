//! TLS material: loading a PEM certificate chain and key into a rustls
//! server configuration (ring provider), for HTTPS provisioning and SIP
//! over TLS. `opendpma check` runs the same loading, so a bad or
//! mismatched pair is found before a restart, not during one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::Config;

/// Why TLS material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificates from {}: {detail}", path.display())]
    Certificates { path: PathBuf, detail: String },
    #[error("{} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("cannot read a private key from {}: {detail}", path.display())]
    Key { path: PathBuf, detail: String },
    #[error("certificate {} and key {} do not go together: {source}", cert.display(), key.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// A TLS acceptor for `cert` and `key` (PEM files).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<Result<_, _>>())
        .map_err(|error| TlsError::Certificates {
            path: cert.to_path_buf(),
            detail: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.to_path_buf(),
        detail: error.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |source| TlsError::Mismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(mismatch)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The acceptor for HTTPS provisioning, if `[http]` has TLS material.
pub fn http_acceptor(config: &Config) -> Result<Option<TlsAcceptor>, TlsError> {
    match (&config.http.tls_cert, &config.http.tls_key) {
        (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
        _ => Ok(None),
    }
}

/// The acceptor for `tls:` SIP listeners: `[sip]`'s material, else `[http]`'s.
pub fn sip_acceptor(config: &Config) -> Result<Option<TlsAcceptor>, TlsError> {
    match (&config.sip.tls_cert, &config.sip.tls_key) {
        (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
        _ => http_acceptor(config),
    }
}

/// Every TLS problem of a config (for `opendpma check`).
pub fn check(config: &Config) -> Vec<TlsError> {
    let mut problems = Vec::new();
    if let Err(error) = http_acceptor(config) {
        problems.push(error);
    }
    if config.sip.tls_cert.is_some()
        && let Err(error) = sip_acceptor(config)
    {
        problems.push(error);
    }
    problems
}
