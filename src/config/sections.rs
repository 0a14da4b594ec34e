//! The singleton sections of phones.toml: `[general]`, `[http]`, `[sip]`,
//! `[admin]`, and the named `[networks.NAME]` entries. Their serde form *is*
//! their model: every value is checked by its type while it is read, and the
//! defaults below are the documented ones (DESIGN §2).

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
#[serde(deny_unknown_fields)]
pub struct Http {
    #[serde(default = "default_http_listen")]
    pub listen: SocketAddr,
    /// Credentials every phone presents (Digest or Basic). Both or neither.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Only these networks may fetch configs; empty = everyone.
    #[serde(default)]
    pub allowed_networks: Vec<Cidr>,
    /// Send check-sync to phones whose rendered config changed on reload.
    #[serde(default = "default_true")]
    pub auto_reconfigure: bool,
    /// Serve without credentials on a non-loopback address (logged loudly).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    /// Relative paths are resolved against the config file's folder.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[sip]`: the presence server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    #[serde(default = "default_sip_listen")]
    pub listen: Vec<SipListen>,
    /// SUBSCRIBE/PUBLISH below this many seconds → 423 + Min-Expires.
    #[serde(default = "default_min_expires")]
    pub min_expires: u32,
    /// Granted expiry is capped here.
    #[serde(default = "default_max_expires")]
    pub max_expires: u32,
    /// Digest auth on SUBSCRIBE and PUBLISH.
    #[serde(default = "default_true")]
    pub require_auth: bool,
    /// Digest algorithms offered, one challenge each, in this order of
    /// preference (RFC 8760 §2.4). MD5 alone by default: baresip 1.0
    /// (libre 1.1) and sipp refuse a 401 that carries any SHA-256
    /// challenge, whatever its position (docs/DECISIONS.md §Digest default).
    #[serde(default = "default_digest_algorithms")]
    pub digest_algorithms: Vec<DigestAlgorithm>,
    /// Run without digest auth on a non-loopback listener (logged loudly).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Certificate and key for `tls:` listeners; default: `[http]`'s.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[limits]`: what one source may cost us. Every limit is counted in
/// `/metrics`; a value of 0 turns a rate limit off. Read at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// SIP requests per second per source IP, on every transport; over
    /// UDP the excess is dropped silently (as Kamailio's pike does), over
    /// TCP/TLS the connection waits until the address may send again.
    #[serde(default = "default_sip_rate")]
    pub sip_requests_per_second: u32,
    /// HTTP requests per second per source IP (provisioning and admin);
    /// the excess gets 429.
    #[serde(default = "default_http_rate")]
    pub http_requests_per_second: u32,
    /// SIP TCP/TLS connections per source IP and in total (inbound and
    /// outbound); the total is lowered at start if it would not fit below
    /// the open-file limit.
    #[serde(default = "default_connections_per_ip")]
    pub tcp_connections_per_ip: usize,
    #[serde(default = "default_connections")]
    pub tcp_connections: usize,
    /// Seconds without a complete message (or keep-alive) before a SIP
    /// TCP/TLS connection is closed.
    #[serde(default = "default_idle_timeout")]
    pub tcp_idle_timeout: u64,
    /// Live subscriptions to one extension.
    #[serde(default = "default_subscriptions_per_line")]
    pub subscriptions_per_line: usize,
    /// Live subscriptions from one source IP.
    #[serde(default = "default_subscriptions_per_ip")]
    pub subscriptions_per_ip: usize,
    /// Failed logins (SIP or HTTP) from one IP within `auth_window`
    /// seconds that lock it out for `auth_cooldown` seconds.
    #[serde(default = "default_auth_failures")]
    pub auth_failures: u32,
    #[serde(default = "default_auth_window")]
    pub auth_window: u64,
    #[serde(default = "default_auth_cooldown")]
    pub auth_cooldown: u64,
    /// Seconds a whole SIP message on TCP/TLS may take from its first
    /// byte, and an HTTP request head from the moment the connection is
    /// ready for it (so it is also HTTP's keep-alive idle time); bytes do
    /// not extend it (slowloris). Also bounds TLS handshakes.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: u64,
    /// Connections per HTTP listener (provisioning, admin) in total and
    /// per source IP.
    #[serde(default = "default_connections")]
    pub http_connections: usize,
    #[serde(default = "default_connections_per_ip")]
    pub http_connections_per_ip: usize,
    /// Sources that stand for many phones (a SIP proxy, a site behind one
    /// NAT): they get the `trusted_*` limits below instead of the
    /// per-address ones.
    #[serde(default)]
    pub trusted_networks: Vec<Cidr>,
    #[serde(default = "default_trusted_sip_rate")]
    pub trusted_sip_requests_per_second: u32,
    #[serde(default = "default_trusted_subscriptions")]
    pub trusted_subscriptions_per_ip: usize,
    /// Per trusted IP, on the SIP TCP/TLS and on each HTTP listener.
    #[serde(default = "default_trusted_connections")]
    pub trusted_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sip_requests_per_second: default_sip_rate(),
            http_requests_per_second: default_http_rate(),
            tcp_connections_per_ip: default_connections_per_ip(),
            tcp_connections: default_connections(),
            tcp_idle_timeout: default_idle_timeout(),
            subscriptions_per_line: default_subscriptions_per_line(),
            subscriptions_per_ip: default_subscriptions_per_ip(),
            auth_failures: default_auth_failures(),
            auth_window: default_auth_window(),
            auth_cooldown: default_auth_cooldown(),
            request_timeout: default_request_timeout(),
            http_connections: default_connections(),
            http_connections_per_ip: default_connections_per_ip(),
            trusted_networks: Vec::new(),
            trusted_sip_requests_per_second: default_trusted_sip_rate(),
            trusted_subscriptions_per_ip: default_trusted_subscriptions(),
            trusted_connections_per_ip: default_trusted_connections(),
        }
    }
}

fn default_sip_rate() -> u32 {
    200
}
fn default_http_rate() -> u32 {
    100
}
fn default_connections_per_ip() -> usize {
    32
}
fn default_connections() -> usize {
    4096
}
fn default_idle_timeout() -> u64 {
    900
}
fn default_subscriptions_per_line() -> usize {
    2000
}
fn default_subscriptions_per_ip() -> usize {
    1000
}
fn default_auth_failures() -> u32 {
    10
}
fn default_auth_window() -> u64 {
    60
}
fn default_auth_cooldown() -> u64 {
    300
}
fn default_request_timeout() -> u64 {
    10
}
fn default_trusted_sip_rate() -> u32 {
    5000
}
fn default_trusted_subscriptions() -> usize {
    50_000
}
fn default_trusted_connections() -> usize {
    1024
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
#[serde(deny_unknown_fields)]
pub struct Admin {
    #[serde(default = "default_admin_listen")]
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
    // reference §2.2); unset = the phone's own value.
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
            listen: default_http_listen(),
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
            min_expires: default_min_expires(),
            max_expires: default_max_expires(),
            require_auth: true,
            digest_algorithms: default_digest_algorithms(),
            allow_unauthenticated: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            listen: default_admin_listen(),
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
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8088))
}
fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8089))
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
fn default_min_expires() -> u32 {
    60
}
fn default_max_expires() -> u32 {
    3600
}
fn default_registration_port() -> u16 {
    5060
}
fn default_transport() -> Transport {
    Transport::Udp
}
fn default_digest_algorithms() -> Vec<DigestAlgorithm> {
    vec![DigestAlgorithm::Md5]
}
fn default_true() -> bool {
    true
}
