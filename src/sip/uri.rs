//! SIP URIs and name-addr values (RFC 3261 §19.1, §25.1), parsed strictly
//! enough to refuse what RFC 4475 calls invalid (spaces inside `<…>`,
//! unbalanced quotes, non-token display names) and loosely enough to take
//! every odd-but-valid character the same RFC throws at a parser.

use std::fmt;

use super::headers::split_unquoted;
use crate::quoted_string::unquote;

/// Characters of a token (RFC 3261 §25.1).
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~')
}

/// A `sip:`/`sips:` URI. User and host are kept as written (escapes
/// included); the host is lower-cased for comparison only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters.
    pub params: Vec<(String, Option<String>)>,
    /// The `?headers` part, if any (not allowed in a Request-URI).
    pub headers: Option<String>,
}

/// Why a URI or name-addr was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UriError(pub &'static str);

impl SipUri {
    /// Parses `sip:` or `sips:` URIs; other schemes are `Err`.
    pub fn parse(input: &str) -> Result<Self, UriError> {
        let (scheme, rest) = input.split_once(':').ok_or(UriError("URI has no scheme"))?;
        let secure = if scheme.eq_ignore_ascii_case("sip") {
            false
        } else if scheme.eq_ignore_ascii_case("sips") {
            true
        } else {
            return Err(UriError("not a sip: or sips: URI"));
        };
        if rest.is_empty() || rest.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(UriError("URI is empty or contains whitespace"));
        }
        // The user part may contain `;`, `?` and `:` but never a bare `@`.
        let (user, host_part) = match rest.split_once('@') {
            Some((user, host)) => (Some(user.to_owned()), host),
            None => (None, rest),
        };
        if user.as_deref() == Some("") {
            return Err(UriError("empty user part"));
        }
        let (host_part, headers) = match host_part.split_once('?') {
            Some((host, headers)) => (host, Some(headers.to_owned())),
            None => (host_part, None),
        };
        let mut pieces = host_part.split(';');
        let host_port = pieces.next().unwrap_or("");
        let (host, port) = split_host_port(host_port)?;
        let mut params = Vec::new();
        for piece in pieces {
            let (name, value) = match piece.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (piece, None),
            };
            if name.is_empty() {
                return Err(UriError("empty URI parameter"));
            }
            params.push((name.to_owned(), value));
        }
        Ok(Self {
            secure,
            user,
            host,
            port,
            params,
            headers,
        })
    }

    /// A URI parameter's value (`Some(None)` for a flag like `;lr`).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The user part without any `;params` (telephone-subscriber style).
    pub fn user_name(&self) -> Option<&str> {
        self.user
            .as_deref()
            .map(|u| u.split(';').next().unwrap_or(u))
            .map(|u| u.split(':').next().unwrap_or(u))
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        write_host_port_params(f, &self.host, self.port, borrowed_params(&self.params))?;
        if let Some(headers) = &self.headers {
            write!(f, "?{headers}")?;
        }
        Ok(())
    }
}

/// Prints `host[:port];name[=value]…`, bracketing IPv6 hosts (URIs and
/// Vias), piece by piece rather than through `write!` (a response's Via
/// is written this way for every answer).
pub fn write_host_port_params<'a>(
    out: &mut impl fmt::Write,
    host: &str,
    port: Option<u16>,
    params: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> fmt::Result {
    if host.contains(':') {
        out.write_char('[')?;
        out.write_str(host)?;
        out.write_char(']')?;
    } else {
        out.write_str(host)?;
    }
    if let Some(port) = port {
        out.write_char(':')?;
        out.write_str(itoa::Buffer::new().format(port))?;
    }
    for (name, value) in params {
        out.write_char(';')?;
        out.write_str(name)?;
        if let Some(value) = value {
            out.write_char('=')?;
            out.write_str(value)?;
        }
    }
    Ok(())
}

/// Owned `name[=value]` parameters as `write_host_port_params` takes them.
pub fn borrowed_params(params: &[(String, Option<String>)]) -> impl Iterator<Item = (&str, Option<&str>)> {
    params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_deref()))
}

/// `host[:port]` with IPv6 references in brackets.
pub fn split_host_port(input: &str) -> Result<(String, Option<u16>), UriError> {
    let (host, port) = if let Some(rest) = input.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(UriError("unclosed IPv6 reference"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UriError("invalid IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(UriError("junk after IPv6 reference"))?,
            ),
        };
        (host, port)
    } else {
        match input.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (input, None),
        }
    };
    let valid_host = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    };
    if !valid_host(host) {
        return Err(UriError("invalid host"));
    }
    let port = match port {
        None => None,
        Some(port) => Some(port.parse::<u16>().map_err(|_| UriError("invalid port"))?),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// A name-addr or addr-spec with header parameters (From, To, Contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    /// The URI text as written inside `<…>` (or bare).
    pub uri: String,
    /// `;name[=value]` header parameters (after the URI).
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses `"Display" <uri>;p=v`, `token token <uri>;p`, or `uri;p`.
    pub fn parse(input: &str) -> Result<Self, UriError> {
        let input = input.trim();
        let (display, uri, rest) = if let Some(quoted) = input.strip_prefix('"') {
            let (display, after) = take_quoted(quoted)?;
            let after = after.trim_start();
            let (uri, rest) = bracketed(after)?;
            (Some(display), uri, rest)
        } else if let Some(open) = input.find('<') {
            let display = input[..open].trim();
            if !display
                .split_whitespace()
                .all(|word| word.chars().all(is_token_char))
            {
                return Err(UriError("display name must be quoted or made of tokens"));
            }
            let (uri, rest) = bracketed(&input[open..])?;
            let display = (!display.is_empty()).then(|| display.to_owned());
            (display, uri, rest)
        } else {
            // addr-spec: no header parameters may be confused with URI
            // parameters, so everything after the first `;` is a header
            // parameter, and a `?` (URI headers) is not allowed here.
            let (uri, rest) = match input.find(';') {
                Some(semicolon) => (input[..semicolon].trim(), &input[semicolon..]),
                None => (input, ""),
            };
            if uri.contains('?') || uri.contains(',') {
                return Err(UriError("a URI with headers or commas must be enclosed in <>"));
            }
            (None, uri.to_owned(), rest)
        };
        if uri.is_empty() || uri.contains(char::is_whitespace) || !uri.contains(':') {
            return Err(UriError("invalid URI in name-addr"));
        }
        Ok(Self {
            display,
            uri,
            params: parse_params(rest)?,
        })
    }

    /// A header parameter (e.g. `tag`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// The URI as a `SipUri`, when it is one.
    pub fn sip_uri(&self) -> Option<SipUri> {
        SipUri::parse(&self.uri).ok()
    }
}

