//! `Secret`: a password or token that never prints itself.
//!
//! Every secret in the config is this type, so a stray `{:?}` in a log line
//! or an error shows `"***"` instead of the value. Reading the value is an
//! explicit `expose()`, which is easy to grep for in review.

use std::fmt;

use serde::Deserialize;
use subtle::ConstantTimeEq;

/// A secret string; `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

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
