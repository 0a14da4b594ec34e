//! Test harness for working beside a real Asterisk 22: starts and stops
//! the chroot Asterisk (`tests/asterisk/run.sh`), talks AMI as an admin
//! would (to check what Asterisk holds), runs sipp phones against it, and
//! waits for conditions (bounded polling, never a bare sleep).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Fixed loopback ports of the test Asterisk (tests/asterisk/*.conf).
pub const AMI: &str = "127.0.0.1:5238";
pub const SIP: &str = "127.0.0.1:5290";
/// The least-rights AMI user opendpma logs in as (manager.conf).
pub const AMI_USER: &str = "opendpma";
pub const AMI_SECRET: &str = "opendpma-ami-test";

/// One Asterisk for all tests of the binary: they take turns.
static TURN: Mutex<()> = Mutex::new(());

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asterisk")
}

fn chroot() -> PathBuf {
    std::env::var_os("ASTERISK_CHROOT").map_or_else(|| PathBuf::from("/opt/sid"), PathBuf::from)
}

/// The `[asterisk]` section for opendpma (secret given separately).
pub fn section(with_secret: bool) -> String {
    let secret = if with_secret {
        format!("secret = \"{AMI_SECRET}\"\n")
    } else {
        String::new()
    };
    format!("[asterisk]\nami = \"{AMI}\"\nusername = \"{AMI_USER}\"\n{secret}")
}

/// A running test Asterisk (fresh astdb); stopped on drop.
pub struct Asterisk {
    _turn: MutexGuard<'static, ()>,
    /// Other test processes on this machine (another worktree, CI) use
    /// the same fixed ports: they wait for this lock too.
    _machine_turn: std::fs::File,
}

