//! A phone's device and network settings as `<setting>` elements and its
//! `<codecs>` list (Sangoma's "Phones - XML Configuration"). Ids and value
//! spellings are those of the published D-series configs (sources in
//! `config/device_settings.rs`); unset values write nothing, so the phone
//! keeps its own.

use super::templates::{CodecView, SettingView};
use crate::config::{Codec, DeviceSettings, Network, Phone};

/// Digium's syslog port when `syslog_server` has none (DPMA's default).
const DEFAULT_SYSLOG_PORT: u16 = 514;

/// Appends the device settings of `device` and the QoS, VLAN and logging
/// settings of `network`, then the validated pass-through ones.
pub fn device_settings(phone: &Phone, network: Option<&Network>, out: &mut Vec<SettingView>) {
    let device = &phone.device;
    if let Some(tone) = &phone.active_ringtone {
        out.push(SettingView::new("active_ringtone", tone.as_str().to_owned()));
    }
    let mut set = |id: &'static str, value: String| out.push(SettingView::new(id, value));
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    if let Some(value) = device.ntp_resync {
        set("ntp_resync", value.to_string());
    }
    if let Some(value) = &device.active_locale {
        set("locale", value.clone());
    }
    if let Some(value) = device.name_format {
        set("name_format", value.as_str().to_owned());
    }
    for (id, value) in [
        ("brightness", device.brightness),
        ("contrast", device.contrast),
        ("backlight_dim_level", device.backlight_dim_level),
        ("ringer_volume", device.ringer_volume),
        ("speaker_volume", device.speaker_volume),
        ("handset_volume", device.handset_volume),
        ("headset_volume", device.headset_volume),
    ] {
        if let Some(value) = value {
            set(id, value.to_string());
        }
    }
    if let Some(value) = device.backlight_timeout {
        set("backlight_timeout", value.to_string());
    }
    if let Some(value) = &device.idle_company_text {
        set("idle_company_text", value.clone());
    }
    for (id, value) in [
        ("dim_backlight", device.dim_backlight),
        ("display_mc_notification", device.display_mc_notification),
        ("small_clock", device.small_clock),
        ("reset_call_volume", device.reset_call_volume),
        ("headset_answer", device.headset_answer),
        ("web_ui_enabled", device.web_ui_enabled),
        ("lock_preferences", device.lock_preferences),
    ] {
        if let Some(value) = value {
            set(id, flag(value));
        }
    }
    if let Some(value) = device.ehs {
        set("ehs", value.as_str().to_owned());
    }
    if let Some(value) = device.accept_local_calls {
        set("accept_local_calls", value.as_str().to_owned());
    }
    if let Some(value) = device.lan_port_mode {
        set("lan_port_mode", value.as_str().to_owned());
    }
    if let Some(value) = device.pc_port_mode {
        set("pc_port_mode", value.as_str().to_owned());
    }
    set("enable_check_sync", flag(device.enable_check_sync));
    if let Some(network) = network {
        network_settings(network, out);
    }
    for (id, value) in &device.settings {
        out.push(SettingView::new(id, value.clone()));
    }
}

fn network_settings(network: &Network, out: &mut Vec<SettingView>) {
    if let Some(mode) = network.network_vlan_discovery_mode {
        // The phone applies it only inside this network (Provisioner's
        // `network="CIDR"` attribute).
        out.push(SettingView {
            extra: vec![("network", network.cidr.to_string())],
            ..SettingView::new("network_vlan_discovery_mode", mode.as_str().to_owned())
        });
    }
    let mut set = |id: &'static str, value: String| out.push(SettingView::new(id, value));
    for (id, value) in [
        ("network_vlan_id", network.network_vlan_id.map(|v| v.get())),
        ("pc_vlan_id", network.pc_vlan_id.map(|v| v.get())),
        ("sip_qos", network.sip_qos.map(|v| v.get())),
        ("rtp_qos", network.rtp_qos.map(|v| v.get())),
        ("pc_qos", network.pc_qos.map(|v| v.get())),
        ("sip_dscp", network.sip_dscp.map(|v| v.get())),
        ("rtp_dscp", network.rtp_dscp.map(|v| v.get())),
        ("udp_ka_interval", network.udp_ka_interval.map(|v| v.get())),
    ] {
        if let Some(value) = value {
            set(id, value.to_string());
        }
    }
    if let Some(server) = &network.syslog_server {
        set("enable_logging", "1".to_owned());
        set("log_server", server.clone());
        let port = network.syslog_port.unwrap_or(DEFAULT_SYSLOG_PORT);
        set("log_port", port.to_string());
        if let Some(level) = network.syslog_level {
            set("log_level", level.as_str().to_owned());
        }
    }
}

/// `<codecs>`: the listed ones enabled, highest priority first (the
/// phones prefer the higher number, as Provisioner's sample ranks PCMU 255),
/// then every other codec disabled. Empty when none are listed.
pub fn codecs(device: &DeviceSettings) -> Vec<CodecView> {
    if device.codecs.is_empty() {
        return Vec::new();
    }
    let listed = device
        .codecs
        .iter()
        .enumerate()
        .map(|(position, codec)| CodecView {
            id: codec.as_str(),
            priority: 255 - position.min(255),
            enabled: true,
        });
    let others = Codec::ALL
        .into_iter()
        .filter(|codec| !device.codecs.contains(codec))
        .map(|codec| CodecView {
            id: codec.as_str(),
            priority: 0,
            enabled: false,
        });
    listed.chain(others).collect()
}
