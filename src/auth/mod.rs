//! Authentication shared by SIP and HTTP: digest (RFC 7616 for HTTP,
//! RFC 3261 §22 + RFC 8760 for SIP — the same arithmetic), HTTP Basic, and
//! the brute-force lockout.
//!
//! Pure: no I/O, and time is always passed in as `now` (seconds since the
//! Unix epoch), so nonce expiry and lockout windows are tested without
//! sleeping. It is shared by `provision` and `sip`, which is why it is
//! inside neither. `AuthGate` is the one sequence both run.

mod basic;
mod challenge;
mod digest;
mod gate;
mod lockout;
mod nonce;

pub use basic::parse_basic;
pub use challenge::{Algorithm, Challenge};
pub use digest::{DigestCredentials, DigestError, DigestVerifier, ParseError, parse_challenge, parse_digest};
pub use gate::{Accounts, Attempt, AuthGate, Decision};
pub use lockout::{Lockout, LockoutPolicy, Verdict};
pub use nonce::{NonceCheck, NonceSecret};

/// A user name as it may appear in a log line: printable, short, no spaces
/// (so a crafted name cannot forge a second log line or fool fail2ban).
pub fn log_safe(user: &str) -> String {
    let cleaned: String = user
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if cleaned.is_empty() {
        "-".to_owned()
    } else {
        cleaned
    }
}
