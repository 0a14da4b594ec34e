//! Device states (`Custom:<name>`, like Asterisk's `DEVICE_STATE(Custom:x)`)
//! and how several of them combine into one extension state (Asterisk
//! `main/devicestate.c` and `main/pbx.c`: combined by rank, RINGING with
//! INUSE/ONHOLD/BUSY is RINGINUSE, UNKNOWN reads as Idle).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A device's call state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceState {
    Unknown,
    NotInuse,
    Inuse,
    Busy,
    Unavailable,
    Ringing,
    Ringinuse,
    Onhold,
}

/// Why a device state name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown device state {0:?}; allowed: NOT_INUSE, INUSE, BUSY, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD, UNKNOWN"
)]
pub struct UnknownDeviceState(String);

impl DeviceState {
    pub const ALL: [Self; 8] = [
        Self::NotInuse,
        Self::Inuse,
        Self::Busy,
        Self::Unavailable,
        Self::Ringing,
        Self::Ringinuse,
        Self::Onhold,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::NotInuse => "NOT_INUSE",
            Self::Inuse => "INUSE",
            Self::Busy => "BUSY",
            Self::Unavailable => "UNAVAILABLE",
            Self::Ringing => "RINGING",
            Self::Ringinuse => "RINGINUSE",
            Self::Onhold => "ONHOLD",
        }
    }

    /// Combination rank: UNKNOWN < UNAVAILABLE < NOT_INUSE < ONHOLD <
    /// RINGING < INUSE < BUSY < RINGINUSE.
    fn rank(self) -> u8 {
        match self {
            Self::Unknown => 1,
            Self::Unavailable => 2,
            Self::NotInuse => 3,
            Self::Onhold => 4,
            Self::Ringing => 5,
            Self::Inuse => 6,
            Self::Busy => 7,
            Self::Ringinuse => 8,
        }
    }
}

impl FromStr for DeviceState {
    type Err = UnknownDeviceState;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        Self::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| UnknownDeviceState(trimmed.to_owned()))
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An extension's state, with Asterisk's numeric codes (AMI `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionState {
    Idle,
    InUse,
    Busy,
    Unavailable,
    Ringing,
    InUseRinging,
    OnHold,
}

impl ExtensionState {
    /// Combines the states of a hint's devices. No devices at all (a
    /// presence-only hint) is Unavailable, as in Asterisk.
    pub fn aggregate(devices: impl IntoIterator<Item = DeviceState>) -> Self {
        let mut top: Option<DeviceState> = None;
        let (mut ringing, mut busy_like) = (false, false);
        for device in devices {
            ringing |= device == DeviceState::Ringing;
            busy_like |= matches!(
                device,
                DeviceState::Inuse | DeviceState::Onhold | DeviceState::Busy
            );
            if top.is_none_or(|current| device.rank() > current.rank()) {
                top = Some(device);
            }
        }
        let combined = if ringing && busy_like {
            Some(DeviceState::Ringinuse)
        } else {
            top
        };
        match combined {
            None | Some(DeviceState::Unavailable) => Self::Unavailable,
            Some(DeviceState::NotInuse | DeviceState::Unknown) => Self::Idle,
            Some(DeviceState::Inuse) => Self::InUse,
            Some(DeviceState::Busy) => Self::Busy,
            Some(DeviceState::Ringing) => Self::Ringing,
            Some(DeviceState::Ringinuse) => Self::InUseRinging,
            Some(DeviceState::Onhold) => Self::OnHold,
        }
    }

    /// AMI `ExtensionStatus` code.
    pub fn code(self) -> i32 {
        match self {
            Self::Idle => 0,
            Self::InUse => 1,
            Self::Busy => 2,
            Self::Unavailable => 4,
            Self::Ringing => 8,
            Self::InUseRinging => 9,
            Self::OnHold => 16,
        }
    }

    /// AMI `StatusText`.
    pub fn text(self) -> &'static str {
        match self {
            Self::Idle => "Idle",
            Self::InUse => "InUse",
            Self::Busy => "Busy",
            Self::Unavailable => "Unavailable",
            Self::Ringing => "Ringing",
            Self::InUseRinging => "InUse&Ringing",
            Self::OnHold => "Hold",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceState::*;

    #[test]
    fn single_devices_map_like_asterisk() {
        for (device, extension) in [
            (NotInuse, ExtensionState::Idle),
            (Unknown, ExtensionState::Idle),
            (Inuse, ExtensionState::InUse),
            (Busy, ExtensionState::Busy),
            (Unavailable, ExtensionState::Unavailable),
            (Ringing, ExtensionState::Ringing),
            (Ringinuse, ExtensionState::InUseRinging),
            (Onhold, ExtensionState::OnHold),
        ] {
            assert_eq!(ExtensionState::aggregate([device]), extension, "{device}");
        }
    }

    #[test]
    fn several_devices_combine_by_rank_and_ringing_plus_busy_is_ringinuse() {
        assert_eq!(
            ExtensionState::aggregate([NotInuse, Unavailable]),
            ExtensionState::Idle
        );
        assert_eq!(ExtensionState::aggregate([Onhold, Inuse]), ExtensionState::InUse);
        assert_eq!(
            ExtensionState::aggregate([Ringing, Onhold]),
            ExtensionState::InUseRinging
        );
        assert_eq!(
            ExtensionState::aggregate([Busy, Ringing]),
            ExtensionState::InUseRinging
        );
        assert_eq!(
            ExtensionState::aggregate([Unknown, Unknown]),
            ExtensionState::Idle
        );
        assert_eq!(
            ExtensionState::aggregate([]),
            ExtensionState::Unavailable,
            "presence-only hint"
        );
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("not_inuse".parse(), Ok(NotInuse));
        assert_eq!("RINGINUSE".parse(), Ok(Ringinuse));
        assert!("OFF_HOOK".parse::<DeviceState>().is_err());
    }
}
