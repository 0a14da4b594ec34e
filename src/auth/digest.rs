//! Digest credentials: parsing an `Authorization: Digest …` value and
//! checking it (RFC 7616 / RFC 3261 §22.4 / RFC 8760).
//!
//! `DigestVerifier` adds the state a correct server needs beyond the
//! arithmetic: the nonce must be ours and fresh, and each `nc` must be
//! higher than the last one seen for that nonce, so a captured request
//! cannot be replayed.

use std::borrow::Cow;
use std::collections::HashMap;

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::challenge::Algorithm;
use super::nonce::{NONCE_LIFETIME_SECONDS, NonceCheck, NonceSecret};
use crate::quoted_string::unquote;

/// What a client sent in its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    /// Hex digest; never logged.
    pub response: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    pub cnonce: Option<String>,
    /// Nonce count, 8 hex digits on the wire.
    pub nc: Option<u32>,
}

/// Why a header could not be read as digest credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a Digest authorization")]
    NotDigest,
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
    #[error("nc must be 8 hex digits")]
    NonceCount,
    #[error("malformed parameter list")]
    Syntax,
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("realm {0:?} is not ours")]
    Realm(String),
    #[error("nonce is not ours")]
    InvalidNonce,
    #[error("nonce has expired")]
    StaleNonce,
    #[error("nonce count was not increased (replay)")]
    Replay,
    #[error("qop {0:?} is not supported")]
    Qop(String),
    #[error("wrong response (wrong password or user)")]
    WrongResponse,
}

/// Parses the value of an `Authorization` or `Proxy-Authorization` header.
pub fn parse_digest(value: &str) -> Result<DigestCredentials, ParseError> {
    let value = value.trim_start();
    let scheme_end = value.find(char::is_whitespace).ok_or(ParseError::NotDigest)?;
    if !value[..scheme_end].eq_ignore_ascii_case("digest") {
        return Err(ParseError::NotDigest);
    }
    let params = parse_params(&value[scheme_end..])?;
    let get = |name: &'static str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    };
    let owned = |name: &'static str| get(name).map(str::to_owned);
    let required = |name: &'static str| owned(name).ok_or(ParseError::Missing(name));
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::parse(name).ok_or_else(|| ParseError::Algorithm(name.to_owned()))?,
    };
    let nc = match get("nc") {
        None => None,
        Some(nc) if nc.len() == 8 => Some(u32::from_str_radix(nc, 16).map_err(|_| ParseError::NonceCount)?),
        Some(_) => return Err(ParseError::NonceCount),
    };
    Ok(DigestCredentials {
        username: required("username")?,
        realm: required("realm")?,
        nonce: required("nonce")?,
        uri: required("uri")?,
        response: required("response")?,
        algorithm,
        qop: owned("qop"),
        cnonce: owned("cnonce"),
        nc,
    })
}

/// A challenge we received (`WWW-Authenticate` / `Proxy-Authenticate`),
/// for answering it as a client: (realm, nonce, algorithm, qop offered).
pub fn parse_challenge(value: &str) -> Option<(String, String, Algorithm, bool)> {
    let value = value.trim_start();
    let scheme_end = value.find(char::is_whitespace)?;
    if !value[..scheme_end].eq_ignore_ascii_case("digest") {
        return None;
    }
    let params = parse_params(&value[scheme_end..]).ok()?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_string())
    };
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::parse(&name)?,
    };
    let qop = get("qop").is_some_and(|q| q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")));
    Some((get("realm")?, get("nonce")?, algorithm, qop))
}

/// Splits `a="x", b=y` into pairs, honouring quoted strings with `\`
/// escapes. Values borrow from `input` unless an escape had to be undone.
fn parse_params(input: &str) -> Result<Vec<(&str, Cow<'_, str>)>, ParseError> {
    // An Authorization header has ten parameters: one allocation.
    let mut params = Vec::with_capacity(10);
    let mut rest = input.trim();
    while !rest.is_empty() {
        let (key, after_key) = rest.split_once('=').ok_or(ParseError::Syntax)?;
        let key = key.trim().trim_start_matches(',').trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ParseError::Syntax);
        }
        let after_key = after_key.trim_start();
        let (value, remainder) = if let Some(quoted) = after_key.strip_prefix('"') {
            let (value, end) = unquote(quoted).ok_or(ParseError::Syntax)?;
            (value, &quoted[end..])
        } else {
            let end = after_key.find(',').unwrap_or(after_key.len());
            (Cow::Borrowed(after_key[..end].trim()), &after_key[end..])
        };
        params.push((key, value));
        rest = remainder.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(ParseError::Syntax);
        }
    }
    Ok(params)
}

impl DigestCredentials {
    /// The response a client knowing `password` would send for `method`.
    pub fn expected_response(&self, method: &str, password: &str) -> String {
        let hash = |pieces: &[&str]| self.algorithm.hex(pieces);
        let ha1 = hash(&[&self.username, ":", &self.realm, ":", password]);
        let ha2 = hash(&[method, ":", &self.uri]);
        match (&self.qop, &self.cnonce, self.nc) {
            (Some(qop), Some(cnonce), Some(nc)) => {
                let nc = format!("{nc:08x}");
                hash(&[&ha1, ":", &self.nonce, ":", &nc, ":", cnonce, ":", qop, ":", &ha2])
            }
            // RFC 2069 compatibility: no qop.
            _ => hash(&[&ha1, ":", &self.nonce, ":", &ha2]),
        }
    }

