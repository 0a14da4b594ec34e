//! `GET /api/v1/lines` and `GET /api/v1/phones`: what the dashboard
//! shows — every line with its presence, extension state and watchers;
//! every phone with its model, MAC, last contact and last config fetch.
//! No secrets: lines are listed without their SIP passwords.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::state::AdminState;
use crate::presence::{ExtensionState, PresenceValue};
use crate::server::PhoneContact;

#[derive(Debug, Clone, Serialize)]
pub struct LineView {
    pub name: String,
    pub exten: String,
    pub label: String,
    pub phones: Vec<String>,
    pub presence: PresenceValue,
    pub extension_state: ExtensionState,
    pub extension_state_text: &'static str,
    pub watchers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhoneView {
    pub name: String,
    pub model: &'static str,
    pub mac: String,
    pub lines: Vec<String>,
    pub last_contact: Option<PhoneContact>,
    pub last_fetch: Option<u64>,
}

pub async fn lines_view(state: &AdminState) -> Vec<LineView> {
    let config = state.snapshots.borrow().config.clone();
    let mut watchers: HashMap<String, usize> = HashMap::new();
    for subscription in state.sip.subscriptions().await {
        *watchers.entry(subscription.exten).or_default() += 1;
    }
    config
        .lines
        .iter()
        .map(|line| {
            let hint = state.hub.hint_state(line.exten.as_str());
            let (_, presence) = state
                .hub
                .presence(&format!("CustomPresence:{}", line.name))
                .unwrap_or_else(|_| (String::new(), PresenceValue::not_set()));
            let extension_state = hint.map_or(ExtensionState::Unavailable, |h| h.extension_state);
            LineView {
                name: line.name.clone(),
                exten: line.exten.to_string(),
                label: line.label.clone(),
                phones: config
                    .phones_with_line(&line.name)
                    .map(|p| p.name.clone())
                    .collect(),
                presence,
                extension_state,
                extension_state_text: extension_state.text(),
                watchers: watchers.get(line.exten.as_str()).copied().unwrap_or(0),
            }
        })
        .collect()
}

pub async fn phones_view(state: &AdminState) -> Vec<PhoneView> {
    let config = state.snapshots.borrow().config.clone();
    let contacts = state.sip.contacts().await;
    config
        .phones
        .iter()
        .map(|phone| PhoneView {
            name: phone.name.clone(),
            model: phone.model.map_or("from User-Agent", |model| model.as_str()),
            mac: phone.mac.to_string(),
            lines: phone.lines.clone(),
            last_contact: contacts.get(&phone.name).cloned(),
            last_fetch: state.fetches.last(&phone.name),
        })
        .collect()
}

pub async fn lines(State(state): State<AdminState>) -> Json<Vec<LineView>> {
    Json(lines_view(&state).await)
}

pub async fn phones(State(state): State<AdminState>) -> Json<Vec<PhoneView>> {
    Json(phones_view(&state).await)
}
