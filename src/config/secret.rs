//! `Secret`: a password or token that never prints itself.
//!
//! Every secret in the config is this type, so a stray `{:?}` in a log line
//! or an error shows `"***"` instead of the value. Reading the value is an
//! explicit `expose()`, which is easy to grep for in review.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use subtle::ConstantTimeEq;

/// A secret string; `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// A secret written as a number (`secret = 1234`, a PIN) is refused
/// without the number: serde's own message quotes the value ("invalid
/// type: integer `1234`"), and config errors reach logs (a failed reload).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Quoted;
        const NUMBER: &str = "a number; write the secret in quotes (its value is not shown)";
        impl Visitor<'_> for Quoted {
            type Value = Secret;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a quoted string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
                Ok(Secret(value.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(E::custom(NUMBER))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(E::custom(NUMBER))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom(NUMBER))
            }
        }
        deserializer.deserialize_string(Quoted)
    }
}

impl Secret {
    /// Wraps a value (from the environment, say).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Only for hashing, comparing and rendering the
    /// phone's own config; never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `candidate` in constant time (per byte of the longer
    /// input's prefix), so timing does not reveal how much of a guess matched.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.len() == candidate.len() && bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "\"***\" ***");
        assert!(secret.matches("hunter2"));
        assert!(!secret.matches("hunter3"));
        assert!(!secret.matches("hunter"));
    }
}
