//! The singleton sections of phones.toml: `[general]`, `[http]`, `[sip]`,
//! `[admin]`, and the named `[networks.NAME]` entries. Their serde form *is*
//! their model: every value is checked by its type while it is read, and the
//! defaults are the documented ones (README, "Configuration by example"),
//! listed once in each section's `Default` impl: a key left out takes its
//! value from there.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::device_settings::{Dscp, Priority, Seconds, SyslogLevel, VlanDiscovery, VlanId};
use super::listen_address::{Cidr, SipListen, Transport};
use super::secret::Secret;

/// `[general]`: who we are to the phones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Host name or IP the phones use to reach this server; goes into every
    /// URL we hand out and into `subscribe_to`.
    pub server_address: String,
    /// Durable state; a relative path is resolved against the folder of the
    /// config file (see `Config::load`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Digest realm for SIP and HTTP.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Firmware (and other served files) live here, served to
    /// authenticated phones as `/files/NAME`; relative to the config file.
    #[serde(default = "default_files_dir")]
    pub files_dir: PathBuf,
}

/// `[http]`: the provisioning listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    pub listen: SocketAddr,
    /// Credentials every phone presents (Digest or Basic). Both or neither.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Only these networks may fetch configs; empty = everyone.
    pub allowed_networks: Vec<Cidr>,
    /// Send check-sync to phones whose rendered config changed on reload.
    pub auto_reconfigure: bool,
    /// Serve without credentials on a non-loopback address (logged loudly).
    pub allow_unauthenticated: bool,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    /// Relative paths are resolved against the config file's folder.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[sip]`: the presence server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sip {
    pub listen: Vec<SipListen>,
    /// SUBSCRIBE/PUBLISH below this many seconds → 423 + Min-Expires.
    pub min_expires: u32,
    /// Granted expiry is capped here.
    pub max_expires: u32,
    /// Digest auth on SUBSCRIBE and PUBLISH.
    pub require_auth: bool,
    /// Digest algorithms offered, one challenge each, in this order of
    /// preference (RFC 8760 §2.4). MD5 alone by default: baresip 1.0
    /// (libre 1.1) and sipp refuse a 401 that carries any SHA-256
    /// challenge, whatever its position (docs/DECISIONS.md §Digest default).
    pub digest_algorithms: Vec<DigestAlgorithm>,
    /// Run without digest auth on a non-loopback listener (logged loudly).
    pub allow_unauthenticated: bool,
    /// Certificate and key for `tls:` listeners; default: `[http]`'s.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[limits]`: what one source may cost us. Every limit is counted in
/// `/metrics`; a value of 0 turns a rate limit off. Read at start. A key
/// left out takes its value from `Limits::default`, the one list of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// SIP requests per second per source IP, on every transport; over
    /// UDP the excess is dropped silently (as Kamailio's pike does), over
    /// TCP/TLS the connection waits until the address may send again.
    pub sip_requests_per_second: u32,
    /// HTTP requests per second per source IP (provisioning and admin);
    /// the excess gets 429.
    pub http_requests_per_second: u32,
    /// SIP TCP/TLS connections per source IP and in total (inbound and
    /// outbound); the total is lowered at start if it would not fit below
    /// the open-file limit.
    pub tcp_connections_per_ip: usize,
    pub tcp_connections: usize,
    /// Seconds without a complete message (or keep-alive) before a SIP
    /// TCP/TLS connection is closed.
    pub tcp_idle_timeout: u64,
    /// Live subscriptions to one extension.
    pub subscriptions_per_line: usize,
    /// Live subscriptions from one source IP.
    pub subscriptions_per_ip: usize,
    /// Failed logins (SIP or HTTP) from one IP within `auth_window`
    /// seconds that lock it out for `auth_cooldown` seconds.
    pub auth_failures: u32,
    pub auth_window: u64,
    pub auth_cooldown: u64,
    /// Seconds a whole SIP message on TCP/TLS may take from its first
    /// byte, and an HTTP request head from the moment the connection is
    /// ready for it (so it is also HTTP's keep-alive idle time); bytes do
    /// not extend it (slowloris). Also bounds TLS handshakes.
    pub request_timeout: u64,
    /// Connections per HTTP listener (provisioning, admin) in total and
    /// per source IP.
    pub http_connections: usize,
    pub http_connections_per_ip: usize,
    /// Sources that stand for many phones (a SIP proxy, a site behind one
    /// NAT): they get the `trusted_*` limits below instead of the
    /// per-address ones.
    pub trusted_networks: Vec<Cidr>,
    pub trusted_sip_requests_per_second: u32,
    pub trusted_subscriptions_per_ip: usize,
    /// Per trusted IP, on the SIP TCP/TLS and on each HTTP listener.
    pub trusted_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sip_requests_per_second: 200,
            http_requests_per_second: 100,
            tcp_connections_per_ip: 32,
            tcp_connections: 4096,
            tcp_idle_timeout: 900,
            subscriptions_per_line: 2000,
            subscriptions_per_ip: 1000,
            auth_failures: 10,
            auth_window: 60,
            auth_cooldown: 300,
            request_timeout: 10,
            http_connections: 4096,
            http_connections_per_ip: 32,
            trusted_networks: Vec::new(),
            trusted_sip_requests_per_second: 5000,
            trusted_subscriptions_per_ip: 50_000,
            trusted_connections_per_ip: 1024,
        }
    }
}

