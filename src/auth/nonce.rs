//! Stateless nonces: `timestamp . salt . HMAC(secret, timestamp . salt . realm)`.
//!
//! The server keeps no table of issued nonces — a flood of unauthenticated
//! requests costs nothing — yet can tell its own nonces from forged ones
//! and knows their age. The secret is per process: after a restart old
//! nonces fail verification and a client with the right password gets a
//! fresh challenge with `stale=true` (see `digest.rs`). Replay within a
//! nonce's lifetime is caught by the `nc` check in `digest.rs` (and a
//! nonce used without qop serves one request). The salt makes every nonce unique even within one second:
//! two clients sharing a nonce would share its `nc` sequence, and the
//! second one's first request would look like a replay.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a nonce is accepted; older ones get `stale=true`.
pub const NONCE_LIFETIME_SECONDS: u64 = 300;

/// The per-process key nonces are signed with.
#[derive(Clone)]
pub struct NonceSecret([u8; 32]);

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Ours and fresh; `issued` is its timestamp.
    Fresh { issued: u64 },
    /// Ours but too old: challenge again with `stale=true`, so the client
    /// retries with the same password instead of prompting the user.
    Stale,
    /// Not ours (forged, from an earlier process, or mangled).
    Invalid,
}

impl NonceSecret {
    /// A secret from the given random bytes (injected so tests are repeatable).
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh secret from the operating system's random source.
    pub fn random() -> Self {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        Self(bytes)
    }

    /// A nonce issued at `now` for `realm`; `salt` must differ between
    /// nonces issued in the same second (a counter will do).
    pub fn issue(&self, now: u64, salt: u64, realm: &str) -> String {
        format!(
            "{now:x}.{salt:x}.{}",
            URL_SAFE_NO_PAD.encode(self.tag(now, salt, realm))
        )
    }

    /// Checks a nonce presented at `now` for `realm`.
    pub fn check(&self, nonce: &str, now: u64, realm: &str) -> NonceCheck {
        let mut parts = nonce.splitn(3, '.');
        let (Some(timestamp), Some(salt), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
            return NonceCheck::Invalid;
        };
        let (Ok(issued), Ok(salt)) = (u64::from_str_radix(timestamp, 16), u64::from_str_radix(salt, 16))
        else {
            return NonceCheck::Invalid;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return NonceCheck::Invalid;
        };
        if tag.len() != 16 || self.mac(issued, salt, realm).verify_truncated_left(&tag).is_err() {
            return NonceCheck::Invalid;
        }
        if issued > now.saturating_add(5) {
            // Signed by us in the future: the clock went backwards. Treat as
            // stale so the client gets a new nonce rather than an error.
            return NonceCheck::Stale;
        }
        if now - issued.min(now) > NONCE_LIFETIME_SECONDS {
            return NonceCheck::Stale;
        }
        NonceCheck::Fresh { issued }
    }

    fn mac(&self, timestamp: u64, salt: u64, realm: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(&timestamp.to_be_bytes());
        mac.update(&salt.to_be_bytes());
        mac.update(realm.as_bytes());
        mac
    }

    fn tag(&self, timestamp: u64, salt: u64, realm: &str) -> [u8; 16] {
        let full = self.mac(timestamp, salt, realm).finalize().into_bytes();
        let mut tag = [0; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_nonces_are_fresh_then_stale() {
        let secret = NonceSecret::new([7; 32]);
        let nonce = secret.issue(1_000, 1, "opendpma");
        assert_ne!(
            nonce,
            secret.issue(1_000, 2, "opendpma"),
            "salted: unique within a second"
        );
        assert_eq!(
            secret.check(&nonce, 1_000, "opendpma"),
            NonceCheck::Fresh { issued: 1_000 }
        );
        assert_eq!(
            secret.check(&nonce, 1_300, "opendpma"),
            NonceCheck::Fresh { issued: 1_000 }
        );
        assert_eq!(secret.check(&nonce, 1_301, "opendpma"), NonceCheck::Stale);
    }

    #[test]
    fn foreign_or_mangled_nonces_are_invalid() {
        let secret = NonceSecret::new([7; 32]);
        let nonce = secret.issue(1_000, 1, "opendpma");
        assert_eq!(
            NonceSecret::new([8; 32]).check(&nonce, 1_000, "opendpma"),
            NonceCheck::Invalid
        );
        assert_eq!(secret.check(&nonce, 1_000, "other-realm"), NonceCheck::Invalid);
        let forged_time = nonce.replacen("3e8", "3e9", 1);
        assert_eq!(secret.check(&forged_time, 1_001, "opendpma"), NonceCheck::Invalid);
        let forged_salt = nonce.replacen(".1.", ".2.", 1);
        assert_eq!(secret.check(&forged_salt, 1_000, "opendpma"), NonceCheck::Invalid);
        for junk in [
            "",
            ".",
            "zz.1.abc",
            "3e8.1.",
            "3e8.1.!!!",
            "3e8.1.AAAA",
            "3e8.AAAA",
        ] {
            assert_eq!(
                secret.check(junk, 1_000, "opendpma"),
                NonceCheck::Invalid,
                "{junk}"
            );
        }
    }
}
