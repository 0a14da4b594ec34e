//! The value types of a phone's device settings and a network's QoS and
//! logging keys (DPMA `type=phone` / `type=network` options, Sangoma's
//! "Phones - DPMA Configuration"), each checked while it is read; and the
//! list of documented `<setting id>`s a phone's `settings` pass-through may
//! name.
//!
//! Value ranges and spellings come from DPMA's option table (scjalliance
//! astconf `dpma/phone.go`, `dpma/network.go`; FreePBX digium_phones
//! `res_digium_phone_devices.php`) and the XML ids from the published phone
//! configs (FusionPBX `digium/d65/{$mac}.cfg`, Provisioner
//! `endpoint/digium/dxx/$mac.cfg`, Wazo
//! `wazo_digium/common/templates/base.tpl`).

use std::fmt;

use serde::Deserialize;

/// An integer in `MIN..=MAX`, refused with the range when outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Bounded<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Why a number was refused.
#[derive(Debug, thiserror::Error)]
#[error("{value} is out of range (expected {min} to {max})")]
pub struct OutOfRange {
    value: i64,
    min: i64,
    max: i64,
}

impl<const MIN: i64, const MAX: i64> TryFrom<i64> for Bounded<MIN, MAX> {
    type Error = OutOfRange;
    fn try_from(value: i64) -> Result<Self, OutOfRange> {
        if (MIN..=MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(OutOfRange {
                value,
                min: MIN,
                max: MAX,
            })
        }
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Volume, brightness, contrast and dim levels: 0 to 10 on every model.
pub type Level = Bounded<0, 10>;
/// An 802.1Q VLAN id.
pub type VlanId = Bounded<1, 4094>;
/// An 802.1p priority.
pub type Priority = Bounded<0, 7>;
/// A DiffServ code point.
pub type Dscp = Bounded<0, 63>;
/// Seconds (timeouts, intervals), up to a week.
pub type Seconds = Bounded<0, 604_800>;

/// The typed device keys of a phone (DPMA `type=phone` options),
/// listed once: `PhoneEntry` (which must name every key itself, since
/// serde's `flatten` does not combine with `deny_unknown_fields`) and
/// `DeviceSettings` are both generated from this list by `$callback`.
macro_rules! device_keys {
    ($callback:ident { $($prefix:tt)* }) => {
        $callback! {
            $($prefix)*
            ;
            ntp_resync: Seconds,
            active_locale: String,
            name_format: NameFormat,
            brightness: Level,
            contrast: Level,
            dim_backlight: bool,
            backlight_timeout: Seconds,
            backlight_dim_level: Level,
            idle_company_text: String,
            display_mc_notification: bool,
            small_clock: bool,
            ringer_volume: Level,
            speaker_volume: Level,
            handset_volume: Level,
            headset_volume: Level,
            reset_call_volume: bool,
            headset_answer: bool,
            ehs: Ehs,
            web_ui_enabled: bool,
            lock_preferences: bool,
            accept_local_calls: AcceptLocalCalls,
            lan_port_mode: PortMode,
            pc_port_mode: PortMode,
        }
    };
}
pub(super) use device_keys;

macro_rules! device_settings_struct {
    (; $($key:ident : $ty:ty),* $(,)?) => {
        /// A phone's device settings as validated; `None` leaves the
        /// phone's own value (no `<setting>` is written).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct DeviceSettings {
            $(pub $key: Option<$ty>,)*
            /// Default on: check-sync is how reloads reach the phones.
            pub enable_check_sync: bool,
            /// In priority order (first = preferred); empty = the phone's own.
            pub codecs: Vec<Codec>,
            /// Validated pass-through `<setting id>`s, in file order.
            pub settings: Vec<(&'static str, String)>,
        }
    };
}
device_keys!(device_settings_struct {});

/// A closed set of words, each written to the phone as it is spelled here.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }
    };
}

