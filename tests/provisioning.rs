//! HTTP provisioning over real sockets against the real binary: auth
//! before anything else, 404/403/429, ETag/304/HEAD, reload by API, file
//! change and SIGHUP, and consistency under concurrent reloads.

mod support;

use std::time::Duration;

use opendpma::auth::Algorithm;
use reqwest::StatusCode;
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client, digest_authorization, header_values};

const BOB: &str = "/0019159c1a2b.cfg";

#[tokio::test]
async fn unauthenticated_requests_get_the_same_401_for_known_and_unknown_macs() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    for path in [BOB, "/001915ffffff.cfg", "/not-a-file", "/"] {
        let response = client.get(server.http_url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let challenges = header_values(&response, "www-authenticate");
        assert_eq!(challenges.len(), 3, "{path}: {challenges:?}");
        // MD5 first: a phone's libcurl acts on the first Digest challenge only.
        assert!(
            challenges[0].starts_with("Digest realm=\"opendpma\"") && challenges[0].contains("algorithm=MD5")
        );
        assert!(challenges[0].contains("qop=\"auth\""));
        assert!(challenges[1].contains("algorithm=SHA-256"));
        assert_eq!(challenges[2], "Basic realm=\"opendpma\"");
        assert_eq!(response.text().await.unwrap(), "authentication required\n");
    }
}

#[tokio::test]
async fn basic_and_digest_credentials_get_the_config() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let basic = client
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    assert_eq!(basic.headers()["content-type"], "application/xml");
    let etag = basic.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let body = basic.text().await.unwrap();
    assert!(body.contains("username=\"2000\"") && body.contains("password=\"line-secret-2000\""));
    let contacts_url = format!("http://127.0.0.1:{}/p/", server.http.port());
    assert!(
        body.contains(&format!("<contacts url=\"{contacts_url}"))
            && body.contains("/0019159c1a2b-contacts.xml\""),
        "{body}"
    );

    for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
        // The MAC in the path is case-insensitive.
        let path = "/0019159C1A2B.cfg";
        let challenge = client.get(server.http_url(path)).send().await.unwrap();
        let challenges = header_values(&challenge, "www-authenticate");
        let authorization = digest_authorization(
            &challenges,
            algorithm,
            "GET",
            path,
            "provision",
            "http-secret-pw",
            1,
        );
        let response = client
            .get(server.http_url(path))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{algorithm:?}");
        assert_eq!(response.text().await.unwrap(), body);
        // Replaying the same nonce count is refused.
        let replay = client
            .get(server.http_url(path))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(
            replay.status(),
            StatusCode::UNAUTHORIZED,
            "replay of {algorithm:?}"
        );
    }

    let contacts = client
        .get(server.http_url("/0019159c1a2b-contacts.xml"))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(contacts.status(), StatusCode::OK);
    let contacts = contacts.text().await.unwrap();
    assert!(contacts.contains(&format!(
        "subscribe_to=\"sip:2001@127.0.0.1:{}\"",
        server.sip.port()
    )));
    let blf = client
        .get(server.http_url("/0019159c1a2b-blf.xml"))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(blf.status(), StatusCode::OK);
    assert_eq!(blf.text().await.unwrap().matches("<blf_item ").count(), 2);
}