/// A quoted string's content (escapes resolved) and what follows it.
fn take_quoted(input: &str) -> Result<(String, &str), UriError> {
    let (value, end) = unquote(input).ok_or(UriError("unterminated quoted string"))?;
    Ok((value.into_owned(), &input[end..]))
}

/// `<uri>rest` → (uri, rest). No whitespace is allowed just inside `<>`.
fn bracketed(input: &str) -> Result<(String, &str), UriError> {
    let inner = input.strip_prefix('<').ok_or(UriError("expected <"))?;
    let close = inner.find('>').ok_or(UriError("unclosed <"))?;
    let uri = &inner[..close];
    if uri.trim() != uri {
        return Err(UriError("spaces inside <> around the URI"));
    }
    Ok((uri.to_owned(), &inner[close + 1..]))
}

/// `;a=b;c` (with optional whitespace) → pairs. Quoted values keep their quotes.
pub fn parse_params(input: &str) -> Result<Vec<(String, Option<String>)>, UriError> {
    let mut params = Vec::new();
    let input = input.trim();
    if input.is_empty() {
        return Ok(params);
    }
    let body = input.strip_prefix(';').ok_or(UriError("junk after the URI"))?;
    for piece in split_unquoted(body, ';') {
        let piece = piece.trim();
        let (name, value) = match piece.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_owned())),
            None => (piece, None),
        };
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(UriError("malformed parameter"));
        }
        if let Some(value) = &value
            && value.starts_with('"')
        {
            take_quoted(&value[1..])?;
        }
        params.push((name.to_owned(), value));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_odd_but_valid_uris() {
        let uri = SipUri::parse("sip:vivekg@chair-dnrc.example.com;unknownparam").unwrap();
        assert_eq!(
            (uri.user.as_deref(), uri.host.as_str()),
            (Some("vivekg"), "chair-dnrc.example.com")
        );
        assert_eq!(uri.param("unknownparam"), Some(None));
        let uri = SipUri::parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").unwrap();
        assert_eq!(uri.host, "example.com");
        let uri = SipUri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(uri.user_name(), Some("user"));
        let uri = SipUri::parse("sip:2000@[2001:db8::9]:5070;transport=tcp").unwrap();
        assert_eq!((uri.host.as_str(), uri.port), ("2001:db8::9", Some(5070)));
        assert_eq!(uri.to_string(), "sip:2000@[2001:db8::9]:5070;transport=tcp");
        assert!(
            SipUri::parse("sip:user@example.com?Route=%3Csip:example.com%3E")
                .unwrap()
                .headers
                .is_some()
        );
    }

    #[test]
    fn refuses_broken_uris() {
        for bad in [
            "",
            "sip:",
            "tel:+1555",
            "sip:@host",
            "sip:a b@host",
            "sip:host:99999",
            "sip:[::1",
            "sip:host;;x",
        ] {
            assert!(SipUri::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_name_addrs_of_every_shape() {
        let value =
            NameAddr::parse("\"J Rosenberg \\\\\\\"\" <sip:jdrosen@example.com> ; tag = 98asjd8").unwrap();
        assert_eq!(value.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(value.param("tag"), Some("98asjd8"));
        let value = NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(
            (value.uri.as_str(), value.param("tag")),
            ("sip:vivekg@chair-dnrc.example.com", Some("1918181833n"))
        );
        let value = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(value.display.as_deref(), Some("caller"));
        let value =
            NameAddr::parse("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=_token~1'+`*%!-.")
                .unwrap();
        assert_eq!(value.param("tag"), Some("_token~1'+`*%!-."));
        let value = NameAddr::parse(
            "<sip:2002@127.0.0.1:5090;transport=udp>;expires=600;+sip.instance=\"<urn:uuid:fb4a>\"",
        )
        .unwrap();
        assert_eq!(value.param("+sip.instance"), Some("\"<urn:uuid:fb4a>\""));
        assert_eq!(value.sip_uri().unwrap().port, Some(5090));
    }

    #[test]
    fn refuses_rfc4475_invalid_name_addrs() {
        for bad in [
            "\"Mr J. User <sip:j.user@example.com>",                // quotbal
            "\"Watson, Thomas\" < sip:t.watson@example.org >",      // badaspec
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",    // baddn
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E", // regbadct
            "<sip:a@b>;;",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
        }
    }
}
