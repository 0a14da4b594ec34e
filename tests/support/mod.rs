//! Test harness: runs the real `opendpma` binary on free loopback ports
//! with a config written to a temporary folder, collects its log, and
//! offers small HTTP helpers (including a digest client).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod digest_client;
pub mod net;
pub mod sans_io;
pub mod sip_client;
pub mod tls_client;
pub mod xml_elements;

use opendpma::auth::Algorithm;

/// A running server process.
pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub http: SocketAddr,
    pub admin: SocketAddr,
    pub sip: SocketAddr,
    log: Arc<Mutex<String>>,
    extra_env: Vec<(String, String)>,
}

pub const TOKEN: &str = "test-admin-token";

/// Ports this test process has handed out: never twice, so a server that
/// restarts on its ports cannot find one given to another test meanwhile.
static GIVEN_PORTS: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// A port free on 127.0.0.1 for both TCP and UDP (SIP uses both), below
/// Linux's ephemeral range (32768–60999): the kernel never picks it as
/// the local port of an outgoing connection while its server restarts
/// (which made `restart()` fail with "Address already in use").
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let mut given = GIVEN_PORTS.lock().expect("ports");
    let seed = std::process::id().wrapping_mul(7_919);
    for step in 0..SPAN {
        let port = (FIRST + seed.wrapping_add(step * 13) % SPAN) as u16;
        if given.contains(&port) {
            continue;
        }
        let free =
            TcpListener::bind(("127.0.0.1", port)).is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok();
        if free {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + SPAN);
}

/// A config for tests: `body` is appended to a `[general]`/`[http]`/`[sip]`/
/// `[admin]` head on free ports; `{HTTP}`, `{ADMIN}`, `{SIP}` in `body`
/// are replaced by the ports.
pub fn config_text(http: u16, admin: u16, sip: u16, head_http: &str, body: &str) -> String {
    config_text_with_sip(http, admin, sip, head_http, "", body)
}

/// Like `config_text`, with extra `[sip]` settings.
pub fn config_text_with_sip(
    http: u16,
    admin: u16,
    sip: u16,
    head_http: &str,
    head_sip: &str,
    body: &str,
) -> String {
    format!(
        r#"[general]
server_address = "127.0.0.1"
data_dir = "data"

[http]
listen = "127.0.0.1:{http}"
{head_http}

[sip]
listen = ["udp:127.0.0.1:{sip}", "tcp:127.0.0.1:{sip}"]
min_expires = 60
max_expires = 3600
{head_sip}

[admin]
listen = "127.0.0.1:{admin}"
token = "{TOKEN}"

{body}"#
    )
}

/// Lines and phones most tests use.
pub const SAMPLE_BODY: &str = r#"
[lines.2000]
secret = "line-secret-2000"
label = "Bob"

[lines.2001]
secret = "line-secret-2001"
label = "Alice"

[lines.2002]
secret = "line-secret-2002"
label = "Reception"

[phones.bob]
mac = "00:19:15:9c:1a:2b"
model = "D65"
lines = ["2000"]
contacts = ["2001", "2002"]

[phones.alice]
mac = "0019159c1a2c"
model = "D50"
lines = ["2001"]
contacts = ["2000"]
"#;

pub const HTTP_CREDENTIALS: &str = "username = \"provision\"\npassword = \"http-secret-pw\"";

impl Server {
    /// Starts a server with the standard head plus `body`.
    pub fn start(http_settings: &str, body: &str) -> Self {
        Self::start_with_env(http_settings, body, &[])
    }

    pub fn start_with_env(http_settings: &str, body: &str, env: &[(&str, &str)]) -> Self {
        Self::start_full(http_settings, "", body, env)
    }

