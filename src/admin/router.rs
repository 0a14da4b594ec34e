//! The admin router: which path goes to which handler, behind which
//! guards (token, Host check, CSRF and lock-out), and `/healthz`.

use std::sync::Arc;

use axum::extract::State;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::state::AdminState;
use super::{
    dashboard, events, firmware_status, host_check, inventory, presence, protection, reconfigure, reload,
    token,
};

/// `/healthz`: 200 "ok"; 503 while the store cannot write (so a monitor
/// sees a full disk; it turns healthy again by itself). Beside Asterisk, a
/// lost AMI link is "degraded", still 200: phones are served and presence
/// stays local until the link is back.
async fn health(State(state): State<AdminState>) -> (axum::http::StatusCode, &'static str) {
    let hub = state.hub.clone();
    let works = tokio::task::spawn_blocking(move || hub.store_works())
        .await
        .unwrap_or(false);
    if works && state.metrics.asterisk.degraded() {
        (
            axum::http::StatusCode::OK,
            "degraded: Asterisk AMI not connected\n",
        )
    } else if works {
        (axum::http::StatusCode::OK, "ok\n")
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "store failing (see the log)\n",
        )
    }
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    let policy = crate::server::lockout_policy(&state.snapshots.borrow().config.limits);
    let protection = Arc::new(protection::Protection::new(policy));
    let api = Router::new()
        .route("/api/v1/reload", post(reload::reload))
        .route("/api/v1/reconfigure/{target}", post(reconfigure::reconfigure))
        .route("/api/v1/presence", get(presence::list))
        .route(
            "/api/v1/presence/{provider}",
            get(presence::get).put(presence::put).delete(presence::delete),
        )
        .route(
            "/api/v1/devices/{device}",
            get(presence::get_device).put(presence::put_device),
        )
        .route("/api/v1/hints", get(presence::hints))
        .route("/api/v1/lines", get(inventory::lines))
        .route("/api/v1/phones", get(inventory::phones))
        .route("/api/v1/firmware", get(firmware_status::firmware))
        .route(
            "/api/v1/subscriptions",
            get(|State(state): State<AdminState>| async move { axum::Json(state.sip.subscriptions().await) }),
        )
        .route("/api/v1/events", get(events::events))
        .route(
            "/metrics",
            get(|State(state): State<AdminState>| async move { state.metrics.render() }),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            token::require_token,
        ));
    Router::new()
        .route("/healthz", get(health))
        .route("/", get(dashboard::page))
        .route("/login", post(dashboard::login))
        .route("/logout", post(dashboard::logout))
        .route("/dashboard.js", get(dashboard::script))
        .route("/dashboard.css", get(dashboard::style))
        .merge(api)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            host_check::loopback_host,
        ))
        .layer(middleware::from_fn_with_state(
            protection.clone(),
            protection::protect,
        ))
        .layer(Extension(protection))
        .with_state(state)
}
