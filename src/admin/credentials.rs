//! Where a request carries the admin token: `Authorization: Bearer …`
//! (CLI, scripts) or the dashboard's `opendpma_token` cookie. Read by the
//! token guard, the CSRF check and the dashboard.

use axum::http::{HeaderMap, header};

/// The token of an `Authorization: Bearer …` header, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
}

/// The token a request carries: `Authorization: Bearer …`, else the
/// dashboard's `opendpma_token` cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| cookie_token(headers))
}

/// Whether the request carries `Authorization: Bearer …` (which a
/// browser never adds to a cross-site request on its own).
pub fn has_bearer(headers: &HeaderMap) -> bool {
    bearer(headers).is_some()
}

/// The token from the dashboard's `opendpma_token` cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("opendpma_token="))
}
