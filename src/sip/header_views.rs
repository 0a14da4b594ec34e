//! Typed views of the headers the presence server decides on: Event,
//! Expires, Accept, Content-Type, SIP-ETag / SIP-If-Match and
//! Subscription-State. Values are read from the normalised header list;
//! nothing here is cached, they are cheap.

use super::headers::{Headers, split_list};
use super::message::Request;
use super::uri::NameAddr;

/// `Event: package;id=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// Lower-cased package name (`presence`, `check-sync`, …).
    pub package: String,
    pub id: Option<String>,
}

/// `Subscription-State: active;expires=…` and friends (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub state: String,
    pub expires: Option<u32>,
    pub reason: Option<String>,
}

fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|piece| {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Seconds, saturating: RFC 3261 §20.19 treats overlarge values as the
/// largest interval rather than an error.
fn delta_seconds(value: &str) -> Option<u32> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .map_or(u32::MAX, |v| u32::try_from(v).unwrap_or(u32::MAX)),
    )
}

impl EventHeader {
    pub fn parse(value: &str) -> Option<Self> {
        let package = value.split(';').next()?.trim();
        if package.is_empty() {
            return None;
        }
        Some(Self {
            package: package.to_ascii_lowercase(),
            id: param(value, "id").map(str::to_owned),
        })
    }
}

impl SubscriptionState {
    pub fn parse(value: &str) -> Option<Self> {
        let state = value.split(';').next()?.trim().to_ascii_lowercase();
        if state.is_empty() {
            return None;
        }
        Some(Self {
            state,
            expires: param(value, "expires").and_then(delta_seconds),
            reason: param(value, "reason").map(str::to_owned),
        })
    }
}

/// The media type without parameters, lower-cased.
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

impl Request {
    pub fn event(&self) -> Option<EventHeader> {
        self.headers.get("Event").and_then(EventHeader::parse)
    }

    /// `Expires` in seconds (already validated as digits by the parser).
    pub fn expires(&self) -> Option<u32> {
        self.headers.get("Expires").and_then(delta_seconds)
    }

    /// Media types from every Accept header (empty when none was sent).
    pub fn accept(&self) -> Vec<String> {
        self.headers
            .values("Accept")
            .into_iter()
            .map(media_type)
            .collect()
    }

    pub fn content_type(&self) -> Option<String> {
        self.headers.get("Content-Type").map(media_type)
    }

    /// `SIP-If-Match` (RFC 3903), trimmed.
    pub fn sip_if_match(&self) -> Option<&str> {
        self.headers.get("SIP-If-Match").map(str::trim)
    }
}

/// The `expires` parameter of the first Contact, if any (some clients put
/// the interval there instead of in an Expires header).
pub fn contact_expires(headers: &Headers) -> Option<u32> {
    let contact = NameAddr::parse(headers.values("Contact").first()?).ok()?;
    contact.param("expires").and_then(delta_seconds)
}

/// Every token of a list header such as Allow-Events.
pub fn tokens(headers: &Headers, name: &str) -> Vec<String> {
    headers
        .lines(name)
        .flat_map(split_list)
        .map(|t| t.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_event_and_subscription_state() {
        assert_eq!(
            EventHeader::parse("Presence;id=1"),
            Some(EventHeader {
                package: "presence".into(),
                id: Some("1".into())
            })
        );
        assert_eq!(EventHeader::parse(" "), None);
        let state = SubscriptionState::parse("terminated;reason=timeout").unwrap();
        assert_eq!(
            (state.state.as_str(), state.reason.as_deref()),
            ("terminated", Some("timeout"))
        );
        assert_eq!(
            SubscriptionState::parse("active;expires=3599").unwrap().expires,
            Some(3599)
        );
    }

    #[test]
    fn overlarge_intervals_saturate() {
        assert_eq!(delta_seconds("10000000000000000000000"), Some(u32::MAX));
        assert_eq!(delta_seconds("-1"), None);
    }

    #[test]
    fn contact_expires_is_found_after_the_uri() {
        let mut headers = Headers::new();
        headers.push(
            "Contact",
            "<sip:a@b;expires=5>;expires=600;+sip.instance=\"<urn:x>\"",
        );
        assert_eq!(contact_expires(&headers), Some(600));
    }
}
