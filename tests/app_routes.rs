//! The provisioning and admin routes driven in-process: the whole
//! application runs on sockets bound here (port 0), and requests go
//! straight into its routers (`tower::ServiceExt::oneshot`), with the
//! client address a real listener would attach. The wire tests cover the
//! same routes through the binary.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use opendpma::app::{App, Listeners};
use opendpma::config::Config;
use serde_json::{Value, json};
use tower::ServiceExt;

use support::{SAMPLE_BODY, TOKEN};

const BOB: &str = "/0019159c1a2b.cfg";

/// A config on port 0 everywhere, `admin_token` and `[http]` credentials
/// as given, written to a temporary folder (reloads re-read it).
fn write_config(
    dir: &std::path::Path,
    http: &str,
    admin_token: Option<&str>,
    body: &str,
) -> std::path::PathBuf {
    let token = admin_token
        .map(|token| format!("token = \"{token}\""))
        .unwrap_or_default();
    let text = format!(
        "[general]\nserver_address = \"127.0.0.1\"\ndata_dir = \"data\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n{http}\n\n\
         [sip]\nlisten = [\"udp:127.0.0.1:0\"]\n\n[admin]\nlisten = \"127.0.0.1:0\"\n{token}\n\n{body}"
    );
    let path = dir.join("phones.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

async fn start(path: &std::path::Path) -> App {
    let config = Config::load(path).expect("valid config");
    let listeners = Listeners::bind(&config).await.expect("bind port 0");
    App::start(listeners, config).await.expect("app starts")
}

/// Sends `request` into `router` as if from 127.0.0.1.
async fn call(router: &Router, mut request: Request<Body>) -> Response {
    let peer: SocketAddr = "127.0.0.1:40000".parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(peer));
    router.clone().oneshot(request).await.expect("infallible")
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path).header(header::HOST, "127.0.0.1")
}

async fn text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn basic() -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode("provision:http-secret-pw");
    format!("Basic {encoded}")
}

