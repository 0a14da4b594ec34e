//! Store failures against the real binary (issue 17 items 6 and 7): on a
//! full disk (a small tmpfs; skipped with a printed line where mounting is
//! not permitted) nothing is acknowledged that is not durable,
//! `/healthz` turns unhealthy, and both recover by themselves when space
//! is freed; a corrupt or empty store file stops start-up with one clear
//! error and exit code 1, never a panic.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opendpma::store::{RecordTable, RedbStore, Store};
use support::sip_client::SipClient;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, client, config_text, free_port};

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn subscribe_text(client: &SipClient, cseq: u32, call_id: &str, authorization: Option<&str>) -> String {
    let local = client.local();
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id}{cseq};rport\r\nFrom: <sip:2000@127.0.0.1>;tag=watch\r\nTo: <sip:2001@{server}>\r\nCall-ID: {call_id}@test\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:2000@{local}>\r\nEvent: presence\r\nExpires: 600\r\n{authorization}Content-Length: 0\r\n\r\n",
        server = client.server
    )
}

/// A new subscription: the final response's code and reason, and whether
/// any NOTIFY followed within a moment.
fn try_subscribe(server: &Server, call_id: &str) -> (u16, String, bool) {
    let mut watcher = SipClient::new(server.sip, "2000", "line-secret-2000");
    watcher.send(&subscribe_text(&watcher, 1, call_id, None));
    let challenge = watcher.response(Duration::from_secs(5));
    assert_eq!(challenge.code, 401);
    let uri = format!("sip:2001@{}", server.sip);
    let authorization = watcher.authorization(&challenge, "SUBSCRIBE", &uri);
    watcher.send(&subscribe_text(&watcher, 2, call_id, Some(&authorization)));
    let answer = watcher.response(Duration::from_secs(5));
    let notified = watcher.receive(Duration::from_millis(500)).is_some();
    (answer.code, answer.reason, notified)
}

/// A PUBLISH of dnd for 2001: the final response's code and reason.
fn try_publish(server: &Server) -> (u16, String) {
    let mut publisher = SipClient::new(server.sip, "2001", "line-secret-2001");
    let body = "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:2001@x\"><tuple id=\"d\"><status><digium_presence type=\"dnd\">busy</digium_presence></status></tuple></presence>";
    let (target, local) = (publisher.server, publisher.local());
    let text = |cseq: u32, authorization: Option<&str>| {
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "PUBLISH sip:2001@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKpub{cseq};rport\r\nFrom: <sip:2001@127.0.0.1>;tag=pub\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: pub@test\r\nCSeq: {cseq} PUBLISH\r\nEvent: presence\r\nExpires: 300\r\nContent-Type: application/pidf+xml\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
            body.len(),
            server = target,
        )
    };
    publisher.send(&text(1, None));
    let challenge = publisher.response(Duration::from_secs(5));
    let uri = format!("sip:2001@{}", server.sip);
    let authorization = publisher.authorization(&challenge, "PUBLISH", &uri);
    publisher.send(&text(2, Some(&authorization)));
    let answer = publisher.response(Duration::from_secs(5));
    (answer.code, answer.reason)
}

