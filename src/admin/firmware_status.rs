//! `GET /api/v1/firmware` and the dashboard's firmware table: which phone
//! runs which firmware (from the User-Agent of its last config fetch), the
//! version the config gives it, whether it is behind, and whether the model
//! it says it is differs from the one phones.toml sets (the provisioning
//! log says so on each such fetch too).
//!
//! The User-Agent is Digium's `Digium <MODEL> <VERSION>` (FreePBX's
//! digium_phones module reads the model from it;
//! e.g. `Digium D65 2_9_27`); the version is the word after the model, in
//! the `<firmware version>` spelling the phone compares with (Sangoma's
//! "Phones - XML Configuration").

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::state::AdminState;
use crate::config::{Config, PhoneModel};
use crate::provision_http::FetchLog;

/// One phone's firmware state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmwareStatus {
    pub phone: String,
    /// `model` in phones.toml, if set.
    pub configured_model: Option<&'static str>,
    /// The model its User-Agent names.
    pub reported_model: Option<&'static str>,
    /// Both known and different.
    pub model_mismatch: bool,
    /// The version its User-Agent names; `None` until it fetched.
    pub running: Option<String>,
    /// The `[firmware]` version the config gives it, if any.
    pub target: Option<String>,
    /// Runs a version other than `target` (the phone flashes `target` on
    /// its next fetch: a rollout still under way).
    pub behind: bool,
}

/// The firmware version in a Digium User-Agent: the word after the model.
fn version_from_user_agent(agent: &str) -> Option<String> {
    let mut words = agent.split_whitespace();
    words.find(|word| word.parse::<PhoneModel>().is_ok())?;
    let version = words.next()?;
    let looks_like_one = version.chars().next().is_some_and(|c| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.');
    looks_like_one.then(|| version.to_owned())
}

/// Every phone's status, in config order.
pub fn statuses(config: &Config, fetches: &FetchLog) -> Vec<FirmwareStatus> {
    config
        .phones
        .iter()
        .map(|phone| {
            let agent = fetches.user_agent(&phone.name).unwrap_or_default();
            let reported = PhoneModel::from_user_agent(&agent);
            let running = version_from_user_agent(&agent);
            let model = phone.model.or(reported);
            let target = match &phone.firmware {
                Some(name) => config.firmware_named(name),
                None => model.and_then(|model| config.firmware_for_model(model)),
            }
            .filter(|image| model.is_none_or(|model| image.model == model))
            .map(|image| image.version.clone());
            FirmwareStatus {
                phone: phone.name.clone(),
                configured_model: phone.model.map(PhoneModel::as_str),
                reported_model: reported.map(PhoneModel::as_str),
                model_mismatch: matches!((phone.model, reported), (Some(set), Some(said)) if set != said),
                behind: matches!((&running, &target), (Some(running), Some(target)) if running != target),
                running,
                target,
            }
        })
        .collect()
}

pub async fn firmware(State(state): State<AdminState>) -> Json<Vec<FirmwareStatus>> {
    let config = state.snapshots.borrow().config.clone();
    Json(statuses(&config, &state.fetches))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn reads_the_version_after_the_model() {
        assert_eq!(
            version_from_user_agent("Digium D65 2_9_27").as_deref(),
            Some("2_9_27")
        );
        assert_eq!(
            version_from_user_agent("Sangoma D80 1_4_2_0_63880 0019159c1a2b").as_deref(),
            Some("1_4_2_0_63880")
        );
        assert_eq!(version_from_user_agent("Digium D65"), None);
        assert_eq!(version_from_user_agent("curl/8.0 D65 beta"), None);
        assert_eq!(version_from_user_agent(""), None);
    }

    /// A D65 rollout: one phone runs the configured version, one an older
    /// one (behind), one said it is a D45 while set to D65 (a mismatch),
    /// one never fetched (unknown, not behind).
    #[test]
    fn finds_phones_behind_and_model_mismatches() {
        let text = "[general]\nserver_address = \"pbx\"\n\
             [firmware.d65]\nmodel = \"D65\"\nversion = \"2_9_27\"\n\
             [lines.1]\nsecret = \"a\"\n[lines.2]\nsecret = \"a\"\n[lines.3]\nsecret = \"a\"\n[lines.4]\nsecret = \"a\"\n\
             [phones.current]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"1\"]\n\
             [phones.old]\nmac = \"001915000002\"\nlines = [\"2\"]\n\
             [phones.wrong]\nmac = \"001915000003\"\nmodel = \"D65\"\nlines = [\"3\"]\n\
             [phones.silent]\nmac = \"001915000004\"\nmodel = \"D65\"\nlines = [\"4\"]\n";
        let config = Config::parse(text, Path::new("phones.toml")).expect("valid");
        let fetches = FetchLog::default();
        fetches.record("current", 1, "Digium D65 2_9_27");
        fetches.record("old", 1, "Digium D65 2_8_1");
        fetches.record("wrong", 1, "Digium D45 2_9_27");
        let status = statuses(&config, &fetches);
        let by = |name: &str| status.iter().find(|s| s.phone == name).expect("phone");
        assert!(!by("current").behind && !by("current").model_mismatch);
        let old = by("old");
        assert_eq!(
            (old.running.as_deref(), old.target.as_deref(), old.behind),
            (Some("2_8_1"), Some("2_9_27"), true),
            "no model set: the User-Agent's model picks the firmware entry"
        );
        let wrong = by("wrong");
        assert!(wrong.model_mismatch);
        assert_eq!(
            (wrong.configured_model, wrong.reported_model),
            (Some("D65"), Some("D45"))
        );
        let silent = by("silent");
        assert_eq!((silent.running.as_deref(), silent.behind), (None, false));
    }
}
