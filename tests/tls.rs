//! TLS with a freshly generated self-signed certificate (openssl, as
//! docs/DEPLOY.md shows admins): HTTPS provisioning, SIP over TLS with the
//! NOTIFY coming back over the watcher's own connection, and `check`
//! refusing a key that does not belong to the certificate.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn make_certificate(folder: &Path, name: &str) {
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

fn tls_client(certificate: &Path, address: std::net::SocketAddr) -> StreamOwned<ClientConnection, TcpStream> {
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
    let socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    StreamOwned::new(connection, socket)
}

fn read_message(stream: &mut impl Read) -> String {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !text.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("message");
        text.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&text).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Content-Length: ")
                .or_else(|| l.strip_prefix("content-length: "))
        })
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn https_provisioning_and_sip_over_tls() {
    let certificates = tempfile::tempdir().unwrap();
    make_certificate(certificates.path(), "server");
    let cert = certificates.path().join("server.pem");
    let key = certificates.path().join("server.key");
    let http = format!(
        "{HTTP_CREDENTIALS}\ntls_cert = {:?}\ntls_key = {:?}",
        cert.display().to_string(),
        key.display().to_string()
    );
    // One tls: listener beside UDP and TCP, on its own free port.
    let tls_port = support::free_port();
    let mut server = Server::start_full(&http, "require_auth = false", SAMPLE_BODY, &[]);
    let text = std::fs::read_to_string(&server.config_path).unwrap().replace(
        &format!("\"tcp:127.0.0.1:{}\"]", server.sip.port()),
        &format!(
            "\"tcp:127.0.0.1:{}\", \"tls:127.0.0.1:{tls_port}\"]",
            server.sip.port()
        ),
    );
    std::fs::write(&server.config_path, text).unwrap();
    server.restart();

    // HTTPS: the config, with https URLs inside; plain HTTP gets nothing.
    let mut stream = tls_client(&cert, server.http);
    write!(
        stream,
        "GET /0019159c1a2b.cfg HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic cHJvdmlzaW9uOmh0dHAtc2VjcmV0LXB3\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    // The phonebook sits under the phone's token path (DECISIONS §7).
    let contacts = format!("<contacts url=\"https://127.0.0.1:{}/p/", server.http.port());
    assert!(
        answer.contains(&contacts) && answer.contains("/0019159c1a2b-contacts.xml\""),
        "{answer}"
    );

    // SIP over TLS: SUBSCRIBE, 200, and the NOTIFY on the same connection.
    let mut sip = tls_client(&cert, format!("127.0.0.1:{tls_port}").parse().unwrap());
    write!(
        sip,
        "SUBSCRIBE sip:2001@127.0.0.1:{tls_port};transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1\r\nFrom: <sip:2000@127.0.0.1>;tag=t\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: tls-1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:2000@127.0.0.1:5999;transport=tls>\r\nUser-Agent: Digium D65\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let ok = read_message(&mut sip);
    assert!(ok.starts_with("SIP/2.0 200 OK"), "{ok}");
    assert!(
        ok.contains(&format!("Contact: <sip:2001@127.0.0.1:{tls_port};transport=tls>")),
        "{ok}"
    );
    let notify = read_message(&mut sip);
    assert!(
        notify.starts_with("NOTIFY sip:2000@127.0.0.1:5999;transport=tls SIP/2.0"),
        "{notify}"
    );
    assert!(
        notify.contains(&format!("Via: SIP/2.0/TLS 127.0.0.1:{tls_port};branch=")),
        "{notify}"
    );
    assert!(notify.contains("<digium_presence type=\"not_set\" />"));
}

#[test]
fn check_refuses_a_key_that_does_not_match() {
    let folder = tempfile::tempdir().unwrap();
    make_certificate(folder.path(), "one");
    make_certificate(folder.path(), "two");
    let config = "[general]\nserver_address = \"x\"\n[http]\nlisten = \"127.0.0.1:8443\"\nusername = \"a\"\npassword = \"b\"\ntls_cert = \"one.pem\"\ntls_key = \"two.key\"\n";
    let path = folder.path().join("phones.toml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("one.pem and key") && stdout.contains("do not go together"),
        "{stdout}"
    );
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("two.key", "one.key"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("one.pem", "missing.pem"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("cannot read certificates from"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
