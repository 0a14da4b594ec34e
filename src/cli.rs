//! The command line: `opendpma serve | check | render | presence | device |
//! hints | reconfigure`. Only the definitions live here; `main.rs` runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `0.1.0 (git 1234abcd5678)`: what `--version` prints and the dashboard
/// shows.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("OPENDPMA_GIT_HASH"),
    ")"
);

/// Open DPMA-style provisioning and SIP presence server for Digium/Sangoma D-series phones.
#[derive(Debug, Parser)]
#[command(name = "opendpma", version = VERSION, propagate_version = true, after_long_help = OVERVIEW)]
pub struct Cli {
    /// Log level or filter (e.g. `info`, `opendpma=debug`); RUST_LOG wins if set.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// `opendpma --help`: the whole tool on one page.
const OVERVIEW: &str = "\
FILES
    phones.toml          phones, lines, networks and server settings (see the sample)
    DATA_DIR/opendpma.redb   presence, device states, subscriptions, phone contacts

ENVIRONMENT
    OPENDPMA_ADMIN_TOKEN  admin API token (overrides [admin] token)
    RUST_LOG              log filter (overrides --log-level)

SIGNALS
    SIGHUP               reload phones.toml (an invalid file is refused, the old one keeps serving)
    SIGINT, SIGTERM      stop gracefully (subscriptions are kept for the next start)

EXIT STATUS
    0 success, 1 failure (invalid config, refused request, unreachable server), 2 usage error

EXAMPLES
    opendpma check phones.toml
    opendpma serve --config /etc/opendpma/phones.toml
    opendpma render 00:19:15:9c:1a:2b --document blf
    opendpma presence set 2000 \"away,lunch,back at 2\"
    opendpma device set 2000 INUSE
    opendpma reconfigure all
    opendpma import-dpma /etc/asterisk/res_digium_phone.conf --pjsip /etc/asterisk/pjsip.conf > phones.toml";

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server until SIGINT or SIGTERM (SIGHUP reloads the config).
    Serve {
        /// The config file.
        #[arg(long, short, default_value = "phones.toml", value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a config file: print a summary and exit 0, or every problem and exit 1.
    Check {
        /// The config file.
        #[arg(default_value = "phones.toml", value_name = "FILE")]
        file: PathBuf,
    },
    /// Query and set presence on a running server (like Asterisk's
    /// `presencestate` and `PRESENCE_STATE()`).
    #[command(subcommand)]
    Presence(PresenceCommand),
    /// Query and set `Custom:` device states on a running server.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Send check-sync to a phone (or `all`): it re-fetches its config.
    Reconfigure {
        /// A phone name from phones.toml, or `all`.
        phone: String,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Every hint with its extension state and presence.
    Hints {
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Convert a DPMA res_digium_phone.conf (with its #includes and
    /// templates) into a phones.toml on stdout; everything that cannot be
    /// carried over is listed on stderr with its file and line.
    ImportDpma {
        /// res_digium_phone.conf
        file: PathBuf,
        /// pjsip.conf, to take line secrets from its auth sections.
        #[arg(long, value_name = "FILE")]
        pjsip: Option<PathBuf>,
        /// Model for every phone. Default: none, and each phone gets the
        /// documents for the model its User-Agent names (DPMA configs do not
        /// record models).
        #[arg(long)]
        model: Option<String>,
        /// [general] server_address (default: the first network's registration address).
        #[arg(long, value_name = "HOST")]
        server_address: Option<String>,
    },
    /// Print the provisioning XML a phone would get, for review and diffs.
    Render {
        /// The phone's MAC address (any notation).
        mac: String,
        /// Which document: the config, the phonebook or the Smart BLF layout.
        #[arg(long, value_enum, default_value_t = RenderDocument::Config)]
        document: RenderDocument,
        /// As fetched from this address: a phone without `network =` gets
        /// the network whose cidr holds it (as the server does).
        #[arg(long, value_name = "IP")]
        from: Option<std::net::IpAddr>,
        /// For a phone without `model`: render as this model (the server
        /// takes it from the phone's User-Agent).
        #[arg(long, value_name = "MODEL")]
        model: Option<crate::config::PhoneModel>,
        /// Instead of XML: each key set for the phone and its lines, with
        /// the file:line and the profile it was inherited from.
        #[arg(long)]
        explain: bool,
        /// The config file.
        #[arg(long, short, default_value = "phones.toml", value_name = "FILE")]
        config: PathBuf,
    },
}

/// `opendpma presence …`: read and set `CustomPresence:` providers.
#[derive(Debug, Subcommand)]
pub enum PresenceCommand {
    /// Every provider that is set or used by a hint.
    List {
        #[command(flatten)]
        target: AdminTarget,
    },
    /// One provider (`CustomPresence:2000`, or just `2000`).
    Get {
        /// `CustomPresence:<name>`, or just the line name.
        provider: String,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Set a provider: `set 2000 away --message "back at 2"`, or Asterisk's
    /// form `set CustomPresence:2000 "away,lunch,back at 2"`.
    Set {
        /// `CustomPresence:<name>`, or just the line name.
        provider: String,
        /// available, away, dnd, xa or chat (or `state,subtype,message`).
        state: String,
        /// Short qualifier shown by phones (at most 255 bytes).
        #[arg(long)]
        subtype: Option<String>,
        /// Free text (at most 1023 bytes; commas and newlines are fine).
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Return a provider to not_set.
    Clear {
        /// `CustomPresence:<name>`, or just the line name.
        provider: String,
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// `opendpma device …`: `Custom:` device states.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Show a device's state (`Custom:2000`, or just `2000`).
    Get {
        /// `Custom:<name>`, or just the line name.
        device: String,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Set a device's state: NOT_INUSE, INUSE, BUSY, UNAVAILABLE, RINGING,
    /// RINGINUSE, ONHOLD or UNKNOWN.
    Set {
        /// `Custom:<name>`, or just the line name.
        device: String,
        /// The device state (case-insensitive).
        state: String,
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// A provisioning document, for `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderDocument {
    /// `<mac>.cfg`
    Config,
    /// `<mac>-contacts.xml`
    Contacts,
    /// `<mac>-blf.xml`
    Blf,
}

/// How a client subcommand finds the running server's admin API.
#[derive(Debug, Args)]
pub struct AdminTarget {
    /// Read the admin address and token from this config file.
    #[arg(long, short, default_value = "phones.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// Admin API base URL (overrides the config), e.g. http://127.0.0.1:8089.
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
    /// Admin token (overrides the config and OPENDPMA_ADMIN_TOKEN).
    #[arg(long, env = "OPENDPMA_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