/// A digest algorithm name in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum DigestAlgorithm {
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "MD5")]
    Md5,
}

/// `[admin]`: the admin API listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admin {
    pub listen: SocketAddr,
    /// Bearer token; `OPENDPMA_ADMIN_TOKEN` overrides it at start.
    pub token: Option<Secret>,
}

/// `[networks.NAME]` (DPMA `type=network`): where a phone's accounts
/// register and which NTP server it uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub cidr: Cidr,
    /// The PBX the phone's accounts register to; default: `server_address`.
    pub registration_address: Option<String>,
    #[serde(default = "default_registration_port")]
    pub registration_port: u16,
    #[serde(default = "default_transport")]
    pub transport: Transport,
    pub ntp_server: Option<String>,
    /// Backup registrar (`<host_alternate>`); port and transport default
    /// to the primary's.
    pub alternate_registration_address: Option<String>,
    pub alternate_registration_port: Option<u16>,
    pub alternate_transport: Option<Transport>,
    /// Display name.
    pub alias: Option<String>,
    // VLAN, 802.1p, DiffServ, syslog and keep-alive (DPMA type=network,
    // "DPMA Configuration"); unset = the phone's own value.
    pub network_vlan_discovery_mode: Option<VlanDiscovery>,
    pub network_vlan_id: Option<VlanId>,
    pub pc_vlan_id: Option<VlanId>,
    pub sip_qos: Option<Priority>,
    pub rtp_qos: Option<Priority>,
    pub pc_qos: Option<Priority>,
    pub sip_dscp: Option<Dscp>,
    pub rtp_dscp: Option<Dscp>,
    pub syslog_server: Option<String>,
    pub syslog_port: Option<u16>,
    pub syslog_level: Option<SyslogLevel>,
    pub udp_ka_interval: Option<Seconds>,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8088)),
            username: None,
            password: None,
            allowed_networks: Vec::new(),
            auto_reconfigure: true,
            allow_unauthenticated: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for Sip {
    fn default() -> Self {
        Self {
            listen: default_sip_listen(),
            min_expires: 60,
            max_expires: 3600,
            require_auth: true,
            digest_algorithms: vec![DigestAlgorithm::Md5],
            allow_unauthenticated: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            token: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_files_dir() -> PathBuf {
    PathBuf::from("files")
}
fn default_realm() -> String {
    "opendpma".to_owned()
}
fn default_sip_listen() -> Vec<SipListen> {
    let address = SocketAddr::from(([0, 0, 0, 0], 5060));
    vec![
        SipListen {
            transport: Transport::Udp,
            address,
        },
        SipListen {
            transport: Transport::Tcp,
            address,
        },
    ]
}
fn default_registration_port() -> u16 {
    5060
}
fn default_transport() -> Transport {
    Transport::Udp
}
