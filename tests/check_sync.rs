//! check-sync end to end: a phone is heard from (OPTIONS), the admin asks
//! for a reconfigure, the phone challenges the NOTIFY, opendpma answers
//! with the line's credentials, the phone says 200 and fetches its config;
//! and editing phones.toml reconfigures the affected phone by itself.

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

/// The phone's side: challenge the first check-sync, verify the second.
fn answer_check_syncs(phone: &SipClient) -> String {
    let Some(Message::Request(first)) = phone.receive(Duration::from_secs(10)) else {
        panic!("no check-sync")
    };
    assert_eq!(first.method.as_str(), "NOTIFY");
    assert_eq!(first.headers.get("Event"), Some("check-sync"));
    assert!(first.body.is_empty());
    let mut challenge = String::from("SIP/2.0 401 Unauthorized\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        challenge.push_str(&format!("{name}: {}\r\n", first.headers.get(name).unwrap()));
    }
    challenge.push_str("WWW-Authenticate: Digest realm=\"phone\", nonce=\"abc123\", algorithm=MD5, qop=\"auth\"\r\nContent-Length: 0\r\n\r\n");
    phone.send(&challenge);
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
    second.uri.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn reconfigure_reaches_the_phone_and_reports_per_phone() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    phone.send(&options_from(&phone, "2000"));
    assert_eq!(phone.response(Duration::from_secs(2)).code, 200);
    assert!(
        server.wait_for_log("phone contact recorded phone=bob", Duration::from_secs(2)),
        "{}",
        server.log()
    );

    let phone_thread = std::thread::spawn(move || (answer_check_syncs(&phone), phone));
    let response = client()
        .post(server.admin_url("/api/v1/reconfigure/all"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        report,
        json!([
            {"phone": "bob", "result": "answered", "code": 200},
            {"phone": "alice", "result": "unknown_contact"},
        ])
    );
    let (uri, _phone) = phone_thread.join().unwrap();
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
    let phone = SipClient::new(server.sip, "2000", "line-secret-2000");
    phone.send(&options_from(&phone, "2000"));
    assert_eq!(phone.response(Duration::from_secs(2)).code, 200);
    assert!(server.wait_for_log("phone contact recorded phone=bob", Duration::from_secs(2)));
    let phone_thread = std::thread::spawn(move || answer_check_syncs(&phone));
    // Bob's own line label changes: bob's config changes (and alice's
    // phonebook, but alice was never heard from).
    server
        .replace_config(&server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Robert\"")));
    phone_thread.join().unwrap();
    assert!(
        server.wait_for_log(
            "automatic check-sync after reload phone=bob outcome=Answered { code: 200 }",
            Duration::from_secs(5)
        ),
        "{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("automatic check-sync after reload phone=alice outcome=UnknownContact")
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
}
