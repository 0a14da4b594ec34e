//! check-sync end to end: a phone is heard from (an authenticated
//! SUBSCRIBE), the admin asks for a reconfigure, the phone challenges the
//! NOTIFY, opendpma answers with the line's credentials, the phone says
//! 200 and fetches its config; editing phones.toml reconfigures the
//! affected phone by itself. And the hijack of issue 17: a spoofed
//! OPTIONS, a stranger's challenge or a foreign realm get no credentials.

mod support;

use std::time::Duration;

use opendpma::auth::{Algorithm, DigestCredentials};
use opendpma::sip::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client};

fn options_from(phone: &SipClient, exten: &str) -> String {
    let local = phone.local();
    format!(
        "OPTIONS sip:{exten}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKopt{exten};rport\r\nFrom: <sip:{exten}@127.0.0.1>;tag=o\r\nTo: <sip:{exten}@{server}>\r\nCall-ID: opt-{exten}\r\nCSeq: 1 OPTIONS\r\nContact: <sip:{exten}@{local}>\r\nUser-Agent: Digium D65 2_9_27\r\nContent-Length: 0\r\n\r\n",
        server = phone.server
    )
}

fn fetch_2001(phone: &SipClient, cseq: u32, authorization: Option<&str>) -> String {
    let local = phone.local();
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKsub{cseq};rport\r\nFrom: <sip:{user}@127.0.0.1>;tag=s\r\nTo: <sip:2001@{server}>\r\nCall-ID: fetch-{user}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:{user}@{local}>\r\nEvent: presence\r\nExpires: 0\r\nUser-Agent: Digium D65 2_9_27\r\n{authorization}Content-Length: 0\r\n\r\n",
        server = phone.server,
        user = phone.user,
    )
}

/// The phone makes itself known the only way that counts: a request that
/// passes digest (here a one-time fetch of 2001's state).
fn authenticate(server: &Server, phone: &mut SipClient) {
    phone.send(&fetch_2001(phone, 1, None));
    let challenge = phone.response(Duration::from_secs(2));
    assert_eq!(challenge.code, 401);
    let uri = format!("sip:2001@{}", server.sip);
    let authorization = phone.authorization(&challenge, "SUBSCRIBE", &uri);
    phone.send(&fetch_2001(phone, 2, Some(&authorization)));
    assert_eq!(phone.response(Duration::from_secs(2)).code, 200);
    let fetched = phone.notify(Duration::from_secs(2));
    assert!(
        fetched
            .headers
            .get("Subscription-State")
            .is_some_and(|s| s.starts_with("terminated"))
    );
    assert!(
        server.wait_for_log("phone contact recorded phone=bob", Duration::from_secs(2)),
        "{}",
        server.log()
    );
}

/// A 401 to `request` with `realm`, as a phone (or an attacker) sends it.
fn challenge_to(request: &opendpma::sip::Request, realm: &str) -> String {
    let mut challenge = String::from("SIP/2.0 401 Unauthorized\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        challenge.push_str(&format!("{name}: {}\r\n", request.headers.get(name).unwrap()));
    }
    challenge.push_str(&format!(
        "WWW-Authenticate: Digest realm=\"{realm}\", nonce=\"abc123\", algorithm=MD5, qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"
    ));
    challenge
}

