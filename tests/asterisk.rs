//! opendpma beside a real Asterisk 22 (issue 14), over AMI: presence both
//! ways, real call state on BLF keys, check-sync through Asterisk, restart
//! and outage handling. Asterisk runs in the Debian sid chroot built by
//! tests/asterisk/setup-chroot.sh; without it these tests print
//! "skipped: needs Asterisk chroot (see tests/asterisk/README)", unless
//! OPENDPMA_REQUIRE_ALL=1 (CI), which makes that a failure.

#[path = "asterisk/harness.rs"]
mod harness;
#[path = "asterisk/opendpma_side.rs"]
mod opendpma_side;
mod support;

use std::time::Duration;

use harness::{AMI_SECRET, AdminAmi, Asterisk, Phone, register, section, sipp, wait_until};
use opendpma_side::{WAIT, admin, next_body, note, publish, start_server, wait_synced, watch};
use serde_json::{Value, json};
use support::{HTTP_CREDENTIALS, SAMPLE_BODY};

/// A phone's PUBLISH and an API write (commas, quotes, a newline) are
/// read back from Asterisk's `PRESENCE_STATE(CustomPresence:<line>)`;
/// Asterisk's echoes of our writes cause no writes or changes of their own.
#[test]
fn phone_and_api_changes_are_read_back_from_asterisk() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    // The secret from the environment (the contract's alternative).
    let server = start_server(
        &section(false),
        &[("OPENDPMA_AMI_SECRET", AMI_SECRET), ("RUST_LOG", "trace")],
    );
    wait_synced(&server, 1);
    let mut ami = AdminAmi::connect();

    assert_eq!(publish(&server, "2001", "dnd", "in a meeting"), 200);
    let expected = ("dnd".to_owned(), String::new(), "in a meeting".to_owned());
    assert!(
        wait_until(WAIT, || ami.presence("2001") == expected),
        "{:?}",
        ami.presence("2001")
    );

    let tricky = json!({"state": "away", "subtype": "lunch, late", "message": "back at 2, \"maybe\" & 'so'\nsecond line"});
    assert_eq!(
        admin(
            &server,
            "PUT",
            "/api/v1/presence/CustomPresence:2000",
            Some(tricky)
        )
        .0,
        200
    );
    let expected = (
        "away".to_owned(),
        "lunch, late".to_owned(),
        "back at 2, \"maybe\" & 'so'\nsecond line".to_owned(),
    );
    assert!(
        wait_until(WAIT, || ami.presence("2000") == expected),
        "{:?}",
        ami.presence("2000")
    );

    // A change made in Asterisk after our two writes: once it has arrived,
    // the echoes of our writes (announced before it) have been handled.
    ami.setvar("PRESENCE_STATE(CustomPresence:2002)", "chat,,barrier");
    assert!(wait_until(WAIT, || {
        admin(&server, "GET", "/api/v1/presence/CustomPresence:2002", None)
            .1
            .contains("barrier")
    }));
    assert_eq!(
        server.metric("opendpma_asterisk_writes_total"),
        Some(2),
        "one Setvar per change, none echoed"
    );
    assert_eq!(server.metric("opendpma_presence_changes_total"), Some(3));
    assert_eq!(
        server
            .metric("opendpma_asterisk_changes_in_total")
            .map(|n| n >= 1),
        Some(true)
    );
    assert!(
        !server.log().contains(AMI_SECRET),
        "the AMI secret must never be logged"
    );
}

