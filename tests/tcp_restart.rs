//! Issue 17 item 5: a subscription made over TCP survives a restart. The
//! watcher's connection dies with the old process; afterwards NOTIFYs must
//! go to the watcher's Contact (where it listens), not to the ephemeral
//! source port its connection had.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use opendpma::sip::{Framing, Message, Request, Response, parse};
use std::time::Instant;

use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

/// One SIP message from a stream (head up to CRLFCRLF, then the body).
fn read_message(stream: &mut impl Read) -> Message {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !text.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("a message");
        text.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&text).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().expect("a length"));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the body");
    text.extend_from_slice(&body);
    parse(&text, Framing::Stream).expect("valid SIP")
}

fn response(stream: &mut impl Read) -> Response {
    match read_message(stream) {
        Message::Response(response) => response,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn notify(stream: &mut impl Read) -> Request {
    match read_message(stream) {
        Message::Request(request) if request.method.as_str() == "NOTIFY" => request,
        other => panic!("expected a NOTIFY, got {other:?}"),
    }
}

fn ok_to(request: &Request) -> String {
    let mut text = String::from("SIP/2.0 200 OK\r\n");
    for via in request.headers.lines("Via") {
        text.push_str(&format!("Via: {via}\r\n"));
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        text.push_str(&format!("{name}: {}\r\n", request.headers.get(name).unwrap()));
    }
    text + "Content-Length: 0\r\n\r\n"
}

/// Subscribes (with digest) from a fresh TCP connection whose Contact is
/// `contact`; `expires` 0 is a one-time fetch. Returns the connection.
fn subscribe_over_tcp(server: &Server, contact: &TcpListener, expires: u32) -> TcpStream {
    let contact_port = contact.local_addr().unwrap().port();
    let mut connection = TcpStream::connect(server.sip).unwrap();
    connection.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let uri = format!("sip:2001@{}", server.sip);
    let subscribe = |cseq: u32, authorization: &str| {
        format!(
            "SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{contact_port};branch=z9hG4bKtcp{cseq}\r\nFrom: <sip:2000@127.0.0.1>;tag=tcpwatch\r\nTo: <{uri}>\r\nCall-ID: tcp-restart@test\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:2000@127.0.0.1:{contact_port};transport=tcp>\r\nUser-Agent: Digium D65 2_9_27\r\nEvent: presence\r\nExpires: {expires}\r\n{authorization}Content-Length: 0\r\n\r\n"
        )
    };
    connection.write_all(subscribe(1, "").as_bytes()).unwrap();
    let challenge = response(&mut connection);
    assert_eq!(challenge.code, 401);
    // The digest arithmetic of the UDP test client serves TCP as well.
    let mut digest = SipClient::new(server.sip, "2000", "line-secret-2000");
    let authorization = digest.authorization(&challenge, "SUBSCRIBE", &uri);
    let header = format!("Authorization: {authorization}\r\n");
    connection.write_all(subscribe(2, &header).as_bytes()).unwrap();
    assert_eq!(response(&mut connection).code, 200);
    let first = notify(&mut connection);
    connection.write_all(ok_to(&first).as_bytes()).unwrap();
    connection
}

/// The first connection the server makes to `contact` (within 15 s).
fn accept_from_server(contact: &TcpListener) -> TcpStream {
    contact.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let stream = loop {
        match contact.accept() {
            Ok((stream, _)) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("the server never connected to the Contact: {error}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream
}

#[test]
fn a_tcp_subscription_survives_a_restart_via_the_contact() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    // Where the watcher listens (its Contact), apart from its connection.
    let contact = TcpListener::bind("127.0.0.1:0").unwrap();
    let connection = subscribe_over_tcp(&server, &contact, 600);

    server.restart();
    drop(connection);
    let set = server.admin_request(
        "PUT",
        "/api/v1/presence/CustomPresence:2001",
        Some(r#"{"state":"dnd","message":"after restart"}"#),
    );
    assert_eq!(set.map(|(status, _)| status), Some(200));

    // The server connects to the Contact and the NOTIFY arrives there.
    let mut stream = accept_from_server(&contact);
    // The NOTIFY sent on restore may come first; then the change.
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let request = notify(&mut stream);
        stream.write_all(ok_to(&request).as_bytes()).unwrap();
        bodies.push(String::from_utf8_lossy(&request.body).into_owned());
        if bodies.last().is_some_and(|b| b.contains("after restart")) {
            break;
        }
    }
    let body = bodies.last().expect("a NOTIFY");
    assert!(
        body.contains("<digium_presence type=\"dnd\">after restart</digium_presence>"),
        "{bodies:?}"
    );
    assert_eq!(server.metric("opendpma_sip_subscriptions"), Some(1));
}

/// The same for check-sync: a phone heard from over TCP (authenticated)
/// is reached at its Contact after a restart, not at its old source port.
#[test]
fn a_check_sync_after_a_restart_reaches_a_tcp_phone_at_its_contact() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let contact = TcpListener::bind("127.0.0.1:0").unwrap();
    drop(subscribe_over_tcp(&server, &contact, 0));
    assert!(server.wait_for_log("phone contact recorded phone=bob", Duration::from_secs(2)));
    // A clean restart: the contact record is written in the background
    // (nobody waits for it), so a kill -9 right after may lose it.
    server.restart_cleanly();
    let server = &server;
    std::thread::scope(|scope| {
        let reconfigure = scope.spawn(|| server.admin_request("POST", "/api/v1/reconfigure/bob", None));
        let mut phone = accept_from_server(&contact);
        let check_sync = notify(&mut phone);
        assert_eq!(check_sync.headers.get("Event"), Some("check-sync"));
        phone.write_all(ok_to(&check_sync).as_bytes()).unwrap();
        assert_eq!(
            reconfigure.join().unwrap().map(|(_, body)| body).as_deref(),
            Some(r#"[{"phone":"bob","result":"answered","code":200}]"#)
        );
    });
}

/// A check-sync never goes over another connection that merely comes from
/// the phone's old address: behind a shared NAT a later connection from
/// that address:port may be anyone's. Here the phone's connection closes
/// and a new one is opened from the very same 127.0.0.1 port; the
/// check-sync must reach the phone's Contact, and that connection nothing.
#[test]
fn a_check_sync_never_takes_a_later_connection_from_the_phones_old_address() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let contact = TcpListener::bind("127.0.0.1:0").unwrap();
    let phone = subscribe_over_tcp(&server, &contact, 0);
    assert!(server.wait_for_log("phone contact recorded phone=bob", Duration::from_secs(2)));
    let mut phone = phone;
    let old_address = phone.local_addr().unwrap();
    // The server closes first (a message it cannot frame), so the port is
    // free on our side at once rather than in TIME_WAIT.
    phone
        .write_all(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: -1\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = phone.read_to_end(&mut rest);
    drop(phone);
    // Someone else connects from the phone's old address and port (on
    // loopback Linux reuses a TIME_WAIT pair for a new connection).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sip = server.sip;
    let mut other = runtime
        .block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                // Until the server has closed its side too, the port is
                // still taken.
                let attempt = async {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.set_reuseaddr(true)?;
                    socket.bind(old_address)?;
                    socket.connect(sip).await
                };
                match attempt.await {
                    Ok(stream) => return Ok::<_, std::io::Error>(stream),
                    Err(error) if Instant::now() > deadline => return Err(error),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        })
        .expect("a connection from the phone's old address")
        .into_std()
        .unwrap();
    other.set_nonblocking(false).unwrap();
    // Let the server take the connection in before the reconfigure.
    other.write_all(b"\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let server = &server;
    std::thread::scope(|scope| {
        let reconfigure = scope.spawn(|| server.admin_request("POST", "/api/v1/reconfigure/bob", None));
        let mut phone = accept_from_server(&contact);
        let check_sync = notify(&mut phone);
        assert_eq!(check_sync.headers.get("Event"), Some("check-sync"));
        phone.write_all(ok_to(&check_sync).as_bytes()).unwrap();
        assert_eq!(
            reconfigure.join().unwrap().map(|(_, body)| body).as_deref(),
            Some(r#"[{"phone":"bob","result":"answered","code":200}]"#)
        );
    });
    // It may get the keep-alive pong for its CRLFCRLF, and nothing more.
    other.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut received = Vec::new();
    let _ = other.read_to_end(&mut received);
    let received = String::from_utf8_lossy(&received);
    assert!(
        !received.contains("NOTIFY"),
        "the other connection got: {received}"
    );
}