    /// With extra `[sip]` settings too.
    pub fn start_full(http_settings: &str, sip_settings: &str, body: &str, env: &[(&str, &str)]) -> Self {
        let (http, admin, sip) = (free_port(), free_port(), free_port());
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("phones.toml");
        let text = config_text_with_sip(http, admin, sip, http_settings, sip_settings, body);
        std::fs::write(&config_path, text).expect("write config");
        let mut server = Self {
            child: None,
            dir,
            config_path,
            http: SocketAddr::from(([127, 0, 0, 1], http)),
            admin: SocketAddr::from(([127, 0, 0, 1], admin)),
            sip: SocketAddr::from(([127, 0, 0, 1], sip)),
            log: Arc::new(Mutex::new(String::new())),
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_opendpma"));
        command
            .args(["serve", "--config"])
            .arg(&self.config_path)
            .env(
                "RUST_LOG",
                std::env::var("TEST_RUST_LOG").unwrap_or_else(|_| "debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn opendpma");
        let stderr = child.stderr.take().expect("stderr");
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("server exited early with {status}:\n{}", self.log());
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(self.admin) {
                use std::io::{Read, Write};
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not become ready:\n{}", self.log());
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Resident memory of the server process, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts the process again on the same config and data.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// A clean stop (SIGTERM, as systemd restarts) and a new start: what
    /// the process had in flight but never acknowledged is written first.
    pub fn restart_cleanly(&mut self) {
        self.signal("TERM");
        assert_eq!(self.wait_exit(Duration::from_secs(10)), Some(0), "{}", self.log());
        self.spawn();
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// One value from `/metrics` (blocking, so sync and async tests can
    /// both poll it); `None` while the admin listener is not answering or
    /// when the metric is absent.
    pub fn metric(&self, name: &str) -> Option<u64> {
        let (_, body) = self.admin_request("GET", "/metrics", None)?;
        body.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.parse().ok())
    }

    /// One admin API call with the token (blocking, plain HTTP/1.1 over a
    /// socket, so tests need no HTTP client program): the status code and
    /// the body, or `None` when the listener does not answer.
    pub fn admin_request(&self, method: &str, path: &str, json: Option<&str>) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect_timeout(&self.admin, Duration::from_secs(5)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let body = json.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.admin,
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok()?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let chunked = head.lines().any(|line| {
            line.to_ascii_lowercase().starts_with("transfer-encoding:") && line.contains("chunked")
        });
        Some((status, if chunked { dechunk(body) } else { body.to_owned() }))
    }

    /// Replaces the config the way editors do: write a temp file, rename.
    pub fn replace_config(&self, text: &str) {
        let temporary = self.config_path.with_extension("toml.tmp");
        std::fs::write(&temporary, text).expect("write");
        std::fs::rename(&temporary, &self.config_path).expect("rename");
    }

    /// The config text with the same ports and a new body.
    pub fn config_with(&self, http_settings: &str, body: &str) -> String {
        config_text(
            self.http.port(),
            self.admin.port(),
            self.sip.port(),
            http_settings,
            body,
        )
    }
}

/// Every secret the test configs contain (see `SAMPLE_BODY`,
/// `HTTP_CREDENTIALS`, `TOKEN`), plus what digest and Basic credentials
/// look like on the wire.
const SECRETS: &[&str] = &[
    "line-secret-2000",
    "line-secret-2001",
    "line-secret-2002",
    "http-secret-pw",
    TOKEN,
    "response=\"",
    "cHJvdmlzaW9uOmh0dHAtc2VjcmV0LXB3", // base64 of provision:http-secret-pw
];

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        // Logs are checked after every wire test (unless it already failed).
        if !std::thread::panicking() {
            let log = self.log();
            for secret in SECRETS {
                if let Some(line) = log.lines().find(|line| line.contains(secret)) {
                    panic!("a secret ({secret}) reached the log:\n{line}");
                }
            }
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Answers the first SHA-256 (or the requested algorithm's) digest
/// challenge in `response` for `method uri` with `user`/`password`.
pub fn digest_authorization(
    challenges: &[String],
    algorithm: Algorithm,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    nc: u32,
) -> String {
    let wanted = format!("algorithm={}", algorithm.as_str());
    let challenge = challenges
        .iter()
        .find(|c| c.starts_with("Digest") && c.contains(&wanted))
        .expect("a digest challenge for the algorithm");
    digest_client::answer(challenge, user, password, method, uri, nc)
}

/// All values of a header.
pub fn header_values(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

/// A chunked HTTP/1.1 body, joined (the admin API streams some answers).
fn dechunk(mut body: &str) -> String {
    let mut joined = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        joined.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    joined
}

/// Whether `program`, which this test drives, is installed. Without it the
/// test prints one line naming the Debian package to install and the
/// caller returns early; with `OPENDPMA_REQUIRE_ALL=1` (`.ci/run` sets it)
/// a missing program fails the test instead, so CI skips nothing.
pub fn require(program: &str, package: &str) -> bool {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|folder| folder.join(program).is_file()));
    if on_path {
        return true;
    }
    assert!(
        std::env::var("OPENDPMA_REQUIRE_ALL").as_deref() != Ok("1"),
        "OPENDPMA_REQUIRE_ALL=1 but {program} is not installed (apt-get install {package})"
    );
    // Straight to stderr: libtest captures `println!` of passing tests,
    // and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: needs {program} (apt-get install {package})"
    );
    false
}
