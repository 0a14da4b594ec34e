//! `Extension`: the dialable number (or name) of a line, as a SIP user part.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An extension such as `2000`, `*97` or `alice`: 1–64 characters from the
/// set that is safe both in a SIP URI user part and in a dialplan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Extension(String);

/// Why a string is not an extension.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an extension (1 to 64 of: letters, digits, * # + _ . -)")]
pub struct InvalidExtension {
    input: String,
}

impl Extension {
    /// The extension text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Extension {
    type Err = InvalidExtension;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "*#+_.-".contains(c);
        if input.is_empty() || input.len() > 64 || !input.chars().all(allowed) {
            return Err(InvalidExtension {
                input: input.to_owned(),
            });
        }
        Ok(Self(input.to_owned()))
    }
}

impl TryFrom<String> for Extension {
    type Error = InvalidExtension;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Extension> for String {
    fn from(extension: Extension) -> Self {
        extension.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numbers_feature_codes_and_names() {
        for input in ["2000", "*97", "alice", "+4930123", "sales_1", "a.b-c#"] {
            assert_eq!(input.parse::<Extension>().unwrap().as_str(), input);
        }
    }

    #[test]
    fn refuses_empty_long_and_uri_breaking_values() {
        let long = "1".repeat(65);
        for input in ["", "20 00", "2000@pbx", "a;b", "<2000>", "\u{e9}", long.as_str()] {
            assert!(input.parse::<Extension>().is_err(), "{input:?} was accepted");
        }
    }
}
