//! Digest challenges (`WWW-Authenticate` / `Proxy-Authenticate` values).

/// A digest hash algorithm (RFC 7616 §3.3, RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// Parses `MD5` / `SHA-256` (case-insensitive). The `-sess` variants
    /// are not offered, so they are not accepted.
    pub fn parse(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("md5") {
            Some(Self::Md5)
        } else if name.eq_ignore_ascii_case("sha-256") {
            Some(Self::Sha256)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }
}

/// One challenge; send one per algorithm, SHA-256 first (RFC 8760 §2.4:
/// the client uses the first one it supports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub realm: &'a str,
    pub nonce: &'a str,
    pub algorithm: Algorithm,
    /// The previous nonce expired; the password was right.
    pub stale: bool,
}

impl Challenge<'_> {
    /// The header value, e.g. `Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"`.
    pub fn header_value(&self) -> String {
        let mut value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}, qop=\"auth\"",
            self.realm.replace(['"', '\\'], ""),
            self.nonce,
            self.algorithm.as_str()
        );
        if self.stale {
            value.push_str(", stale=true");
        }
        value
    }

    /// Both challenges for a nonce, SHA-256 first.
    pub fn both(realm: &str, nonce: &str, stale: bool) -> Vec<String> {
        Self::each(realm, nonce, stale, &[Algorithm::Sha256, Algorithm::Md5])
    }

    /// One challenge per algorithm, in the given order.
    pub fn each(realm: &str, nonce: &str, stale: bool, algorithms: &[Algorithm]) -> Vec<String> {
        algorithms
            .iter()
            .map(|&algorithm| {
                Challenge {
                    realm,
                    nonce,
                    algorithm,
                    stale,
                }
                .header_value()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_comes_first_and_stale_is_flagged() {
        let [first, second] = <[String; 2]>::try_from(Challenge::both("opendpma", "abc", true)).unwrap();
        assert_eq!(
            first,
            "Digest realm=\"opendpma\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\", stale=true"
        );
        assert_eq!(
            second,
            "Digest realm=\"opendpma\", nonce=\"abc\", algorithm=MD5, qop=\"auth\", stale=true"
        );
    }
}
