//! Which DPMA option becomes which phones.toml key, per section type, and
//! how its value is written. One table per type so the mapping reads like
//! docs/DPMA-COVERAGE.md (which lists the same rows with their XML).

/// How a DPMA value is written in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string, as written.
    Text,
    /// A string, lower-cased (transports, enum words).
    Lower,
    /// An integer; a value that is not one is reported.
    Number,
    /// `yes`/`no` (also `true`/`false`, `1`/`0`) → true/false.
    Flag,
    /// A comma-separated list → an array of strings.
    List,
}

/// (DPMA option, phones.toml key, kind).
pub type Row = (&'static str, &'static str, Kind);

/// `type=network`.
pub const NETWORK: &[Row] = &[
    ("cidr", "cidr", Kind::Text),
    ("alias", "alias", Kind::Text),
    ("registration_address", "registration_address", Kind::Text),
    ("registration_port", "registration_port", Kind::Number),
    ("transport", "transport", Kind::Lower),
    (
        "alternate_registration_address",
        "alternate_registration_address",
        Kind::Text,
    ),
    (
        "alternate_registration_port",
        "alternate_registration_port",
        Kind::Number,
    ),
    ("alternate_transport", "alternate_transport", Kind::Lower),
    ("ntp_server", "ntp_server", Kind::Text),
    ("syslog_server", "syslog_server", Kind::Text),
    ("syslog_port", "syslog_port", Kind::Number),
    ("syslog_level", "syslog_level", Kind::Lower),
    // Case-sensitive in DPMA (NONE, MANUAL, LLDP): kept as written.
    (
        "network_vlan_discovery_mode",
        "network_vlan_discovery_mode",
        Kind::Text,
    ),
    ("network_vlan_id", "network_vlan_id", Kind::Number),
    ("pc_vlan_id", "pc_vlan_id", Kind::Number),
    ("sip_qos", "sip_qos", Kind::Number),
    ("rtp_qos", "rtp_qos", Kind::Number),
    ("pc_qos", "pc_qos", Kind::Number),
    ("sip_dscp", "sip_dscp", Kind::Number),
    ("rtp_dscp", "rtp_dscp", Kind::Number),
    ("udp_ka_interval", "udp_ka_interval", Kind::Number),
];

/// `type=line`.
pub const LINE: &[Row] = &[
    ("exten", "exten", Kind::Text),
    ("authname", "authname", Kind::Text),
    ("secret", "secret", Kind::Text),
    ("line_label", "label", Kind::Text),
    ("callerid", "callerid", Kind::Text),
    ("mailbox", "mailbox", Kind::Text),
    ("voicemail_uri", "voicemail", Kind::Text),
    ("digit_map", "digit_map", Kind::Text),
    ("outboundproxy_address", "outboundproxy_address", Kind::Text),
    ("outboundproxy_port", "outboundproxy_port", Kind::Number),
    ("transport", "transport", Kind::Lower),
    ("media_encryption", "media_encryption", Kind::Lower),
    ("reregistration_timeout", "reregistration_timeout", Kind::Number),
    (
        "registration_retry_interval",
        "registration_retry_interval",
        Kind::Number,
    ),
    (
        "registration_max_retries",
        "registration_max_retries",
        Kind::Number,
    ),
    ("plar_number", "plar_number", Kind::Text),
];

