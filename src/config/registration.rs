//! How a phone's accounts register: per-line SIP options (DPMA `type=line`),
//! the network's alternate registrar (`type=network`), and
//! `[external_lines.NAME]` accounts on another SIP server (DPMA
//! `type=external_line`); the option names are those of Sangoma's "Phones -
//! DPMA Configuration". Each maps onto an `<account>` attribute or its
//! `<host_primary>`/`<host_alternate>` (Sangoma's "Phones - XML
//! Configuration"; FusionPBX and Provisioner write the same attributes).

use serde::Deserialize;

use super::device_settings::Seconds;
use super::entry::Entry;
use super::listen_address::Transport;
use super::problem::{Problem, path_segment};
use super::secret::Secret;

/// `media_encryption` of a host: SRTP or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaEncryption {
    None,
    Srtp,
}

impl MediaEncryption {
    /// The attribute value: empty for none (as FusionPBX writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Srtp => "srtp",
        }
    }
}

/// A line's registration options (DPMA `type=line`, "DPMA Configuration"),
/// listed once: `LineEntry` (which must name every key itself: serde's
/// `flatten` does not combine with `deny_unknown_fields`) and `LineSip`
/// are both generated from this list by `$callback`.
macro_rules! line_sip_keys {
    ($callback:ident { $($prefix:tt)* }) => {
        $callback! {
            $($prefix)*
            ;
            /// `dial_plan`, e.g. `[0-8]xx|9xxxxxxx.T3`.
            digit_map: String,
            /// Overrides the network's transport for this line.
            transport: Transport,
            media_encryption: MediaEncryption,
            reregistration_timeout: Seconds,
            registration_retry_interval: Seconds,
            registration_max_retries: u16,
            /// Dial this number as soon as the handset is lifted.
            plar_number: String,
        }
    };
}
pub(super) use line_sip_keys;

macro_rules! line_sip_struct {
    (; $($(#[$meta:meta])* $key:ident : $ty:ty,)*) => {
        /// A line's registration options, all optional: unset keeps today's
        /// defaults (register every 300 s, retry after 25 s) or writes nothing.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct LineSip {
            $($(#[$meta])* pub $key: Option<$ty>,)*
            pub outbound_proxy: Option<(String, u16)>,
        }
    };
}
line_sip_keys!(line_sip_struct {});

/// `[external_lines.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalLineEntry {
    pub server_address: Option<String>,
    #[serde(default = "default_port")]
    pub server_port: u16,
    #[serde(default = "default_transport")]
    pub transport: Transport,
    pub secondary_server_address: Option<String>,
    pub secondary_server_port: Option<u16>,
    pub secondary_server_transport: Option<Transport>,
    /// Default: the entry's name.
    pub userid: Option<String>,
    /// Default: `userid`.
    pub authname: Option<String>,
    pub secret: Option<Secret>,
    /// Register (DPMA `register`, default yes).
    #[serde(default = "default_true")]
    pub register: bool,
    pub callerid: Option<String>,
    /// Line key label; default: `userid`.
    pub label: Option<String>,
    pub media_encryption: Option<MediaEncryption>,
}

fn default_port() -> u16 {
    5060
}
fn default_transport() -> Transport {
    Transport::Udp
}
fn default_true() -> bool {
    true
}

/// A registrar host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub address: String,
    pub port: u16,
    pub transport: Transport,
}

/// A validated external line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLine {
    pub name: String,
    pub primary: Host,
    pub secondary: Option<Host>,
    pub userid: String,
    pub authname: String,
    pub secret: Secret,
    pub register: bool,
    pub callerid: Option<String>,
    pub label: String,
    pub media_encryption: Option<MediaEncryption>,
}

pub fn external_lines(
    source: &str,
    entries: &[Entry<ExternalLineEntry>],
    problems: &mut Vec<Problem>,
) -> Vec<ExternalLine> {
    let mut lines = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("external_lines.{}", path_segment(name.get_ref()));
        let (Some(address), Some(secret)) = (&value.server_address, &value.secret) else {
            super::references::missing_keys(source, entry, &path, &["server_address", "secret"], problems);
            continue;
        };
        let secondary = match &value.secondary_server_address {
            Some(address) => Some(Host {
                address: address.clone(),
                port: value.secondary_server_port.unwrap_or(value.server_port),
                transport: value.secondary_server_transport.unwrap_or(value.transport),
            }),
            None => {
                if value.secondary_server_port.is_some() || value.secondary_server_transport.is_some() {
                    problems.push(Problem::at(
                        source,
                        name.span(),
                        path.clone(),
                        "secondary_server_port/transport need secondary_server_address".to_owned(),
                    ));
                }
                None
            }
        };
        let userid = value.userid.clone().unwrap_or_else(|| name.get_ref().clone());
        lines.push(ExternalLine {
            name: name.get_ref().clone(),
            primary: Host {
                address: address.clone(),
                port: value.server_port,
                transport: value.transport,
            },
            secondary,
            authname: value.authname.clone().unwrap_or_else(|| userid.clone()),
            label: value.label.clone().unwrap_or_else(|| userid.clone()),
            userid,
            secret: secret.clone(),
            register: value.register,
            callerid: value.callerid.clone(),
            media_encryption: value.media_encryption,
        });
    }
    lines
}
