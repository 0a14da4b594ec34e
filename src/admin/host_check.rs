//! DNS-rebinding guard for an admin API without a token.
//!
//! Without `[admin] token` the API answers anyone who reaches the
//! loopback listener. A web page the operator opens elsewhere can make
//! its own host name resolve to 127.0.0.1 ("DNS rebinding"); the browser
//! then treats our answers as that page's own origin, so the Origin and
//! CSRF checks pass: the page reads the dashboard (and its CSRF token) and
//! posts reloads, reconfigures and presence changes. What it cannot
//! change is the `Host` header, which names the attacker's domain. So
//! without a token the Host must be an IP literal or `localhost` /
//! `*.localhost`, names an attacker's DNS cannot answer for (RFC 6761
//! §6.3 lets resolvers and browsers keep them on loopback) — the host
//! check webpack-dev-server added against rebinding in 2.4.3 (its release
//! notes: `localhost` and 127.0.0.1 pass, other names must be allowed).
//! With a token the browser sends no cookie to a foreign host name, so
//! nothing more is needed. `/healthz` stays open to monitors addressing
//! the host by name.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::json::error_response;
use super::state::AdminState;

/// Refuses token-less requests whose Host could be a rebound name.
pub async fn loopback_host(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    if state.token().is_some() || request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or(""));
    match host {
        Some(host) if !safe_host(host) => {
            tracing::warn!(target: "opendpma::auth", "admin request for a foreign Host refused (no admin token set)");
            error_response(
                StatusCode::FORBIDDEN,
                "without an [admin] token the admin API answers only to http://127.0.0.1, http://[::1] \
                 or http://localhost (set a token to use other names)",
            )
            .into_response()
        }
        // No Host at all is no browser (HTTP/1.1 browsers always send one).
        _ => next.run(request).await,
    }
}

/// An IP literal, `localhost` or a name under `.localhost`, with or
/// without a port.
fn safe_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(rest) => {
            return rest
                .split(']')
                .next()
                .is_some_and(|ip| ip.parse::<IpAddr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::safe_host;

    #[test]
    fn only_literals_and_localhost_are_safe() {
        for host in [
            "127.0.0.1:8089",
            "127.0.0.1",
            "[::1]:8089",
            "localhost:8089",
            "LOCALHOST.",
            "admin.localhost:8089",
        ] {
            assert!(safe_host(host), "{host}");
        }
        for host in [
            "evil.example:8089",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:8089",
            "[evil]:8089",
            "",
        ] {
            assert!(!safe_host(host), "{host}");
        }
    }
}