/// `type=phone` options with a key of the same meaning;
/// `mac`, `pin`, `line`, `network`, `external_line` and `firmware` are
/// handled by `dpma.rs` itself.
pub const PHONE: &[Row] = &[
    ("full_name", "full_name", Kind::Text),
    ("timezone", "timezone", Kind::Text),
    ("login_password", "login_password", Kind::Text),
    ("ntp_resync", "ntp_resync", Kind::Number),
    ("active_locale", "active_locale", Kind::Text),
    ("name_format", "name_format", Kind::Lower),
    ("brightness", "brightness", Kind::Number),
    ("contrast", "contrast", Kind::Number),
    ("dim_backlight", "dim_backlight", Kind::Flag),
    ("backlight_timeout", "backlight_timeout", Kind::Number),
    ("backlight_dim_level", "backlight_dim_level", Kind::Number),
    ("idle_company_text", "idle_company_text", Kind::Text),
    ("display_mc_notification", "display_mc_notification", Kind::Flag),
    ("small_clock", "small_clock", Kind::Flag),
    ("ringer_volume", "ringer_volume", Kind::Number),
    ("speaker_volume", "speaker_volume", Kind::Number),
    ("handset_volume", "handset_volume", Kind::Number),
    ("headset_volume", "headset_volume", Kind::Number),
    ("reset_call_volume", "reset_call_volume", Kind::Flag),
    ("headset_answer", "headset_answer", Kind::Flag),
    ("ehs", "ehs", Kind::Lower),
    ("web_ui_enabled", "web_ui_enabled", Kind::Flag),
    ("lock_preferences", "lock_preferences", Kind::Flag),
    ("accept_local_calls", "accept_local_calls", Kind::Lower),
    ("lan_port_mode", "lan_port_mode", Kind::Lower),
    ("pc_port_mode", "pc_port_mode", Kind::Lower),
    ("enable_check_sync", "enable_check_sync", Kind::Flag),
    ("codecs", "codecs", Kind::List),
    ("active_ringtone", "active_ringtone", Kind::Text),
    ("wallpaper_file", "wallpaper_file", Kind::Text),
];

/// `type=external_line`.
pub const EXTERNAL_LINE: &[Row] = &[
    ("server_address", "server_address", Kind::Text),
    ("server_port", "server_port", Kind::Number),
    ("transport", "transport", Kind::Lower),
    ("secondary_server_address", "secondary_server_address", Kind::Text),
    ("secondary_server_port", "secondary_server_port", Kind::Number),
    (
        "secondary_server_transport",
        "secondary_server_transport",
        Kind::Lower,
    ),
    ("userid", "userid", Kind::Text),
    ("authname", "authname", Kind::Text),
    ("secret", "secret", Kind::Text),
    ("register", "register", Kind::Flag),
    ("callerid", "callerid", Kind::Text),
];

/// `type=alert`.
pub const ALERT: &[Row] = &[
    ("alert_info", "alert_info", Kind::Text),
    ("ring_type", "ring_type", Kind::Lower),
    ("ringtone", "ringtone", Kind::Text),
];

/// `type=ringtone`: DPMA's `filename` is our `file`.
pub const RINGTONE: &[Row] = &[("alias", "alias", Kind::Text), ("filename", "file", Kind::Text)];

/// `type=multicastpage`.
pub const MULTICAST_PAGE: &[Row] = &[
    ("alias", "alias", Kind::Text),
    ("address", "address", Kind::Text),
    ("port", "port", Kind::Number),
    ("priority", "priority", Kind::Number),
    ("interrupt", "interrupt", Kind::Flag),
];

/// `type=firmware`.
pub const FIRMWARE: &[Row] = &[
    ("model", "model", Kind::Text),
    ("version", "version", Kind::Text),
    ("file", "file", Kind::Text),
];

