//! JSON error bodies: every refusal is `{"error": "..."}` with a 4xx/5xx.

use axum::Json;
use axum::http::StatusCode;
use serde_json::json;

/// `(status, {"error": message})`.
pub fn error_response(
    status: StatusCode,
    message: impl Into<String>,
) -> (StatusCode, Json<serde_json::Value>) {
    (status, Json(json!({ "error": message.into() })))
}