#[tokio::test]
async fn valid_credentials_and_unknown_files_give_404() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    for path in ["/001915ffffff.cfg", "/0019159c1a2b.xml", "/phones.toml", "/a/b"] {
        let response = client
            .get(server.http_url(path))
            .basic_auth("provision", Some("http-secret-pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn etag_304_and_head() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let get = |extra: Option<&str>| {
        let mut request = client
            .get(server.http_url(BOB))
            .basic_auth("provision", Some("http-secret-pw"));
        if let Some(tag) = extra {
            request = request.header("if-none-match", tag);
        }
        request.send()
    };
    let first = get(None).await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let length = first.text().await.unwrap().len();
    let cached = get(Some(&etag)).await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()["etag"].to_str().unwrap(), etag);
    assert!(cached.text().await.unwrap().is_empty());
    let list = format!("\"other\", W/{etag}");
    assert_eq!(get(Some(&list)).await.unwrap().status(), StatusCode::NOT_MODIFIED);
    assert_eq!(get(Some("\"other\"")).await.unwrap().status(), StatusCode::OK);

    let head = client
        .head(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        length.to_string()
    );
    assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);
    assert!(head.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn outside_allowed_networks_is_forbidden_even_with_credentials() {
    let settings = format!("{HTTP_CREDENTIALS}\nallowed_networks = [\"10.0.0.0/8\"]");
    let server = Server::start(&settings, SAMPLE_BODY);
    let response = client()
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn repeated_failures_lock_the_address_out_with_one_warning() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    for attempt in 0..10 {
        let response = client
            .get(server.http_url(BOB))
            .basic_auth("provision", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    for _ in 0..3 {
        // Even the right password is refused while locked out.
        let response = client
            .get(server.http_url(BOB))
            .basic_auth("provision", Some("http-secret-pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry_after));
    }
    let log = server.log();
    assert_eq!(log.matches("too many failed logins").count(), 1, "{log}");
    assert_eq!(
        log.matches("auth failure: ip=127.0.0.1 user=provision proto=http")
            .count(),
        10
    );
}

#[tokio::test]
async fn access_log_has_one_line_per_request_and_no_secrets() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let challenge = client.get(server.http_url(BOB)).send().await.unwrap();
    let authorization = digest_authorization(
        &header_values(&challenge, "www-authenticate"),
        Algorithm::Sha256,
        "GET",
        BOB,
        "provision",
        "http-secret-pw",
        1,
    );
    let response = client
        .get(server.http_url(BOB))
        .header("authorization", &authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let _ = client
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await;
    // The access line is written after the response: wait for all three.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while server.log().matches("opendpma::access").count() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = server.log();
    let access: Vec<&str> = log.lines().filter(|l| l.contains("opendpma::access")).collect();
    assert_eq!(access.len(), 3, "{log}");
    assert!(access[1].contains("method=GET") && access[1].contains("path=/0019159c1a2b.cfg"));
    assert!(access[1].contains("status=200") && access[1].contains("peer=127.0.0.1:"));
    assert!(access[1].contains("bytes=") && access[1].contains("duration_us="));
    let response_value = authorization
        .split("response=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for secret in [
        "http-secret-pw",
        "line-secret-2000",
        response_value,
        "cHJvdmlzaW9u",
    ] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}

#[tokio::test]
async fn admin_reload_swaps_valid_configs_and_keeps_serving_on_invalid_ones() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let fetch = || async {
        client
            .get(server.http_url(BOB))
            .basic_auth("provision", Some("http-secret-pw"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(fetch().await.contains("line_label=\"Bob\""));
    let reload = || {
        client
            .post(server.admin_url("/api/v1/reload"))
            .bearer_auth(TOKEN)
            .send()
    };

    // Without the token: 401.
    let refused = client
        .post(server.admin_url("/api/v1/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap()["error"],
        "admin token required (Authorization: Bearer …)"
    );

    // A broken edit: 422 with every problem, old config still served. The
    // file watcher may reload it too; both must refuse it.
    let broken = server.config_with(
        HTTP_CREDENTIALS,
        &SAMPLE_BODY.replace("model = \"D65\"", "model = \"D99\"\nbogus = 1"),
    );
    let model_line = broken.lines().position(|l| l == "model = \"D99\"").unwrap() + 1;
    std::fs::write(&server.config_path, &broken).unwrap();
    let response = reload().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: serde_json::Value = response.json().await.unwrap();
    let problems: Vec<String> = serde_json::from_value(answer["problems"].clone()).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("phones.bob.model: unknown phone model \"D99\""),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("phones.bob.bogus: unknown key `bogus`"),
        "{problems:?}"
    );
    assert!(
        problems[0].starts_with(&format!("{model_line}:9: ")),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with(&format!("{}:1: ", model_line + 1)),
        "{problems:?}"
    );
    assert!(fetch().await.contains("line_label=\"Bob\""));
    // The log arrives through a pipe: wait for the line, do not race it.
    assert!(server.wait_for_log(
        &format!("phones.toml:{model_line}:9: phones.bob.model: unknown phone model"),
        Duration::from_secs(10)
    ));

    // A good edit: 200, new content.
    let fixed = server.config_with(
        HTTP_CREDENTIALS,
        &SAMPLE_BODY.replace("label = \"Bob\"", "label = \"Robert\""),
    );
    std::fs::write(&server.config_path, fixed).unwrap();
    let response = reload().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["summary"], "2 phones, 3 lines, 0 networks, 3 hints");
    // Bob's own config and Alice's phonebook both show the label.
    let mut changed: Vec<String> = serde_json::from_value(answer["changed_phones"].clone()).unwrap();
    changed.sort();
    assert_eq!(changed, ["alice", "bob"]);
    assert!(fetch().await.contains("line_label=\"Robert\""));
}

#[tokio::test]
async fn file_changes_and_sighup_reload() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let fetch = || async {
        client
            .get(server.http_url(BOB))
            .basic_auth("provision", Some("http-secret-pw"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let wait_for = |needle: &'static str| async move {
        // Generous: the watcher's debounce and a loaded CI machine.
        for _ in 0..300 {
            if fetch().await.contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    // Editor-style save: write a temporary file and rename it over.
    server
        .replace_config(&server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Bobby\"")));
    assert!(
        wait_for("line_label=\"Bobby\"").await,
        "file change not picked up:\n{}",
        server.log()
    );
    // A broken save is logged with its place and changes nothing.
    server.replace_config("[general]\nserver_address = \n");
    assert!(server.wait_for_log("reload refused", Duration::from_secs(15)));
    assert!(server.wait_for_log("phones.toml:2:", Duration::from_secs(15)));
    assert!(fetch().await.contains("line_label=\"Bobby\""));
    // SIGHUP: write in place while the watcher could also see it; either
    // way the new text must be served.
    std::fs::write(
        &server.config_path,
        server.config_with(HTTP_CREDENTIALS, &SAMPLE_BODY.replace("\"Bob\"", "\"Bo\"")),
    )
    .unwrap();
    server.signal("HUP");
    assert!(wait_for("line_label=\"Bo\"").await);
}

#[tokio::test]
async fn concurrent_requests_during_reloads_get_whole_old_or_new_bodies() {
    // 200 requests at once from one address: the rate limit is off here,
    // and the per-address connection cap (32) is raised above 200.
    let body =
        format!("{SAMPLE_BODY}\n[limits]\nhttp_requests_per_second = 0\nhttp_connections_per_ip = 256\n");
    let server = Server::start(HTTP_CREDENTIALS, &body);
    let client = client();
    let versions: Vec<String> = (0..4)
        .map(|i| body.replace("\"Bob\"", &format!("\"Bob v{i}\"")))
        .collect();
    let mut expected = Vec::new();
    for version in &versions {
        let config = opendpma::config::Config::parse(
            &server.config_with(HTTP_CREDENTIALS, version),
            &server.config_path,
        )
        .unwrap();
        let phone = config.phone("bob").unwrap();
        let documents = opendpma::provision::render_phone(&config, phone).unwrap();
        expected.push(String::from_utf8(documents.config.body.to_vec()).unwrap());
    }
    let mut requests = Vec::new();
    for _ in 0..200 {
        let client = client.clone();
        let url = server.http_url(BOB);
        requests.push(tokio::spawn(async move {
            let response = client
                .get(url)
                .basic_auth("provision", Some("http-secret-pw"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }));
    }
    for version in &versions {
        std::fs::write(&server.config_path, server.config_with(HTTP_CREDENTIALS, version)).unwrap();
        let reload = client
            .post(server.admin_url("/api/v1/reload"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(reload.status(), StatusCode::OK);
    }
    let original = {
        let config = opendpma::config::Config::parse(
            &server.config_with(HTTP_CREDENTIALS, &body),
            &server.config_path,
        )
        .unwrap();
        let documents = opendpma::provision::render_phone(&config, config.phone("bob").unwrap()).unwrap();
        String::from_utf8(documents.config.body.to_vec()).unwrap()
    };
    expected.push(original);
    for request in requests {
        let body = request.await.unwrap();
        assert!(expected.contains(&body), "a torn or unexpected body:\n{body}");
    }
}

#[tokio::test]
async fn healthz_is_open_and_the_server_refuses_unsafe_exposure() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let response = client().get(server.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Provisioning on a non-loopback address without credentials.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("phones.toml");
    let text = support::config_text(
        support::free_port(),
        support::free_port(),
        support::free_port(),
        "",
        SAMPLE_BODY,
    )
    .replace("listen = \"127.0.0.1:", "listen = \"0.0.0.0:");
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("without [http] username/password"));
}

/// Guessing document tokens counts like guessing passwords: the address is
/// locked out of further guesses, but the right token is still served, so
/// one guesser behind a site's NAT cannot turn off every phone's keys.
#[tokio::test]
async fn guessed_document_tokens_lock_out_guesses_not_the_phones() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let config = client
        .get(server.http_url(BOB))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let blf_url = config
        .split("<blf_items url=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        client.get(&blf_url).send().await.unwrap().status(),
        StatusCode::OK
    );
    for guess in 0..10 {
        let url = server.http_url(&format!("/p/{guess:032x}/0019159c1a2b-blf.xml"));
        assert_eq!(
            client.get(url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    let eleventh = server.http_url(&format!("/p/{:032x}/0019159c1a2b-blf.xml", 10));
    assert_eq!(
        client.get(eleventh).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        client.get(&blf_url).send().await.unwrap().status(),
        StatusCode::OK,
        "the phone (same address) still gets its keys"
    );
    // Log lines come through the server's stderr: wait for all ten.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.log().matches("user=document-token proto=http").count() < 10
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.log();
    assert_eq!(log.matches("user=document-token proto=http").count(), 10, "{log}");
}

/// Firmware: `<firmwares>` in the config of each phone of the model, the
/// file behind its URL streamed whole or by Range, ETag/304, 416, and only
/// named files, only to phones with their token or the credentials.
#[tokio::test]
async fn firmware_is_announced_and_served_with_ranges_and_etags() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    // 200 KB of a repeating pattern: several chunks, checkable anywhere.
    let image: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let files = server.config_path.parent().unwrap().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("2_9_27_D65_firmware.eff"), &image).unwrap();
    std::fs::write(files.join("secret.txt"), "not served").unwrap();
    let body = format!("{SAMPLE_BODY}\n[firmware.d65]\nmodel = \"D65\"\nversion = \"2_9_27\"\n");
    std::fs::write(&server.config_path, server.config_with(HTTP_CREDENTIALS, &body)).unwrap();
    let reload = client
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::OK);

    let get = |path: String| {
        client
            .get(server.http_url(&path))
            .basic_auth("provision", Some("http-secret-pw"))
    };
    let config = get(BOB.to_owned()).send().await.unwrap().text().await.unwrap();
    let marker = "<firmware model=\"D65\" version=\"2_9_27\" url=\"";
    let start = config.find(marker).expect("firmwares") + marker.len();
    let url = &config[start..start + config[start..].find('"').unwrap()];
    let prefix = format!("http://127.0.0.1:{}", server.http.port());
    let path = url.strip_prefix(&prefix).expect("our URL").to_owned();
    assert!(
        path.starts_with("/p/") && path.ends_with("/0019159c1a2b/2_9_27_D65_firmware.eff"),
        "{path}"
    );
    // The D50 has no firmware entry: no <firmwares>.
    let alice = get("/0019159c1a2c.cfg".into())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!alice.contains("<firmwares>"), "{alice}");

    // Whole, by the token URL (no credentials).
    let whole = client.get(url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-length"], "200000");
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &image[..]);

    // A range, as a resumed download asks for it.
    let part = client
        .get(url)
        .header("range", "bytes=65530-65549")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 65530-65549/200000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &image[65530..65550]);
    let tail = client.get(url).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &image[199_990..]);
    let beyond = client
        .get(url)
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], "bytes */200000");

    // Unchanged: 304 without a body.
    let cached = client
        .get(url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // With the credentials under /files/; HEAD sends the length only.
    let head = client
        .head(server.http_url("/files/2_9_27_D65_firmware.eff"))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "200000");
    // Without them: 401; a file the config does not name: 404; a wrong token: 404.
    let anonymous = client
        .get(server.http_url("/files/2_9_27_D65_firmware.eff"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let unnamed = get("/files/secret.txt".into()).send().await.unwrap();
    assert_eq!(unnamed.status(), StatusCode::NOT_FOUND);
    let wrong = path.replacen("/p/", "/p/0", 1);
    let guessed = client.get(server.http_url(&wrong)).send().await.unwrap();
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);

    // A missing file is refused at reload, at the entry's line.
    std::fs::remove_file(files.join("2_9_27_D65_firmware.eff")).unwrap();
    let refused = client
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_ne!(refused.status(), StatusCode::OK);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("firmware.d65.file") && text.contains("2_9_27_D65_firmware.eff is not a file"),
        "{text}"
    );
}

/// A phone without `model` gets the documents of the model its User-Agent
/// names (reference §1.5); one that names none gets a 404 and a log line;
/// a set model that the User-Agent contradicts is served as set, with a
/// warning in the log.
#[tokio::test]
async fn the_model_comes_from_the_user_agent_when_it_is_not_set() {
    let body = SAMPLE_BODY.replace("model = \"D50\"\n", "");
    let server = Server::start(HTTP_CREDENTIALS, &body);
    let client = client();
    let fetch = |path: &'static str, agent: Option<&'static str>| {
        let mut request = client
            .get(server.http_url(path))
            .basic_auth("provision", Some("http-secret-pw"));
        if let Some(agent) = agent {
            request = request.header("user-agent", agent);
        }
        request.send()
    };
    let alice = "/0019159c1a2c.cfg";
    let as_d45 = fetch(alice, Some("Digium D45 2_9_27")).await.unwrap();
    assert_eq!(as_d45.status(), StatusCode::OK);
    let d45 = as_d45.text().await.unwrap();
    assert!(d45.contains("for a D45;"), "{d45}");
    // The D45 shares its line keys with BLF; the D70 has side keys.
    assert!(d45.contains("enable_blf_on_unused_line_keys"), "{d45}");
    let d70 = fetch(alice, Some("Sangoma D70 2_9_27"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        d70.contains("for a D70;") && !d70.contains("enable_blf_on_unused_line_keys"),
        "{d70}"
    );
    let blf = fetch("/0019159c1a2c-blf.xml", Some("Digium D70 2_9_27"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        blf.contains("Smart BLF sheet for a D70") && blf.contains("location=\"side\""),
        "{blf}"
    );
    let unknown = fetch(alice, Some("curl/8")).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(server.wait_for_log("set `model` in phones.toml", Duration::from_secs(10)));

    // Bob is a D65 in phones.toml; his phone says D45.
    let bob = fetch(BOB, Some("Digium D45 2_9_27"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bob.contains("for a D65;"), "{bob}");
    assert!(server.wait_for_log(
        "model mismatch: phones.toml says D65, the phone says it is a D45",
        Duration::from_secs(10)
    ));
}

/// Ringtones, wallpapers and paging groups: a phone's config lists its
/// downloaded tone (with MD5) and its paging listener, and the tone and
/// wallpaper are served by the token URLs the config carries, with Range
/// and ETag like firmware. A tone that is not a 16 kHz mono WAV is refused
/// at reload, at its entry's line.
#[tokio::test]
async fn ringtones_wallpapers_and_paging_are_announced_and_served() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/files");
    let files = server.config_path.parent().unwrap().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let tone = std::fs::read(fixtures.join("chime-16k-mono.wav")).unwrap();
    let wallpaper = std::fs::read(fixtures.join("logo-d6x.png")).unwrap();
    std::fs::write(files.join("chime.wav"), &tone).unwrap();
    std::fs::write(files.join("wall.png"), &wallpaper).unwrap();
    let media = "\n[ringtones.chime]\nalias = \"Chime\"\nfile = \"chime.wav\"\n\
                 [paging.all]\naddress = \"239.255.0.9\"\nport = 6000\npriority = 2\n\
                 [lines.2003]\nsecret = \"line-secret-2003\"\n\
                 [phones.carol]\nmac = \"0019159c1a2d\"\nmodel = \"D65\"\nlines = [\"2003\"]\n\
                 active_ringtone = \"chime\"\nwallpaper_file = \"wall.png\"\npaging = [\"all\"]\n";
    let body = format!("{SAMPLE_BODY}{media}");
    std::fs::write(&server.config_path, server.config_with(HTTP_CREDENTIALS, &body)).unwrap();
    let reload = client
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::OK);
    let config = client
        .get(server.http_url("/0019159c1a2d.cfg"))
        .basic_auth("provision", Some("http-secret-pw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("<setting id=\"active_ringtone\" value=\"chime\"/>"),
        "{config}"
    );
    assert!(
        config.contains(
            "<listener id=\"all\" name=\"all\" addr=\"239.255.0.9\" port=\"6000\" priority=\"2\" interrupt_calls=\"0\"/>"
        ),
        "{config}"
    );
    let url_after = |marker: &str| {
        let start = config
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} in {config}"))
            + marker.len();
        let url = config[start..].split_once("url=\"").expect("url").1;
        url[..url.find('"').unwrap()].to_owned()
    };
    let tone_url = url_after("<tone id=\"chime\" display=\"Chime\" type=\"user\"");
    let md5 = md5_hex(&tone);
    assert!(config.contains(&format!("md5=\"{md5}\"")), "{config}");
    assert!(
        tone_url.contains("/p/") && tone_url.ends_with("/0019159c1a2d/chime.wav"),
        "{tone_url}"
    );
    let whole = client.get(&tone_url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &tone[..]);
    let part = client
        .get(&tone_url)
        .header("range", "bytes=0-11")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &tone[..12]);
    let cached = client
        .get(&tone_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    // The file is served only under the phone's token (or with the
    // provisioning credentials): another token, no credentials, or a name
    // no entry serves gets nothing.
    let (before, after) = tone_url.split_once("/p/").expect("token path");
    let token = after.split('/').next().expect("token");
    let wrong = format!(
        "{before}/p/{}/{}",
        "0".repeat(token.len()),
        &after[token.len() + 1..]
    );
    let refused = client.get(&wrong).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let anonymous = client
        .get(server.http_url("/files/chime.wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let unserved = tone_url.replace("/chime.wav", "/phones.toml");
    let unserved = client.get(&unserved).send().await.unwrap();
    assert_eq!(unserved.status(), StatusCode::NOT_FOUND);
    let wall_url = url_after("<setting id=\"wallpaper_file\" value=\"user\" path=\"/user_wallpaper.png\"");
    let served = client.get(&wall_url).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), &wallpaper[..]);

    // A tone the phones cannot play is refused at reload.
    std::fs::write(files.join("chime.wav"), b"ID3 an mp3, not a wav").unwrap();
    let refused = client
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_ne!(refused.status(), StatusCode::OK);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("ringtones.chime.file") && text.contains("chime.wav is not a WAV file"),
        "{text}"
    );
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A firmware rollout as the admin sees it: `GET /api/v1/firmware` and the
/// dashboard say which version each phone runs (from the User-Agent of its
/// last config fetch), which are behind the configured `[firmware]`, and
/// which report another model than phones.toml sets.
#[tokio::test]
async fn the_dashboard_shows_firmware_versions_phones_behind_and_model_mismatches() {
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let client = client();
    let files = server.config_path.parent().unwrap().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("2_9_27_D65_firmware.eff"), b"image").unwrap();
    let body = format!("{SAMPLE_BODY}\n[firmware.d65]\nmodel = \"D65\"\nversion = \"2_9_27\"\n");
    std::fs::write(&server.config_path, server.config_with(HTTP_CREDENTIALS, &body)).unwrap();
    let reload = client
        .post(server.admin_url("/api/v1/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::OK);
    // Bob's D65 runs an older version; Alice's (a D50 in phones.toml) says
    // it is a D45.
    for (path, agent) in [
        (BOB, "Digium D65 2_8_1"),
        ("/0019159c1a2c.cfg", "Digium D45 2_9_27"),
    ] {
        let fetched = client
            .get(server.http_url(path))
            .basic_auth("provision", Some("http-secret-pw"))
            .header("user-agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(fetched.status(), StatusCode::OK);
    }
    let status: serde_json::Value = client
        .get(server.admin_url("/api/v1/firmware"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        serde_json::json!([
            {"phone": "bob", "configured_model": "D65", "reported_model": "D65", "model_mismatch": false,
             "running": "2_8_1", "target": "2_9_27", "behind": true},
            {"phone": "alice", "configured_model": "D50", "reported_model": "D45", "model_mismatch": true,
             "running": "2_9_27", "target": null, "behind": false},
        ])
    );
    let page = client
        .get(server.admin_url("/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = &page[page.find("<table id=\"firmware\">").expect("firmware table")..];
    let row = |phone: &str| {
        let start = table
            .find(&format!("<tr data-phone=\"{phone}\">"))
            .unwrap_or_else(|| panic!("{phone} in {table}"));
        table[start..start + table[start..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        row("bob").contains("<td>2_8_1</td>") && row("bob").contains(">behind</td>"),
        "{}",
        row("bob")
    );
    assert!(
        row("alice").contains(">model mismatch: set D50, says D45</td>"),
        "{}",
        row("alice")
    );
    // And the log says so too, at the fetch.
    assert!(server.wait_for_log(
        "model mismatch: phones.toml says D50, the phone says it is a D45",
        std::time::Duration::from_secs(10)
    ));
}
