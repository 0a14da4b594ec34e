//! A reload reaches SIP state in one place, in a documented order
//! (`server/sip_driver/new_snapshot.rs`): credentials and line access,
//! then hints, then check-sync. Over the wire: a reload that removes the
//! line a phone watches and changes that phone's own line secret ends the
//! watch with `noresource` (RFC 6665 §4.2.2) *before* the check-sync goes
//! out, and the check-sync already answers challenges with the new
//! secret.

mod support;

use std::time::Duration;

use opendpma::auth::DigestCredentials;
use opendpma::sip::{Message, Request};
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server};

const WAIT: Duration = Duration::from_secs(10);

fn subscribe(phone: &SipClient, cseq: u32, authorization: Option<&str>) -> String {
    let local = phone.local();
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:2002@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKreload{cseq};rport\r\nFrom: <sip:2000@127.0.0.1>;tag=r\r\nTo: <sip:2002@{server}>\r\nCall-ID: reload-order\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:2000@{local}>\r\nEvent: presence\r\nExpires: 600\r\nUser-Agent: Digium D65 2_9_27\r\n{authorization}Content-Length: 0\r\n\r\n",
        server = phone.server,
    )
}

/// Everything the driver read before this OPTIONS is handled by the time
/// its answer comes back: one socket, one queue, handled in order.
fn barrier(phone: &SipClient) {
    let local = phone.local();
    phone.send(&format!(
        "OPTIONS sip:2000@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKbarrier;rport\r\nFrom: <sip:2000@127.0.0.1>;tag=b\r\nTo: <sip:2000@{server}>\r\nCall-ID: barrier\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        server = phone.server,
    ));
    assert_eq!(phone.response(WAIT).code, 200);
}

fn next_request(phone: &SipClient) -> Request {
    match phone.receive(WAIT) {
        Some(Message::Request(request)) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The challenge a phone puts to a check-sync, in our realm.
const PHONE_CHALLENGE: &str =
    "WWW-Authenticate: Digest realm=\"opendpma\", nonce=\"phone-nonce\", algorithm=MD5, qop=\"auth\"\r\n";

#[test]
fn a_reload_applies_credentials_then_hints_then_check_sync() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    phone.send(&subscribe(&phone, 1, None));
    let challenge = phone.response(WAIT);
    assert_eq!(challenge.code, 401);
    let uri = format!("sip:2002@{}", server.sip);
    let authorization = phone.authorization(&challenge, "SUBSCRIBE", &uri);
    phone.send(&subscribe(&phone, 2, Some(&authorization)));
    assert_eq!(phone.response(WAIT).code, 200);
    phone.notify(WAIT);
    barrier(&phone);
    assert!(
        server.wait_for_log("phone contact recorded phone=bob", WAIT),
        "{}",
        server.log()
    );

    // Line 2002 goes; line 2000 (bob's own) gets a new secret.
    let body = SAMPLE_BODY
        .replace(
            "[lines.2002]\nsecret = \"line-secret-2002\"\nlabel = \"Reception\"\n",
            "",
        )
        .replace("contacts = [\"2001\", \"2002\"]", "contacts = [\"2001\"]")
        .replace("line-secret-2000", "line-secret-2000-new");
    assert_ne!(body, SAMPLE_BODY);
    server.replace_config(&server.config_with(HTTP_CREDENTIALS, &body));

    let ended = next_request(&phone);
    assert_eq!(ended.method.as_str(), "NOTIFY");
    assert_eq!(ended.headers.get("Event"), Some("presence"));
    assert_eq!(
        ended.headers.get("Subscription-State"),
        Some("terminated;reason=noresource"),
        "the watch ends first"
    );
    phone.answer(&ended, 200);

    let check_sync = next_request(&phone);
    assert_eq!(
        check_sync.headers.get("Event"),
        Some("check-sync"),
        "then the check-sync"
    );
    phone.answer_with(&check_sync, 401, PHONE_CHALLENGE);
    let retry = next_request(&phone);
    let credentials = opendpma::auth::parse_digest(retry.headers.get("Authorization").expect("credentials"))
        .expect("a digest answer");
    let expected = DigestCredentials {
        response: String::new(),
        ..credentials.clone()
    }
    .expected_response("NOTIFY", "line-secret-2000-new");
    assert_eq!(
        credentials.response, expected,
        "signed with the secret the reload brought"
    );
    phone.answer(&retry, 200);
    assert!(
        server.wait_for_log(
            "automatic check-sync after reload phone=bob outcome=Answered { code: 200 }",
            WAIT
        ),
        "{}",
        server.log()
    );
}
