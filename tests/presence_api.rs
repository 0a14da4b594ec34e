//! The presence core end to end: admin API over a real socket, durability
//! across SIGKILL, server-sent events, metrics, the CLI client, and a store
//! that cannot be read.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client};

fn put(server: &Server, path: &str, body: Value) -> reqwest::RequestBuilder {
    client()
        .put(server.admin_url(path))
        .bearer_auth(TOKEN)
        .json(&body)
}

fn get(server: &Server, path: &str) -> reqwest::RequestBuilder {
    client().get(server.admin_url(path)).bearer_auth(TOKEN)
}

#[tokio::test]
async fn set_get_clear_and_refusals() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let set = put(
        &server,
        "/api/v1/presence/CustomPresence:2000",
        json!({"state": "away", "subtype": "lunch", "message": "back at 2, promise"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let value: Value = set.json().await.unwrap();
    assert_eq!(value["provider"], "CustomPresence:2000");
    assert_eq!(value["state"], "away");
    assert_eq!(value["subtype"], "lunch");
    assert_eq!(value["message"], "back at 2, promise");
    assert!(value["changed_at"].as_u64().unwrap() > 1_700_000_000_000);

    // Case-insensitive label and state; the name keeps its case.
    let read: Value = get(&server, "/api/v1/presence/custompresence:2000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, value);
    let upper = put(
        &server,
        "/api/v1/presence/CustomPresence:2001",
        json!({"state": "DND"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(upper.json::<Value>().await.unwrap()["state"], "dnd");

    for (state, reason) in [
        (
            "unavailable",
            "\"unavailable\" cannot be set (phones do not support it); allowed states are: available, away, dnd, xa, chat",
        ),
        (
            "not_set",
            "\"not_set\" cannot be set (phones do not support it); allowed states are: available, away, dnd, xa, chat",
        ),
        (
            "bored",
            "unknown presence state \"bored\"; allowed states are: available, away, dnd, xa, chat",
        ),
    ] {
        let refused = put(
            &server,
            "/api/v1/presence/CustomPresence:2000",
            json!({"state": state}),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{state}");
        assert_eq!(refused.json::<Value>().await.unwrap(), json!({"error": reason}));
    }
    let long = put(
        &server,
        "/api/v1/presence/CustomPresence:2000",
        json!({"state": "away", "message": "x".repeat(1024)}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_name = put(&server, "/api/v1/presence/PJSIP%2F2000", json!({"state": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_name.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("is not a CustomPresence:<name> name")
    );
    let bad_json = client()
        .put(server.admin_url("/api/v1/presence/CustomPresence:2000"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"state\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_json.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );
    let unknown_field = put(
        &server,
        "/api/v1/presence/CustomPresence:2000",
        json!({"state": "away", "colour": "red"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(unknown_field.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Refusals changed nothing.
    let read: Value = get(&server, "/api/v1/presence/CustomPresence:2000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, value);

    let cleared = client()
        .delete(server.admin_url("/api/v1/presence/CustomPresence:2000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    let expected = json!({"provider": "CustomPresence:2000", "state": "not_set", "subtype": "", "message": "", "changed_at": null});
    assert_eq!(cleared.json::<Value>().await.unwrap(), expected);
    let list: Value = get(&server, "/api/v1/presence")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "CustomPresence:2000",
            "CustomPresence:2001",
            "CustomPresence:2002"
        ]
    );

    let no_token = client()
        .get(server.admin_url("/api/v1/presence"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let wrong_token = client()
        .get(server.admin_url("/api/v1/presence"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn devices_drive_the_extension_state_of_hints() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let device: Value = get(&server, "/api/v1/devices/Custom:2000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(device, json!({"device": "Custom:2000", "state": "UNKNOWN"}));
    let set = put(
        &server,
        "/api/v1/devices/Custom:2000",
        json!({"state": "ringing"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        set.json::<Value>().await.unwrap(),
        json!({"device": "Custom:2000", "state": "RINGING"})
    );
    let refused = put(
        &server,
        "/api/v1/devices/Custom:2000",
        json!({"state": "OFF_HOOK"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    put(
        &server,
        "/api/v1/presence/CustomPresence:2000",
        json!({"state": "chat", "message": "ping me"}),
    )
    .send()
    .await
    .unwrap();
    let hints: Value = get(&server, "/api/v1/hints")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        hints[0],
        json!({
            "exten": "2000",
            "extension_state": "ringing",
            "extension_state_code": 8,
            "extension_state_text": "Ringing",
            "presence": {"state": "chat", "subtype": "", "message": "ping me", "changed_at": hints[0]["presence"]["changed_at"]},
            "devices": ["Custom:2000"],
            "presence_providers": ["CustomPresence:2000"],
        })
    );
    assert_eq!(hints[1]["extension_state"], "idle");
}

/// Issue 3's "done means": PUT, kill -9 right after the 200, restart, GET.
#[tokio::test]
async fn an_acknowledged_change_survives_sigkill() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let body = json!({"state": "away", "subtype": "lunch", "message": "back at 2, promise"});
    let answer: Value = put(&server, "/api/v1/presence/CustomPresence:2000", body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    put(&server, "/api/v1/devices/Custom:2001", json!({"state": "BUSY"}))
        .send()
        .await
        .unwrap();
    server.kill9();
    server.restart();
    let read: Value = get(&server, "/api/v1/presence/CustomPresence:2000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, answer);
    let device: Value = get(&server, "/api/v1/devices/Custom:2001")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(device["state"], "BUSY");
    assert!(
        server
            .log()
            .contains("durable state loaded providers=1 devices=1")
    );
}

#[tokio::test]
async fn events_stream_each_change_once() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let response = get(&server, "/api/v1/events").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    let body = json!({"state": "dnd", "subtype": "meeting", "message": "until 3"});
    put(&server, "/api/v1/presence/CustomPresence:2001", body.clone())
        .send()
        .await
        .unwrap();
    // The identical value again: no event.
    put(&server, "/api/v1/presence/CustomPresence:2001", body)
        .send()
        .await
        .unwrap();
    put(&server, "/api/v1/devices/Custom:2001", json!({"state": "INUSE"}))
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while text.matches("event: ").count() < 4 {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Nothing else arrives for a moment (the repeat produced nothing).
    let extra = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(extra.is_err(), "unexpected extra event: {extra:?}");
    let events: Vec<(&str, Value)> = text
        .split("\n\n")
        .filter(|block| block.contains("event: "))
        .map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["presence", "hint", "device", "hint"]);
    assert_eq!(events[0].1["provider"], "CustomPresence:2001");
    assert_eq!(events[0].1["message"], "until 3");
    assert_eq!(events[1].1["exten"], "2001");
    assert_eq!(events[1].1["presence"]["state"], "dnd");
    assert_eq!(events[1].1["extension_state"], "idle");
    assert_eq!(events[3].1["extension_state"], "in_use");
    assert_eq!(
        events[3].1["presence"]["subtype"], "meeting",
        "every hint event is a full snapshot"
    );

    let metrics = get(&server, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nopendpma_presence_changes_total 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\nopendpma_device_changes_total 1\n"));
    assert!(metrics.contains("\nopendpma_hint_changes_total 2\n"));
    assert!(metrics.contains("\nopendpma_event_streams 1\n"));
    assert!(metrics.contains("opendpma_store_commit_seconds_count 2\n"));
}

#[tokio::test]
async fn a_reload_updates_hints_and_reports_removed_ones() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let mut stream = get(&server, "/api/v1/events")
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let body = SAMPLE_BODY.replace(
        "[lines.2002]",
        "[hints.\"2001\"]\npresence = [\"CustomPresence:shared\"]\n\n[lines.2002]",
    );
    let body = body.replace("contacts = [\"2001\", \"2002\"]", "contacts = [\"2001\"]");
    let body = body.replace(
        "[lines.2002]\nsecret = \"line-secret-2002\"\nlabel = \"Reception\"\n",
        "",
    );
    put(
        &server,
        "/api/v1/presence/CustomPresence:shared",
        json!({"state": "xa"}),
    )
    .send()
    .await
    .unwrap();
    std::fs::write(&server.config_path, server.config_with(HTTP_CREDENTIALS, &body)).unwrap();
    let reload = client()
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reload.status(),
        StatusCode::OK,
        "{}",
        reload.text().await.unwrap()
    );
    let mut text = String::new();
    while !(text.contains("event: hint_removed") && text.contains("\"exten\":\"2001\"")) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("events")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("data: {\"exten\":\"2002\"}"), "{text}");
    let hints: Value = get(&server, "/api/v1/hints")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hints.as_array().unwrap().len(), 2);
    assert_eq!(hints[1]["presence"]["state"], "xa");
}

#[tokio::test]
async fn cli_client_commands() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let run = |args: &[&str]| {
        let url = server.admin_url("");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"));
        command
            .args(args)
            .args(["--admin-url", &url])
            .env("OPENDPMA_ADMIN_TOKEN", TOKEN);
        command.output().unwrap()
    };
    let set = run(&["presence", "set", "2000", "away,lunch,back at 2, promise"]);
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let output = String::from_utf8(set.stdout).unwrap();
    assert!(output.starts_with("PROVIDER             STATE  SUBTYPE  MESSAGE             SINCE\nCustomPresence:2000  away   lunch    back at 2, promise  20"), "{output}");
    let flags = run(&[
        "presence",
        "set",
        "CustomPresence:2001",
        "xa",
        "--message",
        "on leave, back Monday",
        "--json",
    ]);
    let value: Value = serde_json::from_slice(&flags.stdout).unwrap();
    assert_eq!(
        (value["state"].as_str(), value["message"].as_str()),
        (Some("xa"), Some("on leave, back Monday"))
    );
    let refused = run(&["presence", "set", "2000", "unavailable"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "error: \"unavailable\" cannot be set (phones do not support it); allowed states are: available, away, dnd, xa, chat (HTTP 422)\n"
    );
    let get = run(&["presence", "get", "2000", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&get.stdout).unwrap()["subtype"],
        "lunch"
    );
    assert_eq!(run(&["device", "set", "2000", "INUSE"]).status.code(), Some(0));
    let hints = String::from_utf8(run(&["hints"]).stdout).unwrap();
    assert!(
        hints.lines().nth(1).unwrap().starts_with(
            "2000   Custom:2000,CustomPresence:2000  InUse  away      lunch    back at 2, promise"
        ),
        "{hints}"
    );
    let list = String::from_utf8(run(&["presence", "list"]).stdout).unwrap();
    assert_eq!(list.lines().count(), 4, "{list}");
    let cleared = run(&["presence", "clear", "2000", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&cleared.stdout).unwrap()["state"],
        "not_set"
    );
    let unreachable = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["presence", "list", "--admin-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unreachable.stderr)
            .starts_with("error: cannot reach the admin API at http://127.0.0.1:9")
    );
}

#[test]
fn an_unreadable_store_stops_start_up_with_a_clear_error() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("data")).unwrap();
    std::fs::write(
        folder.path().join("data/opendpma.redb"),
        b"definitely not a redb file",
    )
    .unwrap();
    let path = folder.path().join("phones.toml");
    let ports = (support::free_port(), support::free_port(), support::free_port());
    std::fs::write(
        &path,
        support::config_text(ports.0, ports.1, ports.2, HTTP_CREDENTIALS, SAMPLE_BODY),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot open the store") && stderr.contains("data/opendpma.redb"),
        "{stderr}"
    );
}

#[tokio::test]
async fn dashboard_login_cookie_and_static_tables() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Without a token: the login form, not the data.
    let page = no_redirects
        .get(server.admin_url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<label for=\"token\">Admin token</label>") && !page.contains("data-line="));
    let refused = no_redirects
        .post(server.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let login = no_redirects
        .post(server.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_eq!(
        cookie,
        format!("opendpma_token={TOKEN}; HttpOnly; SameSite=Strict; Path=/")
    );
    // With the cookie: the full page, tables rendered on the server.
    put(
        &server,
        "/api/v1/presence/CustomPresence:2001",
        json!({"state": "away", "message": "Bob & <Co>"}),
    )
    .send()
    .await
    .unwrap();
    let cookie_value = cookie.split(';').next().unwrap().to_owned();
    let page = no_redirects
        .get(server.admin_url("/"))
        .header("cookie", &cookie_value)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<tr data-line=\"2001\" data-exten=\"2001\">"),
        "{page}"
    );
    assert!(page.contains("<td class=\"state\" data-state=\"away\">away</td>"));
    assert!(
        page.contains("<td class=\"message\">Bob &#38; &#60;Co&#62;</td>"),
        "escaped"
    );
    assert!(page.contains("<tr data-phone=\"bob\">"));
    assert!(!page.contains("line-secret"), "no secrets on the page");
    // The cookie also opens the API (the page's fetch and EventSource use it).
    let lines: Value = no_redirects
        .get(server.admin_url("/api/v1/lines"))
        .header("cookie", &cookie_value)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lines[1]["presence"]["state"], "away");
    assert!(!lines.to_string().contains("secret"));
    let phones: Value = get(&server, "/api/v1/phones")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(phones[0]["mac"], "0019159c1a2b");
    assert_eq!(phones[0]["last_contact"], Value::Null);
    let script = no_redirects
        .get(server.admin_url("/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
}
