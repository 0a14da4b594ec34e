//! What protects the admin surface from browsers and guessers: CSRF
//! tokens and an Origin check on every state-changing request, security
//! headers on every response, and a lock-out for wrong admin tokens.
//!
//! CSRF: the dashboard authenticates by cookie, and with no token set it
//! needs none at all, so a page on another site could make a visitor's
//! browser POST to it. Every request that is not GET/HEAD and comes from
//! a browser (it carries a cookie, an `Origin` or `Sec-Fetch-Site`) must
//! (a) have an `Origin`, if any, equal to our own (OWASP CSRF cheat sheet,
//! "Verifying Origin With Standard Headers") and (b) carry the CSRF token
//! in `X-CSRF-Token` (the form field `csrf` for the sign-out form). The
//! token is an HMAC of the session (the cookie's admin token) under a
//! per-process key, so another site cannot compute it and it needs no
//! table. Requests with `Authorization: Bearer` (the CLI, scripts) are not
//! forgeable by a browser without a CORS preflight we never answer, and
//! pass. `/login` has no session yet: the Origin check alone guards it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::credentials::{cookie_token, has_bearer};
use super::json::error_response;
use crate::auth::{Lockout, LockoutPolicy, Verdict};
use crate::wall_clock::unix_now;

/// The header the dashboard's script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The user name admin-token failures are counted under.
const ADMIN_USER: &str = "admin-token";

/// Sent with every admin response. The dashboard loads only its own
/// script, style and API (no inline code), so `'self'` is all it needs;
/// it must never be framed (clickjacking of its buttons).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Shared by the admin handlers: the CSRF key and the token lock-out.
pub struct Protection {
    csrf_key: [u8; 32],
    lockout: Mutex<Lockout>,
}

impl Protection {
    pub fn new(policy: LockoutPolicy) -> Self {
        let mut csrf_key = [0; 32];
        getrandom::fill(&mut csrf_key).expect("the OS random source is available");
        Self {
            csrf_key,
            lockout: Mutex::new(Lockout::new(policy)),
        }
    }

    /// The CSRF token for the session that presents `session` (the
    /// cookie's admin token; empty without one).
    pub fn csrf_token(&self, session: Option<&str>) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.csrf_key).expect("HMAC accepts any key length");
        mac.update(session.unwrap_or_default().as_bytes());
        crate::hex::lower(&mac.finalize().into_bytes())
    }

    /// Whether `presented` is the CSRF token for the request's session.
    pub fn csrf_matches(&self, headers: &HeaderMap, presented: &str) -> bool {
        let expected = self.csrf_token(cookie_token(headers));
        expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// Seconds until `ip` may try a token again, if it is locked out.
    pub fn locked_out(&self, ip: IpAddr) -> Option<u64> {
        let now = unix_now();
        match self.lockout().check_user(ip, ADMIN_USER, now) {
            Verdict::LockedOut { until } => Some(until.saturating_sub(now).max(1)),
            Verdict::Allowed => None,
        }
    }

    /// A wrong admin token from `ip` (logged in the fail2ban format).
    pub fn failed(&self, ip: IpAddr) {
        self.lockout().failed_login(ip, ADMIN_USER, "admin", unix_now());
    }

    /// The right admin token from `ip`.
    pub fn succeeded(&self, ip: IpAddr) {
        self.lockout().record_success(ip, ADMIN_USER);
    }

    fn lockout(&self) -> std::sync::MutexGuard<'_, Lockout> {
        self.lockout.lock().expect("lockout lock is never poisoned")
    }
}

/// The client's address. Both admin servers (plain and TLS) provide
/// `ConnectInfo`; without it (a router driven in-process) every request
/// counts as one unknown address, which errs towards locking out.
pub fn peer_ip(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| peer.ip())
}

/// A 429 telling the client when to try again.
pub fn too_many_failures(retry_after: u64) -> Response {
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too many wrong admin tokens from this address; try again later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// Whether the request's `Origin`, if any, is this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")));
    matches!((origin_host, host), (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host))
}

fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        || headers.contains_key(header::COOKIE)
        || headers.contains_key("sec-fetch-site")
}

/// Middleware over the whole admin router: CSRF/Origin checks, then the
/// security headers on whatever the handler answered.
pub async fn protect(
    axum::extract::State(protection): axum::extract::State<std::sync::Arc<Protection>>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let refusal = if safe {
        None
    } else if !same_origin(request.headers()) {
        Some("cross-site request refused (Origin is not this server)")
    } else if has_bearer(request.headers()) || !from_browser(request.headers()) {
        None
    } else {
        let path = request.uri().path();
        // /login has no session yet; /logout carries the token as a form
        // field and checks it itself.
        let exempt = path == "/login" || path == "/logout";
        let presented = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let valid = presented.is_some_and(|token| protection.csrf_matches(request.headers(), token));
        (!exempt && !valid).then_some("missing or wrong CSRF token (reload the dashboard)")
    };
    let mut response = match refusal {
        Some(reason) => {
            tracing::warn!(target: "opendpma::auth", path = request.uri().path(), reason, "admin request refused");
            error_response(StatusCode::FORBIDDEN, reason).into_response()
        }
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it browsers send `Origin: null` even on our
    // own form posts (Fetch, "serializing a request origin"), which the
    // Origin check would then refuse.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_must_be_this_host_when_present() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8089")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "http://127.0.0.1:8089")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8089"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session_and_process() {
        let protection = Protection::new(LockoutPolicy::default());
        let mine = headers(&[("cookie", "opendpma_token=abc")]);
        let token = protection.csrf_token(Some("abc"));
        assert!(protection.csrf_matches(&mine, &token));
        assert!(!protection.csrf_matches(&headers(&[("cookie", "opendpma_token=other")]), &token));
        assert!(!Protection::new(LockoutPolicy::default()).csrf_matches(&mine, &token));
    }
}
