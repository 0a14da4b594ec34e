//! Request inspection before a request is processed (RFC 3261 §8.2.2):
//! the Request-URI scheme (§8.2.2.1 → 416) and the `Require` option-tags
//! (§8.2.2.3 → 420 listing them in `Unsupported`). Method inspection
//! (405/501) is the endpoint's own dispatch.

use super::headers::split_list;
use super::message::Request;

/// Option-tags (RFC 3261 §19.2) this server implements. None yet: we do
/// not do reliable provisional responses, timers, GRUU or outbound, so any
/// `Require` must be refused rather than silently ignored.
pub const SUPPORTED_OPTION_TAGS: &[&str] = &[];

/// Why a request is refused before processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 416 Unsupported URI Scheme: not `sip:` or `sips:`.
    UriScheme,
    /// 420 Bad Extension, with the option-tags we do not support.
    Extensions(Vec<String>),
}

/// The first reason to refuse `request`, in the order of §8.2.2.
pub fn inspect(request: &Request) -> Option<Refusal> {
    let scheme = request.uri.split(':').next().unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return Some(Refusal::UriScheme);
    }
    let mut unsupported: Vec<String> = Vec::new();
    for tag in request.headers.lines("Require").flat_map(split_list) {
        let tag = tag.trim();
        // Option-tags compare case-sensitively (§19.2); an empty element
        // of the list is no tag at all.
        if !tag.is_empty() && !SUPPORTED_OPTION_TAGS.contains(&tag) && !unsupported.iter().any(|t| t == tag) {
            unsupported.push(tag.to_owned());
        }
    }
    (!unsupported.is_empty()).then_some(Refusal::Extensions(unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Framing, Message, parse};

    fn request(uri: &str, extra: &str) -> Request {
        let text = format!(
            "OPTIONS {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes(), Framing::Datagram) {
            Ok(Message::Request(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sip_and_sips_pass_other_schemes_are_416() {
        assert_eq!(inspect(&request("sip:2000@pbx", "")), None);
        assert_eq!(inspect(&request("SIPS:2000@pbx", "")), None);
        assert_eq!(inspect(&request("tel:+15551234", "")), Some(Refusal::UriScheme));
        assert_eq!(
            inspect(&request("nobodyknowsthisscheme:opaque", "Require: x\r\n")),
            Some(Refusal::UriScheme),
            "the scheme is inspected before Require"
        );
    }

    #[test]
    fn every_unknown_require_tag_is_listed_once() {
        let refused = inspect(&request(
            "sip:2000@pbx",
            "Require: newfeature1, newfeature2\r\nRequire: newfeature1,,100rel\r\n",
        ));
        assert_eq!(
            refused,
            Some(Refusal::Extensions(vec![
                "newfeature1".into(),
                "newfeature2".into(),
                "100rel".into()
            ]))
        );
    }
}
