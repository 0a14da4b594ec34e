//! Authentication shared by SIP and HTTP: digest (RFC 7616 for HTTP,
//! RFC 3261 §22 + RFC 8760 for SIP — the same arithmetic), HTTP Basic, and
//! the brute-force lockout.
//!
//! Pure: no I/O, and time is always passed in as `now` (seconds since the
//! Unix epoch), so nonce expiry and lockout windows are tested without
//! sleeping. It is shared by `provision` and `sip`, which is why it is
//! inside neither. `AuthGate` is the one sequence both run; `log_safe`
//! is how a user name a client sent may appear in a log line.
//!
//! Files: `gate` (`AuthGate`), `digest`, `nonce`, `challenge` (the
//! challenges offered), `basic`, `lockout`, `log_safe`.

mod basic;
mod challenge;
mod digest;
mod gate;
mod lockout;
mod log_safe;
mod nonce;

pub use basic::parse_basic;
pub use challenge::{Algorithm, Challenge};
pub use digest::{DigestCredentials, DigestError, DigestVerifier, ParseError, parse_challenge, parse_digest};
pub use gate::{Accounts, Attempt, AuthGate, Decision};
pub use lockout::{Lockout, LockoutPolicy, Verdict};
pub use log_safe::log_safe;
pub use nonce::{NonceCheck, NonceSecret};
