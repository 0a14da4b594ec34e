//! The admin surface against the real binary (issue 17 item 9, and the
//! admin half of item 3): state changes from a browser need the page's
//! CSRF token and a same-site Origin, every response carries CSP, frame
//! and nosniff headers, wrong admin tokens lock the address out, and HTTP
//! digest without qop cannot be replayed.

mod support;

use reqwest::StatusCode;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client, header_values};

/// The dashboard page for a signed-in cookie: (cookie, CSRF token).
async fn signed_in(server: &Server) -> (String, String) {
    let cookie = format!("opendpma_token={TOKEN}");
    let page = client()
        .get(server.admin_url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries a CSRF token")
        .to_owned();
    assert_eq!(csrf.len(), 64, "{csrf}");
    (cookie, csrf)
}

#[tokio::test]
async fn every_admin_response_carries_the_security_headers() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    for path in ["/", "/dashboard.js", "/api/v1/hints", "/healthz"] {
        let response = client().get(server.admin_url(path)).send().await.unwrap();
        let csp = header_values(&response, "content-security-policy");
        assert_eq!(csp.len(), 1, "{path}");
        assert!(csp[0].contains("frame-ancestors 'none'") && csp[0].contains("script-src 'self'"));
        assert_eq!(header_values(&response, "x-frame-options"), ["DENY"], "{path}");
        assert_eq!(
            header_values(&response, "x-content-type-options"),
            ["nosniff"],
            "{path}"
        );
    }
}

#[tokio::test]
async fn cookie_requests_that_change_state_need_the_csrf_token_and_our_origin() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let (cookie, csrf) = signed_in(&server).await;
    let put = |headers: &[(&str, &str)]| {
        let mut request = client()
            .put(server.admin_url("/api/v1/presence/CustomPresence:2000"))
            .header("cookie", &cookie)
            .json(&serde_json::json!({"state": "away"}));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let own_origin = format!("http://{}", server.admin);
    // The cookie alone (what a forged cross-site form sends): refused.
    assert_eq!(put(&[]).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        put(&[("origin", &own_origin), ("x-csrf-token", "0".repeat(64).as_str())])
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // Another site's Origin is refused even with the right token.
    assert_eq!(
        put(&[("origin", "http://evil.example"), ("x-csrf-token", &csrf)])
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // Nothing changed so far.
    let state: serde_json::Value = client()
        .get(server.admin_url("/api/v1/presence/CustomPresence:2000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(state["state"], "away");
    // What the dashboard's script sends: accepted.
    assert_eq!(
        put(&[("origin", &own_origin), ("x-csrf-token", &csrf)])
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A forged reload (a plain cross-site form POST) is refused too.
    let forged = client()
        .post(server.admin_url("/api/v1/reload"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Scripts with a Bearer token (the CLI) need no CSRF token.
    let scripted = client()
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), StatusCode::OK);
    // Sign-out carries the token in its form.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let logout = |csrf: String| {
        no_redirects
            .post(server.admin_url("/logout"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}"))
            .send()
    };
    assert_eq!(
        logout("0".repeat(64)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(logout(csrf).await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_admin_tokens_lock_the_address_out() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    for attempt in 0..10 {
        let response = client()
            .get(server.admin_url("/api/v1/hints"))
            .bearer_auth(format!("guess-{attempt}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Even the right token is refused while locked out, by API and form.
    let response = client()
        .get(server.admin_url("/api/v1/hints"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    let login = client()
        .post(server.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
    let log = server.log();
    assert_eq!(
        log.matches("auth failure: ip=127.0.0.1 user=admin-token proto=admin")
            .count(),
        10,
        "{log}"
    );
}

#[tokio::test]
async fn http_digest_without_qop_cannot_be_replayed() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let path = "/0019159c1a2b.cfg";
    let challenge = client().get(server.http_url(path)).send().await.unwrap();
    let challenges = header_values(&challenge, "www-authenticate");
    let md5 = challenges
        .iter()
        .find(|c| c.contains("algorithm=MD5"))
        .expect("an MD5 challenge");
    let nonce = md5.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
    // RFC 2069 style: no qop, no nc, no cnonce.
    let credentials = opendpma::auth::DigestCredentials {
        username: "provision".into(),
        realm: "opendpma".into(),
        nonce: nonce.into(),
        uri: path.into(),
        response: String::new(),
        algorithm: opendpma::auth::Algorithm::Md5,
        qop: None,
        cnonce: None,
        nc: None,
    };
    let response = credentials.expected_response("GET", "http-secret-pw");
    let authorization = format!(
        "Digest username=\"provision\", realm=\"opendpma\", nonce=\"{nonce}\", uri=\"{path}\", response=\"{response}\", algorithm=MD5"
    );
    let fetch = || {
        client()
            .get(server.http_url(path))
            .header("authorization", &authorization)
            .send()
    };
    assert_eq!(fetch().await.unwrap().status(), StatusCode::OK);
    // The captured request again: a fresh challenge, not the document.
    let replay = fetch().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header_values(&replay, "www-authenticate")
            .iter()
            .any(|c| c.contains("stale=true"))
    );
}

/// The status of `method path` on the admin listener with this `Host`
/// and no token.
fn status_for_host(server: &Server, method: &str, path: &str, host: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.admin).expect("admin listener");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"))
}

/// Review of issue 17: without an admin token, a page whose host name
/// was rebound to 127.0.0.1 is same-origin with the dashboard (its Origin
/// equals the Host), so Origin and CSRF checks cannot stop it; only the
/// Host can. Names an attacker controls are refused, loopback literals
/// and `localhost` are served.
#[test]
fn without_a_token_only_loopback_host_names_are_served() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let text = server.config_with(HTTP_CREDENTIALS, SAMPLE_BODY);
    let tokenless = text.replace(&format!("token = \"{TOKEN}\"\n"), "");
    assert_ne!(tokenless, text, "the token line is in the config");
    server.replace_config(&tokenless);
    let (status, body) = server
        .admin_request("POST", "/api/v1/reload", None)
        .expect("admin answers");
    assert_eq!(status, 200, "{body}");
    let port = server.admin.port();
    let rebound = format!("rebound.evil.example:{port}");
    assert_eq!(status_for_host(&server, "GET", "/", &rebound), 403);
    assert_eq!(status_for_host(&server, "GET", "/api/v1/lines", &rebound), 403);
    assert_eq!(status_for_host(&server, "POST", "/api/v1/reload", &rebound), 403);
    assert_eq!(status_for_host(&server, "GET", "/healthz", &rebound), 200);
    for own in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(status_for_host(&server, "GET", "/", &own), 200, "{own}");
        assert_eq!(
            status_for_host(&server, "GET", "/api/v1/lines", &own),
            200,
            "{own}"
        );
    }
}
