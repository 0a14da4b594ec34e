//! `MacAddress`: a phone's hardware address, normalised once at the edge.
//!
//! Admins paste MACs in whatever notation their switch or label printer uses;
//! phones ask for `<12 lower-case hex>.cfg`. Parsing accepts the common
//! notations and stores the one canonical form, so every later comparison is a
//! plain string equality.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// 12 lower-case hex digits, no separators (`0019159c1a2b`).
///
/// ```
/// use opendpma::config::MacAddress;
///
/// let mac: MacAddress = "00:19:15:9C:1A:2B".parse().unwrap();
/// assert_eq!(mac.as_str(), "0019159c1a2b");
/// assert_eq!("0019.159c.1a2b".parse::<MacAddress>().unwrap(), mac);
/// assert!("00:19:15:9c:1a".parse::<MacAddress>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MacAddress(String);

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a MAC address (expected 12 hex digits such as 00:19:15:9c:1a:2b, 0019-159c-1a2b or 0019159c1a2b)"
)]
pub struct InvalidMacAddress {
    input: String,
}

impl MacAddress {
    /// The canonical form, as used in provisioning file names.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MacAddress {
    type Err = InvalidMacAddress;

    /// Accepts `00:19:15:aa:bb:cc`, `00-19-15-AA-BB-CC`, `0019-15aa-bbcc`,
    /// `0019.15aa.bbcc` and bare hex, in any case. Separators must sit on
    /// group boundaries of one notation; mixed or misplaced ones are refused
    /// so that a typo is not silently "fixed" into another phone's MAC.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidMacAddress {
            input: input.to_owned(),
        };
        let trimmed = input.trim();
        let separators: Vec<char> = trimmed.chars().filter(|c| !c.is_ascii_hexdigit()).collect();
        let group_len = match separators.first() {
            None => 12,
            Some(':') => 2,
            Some('-') if separators.len() == 5 => 2,
            Some('-' | '.') => 4,
            Some(_) => return Err(invalid()),
        };
        if separators.iter().any(|&c| c != separators[0]) {
            return Err(invalid());
        }
        let groups: Vec<&str> = trimmed
            .split(separators.first().copied().unwrap_or(' '))
            .collect();
        let well_formed = groups.len() * group_len == 12
            && groups
                .iter()
                .all(|g| g.len() == group_len && g.chars().all(|c| c.is_ascii_hexdigit()));
        if !well_formed {
            return Err(invalid());
        }
        Ok(Self(groups.concat().to_ascii_lowercase()))
    }
}

impl TryFrom<String> for MacAddress {
    type Error = InvalidMacAddress;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<MacAddress> for String {
    fn from(mac: MacAddress) -> Self {
        mac.0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_notations_in_any_case() {
        for input in [
            "00:19:15:aa:bb:cc",
            "00:19:15:AA:BB:CC",
            "00-19-15-aa-bb-cc",
            "0019-15aa-bbcc",
            "0019.15AA.bbcc",
            "001915aabbcc",
            "001915AABBCC",
            " 00:19:15:aa:bb:cc ",
        ] {
            let mac: MacAddress = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(mac.as_str(), "001915aabbcc", "{input}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for input in [
            "",
            "00:19:15:aa:bb",
            "00:19:15:aa:bb:cc:dd",
            "00:19:15:aa:bb:cg",
            "0019:15aa:bbcc",
            "00:19-15:aa:bb:cc",
            "001915aabbc",
            "001915aabbccd",
            "0019.15aa.bbc",
            "00 19 15 aa bb cc",
            "0:019:15:aa:bb:cc",
        ] {
            assert!(input.parse::<MacAddress>().is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn error_names_the_input_and_the_expected_forms() {
        let error = "zz".parse::<MacAddress>().unwrap_err().to_string();
        assert!(error.starts_with("\"zz\" is not a MAC address"), "{error}");
    }
}
