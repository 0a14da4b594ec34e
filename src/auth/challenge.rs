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

/// One challenge; send one per algorithm, in order of preference (RFC 8760
/// §2.4: the client uses the first one it supports).
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

    /// Both challenges for a nonce, MD5 first. HTTP clients such as
    /// libcurl (which phone firmware uses) act on the first Digest challenge
    /// and ignore the others ("Ignoring duplicate digest auth header"), and
    /// curl before 7.57 cannot do SHA-256: SHA-256 first would lock such a
    /// phone out, while a client that weighs all challenges still finds
    /// SHA-256 second. The same choice as SIP's default, docs/DECISIONS.md §7.
    pub fn both(realm: &str, nonce: &str, stale: bool) -> Vec<String> {
        Self::each(realm, nonce, stale, &[Algorithm::Md5, Algorithm::Sha256])
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
    fn md5_comes_first_then_sha256_and_stale_is_flagged() {
        let [first, second] = <[String; 2]>::try_from(Challenge::both("opendpma", "abc", true)).unwrap();
        assert_eq!(
            first,
            "Digest realm=\"opendpma\", nonce=\"abc\", algorithm=MD5, qop=\"auth\", stale=true"
        );
        assert_eq!(
            second,
            "Digest realm=\"opendpma\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\", stale=true"
        );
    }
}