/// `presencestate change` (CLI) and AMI writes in Asterisk reach a Digium
/// watcher of opendpma; `unavailable` is shown as Asterisk shows it
/// (docs/DECISIONS.md); base64 `e` values arrive decoded; a line that is not
/// registered to Asterisk shows Unavailable.
#[test]
fn asterisk_presence_changes_reach_opendpma_watchers() {
    let Some(asterisk) = Asterisk::start() else { return };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let (watcher, first) = watch(&server, "2000");
    assert_eq!(
        note(&first),
        "Unavailable",
        "PJSIP/2000 is not registered: {first}"
    );
    assert!(first.contains("<basic>closed</basic>"), "{first}");

    asterisk.cli("presencestate change CustomPresence:2000 \"AWAY,lunch,back at 2\"");
    let body = next_body(&watcher);
    assert!(
        body.contains("<digium_presence type=\"away\" subtype=\"lunch\">back at 2</digium_presence>"),
        "{body}"
    );

    let mut ami = AdminAmi::connect();
    let sent_at = std::time::Instant::now();
    ami.setvar("PRESENCE_STATE(CustomPresence:2000)", "unavailable,,gone home");
    let body = next_body(&watcher);
    eprintln!("Asterisk Setvar → opendpma NOTIFY: {:?}", sent_at.elapsed());
    assert!(
        body.contains("<digium_presence type=\"unavailable\">gone home</digium_presence>"),
        "{body}"
    );
    let (_, api) = admin(&server, "GET", "/api/v1/presence/CustomPresence:2000", None);
    assert!(api.contains("\"state\":\"unavailable\""), "{api}");

    // base64 with `e`: Asterisk decodes; the C-escaped AMI message is undone.
    ami.setvar(
        "PRESENCE_STATE(CustomPresence:2000)",
        "xa,dHJpcCwgbG9uZw==,YmFjayAibW9uZGF5Ig==,e",
    );
    let body = next_body(&watcher);
    assert!(
        body.contains(
            "<digium_presence type=\"xa\" subtype=\"trip, long\">back &quot;monday&quot;</digium_presence>"
        ),
        "{body}"
    );
    ami.setvar("PRESENCE_STATE(CustomPresence:2000)", "not_set");
    let body = next_body(&watcher);
    assert!(body.contains("<digium_presence type=\"not_set\" />"), "{body}");
    let (_, api) = admin(&server, "GET", "/api/v1/presence/CustomPresence:2000", None);
    assert!(api.contains("\"state\":\"not_set\""), "{api}");
}

/// A call between two sipp phones through Asterisk: the Digium watcher of
/// 2000 on opendpma sees Ready (registered), Ringing, On the phone, Ready.
/// Line 2001 (digest-authenticated) calls 2000 through Asterisk with the
/// sipp `scenario`; sipp's output.
fn call_from_2001(scenario: &str) -> std::process::Output {
    sipp(
        scenario,
        &[
            "-s",
            "2000",
            harness::SIP,
            "-au",
            "2001",
            "-ap",
            "s2001",
            "-key",
            "caller",
            "2001",
            "-p",
            "0",
            "-timeout",
            "20s",
        ],
    )
}

#[test]
fn a_call_through_asterisk_shows_on_the_blf_key() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let (watcher, first) = watch(&server, "2000");
    assert_eq!(note(&first), "Unavailable", "{first}");

    let mut callee = Phone::listen("asterisk_answer.xml", "2000");
    register("2000", callee.port);
    let caller = std::thread::spawn(|| call_from_2001("asterisk_call.xml"));
    let mut notes = vec![note(&first).to_owned()];
    while !notes.ends_with(&["On the phone".to_owned(), "Ready".to_owned()]) {
        let body = next_body(&watcher);
        if note(&body) == "On the phone" {
            assert!(body.contains("<basic>open</basic>"), "{body}");
        }
        notes.push(note(&body).to_owned());
        assert!(notes.len() < 12, "unexpected NOTIFYs: {notes:?}");
    }
    caller.join().expect("the call completes");
    assert!(
        callee.finished_ok(Duration::from_secs(10)),
        "the callee saw the whole call"
    );
    assert_eq!(
        notes,
        ["Unavailable", "Ready", "Ringing", "On the phone", "Ready"]
    );
}

