//! TLS with a freshly generated self-signed certificate (openssl, as
//! docs/DEPLOY.md shows admins): HTTPS provisioning, SIP over TLS with the
//! NOTIFY coming back over the watcher's own connection, and `check`
//! refusing a key that does not belong to the certificate.

mod support;

use std::io::{Read, Write};
use std::process::Command;

use support::tls_client::{make_certificate, start_tls_server, tls_client};
use support::{HTTP_CREDENTIALS, SAMPLE_BODY};

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
    if !support::require("openssl", "openssl") {
        return;
    }
    // One tls: listener beside UDP and TCP, on its own free port.
    let started = start_tls_server(HTTP_CREDENTIALS, "require_auth = false", SAMPLE_BODY);
    let (server, cert, tls_port) = (
        &started.server,
        started.certificate.clone(),
        started.sip_tls.port(),
    );

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
    // The phonebook sits under the phone's token path (DECISIONS §15).
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
    if !support::require("openssl", "openssl") {
        return;
    }
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