#[tokio::test]
async fn provisioning_asks_for_credentials_then_serves_and_hands_out_token_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), support::HTTP_CREDENTIALS, Some(TOKEN), SAMPLE_BODY);
    let app = start(&path).await;
    let router = app.provisioning_router();

    // No credentials: 401 with both schemes, before saying whether the MAC exists.
    for path in [BOB, "/0019159c0000.cfg"] {
        let refused = call(&router, get(path).body(Body::empty()).expect("request")).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
        let schemes: Vec<_> = refused
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|value| {
                value
                    .to_str()
                    .expect("ascii")
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert!(
            schemes.contains(&"Digest".to_owned()) && schemes.contains(&"Basic".to_owned()),
            "{schemes:?}"
        );
    }
    let wrong = call(
        &router,
        get(BOB)
            .header(header::AUTHORIZATION, "Basic cHJvdmlzaW9uOndyb25n")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let served = call(
        &router,
        get(BOB)
            .header(header::AUTHORIZATION, basic())
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()[header::CONTENT_TYPE], "application/xml");
    let config = text(served).await;
    assert!(config.contains("password=\"line-secret-2000\""), "{config}");

    let unknown = call(
        &router,
        get("/0019159c0000.cfg")
            .header(header::AUTHORIZATION, basic())
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The phonebook's URL in the config works without credentials; a
    // token changed by one digit does not.
    let start = config.find("/p/").expect("a token path in the config");
    let end = start + config[start..].find('"').expect("closing quote");
    let contacts = &config[start..end];
    assert!(contacts.ends_with("/0019159c1a2b-contacts.xml"), "{contacts}");
    let phonebook = call(&router, get(contacts).body(Body::empty()).expect("request")).await;
    assert_eq!(phonebook.status(), StatusCode::OK);
    let phonebook = text(phonebook).await;
    assert!(
        phonebook.contains("2001") && phonebook.contains("2002"),
        "{phonebook}"
    );
    let guessed = contacts.replacen("/p/", "/p/0", 1);
    let guessed = call(&router, get(&guessed).body(Body::empty()).expect("request")).await;
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn admin_token_is_required_and_presence_round_trips_and_reload_swaps_or_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), support::HTTP_CREDENTIALS, Some(TOKEN), SAMPLE_BODY);
    let app = start(&path).await;
    let router = app.admin_router();
    let bearer = format!("Bearer {TOKEN}");

    let health = call(&router, get("/healthz").body(Body::empty()).expect("request")).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(text(health).await, "ok\n");

    // Every read of the API is behind the token, the firmware table too
    // (it names each phone's model and running version).
    for path in [
        "/api/v1/presence",
        "/api/v1/hints",
        "/api/v1/lines",
        "/api/v1/phones",
        "/api/v1/firmware",
    ] {
        let anonymous = call(&router, get(path).body(Body::empty()).expect("request")).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(anonymous.headers()[header::WWW_AUTHENTICATE], "Bearer", "{path}");
    }
    let wrong = call(
        &router,
        get("/api/v1/presence")
            .header(header::AUTHORIZATION, "Bearer not-the-token")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(text(wrong).await.contains("wrong admin token"));

    let put = call(
        &router,
        Request::put("/api/v1/presence/CustomPresence:2000")
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"state": "away", "subtype": "lunch", "message": "back at 2"}).to_string(),
            ))
            .expect("request"),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let set: Value = serde_json::from_str(&text(put).await).expect("json");
    assert_eq!(
        (&set["provider"], &set["state"], &set["subtype"], &set["message"]),
        (
            &json!("CustomPresence:2000"),
            &json!("away"),
            &json!("lunch"),
            &json!("back at 2")
        )
    );
    let read = call(
        &router,
        get("/api/v1/presence/custompresence:2000")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = serde_json::from_str(&text(read).await).expect("json");
    assert_eq!(read, set);

    let reload = || {
        Request::post("/api/v1/reload")
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request")
    };
    let with_line = format!("{SAMPLE_BODY}\n[lines.2003]\nsecret = \"line-secret-2003\"\n");
    write_config(dir.path(), support::HTTP_CREDENTIALS, Some(TOKEN), &with_line);
    let reloaded = call(&router, reload()).await;
    assert_eq!(reloaded.status(), StatusCode::OK);
    let reloaded: Value = serde_json::from_str(&text(reloaded).await).expect("json");
    // 2, or 3 if the file watcher applied the same save first.
    assert!(
        reloaded["generation"]
            .as_u64()
            .is_some_and(|generation| generation >= 2),
        "{reloaded}"
    );

    write_config(
        dir.path(),
        support::HTTP_CREDENTIALS,
        Some(TOKEN),
        "[lines.2000]\nsecret = 5\n",
    );
    let refused = call(&router, reload()).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = serde_json::from_str(&text(refused).await).expect("json");
    assert!(
        refused["problems"].as_array().is_some_and(|problems| problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("secret")))),
        "{refused}"
    );
    // The refused file left the reloaded config in place (the line list
    // is read from the snapshot; hints follow it asynchronously).
    let lines = call(
        &router,
        get("/api/v1/lines")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(lines.status(), StatusCode::OK);
    let lines: Value = serde_json::from_str(&text(lines).await).expect("json");
    let names: Vec<_> = lines
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|line| line["name"].as_str())
        .collect();
    assert_eq!(names, ["2000", "2001", "2002", "2003"], "{lines}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_the_admin_api_answers_only_to_loopback_host_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), support::HTTP_CREDENTIALS, None, SAMPLE_BODY);
    let app = start(&path).await;
    let router = app.admin_router();
    let rebound = call(
        &router,
        Request::get("/api/v1/presence")
            .header(header::HOST, "evil.example:8089")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let local = call(
        &router,
        get("/api/v1/presence").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(local.status(), StatusCode::OK);
    app.stop().await;
}