/// Asterisk stops: opendpma keeps serving and says so; changes made
/// meanwhile are pushed when Asterisk is back, and values Asterisk lost
/// (fresh astdb) are restored from opendpma's store.
#[test]
fn asterisk_restart_reconnects_and_resynchronises() {
    let Some(asterisk) = Asterisk::start() else { return };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let away = json!({"state": "away", "message": "before the restart"});
    assert_eq!(
        admin(&server, "PUT", "/api/v1/presence/CustomPresence:2001", Some(away)).0,
        200
    );
    let mut ami = AdminAmi::connect();
    assert!(wait_until(WAIT, || ami.presence("2001").0 == "away"));
    drop(ami);

    let dashboard = || admin(&server, "GET", "/", None).1;
    assert!(
        dashboard().contains("Asterisk (AMI): connected</p>"),
        "{}",
        dashboard()
    );

    asterisk.stop();
    assert!(wait_until(WAIT, || admin(&server, "GET", "/healthz", None)
        == (200, "degraded: Asterisk AMI not connected\n".to_owned())));
    assert_eq!(server.metric("opendpma_asterisk_connected"), Some(0));
    assert!(dashboard().contains("Asterisk (AMI): not connected"));
    let dnd = json!({"state": "dnd", "message": "while Asterisk was down"});
    assert_eq!(
        admin(&server, "PUT", "/api/v1/presence/CustomPresence:2002", Some(dnd)).0,
        200
    );
    assert_eq!(
        publish(&server, "2000", "xa", "on leave"),
        200,
        "SIP keeps serving"
    );

    asterisk.start_again();
    wait_synced(&server, 2);
    assert_eq!(admin(&server, "GET", "/healthz", None), (200, "ok\n".to_owned()));
    assert!(dashboard().contains("Asterisk (AMI): connected</p>"));
    let mut ami = AdminAmi::connect();
    for (line, state, message) in [
        ("2000", "xa", "on leave"),
        ("2001", "away", "before the restart"),
        ("2002", "dnd", "while Asterisk was down"),
    ] {
        let expected = (state.to_owned(), String::new(), message.to_owned());
        assert!(
            wait_until(WAIT, || ami.presence(line) == expected),
            "{line}: {:?}",
            ami.presence(line)
        );
    }
}

/// A change made in Asterisk while opendpma was not running is taken at
/// the next start (resync rule 4, docs/DECISIONS.md §6); values opendpma
/// holds that Asterisk did not change stay.
#[test]
fn changes_made_in_asterisk_while_opendpma_was_down_are_taken_at_start() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let mut server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    for (line, state) in [("2000", "away"), ("2001", "xa")] {
        let body = json!({"state": state});
        let path = format!("/api/v1/presence/CustomPresence:{line}");
        assert_eq!(admin(&server, "PUT", &path, Some(body)).0, 200);
    }
    let mut ami = AdminAmi::connect();
    assert!(wait_until(WAIT, || ami.presence("2001").0 == "xa"));
    server.kill9();
    ami.setvar("PRESENCE_STATE(CustomPresence:2001)", "dnd,,changed in Asterisk");
    server.restart();
    wait_synced(&server, 1);
    let taken = wait_until(WAIT, || {
        admin(&server, "GET", "/api/v1/presence/CustomPresence:2001", None)
            .1
            .contains("changed in Asterisk")
    });
    assert!(taken, "{}", server.log());
    let (_, kept) = admin(&server, "GET", "/api/v1/presence/CustomPresence:2000", None);
    assert!(kept.contains("\"state\":\"away\""), "{kept}");
    assert_eq!(ami.presence("2000").0, "away");
}

/// check-sync reaches a phone that registered to Asterisk and never sent
/// opendpma anything (AMI `PJSIPNotify`), with its per-phone report.
#[test]
fn reconfigure_reaches_a_phone_known_only_to_asterisk() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let mut phone = Phone::listen("asterisk_check_sync.xml", "2001");
    register("2001", phone.port);
    wait_registered(&server, "2001");
    let (code, body) = admin(&server, "POST", "/api/v1/reconfigure/alice", None);
    assert_eq!(code, 200);
    let report: Value = serde_json::from_str(&body).expect("JSON report");
    assert_eq!(
        report,
        json!([{"phone": "alice", "result": "sent_via_asterisk", "endpoint": "2001"}])
    );
    assert!(
        phone.finished_ok(Duration::from_secs(10)),
        "the phone got Event: check-sync"
    );
    // The CLI says the same, naming the endpoint. Bob's 2000 is not
    // registered (Asterisk would answer "NOTIFY sent" all the same; its
    // device state tells).
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["reconfigure", "bob", "--admin-url", &server.admin_url("")])
        .env("OPENDPMA_ADMIN_TOKEN", support::TOKEN)
        .output()
        .expect("run the CLI");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "PHONE  RESULT\nbob    asterisk_failed (PJSIP/2000): PJSIP/2000 is not registered to Asterisk\n"
    );
}

/// opendpma knows `exten` is registered to Asterisk once Asterisk's device
/// state says so.
fn wait_registered(server: &support::Server, exten: &str) {
    let registered = wait_until(WAIT, || {
        let (_, hints) = admin(server, "GET", "/api/v1/hints", None);
        serde_json::from_str::<Value>(&hints).is_ok_and(|hints| {
            hints
                .as_array()
                .into_iter()
                .flatten()
                .any(|hint| hint["exten"] == exten && hint["extension_state"] == "idle")
        })
    });
    assert!(registered, "{}", server.log());
}

