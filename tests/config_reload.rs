//! The config watcher against the real binary (issue 17 item 8): a save
//! is applied once, complete and settled — a rename-into-place save and an
//! in-place write in two parts 600 ms apart each end in exactly one
//! correct reload — and settings bound at start are reported on reload and
//! keep their running value (documents keep the port that is open).

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client, free_port};

const BOB: &str = "/0019159c1a2b.cfg";

/// The watcher's longest quiet spell (2 s without a close) plus a margin:
/// after this, a second reload of the same save would have happened.
const NO_SECOND_RELOAD: Duration = Duration::from_secs(4);

fn reloads(server: &Server) -> Vec<String> {
    server
        .log()
        .lines()
        .filter(|line| line.contains("configuration reloaded"))
        .map(str::to_owned)
        .collect()
}

/// Waits for the first reload, then long enough for a second to show.
fn reloads_after_one_save(server: &Server) -> Vec<String> {
    assert!(
        server.wait_for_log("configuration reloaded", Duration::from_secs(20)),
        "no reload:\n{}",
        server.log()
    );
    let settled = Instant::now() + NO_SECOND_RELOAD;
    while Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(100));
    }
    reloads(server)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_place_save_in_two_parts_is_applied_once_and_whole() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let full = server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Bobby\""));
    // The first part alone is a valid file with no phones: applying it
    // would drop every phone.
    let split = full.find("[phones.").expect("the sample has phones");
    let (first, rest) = full.split_at(split);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&server.config_path)
        .unwrap();
    file.write_all(first.as_bytes()).unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    file.write_all(rest.as_bytes()).unwrap();
    drop(file);

    let reloads = reloads_after_one_save(&server);
    assert_eq!(reloads.len(), 1, "{reloads:#?}");
    assert!(reloads[0].contains("2 phones, 3 lines"), "{}", reloads[0]);
    assert!(!server.log().contains("0 phones"), "{}", server.log());
    let body = client()
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("line_label=\"Bobby\""), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rename_into_place_save_is_one_reload() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    server
        .replace_config(&server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Bobby\"")));
    let reloads = reloads_after_one_save(&server);
    assert_eq!(reloads.len(), 1, "{reloads:#?}");
    assert!(reloads[0].contains("file change"), "{}", reloads[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn start_only_settings_are_reported_and_keep_their_running_value() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let running_port = server.http.port();
    let moved = server
        .config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Bobby\""))
        .replace(
            &format!("listen = \"127.0.0.1:{running_port}\""),
            &format!("listen = \"127.0.0.1:{}\"", free_port()),
        );
    server.replace_config(&moved);
    let response = client()
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["restart_required"], serde_json::json!(["http.listen"]));
    assert!(server.wait_for_log("only takes effect after a restart", Duration::from_secs(10)));
    // The rest of the edit is applied; the documents still point at the
    // port that is open.
    let body = client()
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("line_label=\"Bobby\""), "{body}");
    assert!(
        body.contains(&format!("127.0.0.1:{running_port}/")),
        "documents keep the running port:\n{body}"
    );
}

/// The status of `GET path` on the admin API without any token.
fn admin_status_without_token(server: &Server, path: &str) -> u16 {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(server.admin).expect("admin listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.admin
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

/// A reload may not open what start-up refuses (review of issue 17):
/// `[admin] listen` stays bound where it was, so a file without the token
/// would leave the admin API on the network without any authentication.
/// Such a reload is refused and the API still wants the token.
#[test]
fn a_reload_that_would_expose_the_admin_api_is_refused() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let port = server.admin.port();
    let text = server.config_with(HTTP_CREDENTIALS, SAMPLE_BODY);
    let exposed = text.replace(
        &format!("listen = \"127.0.0.1:{port}\""),
        &format!("listen = \"0.0.0.0:{port}\""),
    );
    assert_ne!(exposed, text, "the admin listen line is in the config");
    server.replace_config(&exposed);
    server.restart();
    assert_eq!(admin_status_without_token(&server, "/api/v1/hints"), 401);

    let tokenless = exposed.replace(&format!("token = \"{TOKEN}\"\n"), "");
    assert_ne!(tokenless, exposed, "the token line is in the config");
    server.replace_config(&tokenless);
    let (status, body) = server
        .admin_request("POST", "/api/v1/reload", None)
        .expect("admin answers");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("no [admin] token"), "{body}");
    assert_eq!(admin_status_without_token(&server, "/api/v1/hints"), 401);
}
