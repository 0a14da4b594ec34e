//! `POST /api/v1/reload`: 200 with a summary, or 422 with every problem.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::AdminState;

pub async fn reload(State(state): State<AdminState>) -> Response {
    match state.reloader.reload("admin API").await {
        Ok(summary) => Json(json!({
            "generation": summary.generation,
            "summary": summary.summary,
            "changed_phones": summary.changed_phones,
            "restart_required": summary.restart_required,
        }))
        .into_response(),
        Err(error) => {
            let problems: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            (
                status,
                Json(json!({ "error": error.to_string(), "problems": problems })),
            )
                .into_response()
        }
    }
}