/// Options that have no XML form for a phone provisioned over HTTP, with
/// the reason the import prints. Anything in no table and not here is
/// reported as "not supported".
pub const NO_XML_FORM: &[(&str, &str)] = &[
    (
        "first_name",
        "a line's contact card comes from its phone's full_name and the line's label",
    ),
    (
        "last_name",
        "a line's contact card comes from its phone's full_name and the line's label",
    ),
    (
        "second_name",
        "a line's contact card comes from its phone's full_name and the line's label",
    ),
    (
        "prefix",
        "a line's contact card comes from its phone's full_name and the line's label",
    ),
    (
        "suffix",
        "a line's contact card comes from its phone's full_name and the line's label",
    ),
    ("public_firmware", "opendpma serves the firmware itself"),
    (
        "context",
        "a dialplan context is the PBX endpoint's, not the phone's",
    ),
    (
        "mailbox_context",
        "a dialplan context is the PBX endpoint's, not the phone's",
    ),
    (
        "subscribecontext",
        "a dialplan context is the PBX endpoint's, not the phone's",
    ),
    (
        "send_to_vm",
        "DPMA's Send-VM softkey comes over DPMA's channel; use contact_actions = [\"voicemail\"]",
    ),
    (
        "application",
        "DPMA applications run over DPMA's channel (docs/DECISIONS.md §16)",
    ),
    ("parking_exten", "one-touch park is a DPMA application"),
    ("parking_transfer_type", "one-touch park is a DPMA application"),
    ("show_call_parking", "one-touch park is a DPMA application"),
    ("record_own_calls", "call recording is a DPMA feature"),
    ("can_forward_calls", "call forwarding control is a DPMA feature"),
    ("show_call_log", "a DPMA application setting"),
    (
        "logout_enabled",
        "DPMA's hot-desking logout; no PIN login over HTTP",
    ),
    ("use_local_storage", "a DPMA application setting"),
    ("group_pin", "undocumented DPMA option"),
    (
        "config_file",
        "raw XML merged by DPMA; use `settings` for documented ids",
    ),
    ("contacts_display_rules", "a DPMA rules file"),
    ("blf_items", "opendpma generates the Smart BLF sheet per model"),
    (
        "blf_page_return_timeout",
        "pass through with settings = { blf_page_return_timeout = N }",
    ),
    (
        "blf_unused_linekeys",
        "set per model by opendpma (docs/DECISIONS.md §15)",
    ),
    (
        "contacts_max_subscriptions",
        "computed by opendpma from the watched contacts",
    ),
    ("file_url_prefix", "opendpma serves the files itself"),
    (
        "public_firmware_url_prefix",
        "opendpma serves the firmware itself",
    ),
];

/// Reads `value` as `kind`; `None` when it is not one.
pub fn toml_value(value: &str, kind: Kind) -> Option<String> {
    let quoted = |v: &str| toml::Value::String(v.to_owned()).to_string();
    match kind {
        Kind::Text => Some(quoted(value)),
        Kind::Lower => Some(quoted(&value.to_ascii_lowercase())),
        Kind::Number => value.trim().parse::<i64>().ok().map(|n| n.to_string()),
        Kind::Flag => match value.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "on" => Some("true".to_owned()),
            "no" | "false" | "0" | "off" => Some("false".to_owned()),
            _ => None,
        },
        Kind::List => Some(format!(
            "[{}]",
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(quoted)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The row for `key` in `table`.
pub fn row(table: &[Row], key: &str) -> Option<Row> {
    table
        .iter()
        .copied()
        .find(|(dpma, ..)| dpma.eq_ignore_ascii_case(key))
}

/// Writes `entry` to `out` by `table`; `false` when the table has no row
/// for it or the value does not fit (the caller reports those).
pub fn write_mapped(
    table: &[Row],
    entry: &super::asterisk_conf::Entry,
    out: &mut String,
) -> Result<bool, String> {
    let Some((_, key, kind)) = row(table, &entry.key) else {
        return Ok(false);
    };
    match toml_value(&entry.value, kind) {
        Some(value) => {
            out.push_str(&format!("{key} = {value}\n"));
            Ok(true)
        }
        None => Err(match kind {
            Kind::Number => "not a number; not imported".to_owned(),
            _ => "not yes or no; not imported".to_owned(),
        }),
    }
}

/// Why an option has no XML form, if it is a known one.
pub fn no_xml_form(key: &str) -> Option<&'static str> {
    NO_XML_FORM
        .iter()
        .find(|(option, _)| option.eq_ignore_ascii_case(key))
        .map(|(_, reason)| *reason)
}

/// Options that have an XML form but cannot be mapped without knowing the
/// phone's model, with what to do instead.
pub fn by_hand(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    key.ends_with("_logo_file").then_some(
        "DPMA names a logo per model and the phone picks its own; set logo_file on the phone \
         (a PNG of its model's size)",
    )
}
