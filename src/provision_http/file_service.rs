//! Served files (firmware): `GET|HEAD /files/NAME` with the provisioning
//! credentials, or `/p/<token>/<mac>/NAME` with a phone's document token
//! (the URL its config carries, docs/DECISIONS.md §15). Only files the
//! config names are served, so nothing else in `files_dir` is reachable.
//!
//! Firmware images are tens of megabytes: the body is streamed from disk in
//! chunks, a single `Range: bytes=…` is honoured (206, or 416 when it
//! cannot be satisfied; RFC 9110 §14), and the `ETag` is derived from the
//! file's size and modification time, like common web servers do, so a
//! re-fetch of an unchanged file is a 304 without reading it.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::conditional::if_none_match;

/// Bytes read from disk per body chunk.
const CHUNK: usize = 64 * 1024;

/// The bytes a `Range` header asks for, in a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// No (usable) range: the whole file, 200.
    All,
    /// One satisfiable range: 206.
    Part(Range<u64>),
    /// A range outside the file: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`. Several ranges or other
/// units are answered with the whole file, which RFC 9110 §14.2 allows.
pub fn wanted(range: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => match parse(last) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(suffix) => len.saturating_sub(suffix)..len,
            None => return Wanted::All,
        },
        (false, true) => match parse(first) {
            Some(start) => start..len,
            None => return Wanted::All,
        },
        (false, false) => match (parse(first), parse(last)) {
            (Some(start), Some(end)) if start <= end => start..end.saturating_add(1).min(len),
            _ => return Wanted::All,
        },
        (true, true) => return Wanted::All,
    };
    if range.start >= len {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// Streams the file at `path` (which the config names) as `headers` ask.
pub async fn serve_file(path: &Path, headers: &HeaderMap, head: bool) -> Response {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        // Checked at load; gone since: the admin's to fix, the phone retries.
        tracing::warn!(file = %path.display(), "served file is missing");
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let Ok(metadata) = file.metadata().await else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let len = metadata.len();
    let modified = metadata
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{len:x}-{modified:x}\"");
    let etag_value = HeaderValue::from_str(&etag).expect("hex ETag is a valid header value");
    if if_none_match(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    // If-Range with another tag: the file changed, so send all of it.
    let if_range_stale = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tag| tag.trim() != etag);
    let wanted = if if_range_stale {
        Wanted::All
    } else {
        wanted(range, len)
    };
    let (status, span) = match wanted {
        Wanted::All => (StatusCode::OK, 0..len),
        Wanted::Part(span) => (StatusCode::PARTIAL_CONTENT, span),
        Wanted::Unsatisfiable => {
            let content_range = HeaderValue::from_str(&format!("bytes */{len}")).expect("digits");
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, content_range)],
            )
                .into_response();
        }
    };
    let body = if head || span.is_empty() {
        Body::empty()
    } else {
        if file.seek(SeekFrom::Start(span.start)).await.is_err() {
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read file\n").into_response();
        }
        let remaining = span.end - span.start;
        let chunks = futures_util::stream::unfold((file, remaining), |(mut file, remaining)| async move {
            if remaining == 0 {
                return None;
            }
            let want = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
            let mut buffer = BytesMut::zeroed(want);
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((
                        Ok::<_, std::io::Error>(buffer.freeze()),
                        (file, remaining - read as u64),
                    ))
                }
                Err(error) => Some((Err(error), (file, 0))),
            }
        });
        Body::from_stream(chunks)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    out.insert(header::ETAG, etag_value);
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(span.end - span.start));
    if status == StatusCode::PARTIAL_CONTENT {
        let content_range = format!("bytes {}-{}/{len}", span.start, span.end - 1);
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&content_range).expect("digits"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(wanted(None, 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=0-9"), 100), Wanted::Part(0..10));
        assert_eq!(wanted(Some("bytes=90-"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-500"), 100), Wanted::Part(0..100));
        assert_eq!(wanted(Some("bytes=50-500"), 100), Wanted::Part(50..100));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=9-3"), 100), Wanted::All);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=x-"), 100), Wanted::All);
    }
}