/// The automatic check-sync after a reload takes the same way as the
/// admin's: alice's line label changes, alice was never heard from here but
/// is registered to Asterisk, so the SIP driver's reload turn hands her to
/// the AMI link (`PJSIPNotify`) and the phone gets `Event: check-sync`.
#[test]
fn a_reload_reconfigures_a_phone_known_only_to_asterisk() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let mut phone = Phone::listen("asterisk_check_sync.xml", "2001");
    register("2001", phone.port);
    wait_registered(&server, "2001");
    let body = format!(
        "{}\n{}",
        SAMPLE_BODY.replace("\"Alice\"", "\"Alicia\""),
        section(true)
    );
    server.replace_config(&server.config_with(HTTP_CREDENTIALS, &body));
    assert!(
        phone.finished_ok(Duration::from_secs(10)),
        "the phone got Event: check-sync\n{}",
        server.log()
    );
    assert!(
        server.wait_for_log(
            "automatic check-sync after reload phone=alice outcome=SentViaAsterisk",
            WAIT
        ),
        "{}",
        server.log()
    );
}

/// A wrong AMI secret: refused login in the log (without the secret),
/// degraded health, and everything else keeps working.
#[test]
fn a_refused_login_is_reported_and_opendpma_keeps_serving() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(
        &section(false),
        &[("OPENDPMA_AMI_SECRET", "not-the-secret"), ("RUST_LOG", "trace")],
    );
    assert!(
        server.wait_for_log("Asterisk refused the login", WAIT),
        "{}",
        server.log()
    );
    assert_eq!(
        admin(&server, "GET", "/healthz", None).1,
        "degraded: Asterisk AMI not connected\n"
    );
    assert!(!server.log().contains("not-the-secret"));
}

/// No Asterisk listening at all (no chroot needed): opendpma starts,
/// serves presence and provisioning, and says it is degraded in /healthz,
/// /metrics and on the dashboard.
#[test]
fn ami_down_keeps_serving_and_says_so() {
    let port = support::free_port();
    let section =
        format!("[asterisk]\nami = \"127.0.0.1:{port}\"\nusername = \"opendpma\"\nsecret = \"x\"\n");
    let server = start_server(&section, &[]);
    assert!(wait_until(WAIT, || server
        .metric("opendpma_asterisk_connect_failures_total")
        >= Some(1)));
    assert_eq!(server.metric("opendpma_asterisk_configured"), Some(1));
    assert_eq!(server.metric("opendpma_asterisk_connected"), Some(0));
    assert_eq!(
        admin(&server, "GET", "/healthz", None),
        (200, "degraded: Asterisk AMI not connected\n".to_owned())
    );
    let away = json!({"state": "away"});
    assert_eq!(
        admin(&server, "PUT", "/api/v1/presence/CustomPresence:2000", Some(away)).0,
        200
    );
    let (_, report) = admin(&server, "POST", "/api/v1/reconfigure/bob", None);
    let report: Value = serde_json::from_str(&report).expect("JSON report");
    assert_eq!(
        report,
        json!([{"phone": "bob", "result": "asterisk_failed", "endpoint": "2000", "reason": "Asterisk is not connected"}])
    );
    let (code, page) = admin(&server, "GET", "/", None);
    assert_eq!(code, 200);
    assert!(page.contains("Asterisk (AMI): not connected"), "{page}");
    // With [asterisk] a line's hint is its PJSIP endpoint plus its presence.
    let (_, hints) = admin(&server, "GET", "/api/v1/hints", None);
    let hints: Value = serde_json::from_str(&hints).expect("JSON");
    assert_eq!(hints[0]["devices"], json!(["PJSIP/2000"]));
    assert_eq!(hints[0]["presence_providers"], json!(["CustomPresence:2000"]));
}

/// Without `[asterisk]` nothing changes: `Custom:` hints, health "ok".
#[test]
fn without_asterisk_opendpma_works_alone_as_before() {
    let server = start_server("", &[]);
    assert_eq!(admin(&server, "GET", "/healthz", None), (200, "ok\n".to_owned()));
    assert_eq!(server.metric("opendpma_asterisk_configured"), Some(0));
    let (_, hints) = admin(&server, "GET", "/api/v1/hints", None);
    let hints: Value = serde_json::from_str(&hints).expect("JSON");
    assert_eq!(hints[0]["devices"], json!(["Custom:2000"]));
}