impl Asterisk {
    /// `None` (after printing why) when the chroot is absent, unless
    /// `OPENDPMA_REQUIRE_ALL=1`, which makes that a failure.
    pub fn start() -> Option<Self> {
        // The calls and phones in these tests are sipp scenarios.
        if !crate::support::require("sipp", "sip-tester") {
            return None;
        }
        if !chroot().join("usr/sbin/asterisk").exists() {
            assert!(
                std::env::var("OPENDPMA_REQUIRE_ALL").as_deref() != Ok("1"),
                "OPENDPMA_REQUIRE_ALL=1 but there is no Asterisk in {} (tests/asterisk/setup-chroot.sh builds it)",
                chroot().display()
            );
            // Straight to stderr: libtest captures `println!` of passing tests.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"skipped: needs Asterisk chroot (see tests/asterisk/README)\n",
            );
            return None;
        }
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let machine_turn = std::fs::File::create(std::env::temp_dir().join("opendpma-asterisk-test.lock"))
            .expect("lock file");
        machine_turn.lock().expect("lock the test Asterisk");
        let asterisk = Self {
            _turn: turn,
            _machine_turn: machine_turn,
        };
        asterisk.run("restart");
        Some(asterisk)
    }

    fn run(&self, verb: &str) -> String {
        let output = Command::new(folder().join("run.sh"))
            .arg(verb)
            .output()
            .expect("run.sh runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "run.sh {verb} failed: {text}");
        text
    }

    pub fn stop(&self) {
        self.run("stop");
    }

    /// Starts again with a fresh astdb (as after a reinstall).
    pub fn start_again(&self) {
        self.run("start");
    }

    pub fn cli(&self, command: &str) -> String {
        let output = Command::new(folder().join("run.sh"))
            .args(["cli", command])
            .output()
            .expect("run.sh runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Asterisk {
    fn drop(&mut self) {
        let _ = Command::new(folder().join("run.sh")).arg("stop").output();
    }
}

/// An AMI session as an administrator (`tester`, all rights), for reading
/// back what Asterisk holds.
pub struct AdminAmi {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    next: u32,
}

impl AdminAmi {
    pub fn connect() -> Self {
        let stream = TcpStream::connect(AMI).expect("AMI listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut greeting = String::new();
        reader.read_line(&mut greeting).expect("greeting");
        let mut ami = Self {
            writer: stream,
            reader,
            next: 0,
        };
        let login = ami.action(&[
            ("Action", "Login"),
            ("Username", "tester"),
            ("Secret", "tester-ami"),
            ("Events", "off"),
        ]);
        assert_eq!(
            login.get("Response").map(String::as_str),
            Some("Success"),
            "{login:?}"
        );
        ami
    }

    /// Sends an action; returns its response's fields (other packets skipped).
    pub fn action(&mut self, fields: &[(&str, &str)]) -> HashMap<String, String> {
        self.next += 1;
        let id = format!("t{}", self.next);
        let mut packet = String::new();
        for (key, value) in fields {
            packet.push_str(&format!("{key}: {value}\r\n"));
        }
        packet.push_str(&format!("ActionID: {id}\r\n\r\n"));
        self.writer.write_all(packet.as_bytes()).expect("send action");
        loop {
            let mut fields = HashMap::new();
            loop {
                let mut line = String::new();
                let read = self.reader.read_line(&mut line).expect("AMI answers in time");
                assert!(read > 0, "AMI closed");
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((key, value)) = line.split_once(": ") {
                    fields.insert(key.to_owned(), value.to_owned());
                }
            }
            if fields.get("ActionID") == Some(&id) && fields.contains_key("Response") {
                return fields;
            }
        }
    }

    /// `Getvar` of a function; with `,e` reads base64 (Asterisk's own
    /// encoding for fields that may hold newlines), decoded here.
    pub fn getvar(&mut self, variable: &str) -> String {
        let answer = self.action(&[("Action", "Getvar"), ("Variable", variable)]);
        answer.get("Value").cloned().unwrap_or_default()
    }

    /// `PRESENCE_STATE(CustomPresence:<line>)` as (value, subtype, message).
    pub fn presence(&mut self, line: &str) -> (String, String, String) {
        use base64::Engine;
        let decode = |text: String| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .expect("base64 from Asterisk");
            String::from_utf8(bytes).expect("UTF-8")
        };
        let value = self.getvar(&format!("PRESENCE_STATE(CustomPresence:{line},value)"));
        let subtype = decode(self.getvar(&format!("PRESENCE_STATE(CustomPresence:{line},subtype,e)")));
        let message = decode(self.getvar(&format!("PRESENCE_STATE(CustomPresence:{line},message,e)")));
        (value, subtype, message)
    }

    pub fn setvar(&mut self, variable: &str, value: &str) -> HashMap<String, String> {
        self.action(&[("Action", "Setvar"), ("Variable", variable), ("Value", value)])
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sipp_command(scenario: &str, args: &[&str]) -> (Command, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new("sipp");
    command
        .current_dir(folder.path())
        .arg("-sf")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/sipp")
                .join(scenario),
        )
        .args(["-i", "127.0.0.1", "-m", "1", "-nostdin", "-trace_err"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (command, folder)
}

/// Runs a sipp scenario to its end (bounded by `-timeout`); panics with
/// sipp's error log on failure.
pub fn sipp(scenario: &str, args: &[&str]) -> Output {
    let (mut command, folder) = sipp_command(scenario, args);
    let output = command.output().expect("run sipp");
    assert!(
        output.status.success(),
        "sipp {scenario} failed: {}",
        errors(folder.path())
    );
    output
}

/// A sipp phone waiting in the background (server-side scenario).
pub struct Phone {
    child: Child,
    folder: tempfile::TempDir,
    pub port: u16,
}

impl Phone {
    /// Starts `scenario` listening on a free port as `user`.
    pub fn listen(scenario: &str, user: &str) -> Self {
        let port = crate::support::free_port();
        let (mut command, folder) = sipp_command(
            scenario,
            &["-p", &port.to_string(), "-s", user, "-timeout", "30s"],
        );
        let child = command.spawn().expect("spawn sipp");
        Self { child, folder, port }
    }

    /// Waits (bounded) for the scenario to finish; true if it passed.
    pub fn finished_ok(&mut self, timeout: Duration) -> bool {
        let mut status = None;
        wait_until(timeout, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        match status {
            Some(status) if status.success() => true,
            Some(_) => {
                eprintln!("sipp errors: {}", errors(self.folder.path()));
                false
            }
            None => false,
        }
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers `line` (password `s<line>`) to the test Asterisk with its
/// Contact on `contact_port`.
pub fn register(line: &str, contact_port: u16) {
    sipp(
        "asterisk_register.xml",
        &[
            "-s",
            line,
            SIP,
            "-au",
            line,
            "-ap",
            &format!("s{line}"),
            "-key",
            "contact_port",
            &contact_port.to_string(),
            "-p",
            "0",
            "-timeout",
            "10s",
        ],
    );
}

fn errors(folder: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    text
}
