//! phones.toml loading: every fixture under tests/fixtures/config either
//! loads (valid-*.toml) or fails with exactly the problems in its sibling
//! `.expected` file; unknown keys are caught in every table; the sample
//! phones.toml at the root is valid; `opendpma check` exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use opendpma::config::{Config, ConfigError};

fn fixtures() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("fixture folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn is_valid_fixture(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("valid-"))
}

fn problems(path: &Path) -> Vec<String> {
    match Config::load(path) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { problems, .. }) => problems.iter().map(ToString::to_string).collect(),
        Err(error) => panic!("{}: {error}", path.display()),
    }
}

#[test]
fn every_invalid_fixture_reports_exactly_its_expected_problems() {
    let mut checked = 0;
    for path in fixtures().into_iter().filter(|p| !is_valid_fixture(p)) {
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", path.display()));
        let expected: Vec<&str> = expected.lines().collect();
        assert!(!expected.is_empty(), "{}: empty .expected", path.display());
        assert_eq!(problems(&path), expected, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} invalid fixtures found");
}

#[test]
fn valid_fixtures_and_the_sample_load() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("phones.toml");
    for path in fixtures()
        .into_iter()
        .filter(|p| is_valid_fixture(p))
        .chain([sample])
    {
        Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Inserts `injected = 1` into every table of every valid fixture, one
/// table at a time: each must be refused with that key named.
#[test]
fn an_unknown_key_in_any_table_of_a_valid_fixture_is_rejected() {
    let mut cases = 0;
    for path in fixtures().into_iter().filter(|p| is_valid_fixture(p)) {
        let source = std::fs::read_to_string(&path).expect("read fixture");
        let headers: Vec<usize> = source
            .lines()
            .enumerate()
            .filter(|(_, line)| line.starts_with('['))
            .map(|(number, _)| number)
            .collect();
        for header in headers {
            let mut lines: Vec<&str> = source.lines().collect();
            lines.insert(header + 1, "injected = 1");
            let mutated = lines.join("\n");
            let error = Config::parse(&mutated, &path).expect_err("unknown key accepted");
            let ConfigError::Invalid { problems, .. } = error else {
                panic!("wrong error")
            };
            assert!(
                problems
                    .iter()
                    .any(|p| p.line == header + 2 && p.message.starts_with("unknown key `injected`")),
                "{}: table at line {}: {problems:?}",
                path.display(),
                header + 1
            );
            cases += 1;
        }
    }
    assert!(cases >= 10, "only {cases} tables mutated");
}

#[test]
fn the_model_carries_defaults_and_normalised_values() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid-full.toml");
    let config = Config::load(&path).expect("valid");
    // data_dir is resolved against the config file's folder.
    assert_eq!(config.general.data_dir, path.parent().unwrap().join("state"));
    let phone = config.phone("alice-desk").unwrap();
    assert_eq!(phone.mac.as_str(), "001915aabbcc");
    assert_eq!(phone.model.map(|m| m.as_str()), Some("D70"));
    // A downloaded tone named by active_ringtone is downloaded; its MD5 is
    // read at load.
    assert_eq!(phone.active_ringtone.as_ref().map(|t| t.as_str()), Some("chime"));
    assert_eq!(phone.ringtones, ["chime"]);
    assert_eq!(
        config.file_md5.get("chime-16k-mono.wav").map(String::len),
        Some(32)
    );
    assert_eq!(phone.paging, ["all-call"]);
    assert_eq!(
        config
            .paging_group("all-call")
            .map(|g| (g.priority.get(), g.interrupt)),
        Some((1, false))
    );
    let line = config.line("202").unwrap();
    assert_eq!(
        (line.exten.as_str(), line.authname.as_str(), line.label.as_str()),
        ("202", "202", "202")
    );
    let alice = config.line("alice").unwrap();
    assert_eq!(alice.exten.as_str(), "201");
    // Automatic hints, overridden for 201, plus an extra one for 300.
    let hint = |exten: &str| config.hints.iter().find(|h| h.exten.as_str() == exten).unwrap();
    assert_eq!(hint("201").devices, ["Custom:alice", "Custom:door"]);
    assert_eq!(hint("202").presence, ["CustomPresence:202"]);
    assert!(hint("300").devices.is_empty());
    let minimal = Config::load(&path.with_file_name("valid-minimal.toml")).unwrap();
    assert_eq!(minimal.http.listen.to_string(), "0.0.0.0:8088");
    assert_eq!(minimal.admin.listen.to_string(), "127.0.0.1:8089");
    assert_eq!((minimal.sip.min_expires, minimal.sip.max_expires), (60, 3600));
    assert_eq!(minimal.general.realm, "opendpma");
    assert!(minimal.sip.require_auth);
}

fn opendpma(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run opendpma")
}

#[test]
fn check_command_exit_codes_and_output() {
    let ok = opendpma(&["check", "phones.toml"]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "phones.toml: ok (4 phones, 5 lines, 1 networks, 5 hints)\n"
    );
    let bad = opendpma(&["check", "tests/fixtures/config/done-means.toml"]);
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains("done-means.toml:9:7: phones.bob.mac:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done-means.toml:11:18: phones.bob.lines: \"2001\" is not a [lines] entry"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done-means.toml:12:1: phones.bob.colour: unknown key"),
        "{stdout}"
    );
    // More contacts than BLF keys: a warning with its place, still exit 0.
    let folder = tempfile::tempdir().unwrap();
    let crowded = folder.path().join("phones.toml");
    std::fs::write(
        &crowded,
        "[general]\nserver_address = \"pbx\"\n[lines.1]\nsecret = \"a\"\n[lines.2]\nsecret = \"b\"\n\
         [lines.3]\nsecret = \"c\"\n[phones.p]\nmac = \"001915000001\"\nmodel = \"D45\"\n\
         lines = [\"1\"]\ncontacts = [\"2\", \"3\"]\n",
    )
    .unwrap();
    let warned = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("check")
        .arg(&crowded)
        .output()
        .unwrap();
    assert_eq!(warned.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&warned.stdout),
        format!(
            "{0}:13:13: phones.p.contacts: a D45 with 1 line(s) has 1 BLF keys; contacts after the 1st \
             are in the phonebook only (no key) (warning)\n{0}: ok (1 phones, 3 lines, 0 networks, 3 hints)\n",
            crowded.display()
        )
    );
    let missing = opendpma(&["check", "no-such-file.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read no-such-file.toml"));
    assert_eq!(opendpma(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(opendpma(&["check", "--bogus"]).status.code(), Some(2));
    let version = opendpma(&["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("opendpma 0.1.0 (git "));
}

/// Found by the mutation test: a multi-byte character where the
/// `Custom:` prefix would end used to panic (slicing inside a character).
#[test]
fn multi_byte_characters_in_hint_sources_are_reported_not_panicked_on() {
    let source = "[general]\nserver_address = \"x\"\n[hints.\"1\"]\ndevices = [\"Custom\u{fffd}:alice\"]\npresence = [\"CustomPresence\u{fffd}:alice\"]\n";
    let error = Config::parse(source, Path::new("/tmp/phones.toml")).expect_err("invalid");
    let ConfigError::Invalid { problems, .. } = error else {
        panic!("wrong error")
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].message.ends_with("must look like Custom:<name>"),
        "{problems:?}"
    );
}

/// `--log-format json`: one JSON object per line, for log shippers.
#[test]
fn json_logs_are_one_object_per_line() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("phones.toml");
    // A SIP port that is taken makes `serve` log its start-up, then fail.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = format!(
        "[general]\nserver_address = \"x\"\n[http]\nlisten = \"127.0.0.1:0\"\n[sip]\nlisten = [\"udp:127.0.0.1:{port}\"]\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"t\"\n"
    );
    std::fs::write(&path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["--log-format", "json", "serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json_lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        json_lines
            .iter()
            .any(|v| v["fields"]["message"] == "configuration loaded" && v["level"] == "INFO"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// `render --explain`: each key of the phone and its lines with the place it
/// was set, the profile named for inherited ones, secrets masked.
#[test]
fn render_explain_names_the_origin_of_every_inherited_value() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid-profiles.toml");
    let fixture = fixture.to_str().expect("utf-8 path");
    let output = opendpma(&["render", "001915000002", "--explain", "--config", fixture]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let expected = format!(
        "[phones.office]\n\
         \x20 timezone = \"Europe/Paris\"  # profiles.desk at {fixture}:12:12\n\
         \x20 mac = \"001915000002\"       # phones.office at {fixture}:34:7\n\
         \x20 model = \"D80\"              # phones.office at {fixture}:35:9\n\
         \x20 lines = [\"101\"]            # phones.office at {fixture}:36:9\n\
         [lines.101]\n\
         \x20 mailbox = \"main@default\"  # profiles.staff-line at {fixture}:15:11\n\
         \x20 secret = \"********\"       # lines.101 at {fixture}:24:10\n\
         \x20 voicemail = \"*98\"         # lines.101 at {fixture}:25:13\n\
         # keys not listed take their defaults\n"
    );
    assert_eq!(stdout, expected);
    let config = Config::load(Path::new(fixture)).expect("valid");
    let lobby = config.phone("lobby").expect("lobby");
    assert_eq!(
        lobby.model.map(|m| m.as_str()),
        Some("D65"),
        "inherited through desk → base"
    );
    assert_eq!(lobby.timezone.as_deref(), Some("Europe/Paris"));
    let line = config.line("100").expect("line 100");
    assert_eq!(line.voicemail.as_deref(), Some("*97"));
}

/// A missing config file is said once, with its path: our errors embed
/// their source, so printing the cause chain as well repeated the OS text.
#[test]
fn a_missing_config_file_is_reported_once() {
    let output = opendpma(&["serve", "--config", "/nonexistent/phones.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot read /nonexistent/phones.toml: "),
        "{stderr}"
    );
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
}

/// A served file named by mistake (a disk image, a growing log) is refused
/// by its size without being read: `check` answers at once instead of
/// loading gigabytes.
#[test]
fn an_oversized_ringtone_or_wallpaper_is_refused_without_being_read() {
    let folder = tempfile::tempdir().unwrap();
    // Sparse: 4 GiB long, nothing on disk.
    for name in ["huge.wav", "huge.png"] {
        let file = std::fs::File::create(folder.path().join(name)).unwrap();
        file.set_len(4 << 30).unwrap();
    }
    let config = folder.path().join("phones.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\nserver_address = \"pbx.example.com\"\nfiles_dir = {:?}\n\n\
             [ringtones.huge]\nfile = \"huge.wav\"\n\n\
             [lines.100]\nsecret = \"pw\"\n\n\
             [phones.desk]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"100\"]\n\
             wallpaper_file = \"huge.png\"\n",
            folder.path().display().to_string()
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let output = opendpma(&["check", config.to_str().unwrap()]);
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = format!("{stdout}{stderr}");
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("ringtones.huge.file: huge.wav is 4294967296 bytes; the phones take less than 1 MiB"),
        "{said}"
    );
    assert!(
        said.contains("phones.desk.wallpaper_file: huge.png is 4294967296 bytes"),
        "{said}"
    );
    // Reading 8 GiB of zeros would take far longer than this on any disk.
    assert!(took < std::time::Duration::from_secs(5), "check took {took:?}");
}
