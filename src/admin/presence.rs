//! `/api/v1/presence`, `/api/v1/devices`, `/api/v1/hints`: read and write
//! presence the way Asterisk's `PRESENCE_STATE()` and `DEVICE_STATE()` do,
//! restricted to what the phones support.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::error_response;
use super::state::AdminState;
use crate::presence::{DeviceState, Hint, HintState, PresenceUpdate, PresenceValue};
use crate::server::HubError;

/// `PUT /api/v1/presence/{provider}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    state: String,
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    message: String,
}

/// `PUT /api/v1/devices/{device}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    state: String,
}

pub fn presence_json(provider: &str, value: &PresenceValue) -> Value {
    json!({
        "provider": provider,
        "state": value.state,
        "subtype": value.subtype,
        "message": value.message,
        "changed_at": value.changed_at,
    })
}

pub fn hint_json(hint: Option<&Hint>, state: &HintState) -> Value {
    let mut value = json!({
        "exten": state.exten,
        "extension_state": state.extension_state,
        "extension_state_code": state.extension_state.code(),
        "extension_state_text": state.extension_state.text(),
        "presence": {
            "state": state.presence.state,
            "subtype": state.presence.subtype,
            "message": state.presence.message,
            "changed_at": state.presence.changed_at,
        },
    });
    if let Some(hint) = hint {
        value["devices"] = json!(hint.devices);
        value["presence_providers"] = json!(hint.presence);
    }
    value
}

fn hub_error(error: HubError) -> Response {
    let status = match &error {
        HubError::Name(_) | HubError::DeviceName(_) => StatusCode::BAD_REQUEST,
        HubError::Update(_) | HubError::Device(_) | HubError::Book(_) => StatusCode::UNPROCESSABLE_ENTITY,
        HubError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        // The store is behind: shed now, with a hint when to come back,
        // rather than queue the request until the client times out.
        HubError::Overloaded => {
            let mut response =
                error_response(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            return response;
        }
    };
    error_response(status, error.to_string()).into_response()
}

fn body_error(rejection: JsonRejection) -> Response {
    error_response(
        rejection.status(),
        format!("invalid JSON body: {}", rejection.body_text()),
    )
    .into_response()
}

pub async fn list(State(state): State<AdminState>) -> Response {
    let providers: Vec<Value> = state
        .hub
        .providers()
        .iter()
        .map(|(provider, value)| presence_json(provider, value))
        .collect();
    Json(providers).into_response()
}

pub async fn get(State(state): State<AdminState>, Path(provider): Path<String>) -> Response {
    match state.hub.presence(&provider) {
        Ok((provider, value)) => Json(presence_json(&provider, &value)).into_response(),
        Err(error) => hub_error(error.into()),
    }
}

pub async fn put(
    State(state): State<AdminState>,
    Path(provider): Path<String>,
    body: Result<Json<PresenceBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(rejection),
    };
    let update = match PresenceUpdate::new(&body.state, &body.subtype, &body.message) {
        Ok(update) => update,
        Err(error) => return hub_error(error.into()),
    };
    match state.hub.set_presence(&provider, update).await {
        Ok((provider, value)) => Json(presence_json(&provider, &value)).into_response(),
        Err(error) => hub_error(error),
    }
}

pub async fn delete(State(state): State<AdminState>, Path(provider): Path<String>) -> Response {
    match state.hub.clear_presence(&provider).await {
        Ok((provider, value)) => Json(presence_json(&provider, &value)).into_response(),
        Err(error) => hub_error(error),
    }
}

fn device_json(device: &str, state: DeviceState) -> Value {
    json!({ "device": device, "state": state })
}

pub async fn get_device(State(state): State<AdminState>, Path(device): Path<String>) -> Response {
    match state.hub.device(&device) {
        Ok((device, value)) => Json(device_json(&device, value)).into_response(),
        Err(error) => hub_error(error.into()),
    }
}

pub async fn put_device(
    State(state): State<AdminState>,
    Path(device): Path<String>,
    body: Result<Json<DeviceBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(rejection),
    };
    match state.hub.set_device(&device, &body.state).await {
        Ok((device, value)) => Json(device_json(&device, value)).into_response(),
        Err(error) => hub_error(error),
    }
}

pub async fn hints(State(state): State<AdminState>) -> Response {
    let hints: Vec<Value> = state
        .hub
        .hint_states()
        .iter()
        .map(|(hint, hint_state)| hint_json(Some(hint), hint_state))
        .collect();
    Json(hints).into_response()
}
