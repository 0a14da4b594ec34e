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

/// Where a model shows Smart BLF items (sources in docs/DECISIONS.md §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLayout {
    /// Items on the main screen's line keys that the accounts leave free:
    /// accounts take precedence, so on every page the items start at
    /// index = number of accounts and stop before `keys_per_page`.
    MainAfterAccounts { keys_per_page: u16, pages: u16 },
    /// Dedicated side (rapid dial) keys, `keys` per page.
    Side { keys: u16, pages: u16 },
    /// A scrolling list on the main screen (D80): items follow the
    /// accounts, one index each, up to `max`.
    MainList { max: u16 },
}

/// One key a BLF item goes on: `location`, `index` (0-based, top-down) and
/// `page` (counted from 1, as Digium's examples write `paging="1"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlfSlot {
    pub location: &'static str,
    pub index: usize,
    pub page: usize,
}

impl KeyLayout {
    /// How many BLF items fit beside `accounts` accounts.
    pub fn capacity(&self, accounts: usize) -> usize {
        match *self {
            Self::MainAfterAccounts { keys_per_page, pages } => {
                usize::from(keys_per_page).saturating_sub(accounts) * usize::from(pages)
            }
            Self::Side { keys, pages } => usize::from(keys) * usize::from(pages),
            Self::MainList { max } => usize::from(max),
        }
    }

    /// The key of the `n`th item (0-based) beside `accounts` accounts, or
    /// `None` past the capacity.
    pub fn slot(&self, n: usize, accounts: usize) -> Option<BlfSlot> {
        if n >= self.capacity(accounts) {
            return None;
        }
        Some(match *self {
            Self::MainAfterAccounts { keys_per_page, .. } => {
                let free = usize::from(keys_per_page) - accounts;
                BlfSlot {
                    location: "main",
                    index: accounts + n % free,
                    page: 1 + n / free,
                }
            }
            Self::Side { keys, .. } => BlfSlot {
                location: "side",
                index: n % usize::from(keys),
                page: 1 + n / usize::from(keys),
            },
            Self::MainList { .. } => BlfSlot {
                location: "main",
                index: accounts + n,
                page: 1,
            },
        })
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

    /// Line (account) keys on the phone: the most lines it can carry.
    /// D60: FreePBX's generator says 2, Wazo's plugin 4; 2 is right on
    /// either phone (DECISIONS §15).
    pub fn line_keys(self) -> usize {
        match self {
            Self::D40 | Self::D45 | Self::D60 | Self::D62 => 2,
            Self::D50 => 4,
            Self::D65 | Self::D70 | Self::D80 => 6,
        }
    }

    /// Where Smart BLF items go, after FreePBX's Digium-written generator
    /// (`conf/blf_generator.php`): the 2-key models and the D65 use the
    /// line keys the accounts leave free (the D65 over 20 pages), the D50
    /// and D70 their side keys (1 and 10 pages of 10), the D80 a list of
    /// up to 100.
    pub fn key_layout(self) -> KeyLayout {
        match self {
            Self::D40 | Self::D45 | Self::D60 | Self::D62 => KeyLayout::MainAfterAccounts {
                keys_per_page: 2,
                pages: 1,
            },
            Self::D50 => KeyLayout::Side { keys: 10, pages: 1 },
            Self::D65 => KeyLayout::MainAfterAccounts {
                keys_per_page: 6,
                pages: 20,
            },
            Self::D70 => KeyLayout::Side { keys: 10, pages: 10 },
            Self::D80 => KeyLayout::MainList { max: 100 },
        }
    }
}

impl PhoneModel {
    /// The logo's size in pixels (width, height), as FreePBX's
    /// digium_phones module lists them (`classes/digium_phones_models.php`).
    pub fn logo_size(self) -> (u32, u32) {
        match self {
            Self::D40 | Self::D45 | Self::D50 => (150, 45),
            Self::D60 | Self::D62 | Self::D65 => (296, 128),
            Self::D70 => (205, 85),
            Self::D80 => (800, 1280),
        }
    }

    /// Whether the screen is in colour, so a wallpaper can be shown
    /// (the D6x and D80, as FreePBX's `digium_phones_models.php` marks them).
    pub fn has_colour_screen(self) -> bool {
        matches!(self, Self::D60 | Self::D62 | Self::D65 | Self::D80)
    }

    /// The model a phone's User-Agent names: the first word of the form
    /// `D<digits>` after "Digium" or "Sangoma" (any case), as in
    /// `Digium D65 2_9_27` (FreePBX's digium_phones module reads the model
    /// with `.*Digium.*[Dd](\d+)`; newer firmware says "Sangoma").
    pub fn from_user_agent(agent: &str) -> Option<Self> {
        let lower = agent.to_ascii_lowercase();
        let start = ["digium", "sangoma"]
            .iter()
            .filter_map(|vendor| lower.find(vendor))
            .min()?;
        lower[start..]
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find_map(|word| word.parse().ok())
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
        let capacity = |model: PhoneModel, accounts| model.key_layout().capacity(accounts);
        assert_eq!(capacity(PhoneModel::D40, 1), 1);
        assert_eq!(capacity(PhoneModel::D40, 2), 0);
        assert_eq!(capacity(PhoneModel::D50, 4), 10);
        assert_eq!(capacity(PhoneModel::D65, 2), 80);
        assert_eq!(capacity(PhoneModel::D65, 6), 0);
        assert_eq!(capacity(PhoneModel::D70, 1), 100);
        assert_eq!(capacity(PhoneModel::D80, 3), 100);
    }

    #[test]
    fn main_screen_items_start_after_the_accounts_on_every_page() {
        let d65 = PhoneModel::D65.key_layout();
        let slots: Vec<_> = (0..9).map(|n| d65.slot(n, 2).unwrap()).collect();
        assert_eq!(
            slots.iter().map(|s| (s.index, s.page)).collect::<Vec<_>>(),
            [
                (2, 1),
                (3, 1),
                (4, 1),
                (5, 1),
                (2, 2),
                (3, 2),
                (4, 2),
                (5, 2),
                (2, 3)
            ]
        );
        assert!(slots.iter().all(|s| s.location == "main"));
        assert_eq!(PhoneModel::D40.key_layout().slot(0, 1).unwrap().index, 1);
        assert_eq!(PhoneModel::D40.key_layout().slot(1, 1), None);
        let d70 = PhoneModel::D70.key_layout();
        let eleventh = d70.slot(10, 6).unwrap();
        assert_eq!((eleventh.location, eleventh.index, eleventh.page), ("side", 0, 2));
        assert_eq!(d70.slot(100, 6), None);
        assert_eq!(PhoneModel::D80.key_layout().slot(4, 2).unwrap().index, 6);
    }

    #[test]
    fn the_model_is_read_from_the_user_agent() {
        let read = PhoneModel::from_user_agent;
        assert_eq!(read("Digium D65 2_9_27"), Some(PhoneModel::D65));
        assert_eq!(
            read("digium_D70_1_1_0_0_48178"),
            Some(PhoneModel::D70),
            "the DHCP vendor-class form too"
        );
        assert_eq!(read("Sangoma D80 1.4 (0019159c1a2b)"), Some(PhoneModel::D80));
        assert_eq!(read("Digium/1.0 (D45)"), Some(PhoneModel::D45));
        assert_eq!(read("curl/8.5 D65"), None, "no vendor, no guess");
        assert_eq!(read("Digium D99"), None);
    }
}