/// `[asterisk]` problems are reported with their place, like any other.
#[test]
fn asterisk_section_problems_are_reported_with_their_place() {
    let text = "[general]\nserver_address = \"pbx\"\n\n[asterisk]\nami = \"pbx\"\nusername = \"o\"\nsekret = \"x\"\n";
    let error = opendpma::config::Config::parse(text, std::path::Path::new("phones.toml"))
        .expect_err("invalid")
        .to_string();
    assert!(
        error.contains("phones.toml:5:7: asterisk.ami: \"pbx\" is not host:port"),
        "{error}"
    );
    assert!(
        error.contains("phones.toml:7:1: asterisk.sekret: unknown key `sekret` (did you mean `secret`?)"),
        "{error}"
    );
}

/// `[asterisk]` without a secret anywhere: refused at start, saying how to fix it.
#[test]
fn asterisk_without_a_secret_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phones.toml");
    let (http, admin, sip) = (support::free_port(), support::free_port(), support::free_port());
    let text = support::config_text(
        http,
        admin,
        sip,
        HTTP_CREDENTIALS,
        &format!("{SAMPLE_BODY}\n{}", section(false)),
    );
    std::fs::write(&path, text).expect("write config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("OPENDPMA_AMI_SECRET")
        .output()
        .expect("run opendpma");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[asterisk] needs a secret: set [asterisk] secret or OPENDPMA_AMI_SECRET"),
        "{stderr}"
    );
}

/// A line added by a reload gets its real device state from Asterisk
/// (2003 is not registered: Unavailable, not the "Ready" of an unknown device).
#[test]
fn a_line_added_by_reload_gets_its_state_from_asterisk() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let body = format!(
        "{SAMPLE_BODY}\n[lines.2003]\nsecret = \"line-secret-2003\"\n\n{}",
        section(true)
    );
    server.replace_config(&server.config_with(HTTP_CREDENTIALS, &body));
    let unavailable = wait_until(WAIT, || {
        let (_, hints) = admin(&server, "GET", "/api/v1/hints", None);
        serde_json::from_str::<Value>(&hints).is_ok_and(|hints| {
            hints
                .as_array()
                .into_iter()
                .flatten()
                .any(|hint| hint["exten"] == "2003" && hint["extension_state"] == "unavailable")
        })
    });
    assert!(unavailable, "{}", server.log());
}

/// Values Asterisk cannot hold as they are: a subtype with quotes and a
/// newline (announced C-escaped), a 600-byte UTF-8 message (Asterisk keeps
/// 255 bytes of an `e` field), a 1023-byte message with commas (Asterisk
/// refuses an AMI line over 1024 bytes). Asterisk gets all it can keep,
/// opendpma keeps them whole, and a later change made in Asterisk still
/// arrives: our echoes were recognised, none is awaited forever.
#[test]
fn values_asterisk_cannot_hold_whole_are_cut_and_later_changes_still_arrive() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let accents = "\u{e9}".repeat(300);
    let commas = "m, ".repeat(341);
    let quoted = "say \"hi\"\nnow";
    for (line, subtype, message) in [
        ("2000", quoted, "x"),
        ("2001", "", accents.as_str()),
        ("2002", "", commas.as_str()),
    ] {
        let body = json!({"state": "away", "subtype": subtype, "message": message});
        let path = format!("/api/v1/presence/CustomPresence:{line}");
        assert_eq!(admin(&server, "PUT", &path, Some(body)).0, 200);
    }
    let mut ami = AdminAmi::connect();
    for (line, subtype, message) in [
        ("2000", quoted.to_owned(), "x".to_owned()),
        ("2001", String::new(), "\u{e9}".repeat(127)),
        ("2002", String::new(), commas[..255].to_owned()),
    ] {
        let expected = ("away".to_owned(), subtype, message);
        assert!(
            wait_until(WAIT, || ami.presence(line) == expected),
            "{line}: {:?}\n{}",
            ami.presence(line),
            server.log()
        );
    }
    let (_, kept) = admin(&server, "GET", "/api/v1/presence/CustomPresence:2002", None);
    let kept: Value = serde_json::from_str(&kept).expect("JSON");
    assert_eq!(kept["message"], commas.as_str(), "opendpma keeps the whole value");
    assert_eq!(server.metric("opendpma_asterisk_write_refusals_total"), Some(0));

    // Asterisk announces subtype and message C-escaped: both arrive as set.
    // (base64 of `from "Asterisk"` LF `now` / `changed, in Asterisk`)
    let from_asterisk = "dnd,ZnJvbSAiQXN0ZXJpc2siCm5vdw==,Y2hhbmdlZCwgaW4gQXN0ZXJpc2s=,e";
    for line in ["2000", "2001", "2002"] {
        ami.setvar(&format!("PRESENCE_STATE(CustomPresence:{line})"), from_asterisk);
    }
    for line in ["2000", "2001", "2002"] {
        let path = format!("/api/v1/presence/CustomPresence:{line}");
        let mut got = Value::Null;
        let arrived = wait_until(WAIT, || {
            got = serde_json::from_str(&admin(&server, "GET", &path, None).1).unwrap_or_default();
            got["message"] == "changed, in Asterisk"
        });
        assert!(arrived, "{line}: {got}\n{}", server.log());
        assert_eq!(got["subtype"], "from \"Asterisk\"\nnow", "{line}");
    }
}

