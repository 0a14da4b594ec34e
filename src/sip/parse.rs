//! Bytes → `Message`, with every rule that decides between "answer it",
//! "answer 400 saying what is wrong" and "drop it".
//!
//! Tolerant where RFC 3261 and RFC 4475 say so: folded lines, whitespace
//! before the colon, compact names, LF-only line ends, leading blank lines,
//! no Content-Length on UDP (the body is the rest of the datagram), extra
//! bytes after the body of a datagram. Strict where they say so: one space
//! between start-line elements, a Content-Length that fits, a CSeq that
//! agrees with the method, well-formed Via/From/To/Contact.

use bytes::Bytes;

use super::headers::{Headers, MAX_HEADERS};
use super::message::{CoreFields, Message, Method, Request, Response};
use super::uri::{NameAddr, SipUri, is_token_char};
use super::via::Via;

/// Largest message accepted, on any transport.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per UDP datagram: no Content-Length means "to the end".
    Datagram,
    /// Already cut by `framing::StreamFramer` to exactly one message.
    Stream,
}

/// A message that cannot be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What is wrong, fit for a reason phrase and a log line.
    pub reason: String,
    /// 400, or 505 for another SIP version.
    pub status: u16,
    /// For requests: the headers read so far, to build the error response
    /// from (it needs Via, From, To, Call-ID and CSeq). `None` = drop.
    pub answer_with: Option<Headers>,
}

fn dropped(reason: &str) -> Malformed {
    Malformed {
        reason: reason.to_owned(),
        status: 400,
        answer_with: None,
    }
}

/// Where the header block ends: (end of head, start of body).
fn head_end(input: &[u8]) -> Option<(usize, usize)> {
    let mut index = 0;
    while index < input.len() {
        if input[index] == b'\n' {
            if input.get(index + 1) == Some(&b'\n') {
                return Some((index, index + 2));
            }
            if input.get(index + 1) == Some(&b'\r') && input.get(index + 2) == Some(&b'\n') {
                return Some((index, index + 3));
            }
        }
        index += 1;
    }
    None
}

/// Parses one message.
pub fn parse(input: &[u8], framing: Framing) -> Result<Message, Malformed> {
    if input.len() > MAX_MESSAGE_BYTES {
        return Err(dropped("message larger than 64 KiB"));
    }
    let start = input
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .ok_or_else(|| dropped("empty message"))?;
    let input = &input[start..];
    let (head_len, body_start) = head_end(input).ok_or_else(|| dropped("no blank line after the headers"))?;
    let head = std::str::from_utf8(&input[..head_len]).map_err(|_| dropped("headers are not UTF-8"))?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let start_line = lines.next().unwrap_or("");
    let is_response = start_line.starts_with("SIP/");
    let headers = read_headers(lines, head.len()).map_err(|(reason, headers)| Malformed {
        reason: reason.to_owned(),
        status: 400,
        answer_with: (!is_response).then_some(headers),
    })?;
    let refuse = |reason: &str, status: u16, headers: &Headers| Malformed {
        reason: reason.to_owned(),
        status,
        answer_with: (!is_response).then(|| headers.clone()),
    };
    let body =
        body(&input[body_start..], &headers, framing).map_err(|reason| refuse(reason, 400, &headers))?;
    if is_response {
        let (code, reason) = status_line(start_line).ok_or_else(|| dropped("malformed status line"))?;
        let core = core_fields(&headers).map_err(dropped)?;
        return Ok(Message::Response(Response {
            code,
            reason,
            headers,
            core,
            body,
        }));
    }
    let parts: Vec<&str> = start_line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(refuse("Malformed request line", 400, &headers));
    };
    if version != "SIP/2.0" {
        let status = if version.starts_with("SIP/") { 505 } else { 400 };
        return Err(refuse("Version Not Supported", status, &headers));
    }
    let method = Method::parse(method).ok_or_else(|| refuse("Malformed method", 400, &headers))?;
    check_request_uri(uri).map_err(|reason| refuse(reason, 400, &headers))?;
    let core = core_fields(&headers).map_err(|reason| refuse(reason, 400, &headers))?;
    if core.cseq_method != method {
        return Err(refuse("CSeq method does not match the request", 400, &headers));
    }
    check_other_fields(&headers).map_err(|reason| refuse(reason, 400, &headers))?;
    Ok(Message::Request(Request {
        method,
        uri: uri.to_owned(),
        headers,
        core,
        body,
    }))
}

