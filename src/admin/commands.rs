//! The CLI's client commands (`presence`, `device`, `hints`) run against
//! the admin API: each returns the text to print (a table, or JSON with
//! `--json`); a refusal comes back as `ClientError::Refused` with the
//! server's own message.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{AdminClient, ClientError, path_segment, with_label};
use super::table::{cell, presence_row, rows, table};
use crate::cli::{DeviceCommand, PresenceCommand};

const PRESENCE_HEADER: [&str; 5] = ["PROVIDER", "STATE", "SUBTYPE", "MESSAGE", "SINCE"];

/// What a command prints: the answer as JSON with `--json`, else the
/// table `render` makes of it.
fn answer(client: &AdminClient, value: &Value, render: impl FnOnce(&Value) -> String) -> String {
    if client.json {
        format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())
    } else {
        render(value)
    }
}

pub async fn presence(command: PresenceCommand) -> Result<String, ClientError> {
    let (client, method, provider, body) = match command {
        PresenceCommand::List { target } => {
            let client = AdminClient::new(&target)?;
            let list = client.call(Method::GET, "/api/v1/presence", None).await?;
            return Ok(answer(&client, &list, |list| {
                table(&PRESENCE_HEADER, &rows(list, presence_row))
            }));
        }
        PresenceCommand::Get { provider, target } => {
            (AdminClient::new(&target)?, Method::GET, provider, None)
        }
        PresenceCommand::Clear { provider, target } => {
            (AdminClient::new(&target)?, Method::DELETE, provider, None)
        }
        PresenceCommand::Set {
            provider,
            state,
            subtype,
            message,
            target,
        } => {
            // `state,subtype,message` (Asterisk's form) unless flags say otherwise.
            let mut parts = state.splitn(3, ',');
            let state = parts.next().unwrap_or("").to_owned();
            let subtype = subtype.unwrap_or_else(|| parts.next().unwrap_or("").to_owned());
            let message = message.unwrap_or_else(|| parts.next().unwrap_or("").to_owned());
            let body = json!({ "state": state, "subtype": subtype, "message": message });
            (AdminClient::new(&target)?, Method::PUT, provider, Some(body))
        }
    };
    let path = format!(
        "/api/v1/presence/{}",
        path_segment(&with_label(&provider, "CustomPresence:"))
    );
    let value = client.call(method, &path, body).await?;
    Ok(answer(&client, &value, |value| {
        table(&PRESENCE_HEADER, &[presence_row(value)])
    }))
}

pub async fn device(command: DeviceCommand) -> Result<String, ClientError> {
    let (client, method, device, body) = match command {
        DeviceCommand::Get { device, target } => (AdminClient::new(&target)?, Method::GET, device, None),
        DeviceCommand::Set {
            device,
            state,
            target,
        } => (
            AdminClient::new(&target)?,
            Method::PUT,
            device,
            Some(json!({ "state": state })),
        ),
    };
    let path = format!(
        "/api/v1/devices/{}",
        path_segment(&with_label(&device, "Custom:"))
    );
    let value = client.call(method, &path, body).await?;
    Ok(answer(&client, &value, |value| {
        table(
            &["DEVICE", "STATE"],
            &[vec![cell(value, "device"), cell(value, "state")]],
        )
    }))
}

pub async fn hints(target: crate::cli::AdminTarget) -> Result<String, ClientError> {
    let client = AdminClient::new(&target)?;
    let hints = client.call(Method::GET, "/api/v1/hints", None).await?;
    Ok(answer(&client, &hints, |hints| {
        let rows = rows(hints, |hint| {
            let list = |key: &str| {
                hint.get(key)
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("&")
                    })
                    .unwrap_or_default()
            };
            let presence = hint.get("presence").cloned().unwrap_or_default();
            vec![
                cell(hint, "exten"),
                format!("{},{}", list("devices"), list("presence_providers")),
                cell(hint, "extension_state_text"),
                cell(&presence, "state"),
                cell(&presence, "subtype"),
                cell(&presence, "message"),
            ]
        });
        table(
            &["EXTEN", "HINT", "STATE", "PRESENCE", "SUBTYPE", "MESSAGE"],
            &rows,
        )
    }))
}

pub async fn reconfigure(phone: String, target: crate::cli::AdminTarget) -> Result<String, ClientError> {
    let client = AdminClient::new(&target)?;
    let path = format!("/api/v1/reconfigure/{}", path_segment(&phone));
    let reports = client.call(Method::POST, &path, None).await?;
    Ok(answer(&client, &reports, |reports| {
        let rows = rows(reports, |report| {
            // Not `cell`: a report's values may be numbers.
            let text = |key: &str| {
                report
                    .get(key)
                    .map(|v| v.as_str().map_or(v.to_string(), str::to_owned))
                    .unwrap_or_default()
            };
            let mut result = match report.get("code") {
                Some(code) => format!("{} {code}", text("result")),
                None => text("result"),
            };
            // Check-syncs sent through Asterisk name the endpoint, and a reason when they failed.
            if report.get("endpoint").is_some() {
                result.push_str(&format!(" (PJSIP/{})", text("endpoint")));
            }
            if report.get("reason").is_some() {
                result.push_str(&format!(": {}", text("reason")));
            }
            vec![text("phone"), result]
        });
        table(&["PHONE", "RESULT"], &rows)
    }))
}