choice!(
    /// `name_format`: how contacts are listed.
    NameFormat { FirstLast = "first_last", LastFirst = "last_first" }
);
choice!(
    /// `ehs`: electronic hook switch for wireless headsets.
    Ehs { Auto = "auto", Plantronics = "plantronics", JabraIq = "jabra_iq" }
);
choice!(
    /// `accept_local_calls`: `host` accepts calls only from the registrar.
    AcceptLocalCalls { Any = "any", Host = "host" }
);
choice!(
    /// `lan_port_mode` / `pc_port_mode`: switch port speed and duplex.
    PortMode {
        Auto = "auto",
        Half10 = "10hd",
        Full10 = "10fd",
        Half100 = "100hd",
        Full100 = "100fd",
        Full1000 = "1000fd",
    }
);
choice!(
    /// `network_vlan_discovery_mode` (case-sensitive, as DPMA documents it).
    VlanDiscovery { None = "NONE", Manual = "MANUAL", Lldp = "LLDP" }
);
choice!(
    /// `syslog_level`.
    SyslogLevel { Debug = "debug", Error = "error", Warning = "warning", Information = "information" }
);

/// A codec the phones offer, by the XML id (Provisioner's `<codecs>`);
/// Asterisk's names (`ulaw`, `alaw`, `g722`, …) are accepted too, since
/// DPMA's `codecs` option is written with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Codec {
    #[serde(rename = "PCMU", alias = "ulaw")]
    Pcmu,
    #[serde(rename = "PCMA", alias = "alaw")]
    Pcma,
    #[serde(rename = "G722", alias = "g722")]
    G722,
    #[serde(rename = "G726-32", alias = "g726")]
    G726,
    #[serde(rename = "G729", alias = "g729")]
    G729,
    #[serde(rename = "L16", alias = "slin")]
    L16,
    #[serde(rename = "L16-256", alias = "slin16")]
    L16Wide,
}

impl Codec {
    /// Every codec, in the order the phones list them.
    pub const ALL: [Codec; 7] = [
        Self::Pcmu,
        Self::Pcma,
        Self::G722,
        Self::G726,
        Self::G729,
        Self::L16,
        Self::L16Wide,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::G722 => "G722",
            Self::G726 => "G726-32",
            Self::G729 => "G729",
            Self::L16 => "L16",
            Self::L16Wide => "L16-256",
        }
    }
}

/// A pass-through `<setting>` value: text, a number, or a flag (`1`/`0`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    Flag(bool),
    Number(i64),
    Text(String),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => f.write_str(if *flag { "1" } else { "0" }),
            Self::Number(number) => number.fmt(f),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// `<setting id>`s that typed keys write: the pass-through refuses them and
/// names the key to use instead, so one value has one place.
pub const TYPED_SETTING_IDS: &[(&str, &str)] = &[
    ("time_zone", "timezone"),
    ("time_source", "[networks] ntp_server"),
    ("ntp_server", "[networks] ntp_server"),
    ("ntp_resync", "ntp_resync"),
    ("active_ringtone", "active_ringtone"),
    ("logo_file", "logo_file"),
    ("login_password", "login_password"),
    ("locale", "active_locale"),
    ("name_format", "name_format"),
    ("brightness", "brightness"),
    ("contrast", "contrast"),
    ("dim_backlight", "dim_backlight"),
    ("backlight_timeout", "backlight_timeout"),
    ("backlight_dim_level", "backlight_dim_level"),
    ("idle_company_text", "idle_company_text"),
    ("display_mc_notification", "display_mc_notification"),
    ("small_clock", "small_clock"),
    ("ringer_volume", "ringer_volume"),
    ("speaker_volume", "speaker_volume"),
    ("handset_volume", "handset_volume"),
    ("headset_volume", "headset_volume"),
    ("reset_call_volume", "reset_call_volume"),
    ("headset_answer", "headset_answer"),
    ("ehs", "ehs"),
    ("web_ui_enabled", "web_ui_enabled"),
    ("lock_preferences", "lock_preferences"),
    ("accept_local_calls", "accept_local_calls"),
    ("lan_port_mode", "lan_port_mode"),
    ("pc_port_mode", "pc_port_mode"),
    ("enable_check_sync", "enable_check_sync"),
    ("blf_contact_group", "blf_contact_group"),
    ("contacts_max_subscriptions", "contacts_max_subscriptions"),
    ("enable_blf_on_unused_line_keys", "(automatic per model)"),
    (
        "network_vlan_discovery_mode",
        "[networks] network_vlan_discovery_mode",
    ),
    ("network_vlan_id", "[networks] network_vlan_id"),
    ("pc_vlan_id", "[networks] pc_vlan_id"),
    ("sip_qos", "[networks] sip_qos"),
    ("rtp_qos", "[networks] rtp_qos"),
    ("pc_qos", "[networks] pc_qos"),
    ("sip_dscp", "[networks] sip_dscp"),
    ("rtp_dscp", "[networks] rtp_dscp"),
    ("enable_logging", "[networks] syslog_server"),
    ("log_server", "[networks] syslog_server"),
    ("log_port", "[networks] syslog_port"),
    ("log_level", "[networks] syslog_level"),
    ("udp_ka_interval", "[networks] udp_ka_interval"),
];

