//! HTTP Basic credentials (RFC 7617). Phones configured with
//! `http://user:pass@host/` URLs often send Basic pre-emptively.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `(user, password)` from an `Authorization: Basic …` value, if well-formed.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_user_and_password() {
        assert_eq!(
            parse_basic("Basic cHJvdmlzaW9uOmNoYW5nZTpt"),
            Some(("provision".into(), "change:m".into()))
        );
        assert_eq!(
            parse_basic("basic   cHJvdmlzaW9uOmNoYW5nZTpt "),
            Some(("provision".into(), "change:m".into()))
        );
        for bad in ["", "Basic", "Basic !!!", "Bearer abc", "Basic bm9jb2xvbg=="] {
            assert_eq!(parse_basic(bad), None, "{bad}");
        }
    }
}
