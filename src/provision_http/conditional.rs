//! Conditional GET: whether a request's `If-None-Match` already names the
//! current `ETag`, so the answer is a 304 without a body. Shared by the
//! documents and the served files.

use axum::http::{HeaderMap, header};

/// RFC 9110 §13.1.2: weak comparison, a list of tags or `*`.
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == "*" || tag == etag)
        })
}
