//! The admin API's client, used by the CLI's `presence`, `device` and
//! `hints` commands: finds the server (flags, else the config's
//! `[admin]`), sends the request and hands back the JSON answer or the
//! server's refusal. Turning answers into tables is `admin::table`'s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;

use crate::cli::AdminTarget;
use crate::config::Config;

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot find the admin API: {0} (pass --admin-url)")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot reach the admin API at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    /// The server refused; its own message.
    #[error("{0}")]
    Refused(String),
}

/// A connection to a running server's admin API.
pub struct AdminClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    pub json: bool,
}

impl AdminClient {
    /// Resolves the URL and token from flags, environment and config.
    pub fn new(target: &AdminTarget) -> Result<Self, ClientError> {
        let (base, config_token) = match &target.admin_url {
            Some(url) => (url.trim_end_matches('/').to_owned(), None),
            None => {
                let config = Config::load(&target.config)?;
                let listen = config.admin.listen;
                // A wildcard listener is reached on loopback.
                let host = if listen.ip().is_unspecified() {
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
                } else {
                    listen
                };
                let token = config.admin.token.map(|t| t.expose().to_owned());
                (format!("http://{host}"), token)
            }
        };
        Ok(Self {
            base,
            token: target.token.clone().or(config_token),
            http: reqwest::Client::new(),
            json: target.json,
        })
    }

    /// Sends a request; returns the JSON answer or the server's refusal.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unreachable = |source| ClientError::Unreachable {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            Ok(value)
        } else {
            let message = value
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| value.to_string(), str::to_owned);
            Err(ClientError::Refused(format!(
                "{message} (HTTP {})",
                status.as_u16()
            )))
        }
    }
}

/// `2000` → `CustomPresence:2000`; names with a label stay as they are.
pub fn with_label(name: &str, label: &str) -> String {
    if name.contains(':') {
        name.to_owned()
    } else {
        format!("{label}{name}")
    }
}

/// Percent-encodes a path segment (provider names may hold `#` or `+`).
pub fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_added_and_segments_encoded() {
        assert_eq!(with_label("2000", "CustomPresence:"), "CustomPresence:2000");
        assert_eq!(
            with_label("CustomPresence:x", "CustomPresence:"),
            "CustomPresence:x"
        );
        assert_eq!(path_segment("Custom:a#b c"), "Custom:a%23b%20c");
    }
}
