//! TLS for wire tests: a fresh self-signed certificate (openssl, as
//! docs/DEPLOY.md shows admins) and a blocking rustls client trusting it.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::Server;

/// A server with a fresh certificate for HTTPS and a `tls:` SIP listener
/// beside UDP and TCP.
pub struct TlsServer {
    pub server: Server,
    /// The `tls:` SIP listener.
    pub sip_tls: std::net::SocketAddr,
    /// The certificate clients trust.
    pub certificate: std::path::PathBuf,
    _folder: tempfile::TempDir,
}

/// Starts a `TlsServer` with `http_settings` (besides the certificate),
/// `sip_settings` and `body`.
pub fn start_tls_server(http_settings: &str, sip_settings: &str, body: &str) -> TlsServer {
    let folder = tempfile::tempdir().unwrap();
    make_certificate(folder.path(), "server");
    let certificate = folder.path().join("server.pem");
    let key = folder.path().join("server.key");
    let http = format!(
        "{http_settings}\ntls_cert = {:?}\ntls_key = {:?}",
        certificate.display().to_string(),
        key.display().to_string()
    );
    let tls_port = super::free_port();
    let mut server = Server::start_full(&http, sip_settings, body, &[]);
    let text = std::fs::read_to_string(&server.config_path).unwrap().replace(
        &format!("\"tcp:127.0.0.1:{}\"]", server.sip.port()),
        &format!(
            "\"tcp:127.0.0.1:{}\", \"tls:127.0.0.1:{tls_port}\"]",
            server.sip.port()
        ),
    );
    std::fs::write(&server.config_path, text).unwrap();
    server.restart();
    TlsServer {
        server,
        sip_tls: std::net::SocketAddr::from(([127, 0, 0, 1], tls_port)),
        certificate,
        _folder: folder,
    }
}

pub fn make_certificate(folder: &Path, name: &str) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        // A leaf, not a CA: TLS clients refuse a CA certificate as the server's.
        .args([
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .arg("-keyout")
        .arg(folder.join(format!("{name}.key")))
        .arg("-out")
        .arg(folder.join(format!("{name}.pem")))
        .output()
        .expect("openssl is installed");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

pub fn tls_client(
    certificate: &Path,
    address: std::net::SocketAddr,
) -> StreamOwned<ClientConnection, TcpStream> {
    tls_over(certificate, TcpStream::connect(address).unwrap())
}

/// A TLS client over an already connected `socket`.
pub fn tls_over(certificate: &Path, socket: TcpStream) -> StreamOwned<ClientConnection, TcpStream> {
    let mut roots = RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(certificate).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(Arc::new(config), name).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    StreamOwned::new(connection, socket)
}
