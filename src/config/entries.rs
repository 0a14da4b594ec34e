//! The serde form of the named entries `[lines.NAME]`, `[phones.NAME]` and
//! `[hints."EXTEN"]`. Values that other entries refer to, or that must be
//! unique, keep their source span so cross-reference problems point at the
//! exact place (`validate.rs`).
//!
//! Required keys are `Option` here and checked in `validate.rs`: when a
//! value is rejected the reader drops it and reads the entry again, and a
//! serde-level "missing field" would then hide the problems that follow.

use serde::Deserialize;
use toml::Spanned;

use std::collections::BTreeMap;

use super::device_settings::{
    AcceptLocalCalls, Codec, DeviceSettings, Ehs, Level, NameFormat, PortMode, Seconds, SettingValue,
};
use super::extension::Extension;
use super::listen_address::Transport;
use super::mac_address::MacAddress;
use super::phone_model::PhoneModel;
use super::registration::{LineSip, MediaEncryption};
use super::secret::Secret;

macro_rules! line_entry_struct {
    ($($(#[$meta:meta])* $field:ident : $fty:ty,)* ; $($(#[$kmeta:meta])* $key:ident : $ty:ty,)*) => {
        /// `[lines.NAME]` (DPMA `type=line`).
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct LineEntry {
            $($(#[$meta])* pub $field: $fty,)*
            // Registration options (DPMA type=line, "DPMA Configuration").
            $($(#[$kmeta])* pub $key: Option<$ty>,)*
        }

        // Here rather than in registration.rs, beside `LineEntry`, so that
        // registration.rs (which `LineEntry` uses) does not use entries.rs.
        impl LineSip {
            /// The options of `entry`; the proxy port defaults to 5060.
            pub fn from_entry(entry: &LineEntry) -> Self {
                Self {
                    $($key: entry.$key.clone(),)*
                    outbound_proxy: entry
                        .outboundproxy_address
                        .clone()
                        .map(|address| (address, entry.outboundproxy_port.unwrap_or(5060))),
                }
            }
        }
    };
}

super::registration::line_sip_keys!(line_entry_struct {
    /// Dialable extension; default: the line name.
    exten: Option<Spanned<Extension>>,
    /// Digest user name for SIP and the phone's account; default: the line name.
    authname: Option<String>,
    /// SIP password of the account (goes into the phone's config).
    secret: Option<Secret>,
    /// Label on the phone's line key and in contacts; default: the extension.
    label: Option<String>,
    /// Caller ID, e.g. `Bob Smith <2000>`.
    callerid: Option<String>,
    /// Voicemail box, e.g. `2000@default`.
    mailbox: Option<String>,
    /// What the phone dials for voicemail, e.g. `*97`.
    voicemail: Option<String>,
    outboundproxy_address: Option<String>,
    outboundproxy_port: Option<u16>,
});

macro_rules! phone_entry_struct {
    ($($(#[$meta:meta])* $field:ident : $fty:ty,)* ; $($key:ident : $ty:ty),* $(,)?) => {
        /// `[phones.NAME]` (DPMA `type=phone`).
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct PhoneEntry {
            $($(#[$meta])* pub $field: $fty,)*
            // Device settings (DPMA type=phone options); each
            // becomes one `<setting>` (see `device_settings.rs` for the ids).
            $(pub $key: Option<$ty>,)*
        }

        // Here rather than in device_settings.rs, beside `PhoneEntry`, so
        // that device_settings.rs (which `PhoneEntry` uses) does not use
        // entries.rs.
        impl DeviceSettings {
            /// The typed keys of `entry`, with `settings` already checked.
            pub fn from_entry(entry: &PhoneEntry, settings: Vec<(&'static str, String)>) -> Self {
                Self {
                    $($key: entry.$key.clone(),)*
                    enable_check_sync: entry.enable_check_sync.unwrap_or(true),
                    codecs: entry.codecs.clone().unwrap_or_default(),
                    settings,
                }
            }
        }
    };
}

super::device_settings::device_keys!(phone_entry_struct {
    mac: Option<Spanned<MacAddress>>,
    model: Option<PhoneModel>,
    /// The phone's admin/web UI password (`login_password` setting).
    login_password: Option<Secret>,
    /// The user's name: shown for this phone's primary line in other
    /// phones' phonebooks and on their BLF keys.
    full_name: Option<String>,
    /// Line names; the first is the primary line.
    lines: Option<Spanned<Vec<Spanned<String>>>>,
    /// Line names shown in the phonebook and on BLF keys.
    #[serde(default)]
    contacts: Vec<Spanned<String>>,
    /// `[networks.NAME]` this phone lives in; without it, the network whose
    /// `cidr` holds the address the phone fetches its config from.
    network: Option<Spanned<String>>,
    /// Olson time zone name, e.g. `America/Chicago`.
    timezone: Option<String>,
    enable_check_sync: Option<bool>,
    /// Codecs in priority order, e.g. `["G722", "PCMU"]`.
    codecs: Option<Vec<Codec>>,
    /// `[external_lines]` accounts after its own lines (they take line keys).
    external_lines: Option<Vec<Spanned<String>>>,
    /// `[alerts]` (Alert-Info → ring type and tone) this phone honours.
    alerts: Option<Vec<Spanned<String>>>,
    /// The phone's own ringtone: a built-in name such as `Digium`, or a
    /// `[ringtones]` entry.
    active_ringtone: Option<Spanned<String>>,
    /// `[ringtones]` files this phone downloads (those its alerts and
    /// `active_ringtone` name are added).
    ringtones: Option<Vec<Spanned<String>>>,
    /// `[paging]` multicast groups this phone listens to.
    paging: Option<Vec<Spanned<String>>>,
    /// Idle-screen logo: a PNG of the model's size in `files_dir`.
    logo_file: Option<Spanned<String>>,
    /// Wallpaper (colour models): a PNG in `files_dir`.
    wallpaper_file: Option<Spanned<String>>,
    /// The `[firmware]` entry to run; default: the one for its model.
    firmware: Option<Spanned<String>>,
    /// `[contacts]` groups in this phone's phonebook, after its lines' group.
    contact_groups: Option<Vec<Spanned<String>>>,
    /// The group whose contacts the BLF keys watch; default `Internal`
    /// (the lines in `contacts`).
    blf_contact_group: Option<Spanned<String>>,
    /// Call features on each line contact: intercom, monitor, voicemail, pickup.
    contact_actions: Option<Vec<super::phonebook::ContactAction>>,
    /// Any other documented `<setting id>`: `{ transport_tls_port = 5061 }`.
    settings: Option<BTreeMap<Spanned<String>, SettingValue>>,
});

/// `[hints."EXTEN"]`: extra or overriding device and presence sources for an
/// extension's hint (Asterisk `exten => EXTEN,hint,DEVICES,PRESENCE`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintEntry {
    /// `Custom:<name>` device states.
    pub devices: Option<Vec<Spanned<String>>>,
    /// `CustomPresence:<name>` providers.
    pub presence: Option<Vec<Spanned<String>>>,
}
