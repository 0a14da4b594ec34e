//! A phone's `DeviceSettings` from its entry: the typed keys as read, and
//! each pass-through `settings` id checked against the documented ones.

use super::device_settings::{DeviceSettings, PassThroughRefusal, pass_through};
use super::entries::PhoneEntry;
use super::problem::{Problem, path_segment};

/// The device settings, with each pass-through `settings` id checked
/// against the documented ones (an unknown id would be silently ignored
/// by the phone, so it is an error here).
pub fn device_settings(
    source: &str,
    path: &str,
    entry: &PhoneEntry,
    problems: &mut Vec<Problem>,
) -> DeviceSettings {
    let mut settings = Vec::new();
    for (id, value) in entry.settings.iter().flatten() {
        match pass_through(id.get_ref()) {
            Ok(id) => settings.push((id, value.to_string())),
            Err(refusal) => {
                let message = match refusal {
                    PassThroughRefusal::Typed(key) => {
                        format!("setting {:?} has its own key: set `{key}` instead", id.get_ref())
                    }
                    PassThroughRefusal::Unknown => format!(
                        "{:?} is not a documented D-series <setting id> (see docs/DPMA-COVERAGE.md)",
                        id.get_ref()
                    ),
                };
                problems.push(Problem::at(
                    source,
                    id.span(),
                    format!("{path}.settings.{}", path_segment(id.get_ref())),
                    message,
                ));
            }
        }
    }
    DeviceSettings {
        ntp_resync: entry.ntp_resync,
        active_locale: entry.active_locale.clone(),
        name_format: entry.name_format,
        brightness: entry.brightness,
        contrast: entry.contrast,
        dim_backlight: entry.dim_backlight,
        backlight_timeout: entry.backlight_timeout,
        backlight_dim_level: entry.backlight_dim_level,
        idle_company_text: entry.idle_company_text.clone(),
        display_mc_notification: entry.display_mc_notification,
        small_clock: entry.small_clock,
        ringer_volume: entry.ringer_volume,
        speaker_volume: entry.speaker_volume,
        handset_volume: entry.handset_volume,
        headset_volume: entry.headset_volume,
        reset_call_volume: entry.reset_call_volume,
        headset_answer: entry.headset_answer,
        ehs: entry.ehs,
        web_ui_enabled: entry.web_ui_enabled,
        lock_preferences: entry.lock_preferences,
        accept_local_calls: entry.accept_local_calls,
        lan_port_mode: entry.lan_port_mode,
        pc_port_mode: entry.pc_port_mode,
        enable_check_sync: entry.enable_check_sync.unwrap_or(true),
        codecs: entry.codecs.clone().unwrap_or_default(),
        settings,
    }
}
