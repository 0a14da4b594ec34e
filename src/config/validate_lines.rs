//! Lines and hints: each line with its defaults applied (duplicate
//! extensions and authnames refused), and every line's automatic hint
//! with the `[hints]` overrides.

use std::collections::HashMap;

use toml::Spanned;

use super::document::Document;
use super::extension::Extension;
use super::model::{HintDefinition, Line};
use super::problem::path_segment;
use super::registration::LineSip;
use super::validate::Checker;

impl Checker<'_, '_> {
    /// Lines with defaults applied; duplicate extensions and authnames are
    /// refused because SUBSCRIBE targets and digest users must be unambiguous.
    pub(super) fn lines(&mut self, document: &Document) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut extens: HashMap<Extension, String> = HashMap::new();
        let mut authnames: HashMap<String, String> = HashMap::new();
        for line in &document.lines {
            let (name, entry) = (&line.name, &line.value);
            let path = format!("lines.{}", path_segment(name.get_ref()));
            if entry.secret.is_none() && !line.has("secret") {
                self.push(
                    name.span(),
                    path.clone(),
                    "missing key `secret` (the SIP password)".into(),
                );
            }
            let exten = match &entry.exten {
                Some(exten) => exten.clone(),
                None => match name.get_ref().parse::<Extension>() {
                    Ok(exten) => Spanned::new(name.span(), exten),
                    Err(error) => {
                        self.push(
                            name.span(),
                            path.clone(),
                            format!("the line name is not an extension, so `exten` must be set: {error}"),
                        );
                        continue;
                    }
                },
            };
            if let Some(other) = extens.insert(exten.get_ref().clone(), name.get_ref().clone()) {
                self.push(
                    exten.span(),
                    format!("{path}.exten"),
                    format!(
                        "duplicate extension {} (also used by line {other:?})",
                        exten.get_ref()
                    ),
                );
            }
            let authname = entry.authname.clone().unwrap_or_else(|| name.get_ref().clone());
            if let Some(other) = authnames.insert(authname.clone(), name.get_ref().clone()) {
                self.push(
                    name.span(),
                    format!("{path}.authname"),
                    format!("duplicate authname {authname:?} (also used by line {other:?})"),
                );
            }
            let Some(secret) = entry.secret.clone() else {
                continue;
            };
            let exten = exten.into_inner();
            lines.push(Line {
                name: name.get_ref().clone(),
                label: entry.label.clone().unwrap_or_else(|| exten.to_string()),
                exten,
                authname,
                secret,
                callerid: entry.callerid.clone(),
                mailbox: entry.mailbox.clone(),
                voicemail: entry.voicemail.clone(),
                sip: LineSip::from_entry(entry),
            });
        }
        lines
    }

    /// Every line's automatic hint, then `[hints]` entries overriding or adding.
    /// Beside Asterisk a line's device is its PJSIP endpoint, as in DPMA's
    /// automatic hints (`PJSIP/<line>,CustomPresence:<line>`).
    pub(super) fn hints(&mut self, document: &Document, lines: &[Line]) -> Vec<HintDefinition> {
        let device_label = if document.asterisk.is_some() {
            "PJSIP/"
        } else {
            "Custom:"
        };
        let mut hints: Vec<HintDefinition> = lines
            .iter()
            .map(|line| HintDefinition {
                exten: line.exten.clone(),
                devices: vec![format!("{device_label}{}", line.name)],
                presence: vec![format!("CustomPresence:{}", line.name)],
            })
            .collect();
        for hint in &document.hints {
            let (key, entry) = (&hint.name, &hint.value);
            let path = format!("hints.{}", path_segment(key.get_ref()));
            let exten = match key.get_ref().parse::<Extension>() {
                Ok(exten) => exten,
                Err(error) => {
                    self.push(key.span(), path, error.to_string());
                    continue;
                }
            };
            let devices = self.sources(&path, "devices", entry.devices.as_deref(), "Custom:");
            let presence = self.sources(&path, "presence", entry.presence.as_deref(), "CustomPresence:");
            match hints.iter_mut().find(|hint| hint.exten == exten) {
                Some(hint) => {
                    if let Some(devices) = devices {
                        hint.devices = devices;
                    }
                    if let Some(presence) = presence {
                        hint.presence = presence;
                    }
                }
                None => hints.push(HintDefinition {
                    exten,
                    devices: devices.unwrap_or_default(),
                    presence: presence.unwrap_or_default(),
                }),
            }
        }
        hints
    }

    /// Checks that every source has the expected `Label:` prefix and a name.
    fn sources(
        &mut self,
        path: &str,
        key: &str,
        sources: Option<&[Spanned<String>]>,
        prefix: &str,
    ) -> Option<Vec<String>> {
        let sources = sources?;
        let mut valid = Vec::new();
        for source in sources {
            let text = source.get_ref();
            // `get` rather than slicing: a multi-byte character may straddle
            // the prefix length (found by the mutation test).
            let has_prefix = text.len() > prefix.len()
                && text
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix));
            if has_prefix {
                valid.push(format!("{prefix}{}", &text[prefix.len()..]));
            } else {
                self.push(
                    source.span(),
                    format!("{path}.{key}"),
                    format!("{text:?} must look like {prefix}<name>"),
                );
            }
        }
        Some(valid)
    }
}