/// Documented `<setting id>`s with no typed key: the pass-through accepts
/// these (sources in the module doc).
pub const PASS_THROUGH_SETTING_IDS: &[&str] = &[
    "8021x_anonymous_identity",
    "8021x_client_cert",
    "8021x_client_key",
    "8021x_debug",
    "8021x_eapol_on_disconnect",
    "8021x_identity",
    "8021x_method",
    "8021x_passthrough",
    "8021x_password",
    "allow_app_dev",
    "allow_insecure_ssl",
    "blf_page_return_timeout",
    "call_control_checkx",
    "default_ringtone",
    "desi_strip_enable",
    "display_pickup_notification",
    "expansion_enable",
    "hide_completed_elsewhere",
    "in_switchvox_environment",
    "lock_ringing_volume",
    "network_default_enable_openvpn",
    "network_default_gateway",
    "network_domain_name",
    "network_enable_dhcp",
    "network_ipv6_enabled",
    "network_ipv6_preferred",
    "network_primary_dns_server",
    "network_secondary_dns_server",
    "network_static_ip_address",
    "network_subnet_mask",
    "network_vlan_qos",
    "ntp_prefer_option42",
    "send_mac_with_useragent",
    "transport_tcp_enabled",
    "transport_tcp_port",
    "transport_tls_allowed",
    "transport_tls_port",
    "transport_udp_enabled",
    "transport_udp_port",
    "use_secure_labels",
];

/// Whether `id` may be passed through, or the typed key that sets it.
pub fn pass_through(id: &str) -> Result<&'static str, PassThroughRefusal> {
    if let Some(known) = PASS_THROUGH_SETTING_IDS.iter().find(|known| **known == id) {
        return Ok(known);
    }
    match TYPED_SETTING_IDS.iter().find(|(typed, _)| *typed == id) {
        Some((_, key)) => Err(PassThroughRefusal::Typed(key)),
        None => Err(PassThroughRefusal::Unknown),
    }
}

/// Why a `settings` entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassThroughRefusal {
    /// A typed key writes this id: use it.
    Typed(&'static str),
    /// Not a documented setting id.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_values_name_their_range() {
        assert_eq!(Level::try_from(10).map(Level::get).ok(), Some(10));
        let error = VlanId::try_from(4095).expect_err("out of range");
        assert_eq!(error.to_string(), "4095 is out of range (expected 1 to 4094)");
    }

    #[test]
    fn pass_through_knows_typed_and_unknown_ids() {
        assert_eq!(pass_through("transport_tls_port"), Ok("transport_tls_port"));
        assert_eq!(
            pass_through("brightness"),
            Err(PassThroughRefusal::Typed("brightness"))
        );
        assert_eq!(pass_through("brightnes"), Err(PassThroughRefusal::Unknown));
    }
}
