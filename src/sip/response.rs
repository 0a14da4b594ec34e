//! Building responses (RFC 3261 §8.2.6) with explicit reason phrases, and
//! outgoing requests (NOTIFY, OPTIONS) for client transactions.

use std::borrow::Cow;
use std::net::SocketAddr;

use bytes::Bytes;

use super::headers::Headers;
use super::message::{Method, Request, serialize};

/// The `Server` / `User-Agent` value we send.
pub const PRODUCT: &str = concat!("opendpma/", env!("CARGO_PKG_VERSION"));
/// Methods we answer (for `Allow`).
pub const ALLOW: &str = "OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH";
/// Event packages we accept.
pub const ALLOW_EVENTS: &str = "presence";
/// Body types we accept.
pub const ACCEPT: &str = "application/pidf+xml";

/// The standard reason phrase for a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Conditional Request Failed",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        _ => "Unknown",
    }
}

/// A response being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBuilder {
    pub code: u16,
    pub reason: Cow<'static, str>,
    pub headers: Headers,
    pub body: Bytes,
}

/// Adds `received` / `rport` to the top Via value (RFC 3261 §18.2.1,
/// RFC 3581), so the response finds its way back through NAT.
fn stamp_via(via: &str, source: SocketAddr) -> String {
    match super::via::Via::parse(via) {
        Ok(parsed) => parsed.stamped_for(source),
        // Only reachable for raw (malformed-request) answers: copy as is.
        Err(_) => via.to_owned(),
    }
}

/// Appends `;tag=` to a To value that has none.
fn with_tag(to: &str, tag: &str) -> String {
    let has_tag = to
        .rsplit_once('>')
        .map_or(to, |(_, params)| params)
        .split(';')
        .skip(1)
        .any(|p| {
            p.trim()
                .get(..3)
                .is_some_and(|name| name.eq_ignore_ascii_case("tag"))
        });
    if has_tag {
        to.to_owned()
    } else {
        format!("{to};tag={tag}")
    }
}

impl ResponseBuilder {
    /// A response to `request` from `source`, with `to_tag` added to To if
    /// it has none (never on 100).
    pub fn new(request: &Request, code: u16, source: SocketAddr, to_tag: &str) -> Self {
        // The top Via was parsed with the request: stamp it, not its text.
        let top = request.core.vias.first().map(|via| via.stamped_for(source));
        Self::build(&request.headers, top, code, source, to_tag)
            .expect("a parsed request has the core headers")
    }

    /// A response built from raw headers (for requests that failed to
    /// parse); `None` if Via, From, To, Call-ID or CSeq is missing.
    pub fn from_headers(request: &Headers, code: u16, source: SocketAddr, to_tag: &str) -> Option<Self> {
        Self::build(request, None, code, source, to_tag)
    }

    fn build(
        request: &Headers,
        stamped_top: Option<String>,
        code: u16,
        source: SocketAddr,
        to_tag: &str,
    ) -> Option<Self> {
        let mut headers = Headers::with_capacity(8, 512);
        let vias = request.values("Via");
        let (top, rest) = vias.split_first()?;
        headers.push("Via", stamped_top.unwrap_or_else(|| stamp_via(top, source)));
        for via in rest {
            headers.push("Via", *via);
        }
        headers.push("From", request.get("From")?);
        let to = request.get("To")?;
        headers.push(
            "To",
            if code > 100 {
                with_tag(to, to_tag)
            } else {
                to.to_owned()
            },
        );
        headers.push("Call-ID", request.get("Call-ID")?);
        headers.push("CSeq", request.get("CSeq")?);
        headers.push("Server", PRODUCT);
        Some(Self {
            code,
            reason: Cow::Borrowed(reason_phrase(code)),
            headers,
            body: Bytes::new(),
        })
    }

    /// The same transaction's answer with another status: this response's
    /// Via, From, To (with its tag), Call-ID, CSeq and Server, without
    /// what a 2xx added (Expires, Contact, Record-Route …). For a refusal
    /// decided after the answer was built, when its record could not be
    /// stored: built only then, not beside every answer.
    pub fn with_status(&self, code: u16) -> Self {
        let mut headers = Headers::with_capacity(8, 512);
        for (name, value) in self.headers.iter() {
            if matches!(name, "Via" | "From" | "To" | "Call-ID" | "CSeq" | "Server") {
                headers.push(name, value);
            }
        }
        Self {
            code,
            reason: Cow::Borrowed(reason_phrase(code)),
            headers,
            body: Bytes::new(),
        }
    }

    /// Replaces the reason phrase (e.g. to say what was malformed).
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Cow::Owned(reason.replace(['\r', '\n'], " "));
        self
    }

    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.headers.push(name, value);
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers.push("Content-Type", content_type);
        self.body = body.into();
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let code = self.code.to_string();
        serialize(&["SIP/2.0 ", &code, " ", &self.reason], &self.headers, &self.body)
    }
}

/// A request we originate (NOTIFY, OPTIONS); the client transaction adds
/// the Via with its branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl OutgoingRequest {
    /// Serialises with `via` as the top (only) Via.
    pub fn to_bytes(&self, via: &str) -> Vec<u8> {
        let mut headers = Headers::new();
        headers.push("Via", via);
        for (name, value) in self.headers.iter() {
            headers.push(name, value);
        }
        serialize(
            &[self.method.as_str(), " ", &self.uri, " SIP/2.0"],
            &headers,
            &self.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_added_once() {
        assert_eq!(with_tag("<sip:a@b>", "x"), "<sip:a@b>;tag=x");
        assert_eq!(with_tag("<sip:a@b>;tag=y", "x"), "<sip:a@b>;tag=y");
        assert_eq!(with_tag("<sip:a@b;tagged=1>", "x"), "<sip:a@b;tagged=1>;tag=x");
        assert_eq!(with_tag("sip:a@b ; TAG = z", "x"), "sip:a@b ; TAG = z");
    }

    #[test]
    fn top_via_gets_received_and_rport() {
        let source: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(
            stamp_via("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport", source),
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport=40000;received=192.0.2.7"
        );
        assert_eq!(
            stamp_via("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKa", source),
            "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKa"
        );
    }

    #[test]
    fn a_later_refusal_matches_one_built_from_the_request() {
        let text = "SUBSCRIBE sip:2001@192.0.2.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKa;rport\r\n\
            Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb\r\n\
            From: <sip:2000@192.0.2.1>;tag=f\r\nTo: <sip:2001@192.0.2.1>\r\n\
            Call-ID: c@x\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\n\
            Record-Route: <sip:proxy;lr>\r\nContent-Length: 0\r\n\r\n";
        let Ok(super::super::message::Message::Request(request)) =
            super::super::parse::parse(text.as_bytes(), super::super::parse::Framing::Datagram)
        else {
            panic!("a valid SUBSCRIBE");
        };
        let source: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let answer = ResponseBuilder::new(&request, 200, source, "t")
            .header("Expires", "600")
            .header("Contact", "<sip:opendpma@192.0.2.1>")
            .header("Record-Route", "<sip:proxy;lr>");
        assert_eq!(
            answer.with_status(503).to_bytes(),
            ResponseBuilder::new(&request, 503, source, "t").to_bytes()
        );
    }
}
