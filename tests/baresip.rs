//! Interop with a real softphone: baresip (Debian `baresip-core`) as line
//! 2001 subscribes to 2000 and publishes its own presence through its
//! `presence` module, driven over `ctrl_tcp`. Configured as in
//! shared/reference/real-clients.md. Without baresip (or Kamailio, for the
//! proxy test) a test says what to install and skips; in CI, where
//! OPENDPMA_REQUIRE_ALL=1, that is a failure.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{HTTP_CREDENTIALS, SAMPLE_BODY, Server, TOKEN, client, free_port};

struct Baresip {
    child: Child,
    ctrl: u16,
    output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Baresip {
    fn start(server: &Server) -> Self {
        Self::start_at(server.sip.port())
    }

    /// With its account and contact at 127.0.0.1:`port` (opendpma itself,
    /// or a proxy in front of it).
    fn start_at(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (sip, ctrl) = (free_port(), free_port());
        let config = format!(
            "poll_method\tepoll\nsip_listen\t127.0.0.1:{sip}\ndns_server\t127.0.0.1:53\nnet_interface\t127.0.0.1\naudio_player\taufile,/dev/null\naudio_source\tausine,440\naudio_alert\taufile,/dev/null\nmodule_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule\tausine.so\nmodule\taufile.so\nmodule_tmp\tuuid.so\nmodule_tmp\taccount.so\nmodule_app\tcontact.so\nmodule_app\tmenu.so\nmodule_app\tpresence.so\nmodule_app\tctrl_tcp.so\nctrl_tcp_listen\t127.0.0.1:{ctrl}\n"
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        // regint=0: opendpma is no registrar; baresip still subscribes and publishes.
        std::fs::write(
            dir.path().join("accounts"),
            format!("<sip:2001@127.0.0.1:{port};transport=udp>;auth_pass=line-secret-2001;regint=0;pubint=300;mwi=no\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("contacts"),
            format!("\"Line 2000\" <sip:2000@127.0.0.1:{port}>;presence=p2p\n"),
        )
        .unwrap();
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .args(["-t", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baresip is installed (apt-get install baresip-core)");
        let output = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
        }
        Self {
            child,
            ctrl,
            output,
            _dir: dir,
        }
    }

    /// One ctrl_tcp command (netstring-framed JSON).
    fn command(&self, command: &str) {
        let message = json!({"command": command, "params": "", "token": "t"}).to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.ctrl)) {
                stream
                    .write_all(format!("{}:{message},", message.len()).as_bytes())
                    .unwrap();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "baresip's ctrl_tcp never came up:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kamailio as a stateless, record-routing proxy in front of opendpma
/// (tests/kamailio/proxy.cfg), on a free port; it logs what it forwards.
struct Kamailio {
    child: Child,
    port: u16,
    output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    fn start(opendpma_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let template = include_str!("kamailio/proxy.cfg");
        let config = template
            .replace("@PROXY_PORT@", &port.to_string())
            .replace("@OPENDPMA_PORT@", &opendpma_port.to_string());
        std::fs::write(dir.path().join("proxy.cfg"), config).unwrap();
        let mut child = Command::new("kamailio")
            .arg("-f")
            .arg(dir.path().join("proxy.cfg"))
            .args([
                "-DD",
                "-E",
                "-L",
                "/usr/lib/x86_64-linux-gnu/kamailio/modules",
                "-Y",
            ])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kamailio is installed (apt-get install kamailio)");
        let output = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let kamailio = Self {
            child,
            port,
            output,
            _dir: dir,
        };
        kamailio.wait_ready();
        kamailio
    }

    /// Ready when an OPTIONS through it comes back answered (by opendpma).
    fn wait_ready(&self) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let local = socket.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        for attempt in 0.. {
            let options = format!(
                "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKready{attempt};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: ready-{attempt}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                port = self.port
            );
            socket
                .send_to(options.as_bytes(), ("127.0.0.1", self.port))
                .unwrap();
            let mut buffer = [0u8; 2048];
            if socket.recv_from(&mut buffer).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kamailio never answered:\n{}",
                self.output()
            );
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get(server: &Server, path: &str) -> Value {
    client()
        .get(server.admin_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn baresip_subscribes_publishes_and_follows_changes() {
    if !support::require("baresip", "baresip-core") {
        return;
    }
    // Default digest settings: baresip 1.0 must work as Debian ships it.
    let server = Server::start_full(HTTP_CREDENTIALS, "", SAMPLE_BODY, &[]);
    let baresip = Baresip::start(&server);

    // It subscribes to its contact 2000, with digest auth as 2001.
    eventually("baresip's subscription", async || {
        let list = get(&server, "/api/v1/subscriptions").await;
        list.as_array().is_some_and(|l| {
            l.iter().any(|s| {
                s["exten"] == "2000" && s["user_agent"].as_str().unwrap_or("").starts_with("baresip")
            })
        })
    })
    .await;

    // Its own status: offline publishes `closed` (→ away), online `open` (→ available).
    baresip.command("presence_offline");
    eventually("2001 away", async || {
        get(&server, "/api/v1/presence/CustomPresence:2001").await["state"] == "away"
    })
    .await;
    baresip.command("presence_online");
    eventually("2001 available", async || {
        get(&server, "/api/v1/presence/CustomPresence:2001").await["state"] == "available"
    })
    .await;

    // 2000 goes dnd and unreachable: baresip shows it as Busy.
    for (path, body) in [
        ("/api/v1/presence/CustomPresence:2000", json!({"state": "dnd"})),
        ("/api/v1/devices/Custom:2000", json!({"state": "UNAVAILABLE"})),
    ] {
        let response = client()
            .put(server.admin_url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !baresip.output().contains("changed status from") {
        assert!(
            Instant::now() < deadline,
            "baresip never saw the change:\n{}",
            baresip.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = baresip.output();
    assert!(
        output.contains(&format!(
            "<sip:2000@127.0.0.1:{}> changed status from",
            server.sip.port()
        )),
        "{output}"
    );
    assert!(
        !output.contains("publisher got error response"),
        "every PUBLISH was accepted:\n{output}"
    );

    // Quitting un-publishes and un-subscribes cleanly.
    baresip.command("quit");
    eventually("baresip's unsubscribe", async || {
        get(&server, "/api/v1/subscriptions")
            .await
            .as_array()
            .is_some_and(|l| l.is_empty())
    })
    .await;
}

/// Issue 17 item 12: behind a record-routing Kamailio (docs/DEPLOY.md's
/// topology) the watcher's in-dialog requests follow the route set our 200
/// hands back (RFC 3261 §12.1.1): NOTIFYs, and the un-SUBSCRIBE, all pass
/// the proxy, and the subscription really ends.
#[tokio::test(flavor = "multi_thread")]
async fn baresip_behind_a_kamailio_proxy_keeps_its_dialog_on_the_route() {
    if !support::require("baresip", "baresip-core") || !support::require("kamailio", "kamailio") {
        return;
    }
    let server = Server::start(HTTP_CREDENTIALS, SAMPLE_BODY);
    let proxy = Kamailio::start(server.sip.port());
    let baresip = Baresip::start_at(proxy.port);
    let via_proxy = format!("127.0.0.1:{}", proxy.port);
    eventually("baresip's subscription through the proxy", async || {
        let list = get(&server, "/api/v1/subscriptions").await;
        list.as_array().is_some_and(|l| {
            l.iter()
                .any(|s| s["exten"] == "2000" && s["peer"].as_str().is_some_and(|p| p.contains(&via_proxy)))
        })
    })
    .await;
    let response = client()
        .put(server.admin_url("/api/v1/presence/CustomPresence:2000"))
        .bearer_auth(TOKEN)
        .json(&json!({"state": "dnd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !baresip.output().contains("changed status from") {
        assert!(
            Instant::now() < deadline,
            "baresip never saw the change:\n{}\nkamailio:\n{}",
            baresip.output(),
            proxy.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    baresip.command("quit");
    eventually("the un-SUBSCRIBE through the proxy", async || {
        get(&server, "/api/v1/subscriptions")
            .await
            .as_array()
            .is_some_and(|l| l.is_empty())
    })
    .await;
    let log = proxy.output();
    assert!(log.contains("proxied in-dialog NOTIFY"), "{log}");
    assert!(
        log.contains("proxied in-dialog SUBSCRIBE"),
        "the un-SUBSCRIBE took the route:\n{log}"
    );
    assert!(!log.contains("refused in-dialog"), "{log}");
}
