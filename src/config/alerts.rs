//! `[alerts.NAME]` (DPMA `type=alert`, reference §2.7): how a phone rings
//! for an incoming call whose `Alert-Info` matches — ring type and built-in
//! ringtone. Written as `<ringtones><alerts><alert alert_info ringtone_id
//! ring_type/>` (reference §3; Wazo's `base.tpl` and Provisioner's
//! `$mac.cfg` write the same). A phone lists its alerts in `alerts` and
//! picks its own ringtone with `active_ringtone`.

use serde::Deserialize;
use toml::Spanned;

use super::document::Entry;
use super::problem::{Problem, path_segment};

/// The phones' built-in ringtones (reference §3, `<tones>`).
pub const BUILT_IN_TONES: &[&str] = &[
    "Alarm",
    "Chimes",
    "Digium",
    "GuitarStrum",
    "Jingle",
    "Office",
    "Office2",
    "RotaryPhone",
    "SteelDrum",
    "Techno",
    "Theme",
    "Tweedle",
    "Twinkle",
    "Vibe",
];

/// A built-in ringtone name, checked while it is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Ringtone(String);

impl Ringtone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a ringtone name was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a built-in ringtone (expected one of {list})", list = BUILT_IN_TONES.join(", "))]
pub struct UnknownRingtone(String);

impl TryFrom<String> for Ringtone {
    type Error = UnknownRingtone;
    fn try_from(name: String) -> Result<Self, UnknownRingtone> {
        match BUILT_IN_TONES
            .iter()
            .find(|tone| tone.eq_ignore_ascii_case(&name))
        {
            Some(tone) => Ok(Self((*tone).to_owned())),
            None => Err(UnknownRingtone(name)),
        }
    }
}

/// `ring_type` of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RingType {
    Normal,
    Answer,
    RingAnswer,
    Visual,
}

impl RingType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Answer => "answer",
            Self::RingAnswer => "ring-answer",
            Self::Visual => "visual",
        }
    }
}

/// `[alerts.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEntry {
    /// Matched against the incoming call's Alert-Info.
    pub alert_info: Option<String>,
    #[serde(default = "default_ring_type")]
    pub ring_type: RingType,
    pub ringtone: Option<Ringtone>,
}

fn default_ring_type() -> RingType {
    RingType::Normal
}

/// A validated alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub name: String,
    pub alert_info: String,
    pub ring_type: RingType,
    pub ringtone: Option<Ringtone>,
}

pub fn alerts(source: &str, entries: &[Entry<AlertEntry>], problems: &mut Vec<Problem>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let Some(alert_info) = &value.alert_info else {
            if !entry.has("alert_info") {
                problems.push(Problem::at(
                    source,
                    name.span(),
                    format!("alerts.{}", path_segment(name.get_ref())),
                    "missing key `alert_info` (what the incoming Alert-Info must say)",
                ));
            }
            continue;
        };
        alerts.push(Alert {
            name: name.get_ref().clone(),
            alert_info: alert_info.clone(),
            ring_type: value.ring_type,
            ringtone: value.ringtone.clone(),
        });
    }
    alerts
}

/// Checks a phone's `alerts` names against the entries (valid or not).
pub fn check_references(
    source: &str,
    path: &str,
    references: &[Spanned<String>],
    known: &std::collections::HashSet<&str>,
    problems: &mut Vec<Problem>,
) {
    for reference in references {
        if !known.contains(reference.get_ref().as_str()) {
            problems.push(Problem::at(
                source,
                reference.span(),
                format!("{path}.alerts"),
                format!("{:?} is not an [alerts] entry", reference.get_ref()),
            ));
        }
    }
}