async fn health(server: &Server) -> u16 {
    client()
        .get(server.admin_url("/healthz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Fills the file system at `folder` with a ballast file until it is full.
fn fill(folder: &Path) -> PathBuf {
    let ballast = folder.join("ballast");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k", "status=none"])
        .arg(format!("of={}", ballast.display()))
        .stderr(std::process::Stdio::null())
        .status();
    ballast
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_subscriptions_honestly_and_recovers_by_itself() {
    let mut server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let data = server.config_path.parent().unwrap().join("data");
    let original = data.with_extension("orig");
    std::fs::rename(&data, &original).unwrap();
    std::fs::create_dir(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs"])
        .arg(&data)
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        // A full disk needs a small filesystem of its own: root may mount
        // a tmpfs; elsewhere the test says so (and fails in CI).
        assert!(
            std::env::var("OPENDPMA_REQUIRE_ALL").as_deref() != Ok("1"),
            "OPENDPMA_REQUIRE_ALL=1 but mounting a tmpfs is not permitted (run as root)"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: mounting a tmpfs is not permitted here (run as root)\n",
        );
        return;
    }
    let _mount = Mount(data.clone());
    std::fs::copy(original.join("opendpma.redb"), data.join("opendpma.redb")).unwrap();
    server.restart();
    assert_eq!(health(&server).await, 200);
    assert_eq!(try_subscribe(&server, "before").0, 200);

    let ballast = fill(&data);
    let mut refused = None;
    // The store file may still have preallocated room: keep subscribing
    // until a write really fails (bounded).
    for attempt in 0..200 {
        let (code, reason, notified) = try_subscribe(&server, &format!("full{attempt}"));
        if code != 200 {
            refused = Some((code, reason, notified));
            break;
        }
    }
    let (code, reason, notified) = refused.expect("a full disk refuses a subscription");
    assert_eq!(code, 503, "{reason}");
    assert_eq!(reason, "Service Unavailable", "a generic reason, no internals");
    assert!(!notified, "no NOTIFY for a subscription that was not stored");
    assert_eq!(health(&server).await, 503, "{}", server.log());
    let (code, reason) = try_publish(&server);
    assert!(code >= 500, "a PUBLISH is not acknowledged: {code} {reason}");
    assert_eq!(reason, "Service Unavailable", "a generic reason, no internals");
    let listed: serde_json::Value = client()
        .get(server.admin_url("/api/v1/subscriptions"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count_before_restart = listed.as_array().unwrap().len();

    // Space comes back: health and subscriptions recover without a restart.
    std::fs::remove_file(&ballast).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&server).await != 200 {
        assert!(
            Instant::now() < deadline,
            "health never recovered:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(try_subscribe(&server, "after").0, 200);
    assert!(server.log().contains("the store works again"), "{}", server.log());

    // Everything that was acknowledged is still there after a restart.
    server.restart();
    let listed: serde_json::Value = client()
        .get(server.admin_url("/api/v1/subscriptions"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), count_before_restart + 1);
}

fn serve(folder: &Path) -> std::process::Output {
    let path = folder.join("phones.toml");
    let (http, admin, sip) = (free_port(), free_port(), free_port());
    std::fs::write(
        &path,
        config_text(http, admin, sip, HTTP_CREDENTIALS, SAMPLE_BODY),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap()
}

#[test]
fn a_corrupt_store_is_one_clear_error_not_a_panic() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    {
        let store = RedbStore::open(&data).unwrap();
        let records: Vec<(String, Option<Vec<u8>>)> = (0..2000)
            .map(|i| (format!("key{i}"), Some(vec![7; 200])))
            .collect();
        store.put_records(RecordTable::Subscriptions, &records).unwrap();
    }
    let file = data.join("opendpma.redb");
    let intact = std::fs::read(&file).unwrap();
    // 64 bytes over live pages (found with the library, so the binary's
    // run below is known to meet damage it must notice).
    let damaged = (0..40)
        .map(|place| {
            let mut damaged = intact.clone();
            let at = 4_113 + place * 15_000;
            for (offset, byte) in damaged[at..at + 64].iter_mut().enumerate() {
                *byte = (offset as u8).wrapping_mul(37).wrapping_add(place as u8);
            }
            damaged
        })
        .find(|damaged| {
            std::fs::write(&file, damaged).unwrap();
            RedbStore::open(&data).is_err()
        })
        .expect("some damage hits live pages");
    std::fs::write(&file, damaged).unwrap();
    let output = serve(folder.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("data/opendpma.redb is corrupted") && stderr.contains("move it aside"),
        "{stderr}"
    );
}

#[test]
fn an_empty_store_file_is_an_error_not_a_new_database() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("opendpma.redb"), b"").unwrap();
    let output = serve(folder.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is an empty file (0 bytes)"), "{stderr}");
    assert_eq!(std::fs::metadata(data.join("opendpma.redb")).unwrap().len(), 0);
}
