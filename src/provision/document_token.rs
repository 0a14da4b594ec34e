//! `DocumentToken`: the unguessable path segment under which a phone
//! fetches its phonebook and Smart BLF sheet without credentials.
//!
//! Nothing documents that a Digium phone re-sends its provisioning
//! credentials for the URLs inside its config, so those URLs must work
//! without them. The token is an HMAC-SHA256 of the phone's MAC, keyed with
//! the secrets only the server and that phone know (the `[http]` password
//! and the phone's own line secrets, which its authenticated `<mac>.cfg`
//! already carries). A stranger without those secrets cannot compute it;
//! the phone learns it only from its own config. Changing any of those
//! secrets changes the token, and the phone picks up the new URLs with the
//! new config (check-sync). Derived, not stored: `opendpma render` prints
//! exactly what the server serves.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{Config, Phone};

/// 128 bits as 32 lower-case hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentToken(String);

impl DocumentToken {
    /// The token of `phone` under `config`'s secrets.
    pub fn derive(config: &Config, phone: &Phone) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key(config, phone)).expect("HMAC takes keys of any length");
        mac.update(b"opendpma phone documents\0");
        mac.update(phone.mac.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        Self(crate::hex::lower(&digest[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a token taken from a request path.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

/// Never printed: the token is as good as a password for two documents.
impl fmt::Debug for DocumentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocumentToken(…)")
    }
}

/// Length-prefixed so that no two different secret lists give one key.
fn key(config: &Config, phone: &Phone) -> Vec<u8> {
    let mut key = Vec::new();
    let mut part = |bytes: &[u8]| {
        key.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        key.extend_from_slice(bytes);
    };
    part(b"opendpma document token v1");
    part(
        config
            .http
            .password
            .as_ref()
            .map_or(&b""[..], |p| p.expose().as_bytes()),
    );
    for line in phone.lines.iter().filter_map(|name| config.line(name)) {
        part(line.authname.as_bytes());
        part(line.secret.expose().as_bytes());
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(secret: &str) -> Config {
        let text = format!(
            "[general]\nserver_address = \"pbx\"\n[lines.2000]\nsecret = \"{secret}\"\n\
             [phones.a]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"2000\"]\n\
             [phones.b]\nmac = \"001915000002\"\nmodel = \"D65\"\nlines = [\"2000\"]\n"
        );
        Config::parse(&text, Path::new("phones.toml")).expect("valid")
    }

    #[test]
    fn differs_per_phone_and_per_secret_and_is_stable() {
        let one = config("s1");
        let token = |config: &Config, name: &str| DocumentToken::derive(config, config.phone(name).unwrap());
        assert_eq!(token(&one, "a"), token(&one, "a"));
        assert_ne!(token(&one, "a"), token(&one, "b"));
        assert_ne!(token(&one, "a"), token(&config("s2"), "a"));
        let text = token(&one, "a");
        assert_eq!(text.as_str().len(), 32);
        assert!(text.matches(text.as_str()));
        assert!(!text.matches(&text.as_str()[..31]));
        assert!(!format!("{text:?}").contains(text.as_str()));
    }
}
