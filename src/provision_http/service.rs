//! The provisioning HTTP service: access check (a middleware in front of
//! everything) → `GET|HEAD /{file}` → file name → cached document, with
//! ETag/If-None-Match. No sockets here; the router is served by
//! `server::http` and can be driven in tests directly.
//!
//! `GET|HEAD /p/{token}/{mac}-contacts.xml` and `…-blf.xml` serve the same
//! phonebook and BLF sheet without credentials to whoever holds the phone's
//! `DocumentToken` (written only into its authenticated `<mac>.cfg`). The
//! config itself, which carries the line secrets, is never served there.
//! The access log writes those paths with the token cut out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use super::conditional::if_none_match;
use super::fetch_log::FetchLog;
use super::file_service::serve_file;
use crate::config::PhoneModel;
use crate::provision::{
    Access, AccessControl, AccessRequest, Document, DocumentKind, PhoneDocuments, parse_file_name,
};
use crate::snapshot::Snapshot;
use crate::wall_clock::unix_now;

/// What the handlers share.
#[derive(Clone)]
pub struct ProvisionState {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub access: Arc<AccessControl>,
    pub fetches: Arc<FetchLog>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The provisioning router (serve it with `ConnectInfo<SocketAddr>`).
pub fn router(state: ProvisionState) -> Router {
    Router::new()
        .route("/{file}", get(fetch))
        .route("/p/{token}/{file}", get(fetch_by_token))
        .route("/files/{file}", get(fetch_file))
        .route("/p/{token}/{mac}/{file}", get(fetch_file_by_token))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
        .layer(middleware::from_fn(access_log))
}

/// Runs before every route (and the fallback): nothing — not even a 404 —
/// is answered before the network, lock-out and credential checks pass.
async fn guard(
    State(state): State<ProvisionState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let snapshot = state.snapshots.borrow().clone();
    let config = &snapshot.config;
    let uri = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let access_request = AccessRequest {
        peer: peer.ip(),
        // HEAD is signed as HEAD by clients; keep the method as sent.
        method: request.method().as_str(),
        uri,
        authorization: request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        needs_credentials: !request.uri().path().starts_with(TOKEN_PREFIX),
        now: unix_now(),
        instant: Instant::now(),
    };
    match state
        .access
        .check(&config.http, &config.general.realm, &access_request)
    {
        Access::Granted => next.run(request).await,
        Access::Forbidden => plain(
            StatusCode::FORBIDDEN,
            "forbidden: address not in allowed_networks\n",
        ),
        Access::RateLimited => {
            state
                .metrics
                .http_rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut response = plain(StatusCode::TOO_MANY_REQUESTS, "too many requests; slow down\n");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            response
        }
        Access::TooManyFailures { retry_after } => too_many_failures(retry_after),
        Access::Challenge(values) => {
            let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
            for value in values {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::WWW_AUTHENTICATE, value);
                }
            }
            response
        }
    }
}

/// Where the token paths start.
const TOKEN_PREFIX: &str = "/p/";

async fn fetch(
    State(state): State<ProvisionState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let snapshot = state.snapshots.borrow().clone();
    let config = &snapshot.config;
    let Some((mac, kind)) = parse_file_name(&file) else {
        return not_found().await;
    };
    let (Some(documents), Some(phone)) = (snapshot.catalog.phone(&mac), config.phone_by_mac(&mac)) else {
        return not_found().await;
    };
    // DPMA's rule: a phone without `network =` is on the network whose
    // cidr holds the address it asks from.
    let network = config.network_for(phone, peer.ip());
    tracing::info!(
        phone = phone.name.as_str(),
        file = %file,
        peer = %peer.ip(),
        network = network.unwrap_or("-"),
        "phone fetched {kind:?}"
    );
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    state.fetches.record(&phone.name, unix_now(), agent);
    let Some(documents) = documents_for_agent(documents, phone, &headers) else {
        return not_found().await;
    };
    serve(documents.get_on(kind, network), &headers)
}

/// The documents for the model the request's User-Agent names
/// (`PhoneModel::from_user_agent`). A phone whose `model` is set gets its
/// own, with a warning when its User-Agent says otherwise; one without gets
/// the variant for the model it names, or nothing when it names none.
fn documents_for_agent<'a>(
    documents: &'a PhoneDocuments,
    phone: &crate::config::Phone,
    headers: &HeaderMap,
) -> Option<&'a PhoneDocuments> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let said = PhoneModel::from_user_agent(agent);
    match (phone.model, said) {
        (Some(set), Some(said)) if set != said => tracing::warn!(
            phone = %phone.name,
            configured = %set,
            user_agent = %said,
            "model mismatch: phones.toml says {set}, the phone says it is a {said}; serving the {set} documents"
        ),
        (None, None) => tracing::warn!(
            phone = %phone.name,
            "phone has no model and its User-Agent names none: set `model` in phones.toml"
        ),
        _ => {}
    }
    documents.for_model(said)
}

