//! The admin API's client, used by the CLI's `presence`, `device` and
//! `hints` commands: finds the server (flags, else the config's
//! `[admin]`), sends the request, and turns the answer into a table or
//! JSON for the terminal.

use std::fmt::Write;
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

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SSZ` (UTC), or `-`.
pub fn format_time(millis: Option<u64>) -> String {
    let Some(millis) = millis else {
        return "-".to_owned();
    };
    let seconds = millis / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Renders rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(text, "{cell:<width$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// One presence JSON object as a table row.
pub fn presence_row(value: &Value) -> Vec<String> {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', "\\n")
    };
    vec![
        text("provider"),
        text("state"),
        text("subtype"),
        text("message"),
        format_time(value.get("changed_at").and_then(Value::as_u64)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_unix_millis_as_utc() {
        assert_eq!(format_time(Some(0)), "1970-01-01 00:00:00Z");
        assert_eq!(format_time(Some(1_795_998_538_455)), "2026-11-30 00:28:58Z");
        assert_eq!(format_time(Some(951_782_400_000)), "2000-02-29 00:00:00Z");
        assert_eq!(format_time(None), "-");
    }

    #[test]
    fn tables_align_and_labels_are_added() {
        let rendered = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(rendered, "A    BB\nxyz  1\n");
        assert_eq!(with_label("2000", "CustomPresence:"), "CustomPresence:2000");
        assert_eq!(
            with_label("CustomPresence:x", "CustomPresence:"),
            "CustomPresence:x"
        );
        assert_eq!(path_segment("Custom:a#b c"), "Custom:a%23b%20c");
    }
}
