//! `POST /api/v1/reconfigure/{phone|all}`: check-sync to phones, with a
//! per-phone report (sent, answered, timeout, unknown contact).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::json::error_response;
use super::state::AdminState;

pub async fn reconfigure(State(state): State<AdminState>, Path(target): Path<String>) -> Response {
    let config = state.snapshots.borrow().config.clone();
    let phones: Vec<String> = if target == "all" {
        config.phones.iter().map(|p| p.name.clone()).collect()
    } else if config.phone(&target).is_some() {
        vec![target]
    } else {
        return error_response(StatusCode::NOT_FOUND, format!("no phone named {target:?}")).into_response();
    };
    Json(state.sip.reconfigure(phones).await).into_response()
}
