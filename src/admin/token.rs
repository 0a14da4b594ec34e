//! Bearer-token guard for the admin API.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::credentials::presented_token;
use super::json::error_response;
use super::protection::{Protection, peer_ip, too_many_failures};
use super::state::AdminState;

/// Requires `Authorization: Bearer <token>` when a token is configured.
/// Without one the listener is loopback-only (checked at start). Wrong
/// tokens count towards a lock-out of the address, like SIP and HTTP
/// credentials do.
pub async fn require_token(
    State(state): State<AdminState>,
    Extension(protection): Extension<Arc<Protection>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.token() else {
        return next.run(request).await;
    };
    let ip = peer_ip(request.extensions());
    if let Some(retry_after) = protection.locked_out(ip) {
        return too_many_failures(retry_after);
    }
    match presented_token(request.headers()) {
        Some(presented) if token.matches(presented.trim()) => {
            protection.succeeded(ip);
            next.run(request).await
        }
        Some(_) => {
            protection.failed(ip);
            error_response(StatusCode::UNAUTHORIZED, "wrong admin token").into_response()
        }
        None => {
            let mut response = error_response(
                StatusCode::UNAUTHORIZED,
                "admin token required (Authorization: Bearer …)",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}
