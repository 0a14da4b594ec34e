//! `PhoneModel`: the Digium/Sangoma D-series models we can provision, with
//! the facts about each that rendering needs (key counts for Smart BLF).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A D-series model. Parsing is case-insensitive (`d65` = `D65`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PhoneModel {
    D40,
    D45,
    D50,
    D60,
    D62,
    D65,
    D70,
    D80,
}

/// How many BLF keys a model offers, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLayout {
    /// Programmable keys on the main screen beside the line keys (per page).
    pub main_keys: u16,
    /// Pages of main keys.
    pub main_pages: u16,
    /// Dedicated side keys (per page).
    pub side_keys: u16,
    /// Pages of side keys.
    pub side_pages: u16,
}

impl KeyLayout {
    /// Total number of BLF slots the model can show.
    pub fn capacity(&self) -> usize {
        usize::from(self.main_keys) * usize::from(self.main_pages)
            + usize::from(self.side_keys) * usize::from(self.side_pages)
    }
}

/// Why a string is not a known model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown phone model {input:?} (expected one of D40, D45, D50, D60, D62, D65, D70, D80)")]
pub struct UnknownPhoneModel {
    input: String,
}

impl PhoneModel {
    /// Every model, in catalogue order.
    pub const ALL: [Self; 8] = [
        Self::D40,
        Self::D45,
        Self::D50,
        Self::D60,
        Self::D62,
        Self::D65,
        Self::D70,
        Self::D80,
    ];

    /// The model name as the phone and the firmware files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::D40 => "D40",
            Self::D45 => "D45",
            Self::D50 => "D50",
            Self::D60 => "D60",
            Self::D62 => "D62",
            Self::D65 => "D65",
            Self::D70 => "D70",
            Self::D80 => "D80",
        }
    }

    /// Line (account) keys on the phone.
    pub fn line_keys(self) -> usize {
        match self {
            Self::D40 | Self::D45 | Self::D60 | Self::D62 => 2,
            Self::D50 => 4,
            Self::D65 | Self::D70 | Self::D80 => 6,
        }
    }

    /// Smart BLF capacity per the FreePBX model table (reference §3): the
    /// D40/D45/D60/D62 have no BLF keys of their own (contacts go on unused
    /// line keys), the D50 has 10 side keys, the D65 20 pages of main keys,
    /// the D70 10 pages of 10 side keys and the D80 up to 100 entries.
    pub fn key_layout(self) -> KeyLayout {
        let layout = |main_keys, main_pages, side_keys, side_pages| KeyLayout {
            main_keys,
            main_pages,
            side_keys,
            side_pages,
        };
        match self {
            Self::D40 | Self::D45 | Self::D60 | Self::D62 => layout(0, 0, 0, 0),
            Self::D50 => layout(0, 0, 10, 1),
            Self::D65 => layout(4, 20, 0, 0),
            Self::D70 => layout(0, 0, 10, 10),
            Self::D80 => layout(10, 10, 0, 0),
        }
    }
}

impl FromStr for PhoneModel {
    type Err = UnknownPhoneModel;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|model| model.as_str().eq_ignore_ascii_case(input.trim()))
            .ok_or_else(|| UnknownPhoneModel {
                input: input.to_owned(),
            })
    }
}

impl TryFrom<String> for PhoneModel {
    type Error = UnknownPhoneModel;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PhoneModel> for String {
    fn from(model: PhoneModel) -> Self {
        model.as_str().to_owned()
    }
}

impl fmt::Display for PhoneModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_model_in_any_case() {
        for model in PhoneModel::ALL {
            assert_eq!(model.as_str().parse::<PhoneModel>().unwrap(), model);
            assert_eq!(
                model.as_str().to_lowercase().parse::<PhoneModel>().unwrap(),
                model
            );
        }
        assert!("D99".parse::<PhoneModel>().is_err());
        assert!("".parse::<PhoneModel>().is_err());
    }

    #[test]
    fn blf_capacity_follows_the_model_table() {
        assert_eq!(PhoneModel::D40.key_layout().capacity(), 0);
        assert_eq!(PhoneModel::D50.key_layout().capacity(), 10);
        assert_eq!(PhoneModel::D65.key_layout().capacity(), 80);
        assert_eq!(PhoneModel::D70.key_layout().capacity(), 100);
        assert_eq!(PhoneModel::D80.key_layout().capacity(), 100);
    }
}
