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
    DeviceSettings::from_entry(entry, settings)
}
