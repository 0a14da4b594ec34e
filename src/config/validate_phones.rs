//! Phones: every reference a phone makes (lines, contacts, network,
//! external lines, alerts, ringtones, paging groups, firmware, contact
//! groups) checked against the entries, its model's key limits, and the
//! files it names.

use std::collections::{HashMap, HashSet};

use toml::Spanned;

use super::alerts::Ringtone;
use super::document::Document;
use super::firmware;
use super::key_limits::KeyLimit;
use super::model::Phone;
use super::phonebook;
use super::problem::{Problem, path_segment};
use super::references::unknown_references;
use super::validate::Checker;

impl Checker<'_, '_> {
    pub(super) fn phones(
        &mut self,
        document: &Document,
        contacts: &[phonebook::Contact],
        images: &[firmware::Firmware],
        tone_names: &HashSet<&str>,
    ) -> Vec<Phone> {
        let groups: HashSet<&str> = contacts.iter().map(|c| c.group.as_str()).collect();
        // Indexed once: a site has thousands of phones, each naming a dozen
        // lines, and a scan per reference made `check` quadratic.
        let line_names = document.names("lines", &document.lines);
        let network_names = document.names("networks", &document.networks);
        let external_names = document.names("external_lines", &document.external_lines);
        let alert_names = document.names("alerts", &document.alerts);
        let paging_names = document.names("paging", &document.paging);
        let line_exists = |name: &str| line_names.contains(name);
        let mut macs: HashMap<String, String> = HashMap::new();
        let mut phones = Vec::new();
        for phone in &document.phones {
            let (name, entry) = (&phone.name, &phone.value);
            let path = format!("phones.{}", path_segment(name.get_ref()));
            let own_lines = entry.lines.as_ref().map_or(&[][..], |lines| lines.get_ref());
            if own_lines.is_empty() && (entry.lines.is_some() || !phone.has("lines")) {
                let span = entry.lines.as_ref().map_or(name.span(), |lines| lines.span());
                self.push(
                    span,
                    format!("{path}.lines"),
                    "a phone needs at least one line".into(),
                );
            }
            for (key, references) in [("lines", own_lines), ("contacts", &entry.contacts[..])] {
                let mut seen = HashSet::new();
                for reference in references {
                    if !line_exists(reference.get_ref()) {
                        self.push(
                            reference.span(),
                            format!("{path}.{key}"),
                            format!("{:?} is not a [lines] entry", reference.get_ref()),
                        );
                    } else if !seen.insert(reference.get_ref().as_str()) {
                        // Twice in one list would be two accounts with one
                        // username, or two phonebook contacts with one `id`
                        // (which the Smart BLF `contact_id` must name uniquely).
                        self.push(
                            reference.span(),
                            format!("{path}.{key}"),
                            format!("{:?} is listed twice", reference.get_ref()),
                        );
                    }
                }
            }
            let network = match &entry.network {
                Some(network) => {
                    if !network_names.contains(network.get_ref().as_str()) {
                        self.push(
                            network.span(),
                            format!("{path}.network"),
                            format!("{:?} is not a [networks] entry", network.get_ref()),
                        );
                    }
                    Some(network.get_ref().clone())
                }
                // Chosen per request: the network whose cidr holds the
                // phone's address (DPMA's rule; `Config::network_for`).
                None => None,
            };
            // Without `model` the phone's User-Agent says which it is
            // (`Digium D65 2_9_27`); a model that was given but refused is not
            // taken as "unset".
            let Some(mac) = &entry.mac else {
                if !phone.has("mac") {
                    self.push(name.span(), path.clone(), "missing key `mac`".into());
                }
                continue;
            };
            let model = entry.model;
            if model.is_none() && phone.has("model") {
                continue;
            }
            if let Some(other) = macs.insert(mac.get_ref().to_string(), name.get_ref().clone()) {
                self.push(
                    mac.span(),
                    format!("{path}.mac"),
                    format!("duplicate MAC {} (also used by phone {other:?})", mac.get_ref()),
                );
            }
            match model {
                Some(model) => self.model_limits(&path, entry, model),
                None => self.any_model_limits(&path, entry),
            }
            let device = super::phone_settings::device_settings(self.source, &path, entry, self.problems);
            let external = entry.external_lines.as_deref().unwrap_or_default();
            let phone_alerts = entry.alerts.as_deref().unwrap_or_default();
            let phone_paging = entry.paging.as_deref().unwrap_or_default();
            let phone_tones = entry.ringtones.as_deref().unwrap_or_default();
            for (section, references, known) in [
                ("external_lines", external, &external_names),
                ("alerts", phone_alerts, &alert_names),
                ("paging", phone_paging, &paging_names),
                ("ringtones", phone_tones, tone_names),
            ] {
                unknown_references(self.source, &path, section, references, known, self.problems);
            }
            let active_ringtone = entry.active_ringtone.as_ref().and_then(|tone| {
                let key = format!("{path}.active_ringtone");
                Ringtone::checked(self.source, key, tone, tone_names, self.problems)
            });
            let firmware = firmware::for_phone(
                self.source,
                &path,
                model,
                entry.firmware.as_ref(),
                name.span(),
                images,
                self.problems,
            );
            let contact_groups = entry.contact_groups.as_deref().unwrap_or_default();
            phonebook::phone_groups(
                self.source,
                &path,
                contact_groups,
                entry.blf_contact_group.as_ref(),
                &groups,
                self.problems,
            );
            let mac = mac.get_ref();
            phones.push(Phone {
                name: name.get_ref().clone(),
                mac: mac.clone(),
                model,
                login_password: entry.login_password.clone(),
                full_name: entry.full_name.clone(),
                lines: own_lines.iter().map(|l| l.get_ref().clone()).collect(),
                contacts: entry.contacts.iter().map(|l| l.get_ref().clone()).collect(),
                network,
                timezone: entry.timezone.clone(),
                device,
                external_lines: external.iter().map(|l| l.get_ref().clone()).collect(),
                ringtones: downloaded_tones(document, phone_tones, phone_alerts, active_ringtone.as_ref()),
                alerts: phone_alerts.iter().map(|a| a.get_ref().clone()).collect(),
                active_ringtone,
                paging: phone_paging.iter().map(|g| g.get_ref().clone()).collect(),
                logo_file: self.image_file(&path, "logo_file", entry.logo_file.as_ref()),
                wallpaper_file: self.image_file(&path, "wallpaper_file", entry.wallpaper_file.as_ref()),
                firmware,
                contact_groups: contact_groups.iter().map(|g| g.get_ref().clone()).collect(),
                blf_contact_group: entry
                    .blf_contact_group
                    .as_ref()
                    .map_or_else(|| phonebook::LINES_GROUP.to_owned(), |g| g.get_ref().clone()),
                contact_actions: entry.contact_actions.clone().unwrap_or_default(),
            });
        }
        phones
    }

