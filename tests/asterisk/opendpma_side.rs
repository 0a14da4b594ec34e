//! The opendpma side of the Asterisk tests: the server with `[asterisk]`,
//! its admin API (blocking, usable from sync tests), a Digium watcher
//! and a publishing phone (raw SIP over UDP, digest from the library).

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

use crate::harness::wait_until;
use crate::support::sip_client::SipClient;
use crate::support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn start_server(section: &str, env: &[(&str, &str)]) -> Server {
    Server::start_full(HTTP_CREDENTIALS, "", &format!("{SAMPLE_BODY}\n{section}"), env)
}

/// Waits until opendpma has logged in and resynchronised `connects` times.
pub fn wait_synced(server: &Server, connects: u64) {
    let synced = wait_until(WAIT, || {
        server.metric("opendpma_asterisk_connected") == Some(1)
            && server.metric("opendpma_asterisk_connects_total") >= Some(connects)
    });
    assert!(synced, "not synchronised with Asterisk:\n{}", server.log());
}

pub fn admin(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let body = body.map(|body| body.to_string());
    server
        .admin_request(method, path, body.as_deref())
        .expect("the admin API answers")
}

/// A Digium watcher (line 2002) subscribed to `exten` on opendpma;
/// returns it with the body of the first NOTIFY.
pub fn watch(server: &Server, exten: &str) -> (SipClient, String) {
    let mut watcher = SipClient::new(server.sip, "2002", "line-secret-2002");
    let uri = format!("sip:{exten}@{}", server.sip);
    let subscribe = |watcher: &SipClient, cseq: u32, authorization: &str| {
        format!(
            "SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKa{cseq};rport\r\nFrom: <sip:2002@127.0.0.1>;tag=w\r\nTo: <{uri}>\r\nCall-ID: ast-watch-{exten}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:2002@{local}>\r\nUser-Agent: Digium D65 2_9_27\r\nEvent: presence\r\nAccept: application/pidf+xml\r\nExpires: 600\r\n{authorization}Content-Length: 0\r\n\r\n",
            local = watcher.local()
        )
    };
    watcher.send(&subscribe(&watcher, 1, ""));
    let challenge = watcher.response(Duration::from_secs(2));
    assert_eq!(challenge.code, 401);
    let authorization = format!(
        "Authorization: {}\r\n",
        watcher.authorization(&challenge, "SUBSCRIBE", &uri)
    );
    watcher.send(&subscribe(&watcher, 2, &authorization));
    assert_eq!(watcher.response(Duration::from_secs(2)).code, 200);
    let first = watcher.notify(Duration::from_secs(2));
    (watcher, String::from_utf8_lossy(&first.body).into_owned())
}

/// The next NOTIFY body (answered 200).
pub fn next_body(watcher: &SipClient) -> String {
    String::from_utf8_lossy(&watcher.notify(Duration::from_secs(5)).body).into_owned()
}

pub fn note(body: &str) -> &str {
    body.split("<note>")
        .nth(1)
        .and_then(|rest| rest.split("</note>").next())
        .unwrap_or("")
}

pub fn publish(server: &Server, line: &str, kind: &str, text: &str) -> u16 {
    let mut phone = SipClient::new(server.sip, line, &format!("line-secret-{line}"));
    let uri = format!("sip:{line}@{}", server.sip);
    let body = format!(
        "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{uri}\"><tuple id=\"digium-presence\"><status><digium_presence type=\"{kind}\">{text}</digium_presence></status></tuple></presence>"
    );
    let local = phone.local();
    let request = |cseq: u32, authorization: &str| {
        format!(
            "PUBLISH {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKp{cseq};rport\r\nFrom: <sip:{line}@127.0.0.1>;tag=p\r\nTo: <sip:{line}@127.0.0.1>\r\nCall-ID: ast-pub-{line}\r\nCSeq: {cseq} PUBLISH\r\nUser-Agent: Digium D65 2_9_27\r\nEvent: presence\r\nExpires: 300\r\nContent-Type: application/pidf+xml\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
            body.len(),
        )
    };
    phone.send(&request(1, ""));
    let challenge = phone.response(Duration::from_secs(2));
    let authorization = format!(
        "Authorization: {}\r\n",
        phone.authorization(&challenge, "PUBLISH", &uri)
    );
    phone.send(&request(2, &authorization));
    phone.response(Duration::from_secs(2)).code
}
