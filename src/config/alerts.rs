//! `[alerts.NAME]` (DPMA `type=alert`, "DPMA Configuration"): how a phone rings
//! for an incoming call whose `Alert-Info` matches — ring type and ringtone
//! (built-in or a `[ringtones]` entry). Written as `<ringtones><alerts>
//! <alert alert_info ringtone_id ring_type/>` (Wazo's
//! `base.tpl` and Provisioner's `$mac.cfg` write the same). A phone lists
//! its alerts in `alerts` and picks its own ringtone with `active_ringtone`.

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::entry::Entry;
use super::problem::{Problem, path_segment};

/// The phones' built-in ringtones (`<tones>`): `id` and
/// `display` as the DPMA Users Guide v1.0 p.21 "Tones Element" lists them.
pub const BUILT_IN_TONES: &[(&str, &str)] = &[
    ("Alarm", "Alarm"),
    ("Chimes", "Chimes"),
    ("Digium", "Digium"),
    ("GuitarStrum", "Guitar Strum"),
    ("Jingle", "Jingle"),
    ("Office", "Office"),
    ("Office2", "Office 2"),
    ("RotaryPhone", "Rotary Phone"),
    ("SteelDrum", "Steel Drum"),
    ("Techno", "Techno"),
    ("Theme", "Theme"),
    ("Tweedle", "Tweedle"),
    ("Twinkle", "Twinkle"),
    ("Vibe", "Vibe"),
];

/// The id of the built-in tone called `name` (any case).
pub fn built_in_tone(name: &str) -> Option<&'static str> {
    BUILT_IN_TONES
        .iter()
        .map(|(id, _)| *id)
        .find(|id| id.eq_ignore_ascii_case(name))
}

/// A ringtone a phone can play: a built-in one (canonical spelling) or a
/// `[ringtones]` entry's name, checked against both once the entries are
/// known (`Ringtone::resolve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ringtone(String);

impl Ringtone {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `name` as a built-in tone (any case) or one of `user_tones`.
    pub fn resolve(name: &str, user_tones: &HashSet<&str>) -> Result<Self, UnknownRingtone> {
        if let Some(tone) = built_in_tone(name) {
            return Ok(Self(tone.to_owned()));
        }
        if user_tones.contains(name) {
            return Ok(Self(name.to_owned()));
        }
        Err(UnknownRingtone(name.to_owned()))
    }

    /// Whether this is a built-in tone (else a `[ringtones]` entry).
    pub fn is_built_in(&self) -> bool {
        built_in_tone(&self.0).is_some()
    }

    /// Resolves a spanned reference, pushing a problem at it when unknown.
    pub fn checked(
        source: &str,
        path: String,
        name: &Spanned<String>,
        user_tones: &HashSet<&str>,
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        Self::resolve(name.get_ref(), user_tones)
            .map_err(|error| problems.push(Problem::at(source, name.span(), path, error.to_string())))
            .ok()
    }
}

/// Why a ringtone name was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?} is neither a built-in ringtone ({list}) nor a [ringtones] entry",
    list = BUILT_IN_TONES.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
)]
pub struct UnknownRingtone(String);

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
    pub ringtone: Option<Spanned<String>>,
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

pub fn alerts(
    source: &str,
    entries: &[Entry<AlertEntry>],
    user_tones: &HashSet<&str>,
    problems: &mut Vec<Problem>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("alerts.{}.ringtone", path_segment(name.get_ref()));
        let ringtone = match &value.ringtone {
            Some(tone) => Ringtone::checked(source, path, tone, user_tones, problems),
            None => None,
        };
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
            ringtone,
        });
    }
    alerts
}