async fn reconfigure_all(server: &Server) -> Value {
    let response = client()
        .post(server.admin_url("/api/v1/reconfigure/all"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The phone's side: challenge the first check-sync, verify the second;
/// returns the one it answered 200.
fn answer_check_syncs(phone: &SipClient) -> opendpma::sip::Request {
    let Some(Message::Request(first)) = phone.receive(Duration::from_secs(10)) else {
        panic!("no check-sync")
    };
    assert_eq!(first.method.as_str(), "NOTIFY");
    assert_eq!(first.headers.get("Event"), Some("check-sync"));
    assert!(first.body.is_empty());
    phone.send(&challenge_to(&first, "opendpma"));
    let Some(Message::Request(second)) = phone.receive(Duration::from_secs(3)) else {
        panic!("no retry")
    };
    let authorization = second
        .headers
        .get("Authorization")
        .expect("credentials on the retry");
    let credentials = opendpma::auth::parse_digest(authorization).unwrap();
    assert_eq!(credentials.username, "2000");
    assert_eq!(credentials.algorithm, Algorithm::Md5);
    let expected = DigestCredentials {
        response: String::new(),
        ..credentials.clone()
    }
    .expected_response("NOTIFY", "line-secret-2000");
    assert_eq!(credentials.response, expected, "signed with the line's secret");
    phone.answer(&second, 200);
    second
}

#[tokio::test(flavor = "multi_thread")]
async fn reconfigure_reaches_the_phone_and_reports_per_phone() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut phone);

    let phone_thread = std::thread::spawn(move || (answer_check_syncs(&phone), phone));
    let report = reconfigure_all(&server).await;
    assert_eq!(
        report,
        json!([
            {"phone": "bob", "result": "answered", "code": 200},
            {"phone": "alice", "result": "unknown_contact"},
        ])
    );
    let (answered, _phone) = phone_thread.join().unwrap();
    let uri = answered.uri;
    assert!(
        uri.starts_with("sip:2000@127.0.0.1:"),
        "sent to the phone's Contact: {uri}"
    );
    let missing = client()
        .post(server.admin_url("/api/v1/reconfigure/nobody"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The CLI says the same.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["reconfigure", "alice", "--admin-url", &server.admin_url("")])
        .env("OPENDPMA_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "PHONE  RESULT\nalice  unknown_contact\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_label_reconfigures_the_affected_phone() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut phone);
    let phone_thread = std::thread::spawn(move || (answer_check_syncs(&phone), phone));
    // Bob's own line label changes: bob's config changes (and alice's
    // phonebook, but alice was never heard from).
    server
        .replace_config(&server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Robert\"")));
    let (answered, phone) = phone_thread.join().unwrap();
    assert!(
        server.wait_for_log(
            "automatic check-sync after reload phone=bob outcome=Answered { code: 200 }",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
    // Reports are logged one line each, in no promised order: wait for it
    // too rather than assume it is already in the collected log.
    assert!(
        server.wait_for_log(
            "automatic check-sync after reload phone=alice outcome=UnknownContact",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
    // The phone fetches its config; the log closes the loop.
    let fetched = client()
        .get(server.http_url("/0019159c1a2b.cfg"))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert!(fetched.text().await.unwrap().contains("line_label=\"Robert\""));
    assert!(server.wait_for_log("phone fetched Config phone=\"bob\"", Duration::from_secs(2)));
    // One reload, one check-sync: only the SIP driver's reload turn sends
    // it (not the reloader or the reload trigger as well).
    let log = server.log();
    assert_eq!(
        log.matches("automatic check-sync after reload phone=bob").count(),
        1,
        "{log}"
    );
    // A retransmission of the answered NOTIFY (same CSeq) may still come
    // on a loaded machine; a second check-sync would carry another CSeq.
    for _ in 0..10 {
        let Some(message) = phone.receive(Duration::from_secs(1)) else {
            break;
        };
        let Message::Request(request) = message else {
            continue;
        };
        assert_eq!(
            request.headers.get("CSeq"),
            answered.headers.get("CSeq"),
            "a second check-sync for one reload"
        );
    }
}

/// Issue 17, item 1, as the attacker did it: an unauthenticated OPTIONS
/// claiming to be line 2000 must not become bob's contact, so the
/// reconfigure reaches nobody and the attacker gets no NOTIFY to
/// challenge; once the real phone has authenticated, a spoofed OPTIONS
/// does not move the contact away from it either.
#[tokio::test(flavor = "multi_thread")]
async fn a_spoofed_options_does_not_redirect_check_sync() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let attacker = SipClient::new(server.sip, "2000", "unknown");
    attacker.send(&options_from(&attacker, "2000"));
    assert_eq!(attacker.response(Duration::from_secs(2)).code, 200);
    assert_eq!(
        reconfigure_all(&server).await,
        json!([
            {"phone": "bob", "result": "unknown_contact"},
            {"phone": "alice", "result": "unknown_contact"},
        ])
    );
    assert!(
        attacker.receive(Duration::from_millis(500)).is_none(),
        "the attacker hears nothing"
    );

    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut phone);
    attacker.send(&options_from(&attacker, "2000"));
    assert_eq!(attacker.response(Duration::from_secs(2)).code, 200);
    let phone_thread = std::thread::spawn(move || answer_check_syncs(&phone));
    let report = reconfigure_all(&server).await;
    assert_eq!(
        report[0],
        json!({"phone": "bob", "result": "answered", "code": 200})
    );
    phone_thread.join().unwrap();
    assert!(attacker.receive(Duration::from_millis(200)).is_none());
}

/// A challenge naming another realm gets no credentials: the report says
/// what the phone answered (401), not 200.
#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_for_a_foreign_realm_is_not_answered() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut phone);
    let phone_thread = std::thread::spawn(move || {
        let Some(Message::Request(notify)) = phone.receive(Duration::from_secs(10)) else {
            panic!("no check-sync")
        };
        phone.send(&challenge_to(&notify, "attacker.example"));
        phone.receive(Duration::from_millis(500))
    });
    let report = reconfigure_all(&server).await;
    assert_eq!(
        report[0],
        json!({"phone": "bob", "result": "answered", "code": 401})
    );
    assert!(
        phone_thread.join().unwrap().is_none(),
        "no retry with credentials"
    );
}

/// A challenge from anyone but the peer the NOTIFY went to (here another
/// socket that learned the branch) is dropped; the phone's own 200 counts.
#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_from_another_peer_is_dropped() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut phone);
    let stranger = SipClient::new(server.sip, "2000", "unknown");
    let phone_thread = std::thread::spawn(move || {
        let Some(Message::Request(notify)) = phone.receive(Duration::from_secs(10)) else {
            panic!("no check-sync")
        };
        stranger.send(&challenge_to(&notify, "opendpma"));
        let retry = stranger.receive(Duration::from_millis(300));
        let to_phone = phone.receive(Duration::from_millis(300));
        phone.answer(&notify, 200);
        (retry, to_phone)
    });
    let report = reconfigure_all(&server).await;
    assert_eq!(
        report[0],
        json!({"phone": "bob", "result": "answered", "code": 200})
    );
    let (retry, to_phone) = phone_thread.join().unwrap();
    assert!(retry.is_none(), "nothing goes to the stranger");
    // At most a retransmission of the same NOTIFY (Timer E), never a retry
    // carrying credentials.
    if let Some(Message::Request(again)) = to_phone {
        assert!(
            again.headers.get("Authorization").is_none(),
            "the stranger's 401 started no retry"
        );
    }
    assert!(
        server
            .metric("opendpma_sip_responses_from_elsewhere_total")
            .unwrap_or(0)
            >= 1
    );
}

/// Review of issue 17: a line that also appears on another phone (here
/// 2000, carol's second line) proves nothing about that phone. Knowing
/// 2000's secret must not redirect carol's check-sync, which would answer
/// a challenge with a digest of carol's first line (2002): crackable
/// offline. Carol stays unknown and nothing reaches the holder of 2000.
#[tokio::test(flavor = "multi_thread")]
async fn a_line_shared_with_another_phone_does_not_redirect_its_check_sync() {
    let body = format!(
        "{SAMPLE_BODY}\n[phones.carol]\nmac = \"0019159c1a2d\"\nmodel = \"D65\"\nlines = [\"2002\", \"2000\"]\n"
    );
    let server = Server::start(HTTP_CREDENTIALS, &body);
    let mut holder = SipClient::new(server.sip, "2000", "line-secret-2000");
    authenticate(&server, &mut holder);
    let response = client()
        .post(server.admin_url("/api/v1/reconfigure/carol"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report, json!([{"phone": "carol", "result": "unknown_contact"}]));
    assert!(
        holder.receive(Duration::from_millis(300)).is_none(),
        "no check-sync for carol goes to the holder of 2000"
    );
    assert!(!server.log().contains("phone contact recorded phone=carol"));
}