/// The caller puts the call on hold (re-INVITE `a=sendonly`): Asterisk
/// shows the held line `PJSIP/2000` as ONHOLD, and the Digium watcher of
/// 2000 on opendpma gets "On hold" (Asterisk's note for it, reference §6)
/// between the call and its end. (Whether the line shows "On the phone"
/// again while the hangup removes the hold is Asterisk's timing, not
/// asserted.)
#[test]
fn a_call_put_on_hold_shows_on_hold_on_the_blf_key() {
    let Some(_asterisk) = Asterisk::start() else {
        return;
    };
    let server = start_server(&section(true), &[]);
    wait_synced(&server, 1);
    let (watcher, first) = watch(&server, "2000");
    let mut callee = Phone::listen("asterisk_answer.xml", "2000");
    register("2000", callee.port);
    let caller = std::thread::spawn(|| call_from_2001("asterisk_call_hold.xml"));
    let mut notes = vec![note(&first).to_owned()];
    while !(notes.contains(&"On hold".to_owned()) && notes.last().map(String::as_str) == Some("Ready")) {
        let body = next_body(&watcher);
        if note(&body) == "On hold" {
            assert!(body.contains("<basic>open</basic>"), "{body}");
        }
        notes.push(note(&body).to_owned());
        assert!(notes.len() < 12, "unexpected NOTIFYs: {notes:?}");
    }
    caller.join().expect("the call completes");
    assert!(
        callee.finished_ok(Duration::from_secs(10)),
        "the callee saw the whole call"
    );
    assert_eq!(
        notes[..5],
        ["Unavailable", "Ready", "Ringing", "On the phone", "On hold"],
        "{notes:?}"
    );
}

/// `[asterisk]` is read at start: a reload that changes it says so
/// instead of silently keeping the old link (no chroot needed).
#[test]
fn a_reload_that_changes_asterisk_says_it_needs_a_restart() {
    let section = |port: u16| {
        format!("[asterisk]\nami = \"127.0.0.1:{port}\"\nusername = \"opendpma\"\nsecret = \"x\"\n")
    };
    let server = start_server(&section(support::free_port()), &[]);
    let body = format!("{SAMPLE_BODY}\n{}", section(support::free_port()));
    server.replace_config(&server.config_with(HTTP_CREDENTIALS, &body));
    assert!(
        server.wait_for_log(
            "only takes effect after a restart; the running value stays in use key=\"asterisk\"",
            WAIT
        ),
        "{}",
        server.log()
    );
}

/// A secret written as a number (a PIN) is refused without showing it:
/// config errors reach the log (a failed reload).
#[test]
fn a_secret_written_as_a_number_is_refused_without_showing_it() {
    let text = "[general]\nserver_address = \"pbx\"\n\n[asterisk]\nami = \"127.0.0.1:5038\"\nusername = \"o\"\nsecret = 987654321\n\n[lines.2000]\nsecret = 24680.5\n";
    let error = opendpma::config::Config::parse(text, std::path::Path::new("phones.toml"))
        .expect_err("invalid")
        .to_string();
    assert!(
        error.contains(
            "phones.toml:7:10: asterisk.secret: a number; write the secret in quotes (its value is not shown)"
        ),
        "{error}"
    );
    assert!(error.contains("lines.2000.secret: a number"), "{error}");
    assert!(
        !error.contains("987654321") && !error.contains("24680"),
        "{error}"
    );
}