/// Header lines → `Headers`, unfolding continuation lines.
fn read_headers<'a>(
    lines: impl Iterator<Item = &'a str>,
    length: usize,
) -> Result<Headers, (&'static str, Headers)> {
    let mut headers = Headers::with_capacity(16, length);
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if !headers.continue_last(line.trim()) {
                return Err(("continuation line before any header", headers));
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(("Malformed header line", headers));
        };
        let name = name.trim_end();
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(("Malformed header name", headers));
        }
        if headers.len() >= MAX_HEADERS {
            return Err(("Too many headers", headers));
        }
        headers.push(name, value.trim());
    }
    Ok(headers)
}

fn body(rest: &[u8], headers: &Headers, framing: Framing) -> Result<Bytes, &'static str> {
    let mut lengths = headers.lines("Content-Length");
    let length = match lengths.next() {
        None => None,
        Some(value) => {
            if !value.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() {
                return Err("Invalid Content-Length");
            }
            let length: usize = value.parse().map_err(|_| "Invalid Content-Length")?;
            if lengths.next().is_some() {
                return Err("Multiple Content-Length headers");
            }
            Some(length)
        }
    };
    match (length, framing) {
        (Some(length), _) if length > rest.len() => Err("Content-Length larger than the message"),
        (Some(length), _) => Ok(Bytes::copy_from_slice(&rest[..length])),
        (None, Framing::Datagram) => Ok(Bytes::copy_from_slice(rest)),
        (None, Framing::Stream) => Ok(Bytes::new()),
    }
}

fn status_line(line: &str) -> Option<(u16, String)> {
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = code.parse().ok()?;
    (100..=699).contains(&code).then(|| (code, reason.to_owned()))
}

fn check_request_uri(uri: &str) -> Result<(), &'static str> {
    let scheme = uri.split(':').next().unwrap_or("");
    let scheme_ok = uri.contains(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err("Malformed Request-URI");
    }
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        let parsed = SipUri::parse(uri).map_err(|_| "Malformed Request-URI")?;
        if parsed.headers.is_some() {
            return Err("Request-URI must not contain headers");
        }
    }
    Ok(())
}

fn single<'a>(
    headers: &'a Headers,
    name: &'static str,
    missing: &'static str,
) -> Result<&'a str, &'static str> {
    let mut lines = headers.lines(name);
    let value = lines.next().ok_or(missing)?;
    if lines.next().is_some() {
        return Err(match name {
            "Call-ID" => "Multiple Call-ID headers",
            "CSeq" => "Multiple CSeq headers",
            "From" => "Multiple From headers",
            _ => "Multiple To headers",
        });
    }
    Ok(value)
}

/// Via, From, To, Call-ID and CSeq, all required and well-formed.
fn core_fields(headers: &Headers) -> Result<CoreFields, &'static str> {
    let via_values = headers.values("Via");
    if via_values.is_empty() {
        return Err("Missing Via");
    }
    let vias = via_values
        .iter()
        .map(|value| Via::parse(value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "Malformed Via")?;
    let from = NameAddr::parse(single(headers, "From", "Missing From")?).map_err(|_| "Malformed From")?;
    let to = NameAddr::parse(single(headers, "To", "Missing To")?).map_err(|_| "Malformed To")?;
    let call_id = single(headers, "Call-ID", "Missing Call-ID")?;
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err("Malformed Call-ID");
    }
    let cseq = single(headers, "CSeq", "Missing CSeq")?;
    let (number, method) = cseq.split_once(char::is_whitespace).ok_or("Malformed CSeq")?;
    let number: u32 = number.parse().map_err(|_| "Malformed CSeq")?;
    if number > 0x7fff_ffff {
        return Err("CSeq number too large");
    }
    let method = Method::parse(method.trim()).ok_or("Malformed CSeq")?;
    Ok(CoreFields {
        vias,
        from,
        to,
        call_id: call_id.to_owned(),
        cseq: number,
        cseq_method: method,
    })
}

/// Other fields a request may carry that must be well-formed if present.
fn check_other_fields(headers: &Headers) -> Result<(), &'static str> {
    if let Some(value) = headers.get("Max-Forwards")
        && value.parse::<u8>().is_err()
    {
        return Err("Malformed Max-Forwards");
    }
    for contact in headers.values("Contact") {
        if contact != "*" {
            NameAddr::parse(contact).map_err(|_| "Malformed Contact")?;
        }
    }
    for name in ["Expires", "Min-Expires"] {
        if let Some(value) = headers.get(name)
            && (value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("Malformed Expires");
        }
    }
    if let Some(date) = headers.get("Date")
        && !date.ends_with(" GMT")
    {
        return Err("Invalid Date (must be GMT)");
    }
    Ok(())
}
