//! The admin dashboard: `GET /` renders every line and phone on the
//! server (a complete page without JavaScript); `dashboard.js` then
//! follows `/api/v1/events` to update rows in place and offers presence
//! and reconfigure actions through the same API. Login stores the admin
//! token in an `HttpOnly`, `SameSite=Strict` cookie. Everything is
//! compiled into the binary: no CDN, no build step.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::credentials::{cookie_token, presented_token};
use super::inventory::{LineView, PhoneView, lines_view, phones_view};
use super::protection::Protection;
use super::state::AdminState;
use super::utc_time::format_time;
use crate::presence::PhoneState;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    /// For `X-CSRF-Token` (script) and the sign-out form (see protection.rs).
    csrf: String,
    lines: Vec<LineRow>,
    phones: Vec<PhoneRow>,
    states: Vec<&'static str>,
    version: &'static str,
    /// The AMI link, when `[asterisk]` is set.
    asterisk: Option<&'static str>,
    /// Firmware per phone (`firmware_status.rs`).
    firmware: Vec<super::firmware_status::FirmwareStatus>,
}

struct LineRow {
    line: LineView,
    since: String,
}

struct PhoneRow {
    phone: PhoneView,
    contact: String,
    fetched: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<&'static str>,
}

fn logged_in(state: &AdminState, headers: &HeaderMap) -> bool {
    match state.token() {
        None => true,
        Some(token) => presented_token(headers).is_some_and(|presented| token.matches(presented.trim())),
    }
}

fn html(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(body) => (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, "dashboard template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn page(
    State(state): State<AdminState>,
    Extension(protection): Extension<Arc<Protection>>,
    headers: HeaderMap,
) -> Response {
    if !logged_in(&state, &headers) {
        return html(&LoginPage { error: None }, StatusCode::OK);
    }
    let lines = lines_view(&state)
        .await
        .into_iter()
        .map(|line| LineRow {
            since: format_time(line.presence.changed_at),
            line,
        })
        .collect();
    let phones = phones_view(&state)
        .await
        .into_iter()
        .map(|phone| PhoneRow {
            contact: phone.last_contact.as_ref().map_or("never".to_owned(), |c| {
                format!(
                    "{} {} ({})",
                    c.transport,
                    c.address,
                    format_time(Some(c.seen_at_unix * 1000))
                )
            }),
            fetched: phone
                .last_fetch
                .map_or("never".to_owned(), |at| format_time(Some(at * 1000))),
            phone,
        })
        .collect();
    let page = DashboardPage {
        csrf: protection.csrf_token(cookie_token(&headers)),
        lines,
        phones,
        states: PhoneState::ALL.iter().map(|s| s.as_str()).collect(),
        version: crate::cli::VERSION,
        asterisk: asterisk_status(&state),
        firmware: super::firmware_status::statuses(&state.snapshots.borrow().config.clone(), &state.fetches),
    };
    html(&page, StatusCode::OK)
}

fn asterisk_status(state: &AdminState) -> Option<&'static str> {
    let link = &state.metrics.asterisk;
    if link.configured.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        None
    } else if link.degraded() {
        Some("not connected — presence stays local until the link is back")
    } else {
        Some("connected")
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

pub async fn login(
    State(state): State<AdminState>,
    Extension(protection): Extension<Arc<Protection>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Some(retry_after) = protection.locked_out(peer.ip()) {
        let mut response = html(
            &LoginPage {
                error: Some("Too many wrong tokens from this address; try again later."),
            },
            StatusCode::TOO_MANY_REQUESTS,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return response;
    }
    let valid = state.token().is_none_or(|token| token.matches(form.token.trim()));
    if valid {
        protection.succeeded(peer.ip());
    } else {
        protection.failed(peer.ip());
        return html(
            &LoginPage {
                error: Some("That token is not right."),
            },
            StatusCode::UNAUTHORIZED,
        );
    }
    // The token goes into the cookie as typed; it is checked on every request.
    let cookie = format!(
        "opendpma_token={}; HttpOnly; SameSite=Strict; Path=/",
        form.token.trim()
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// Signs out; the form carries the CSRF token (a forged sign-out is a
/// nuisance, but the rule is the same for every state change).
pub async fn logout(
    Extension(protection): Extension<Arc<Protection>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !protection.csrf_matches(&headers, &form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token (reload the dashboard)\n",
        )
            .into_response();
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("opendpma_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../templates/dashboard.js"),
    )
        .into_response()
}

pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../templates/dashboard.css"),
    )
        .into_response()
}