    /// The model's key limits (`KeyLimit`): too many lines are a problem,
    /// contacts beyond the BLF keys a warning.
    fn model_limits(
        &mut self,
        path: &str,
        entry: &super::entries::PhoneEntry,
        model: super::phone_model::PhoneModel,
    ) {
        // External lines are accounts too: each takes a line key.
        let lines = entry.lines.as_ref().map_or(0, |lines| lines.get_ref().len())
            + entry.external_lines.as_ref().map_or(0, Vec::len);
        match KeyLimit::check(model, lines, entry.contacts.len()) {
            Some(limit @ KeyLimit::TooManyLines { .. }) => {
                let span = entry.lines.as_ref().map_or(0..0, |lines| lines.span());
                self.push(span, format!("{path}.lines"), limit.message());
            }
            Some(limit @ KeyLimit::ContactsBeyondKeys { .. }) => {
                let span = entry.contacts.first().map_or(0..0, |first| first.span());
                self.warn(span, format!("{path}.contacts"), limit.message());
            }
            None => {}
        }
    }

    /// A phone whose model comes from its User-Agent must fit the model
    /// with the most line keys; the rest is checked per request.
    fn any_model_limits(&mut self, path: &str, entry: &super::entries::PhoneEntry) {
        let most = super::phone_model::PhoneModel::ALL
            .iter()
            .map(|m| m.line_keys())
            .max()
            .unwrap_or(0);
        let lines = entry.lines.as_ref().map_or(0, |lines| lines.get_ref().len())
            + entry.external_lines.as_ref().map_or(0, Vec::len);
        if lines > most {
            let span = entry.lines.as_ref().map_or(0..0, |lines| lines.span());
            self.push(
                span,
                format!("{path}.lines"),
                format!("no D-series model has more than {most} line keys (got {lines} lines)"),
            );
        }
    }

    /// A plain file name in `files_dir`, with its place for load-time checks.
    fn image_file(
        &mut self,
        path: &str,
        key: &str,
        logo: Option<&Spanned<String>>,
    ) -> Option<super::logo::LogoFile> {
        let logo = logo?;
        if !super::firmware::is_plain_file_name(logo.get_ref()) {
            self.push(
                logo.span(),
                format!("{path}.{key}"),
                format!(
                    "{:?} must be a plain file name inside [general] files_dir",
                    logo.get_ref()
                ),
            );
            return None;
        }
        let at = Problem::at(self.source, logo.span(), "", "");
        Some(super::logo::LogoFile {
            file: logo.get_ref().clone(),
            line: at.line,
            column: at.column,
        })
    }
}

/// The `[ringtones]` a phone downloads: those it lists, then those its
/// alerts and its `active_ringtone` name (a tone named but not downloaded
/// would not play), each once. Alerts with problems are skipped: their
/// problem is reported where they are.
fn downloaded_tones(
    document: &Document,
    listed: &[Spanned<String>],
    alerts: &[Spanned<String>],
    active: Option<&Ringtone>,
) -> Vec<String> {
    let by_alert = alerts.iter().filter_map(|alert| {
        let entry = document
            .alerts
            .iter()
            .find(|a| a.name.get_ref() == alert.get_ref())?;
        entry.value.ringtone.as_ref().map(|tone| tone.get_ref().as_str())
    });
    let is_user_tone = |name: &&str| document.ringtones.iter().any(|t| t.name.get_ref() == name);
    let mut tones: Vec<String> = Vec::new();
    let names = listed.iter().map(|t| t.get_ref().as_str());
    let names = names
        .chain(by_alert)
        .chain(active.filter(|t| !t.is_built_in()).map(Ringtone::as_str));
    for name in names.filter(is_user_tone) {
        if !tones.iter().any(|t| t == name) {
            tones.push(name.to_owned());
        }
    }
    tones
}