async fn fetch_by_token(
    State(state): State<ProvisionState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let snapshot = state.snapshots.borrow().clone();
    let config = &snapshot.config;
    let found = parse_file_name(&file)
        .filter(|(_, kind)| *kind != DocumentKind::Config)
        .and_then(|(mac, kind)| Some((snapshot.catalog.phone(&mac)?, config.phone_by_mac(&mac)?, kind)));
    let Some((documents, phone, kind)) = found.filter(|(documents, ..)| documents.token.matches(&token))
    else {
        // Unknown MAC, wrong token or a config: all the same 404, and a
        // guess counts towards the lock-out (which refuses guesses only).
        return match state.access.token_refused(peer.ip(), unix_now()) {
            Some(retry_after) => too_many_failures(retry_after),
            None => not_found().await,
        };
    };
    tracing::info!(phone = phone.name.as_str(), file = %file, peer = %peer.ip(), "phone fetched {kind:?} by token");
    let Some(documents) = documents_for_agent(documents, phone, &headers) else {
        return not_found().await;
    };
    serve(documents.get(kind), &headers)
}

/// A served file, with the provisioning credentials (checked by `guard`).
async fn fetch_file(
    State(state): State<ProvisionState>,
    method: Method,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let snapshot = state.snapshots.borrow().clone();
    match snapshot.config.served_file(&file) {
        Some(path) => serve_file(&path, &headers, method == Method::HEAD).await,
        None => not_found().await,
    }
}

/// A served file under a phone's token: the URL its config carries.
async fn fetch_file_by_token(
    State(state): State<ProvisionState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    Path((token, mac, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let snapshot = state.snapshots.borrow().clone();
    let phone = mac
        .parse()
        .ok()
        .and_then(|mac| snapshot.catalog.phone(&mac))
        .filter(|documents| documents.token.matches(&token));
    let path = phone.and_then(|_| snapshot.config.served_file(&file));
    let Some(path) = path else {
        state.access.token_refused(peer.ip(), unix_now());
        return not_found().await;
    };
    tracing::info!(file = %file, peer = %peer.ip(), "phone fetched a file by token");
    serve_file(&path, &headers, method == Method::HEAD).await
}

/// The document with its ETag, or 304 when the client has it already.
fn serve(document: &Document, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&document.etag).expect("ETags are quoted hex");
    if if_none_match(headers, &document.etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut response = Response::new(Body::from(document.body.clone()));
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response_headers.insert(header::ETAG, etag);
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(document.body.len()));
    response
}

/// 429 with `Retry-After` for a locked-out address.
fn too_many_failures(retry_after: u64) -> Response {
    let mut response = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins; try again later\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    response
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// One line per request: method, path (without query), status, bytes,
/// duration, peer. Never headers: they carry credentials.
async fn access_log(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method: Method = request.method().clone();
    let path = redact_token(request.uri().path());
    let response = next.run(request).await;
    let bytes = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    tracing::info!(
        target: "opendpma::access",
        %method,
        path = %path.escape_debug(),
        status = response.status().as_u16(),
        bytes,
        duration_us = started.elapsed().as_micros() as u64,
        peer = %peer,
        "http"
    );
    response
}

/// `/p/<token>/rest` → `/p/…/rest`: the token is a credential.
fn redact_token(path: &str) -> String {
    match path.strip_prefix(TOKEN_PREFIX) {
        Some(rest) => match rest.split_once('/') {
            Some((_, file)) => format!("{TOKEN_PREFIX}…/{file}"),
            None => format!("{TOKEN_PREFIX}…"),
        },
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_token;

    #[test]
    fn token_paths_are_logged_without_the_token() {
        assert_eq!(
            redact_token("/p/0123456789abcdef0123456789abcdef/0019159c1a2b-blf.xml"),
            "/p/…/0019159c1a2b-blf.xml"
        );
        assert_eq!(redact_token("/p/secret"), "/p/…");
        assert_eq!(redact_token("/0019159c1a2b.cfg"), "/0019159c1a2b.cfg");
    }
}