    /// The `Authorization` value a client sends (RFC 7616 §3.4): `qop`,
    /// `nc` and `cnonce` only when all three are set (without them it is
    /// the RFC 2069 form).
    pub fn header_value(&self) -> String {
        let mut value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
            self.username,
            self.realm,
            self.nonce,
            self.uri,
            self.response,
            self.algorithm.as_str()
        );
        if let (Some(qop), Some(cnonce), Some(nc)) = (&self.qop, &self.cnonce, self.nc) {
            value.push_str(&format!(", qop={qop}, nc={nc:08x}, cnonce=\"{cnonce}\""));
        }
        value
    }

    /// Whether the response matches, compared in constant time.
    pub fn response_matches(&self, method: &str, password: &str) -> bool {
        let expected = self.expected_response(method, password);
        let given = self.response.to_ascii_lowercase();
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

impl Algorithm {
    /// The hex digest of `pieces` one after another (fed to the hash as
    /// they are, with no joined copy).
    fn hex(self, pieces: &[&str]) -> String {
        fn digest<D: Digest>(pieces: &[&str]) -> String {
            let mut hasher = D::new();
            for piece in pieces {
                hasher.update(piece.as_bytes());
            }
            crate::hex::lower(&hasher.finalize())
        }
        match self {
            Self::Md5 => digest::<Md5>(pieces),
            Self::Sha256 => digest::<Sha256>(pieces),
        }
    }
}

/// The count recorded for a nonce used once without qop.
const NONCE_USED_WITHOUT_QOP: u32 = u32::MAX;

/// Checks credentials against our nonces, their counts and a password.
pub struct DigestVerifier {
    secret: NonceSecret,
    /// Highest `nc` accepted per nonce (or `NONCE_USED_WITHOUT_QOP`), with
    /// the nonce's issue time so the table can be pruned: it only ever
    /// holds nonces younger than the lifetime that were used with a
    /// correct password.
    counts: HashMap<String, (u64, u32)>,
    /// When `counts` was last pruned (seconds).
    pruned_at: u64,
    /// Makes each nonce unique (see `nonce.rs`).
    next_salt: u64,
}

impl DigestVerifier {
    /// The realm is passed to each call rather than held here, because it
    /// comes from the config and a reload may change it.
    pub fn new(secret: NonceSecret) -> Self {
        Self {
            secret,
            counts: HashMap::new(),
            pruned_at: 0,
            next_salt: 0,
        }
    }

    /// A fresh, unique nonce for a challenge in `realm` at `now`.
    pub fn nonce(&mut self, now: u64, realm: &str) -> String {
        self.next_salt = self.next_salt.wrapping_add(1);
        self.secret.issue(now, self.next_salt, realm)
    }

    /// Verifies `credentials` for `method` in `realm` against `password` at `now`.
    pub fn verify(
        &mut self,
        now: u64,
        realm: &str,
        method: &str,
        credentials: &DigestCredentials,
        password: &str,
    ) -> Result<(), DigestError> {
        if credentials.realm != realm {
            return Err(DigestError::Realm(credentials.realm.clone()));
        }
        if let Some(qop) = &credentials.qop
            && !qop.eq_ignore_ascii_case("auth")
        {
            return Err(DigestError::Qop(qop.clone()));
        }
        // The password is checked whatever the nonce: RFC 7616 §3.3 (as
        // RFC 2617 §3.2.1) sets stale=true only "if the nonce is invalid
        // but with a valid digest for that nonce". A phone presenting the
        // previous process's nonce, or an expired one, with the right
        // password is no attacker: it gets a fresh challenge with
        // stale=true and is not counted as a failure; a wrong password is
        // a failure whatever nonce it came with.
        let right_password = credentials.response_matches(method, password);
        let issued = match self.secret.check(&credentials.nonce, now, realm) {
            NonceCheck::Fresh { issued } => issued,
            NonceCheck::Stale | NonceCheck::Invalid if right_password => return Err(DigestError::StaleNonce),
            NonceCheck::Stale => return Err(DigestError::WrongResponse),
            NonceCheck::Invalid => return Err(DigestError::InvalidNonce),
        };
        if !right_password {
            return Err(DigestError::WrongResponse);
        }
        // At most once a second: pruning on every request made
        // each one cost a scan of every nonce used within the lifetime —
        // the hottest spot in a profile at 5,000 PUBLISH/s (`perf`). Time
        // has whole seconds here, so nothing expires between two prunes.
        if now > self.pruned_at {
            self.counts
                .retain(|_, (issued, _)| now.saturating_sub(*issued) <= NONCE_LIFETIME_SECONDS);
            self.pruned_at = now;
        }
        match credentials.nc {
            Some(nc) => {
                let last = self
                    .counts
                    .entry(credentials.nonce.clone())
                    .or_insert((issued, 0));
                if nc <= last.1 {
                    return Err(DigestError::Replay);
                }
                last.1 = nc;
            }
            // Without qop there is no nc, so nothing tells a replay from a
            // re-use: such a nonce is good for one request. The next one
            // gets stale=true and the client (knowing the password) simply
            // answers a fresh challenge; a replayed capture gets nowhere.
            None => {
                if self.counts.contains_key(&credentials.nonce) {
                    return Err(DigestError::StaleNonce);
                }
                self.counts
                    .insert(credentials.nonce.clone(), (issued, NONCE_USED_WITHOUT_QOP));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
