//! From a read `Document` to a `Config`: defaults that depend on other
//! values, and every rule that spans more than one value. One small function
//! per rule, each pushing its own problems.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use toml::Spanned;

use super::alerts;
use super::document::Document;
use super::extension::Extension;
use super::firmware;
use super::key_limits::KeyLimit;
use super::model::{Config, HintDefinition, Index, Line, Phone};
use super::phonebook;
use super::problem::{LineStarts, Problem, path_segment};
use super::registration::{self, LineSip};

/// Builds the model, or pushes the problems that prevent it.
pub fn validate(
    mut document: Document,
    source: &str,
    file: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Config> {
    let mut warnings = Vec::new();
    let mut check = Checker {
        source,
        problems,
        warnings: &mut warnings,
        line_starts: std::mem::take(&mut document.line_starts),
    };
    check.sections(&document);
    check.network_cidrs(&document);
    let lines = check.lines(&document);
    let line_extens = lines.iter().map(|line| line.exten.to_string()).collect();
    let contacts = phonebook::contacts(source, &document.contacts, &line_extens, check.problems);
    let firmware = firmware::firmware(source, &document.firmware, check.problems);
    let external_lines = registration::external_lines(source, &document.external_lines, check.problems);
    let alerts = alerts::alerts(source, &document.alerts, check.problems);
    let phones = check.phones(&document, &contacts, &firmware);
    let hints = check.hints(&document, &lines);
    let mut general = document.general.take()?;
    // Relative paths mean "next to phones.toml", wherever we were started.
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let paths = [
        Some(&mut general.data_dir),
        Some(&mut general.files_dir),
        document.http.tls_cert.as_mut(),
        document.http.tls_key.as_mut(),
        document.sip.tls_cert.as_mut(),
        document.sip.tls_key.as_mut(),
    ];
    for path in paths.into_iter().flatten() {
        if path.is_relative() {
            *path = folder.join(&*path);
        }
    }
    if !check.problems.is_empty() {
        return None;
    }
    let index = Index::build(&lines, &phones);
    Some(Config {
        source: file.to_path_buf(),
        general,
        http: document.http,
        sip: document.sip,
        admin: document.admin,
        limits: document.limits,
        asterisk: document.asterisk,
        networks: document
            .networks
            .into_iter()
            .map(|network| (network.name.into_inner(), network.value))
            .collect(),
        lines,
        phones,
        contacts,
        firmware,
        external_lines,
        alerts,
        file_md5: HashMap::new(),
        warnings,
        hints,
        origins: document.origins,
        index,
    })
}

struct Checker<'s, 'p> {
    source: &'s str,
    problems: &'p mut Vec<Problem>,
    warnings: &'p mut Vec<Problem>,
    /// Built at the first problem or warning.
    /// The document's, taken over: located once per file, not per problem.
    line_starts: LineStarts,
}

impl Checker<'_, '_> {
    fn locate(&self, span: std::ops::Range<usize>, path: String, message: String) -> Problem {
        self.line_starts.problem(self.source, span, path, message)
    }

    fn push(&mut self, span: std::ops::Range<usize>, path: String, message: String) {
        let problem = self.locate(span, path, message);
        self.problems.push(problem);
    }

    fn warn(&mut self, span: std::ops::Range<usize>, path: String, message: String) {
        let problem = self.locate(span, path, message);
        self.warnings.push(problem);
    }

    /// Two networks with one `cidr`: the address picks the first
    /// (`Config::network_for`), so the later one only serves phones that
    /// name it. Legal, but rarely meant, so a warning.
    fn network_cidrs(&mut self, document: &Document) {
        let mut firsts: HashMap<_, &str> = HashMap::new();
        for network in &document.networks {
            let name = network.name.get_ref();
            let first = *firsts.entry(network.value.cidr).or_insert(name);
            if first != name {
                self.warn(
                    network.name.span(),
                    format!("networks.{}.cidr", path_segment(name)),
                    format!(
                        "same cidr as network {first:?}, which phones there get by address; \
                         only phones with `network = {name:?}` use this one"
                    ),
                );
            }
        }
    }

    /// The model's key limits (`KeyLimit`): too many lines are a problem,
    /// contacts beyond the BLF keys a warning.
    fn model_limits(&mut self, path: &str, entry: &super::entries::PhoneEntry, model: super::PhoneModel) {
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
        let most = super::PhoneModel::ALL
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
    fn logo_file(&mut self, path: &str, logo: Option<&Spanned<String>>) -> Option<super::logo::LogoFile> {
        let logo = logo?;
        if !super::firmware::is_plain_file_name(logo.get_ref()) {
            self.push(
                logo.span(),
                format!("{path}.logo_file"),
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

    fn section_span(document: &Document, name: &str) -> std::ops::Range<usize> {
        document
            .section_spans
            .iter()
            .find(|(section, _)| *section == name)
            .map_or(0..0, |(_, span)| span.clone())
    }

    fn sections(&mut self, document: &Document) {
        let sip = &document.sip;
        if sip.min_expires == 0 || sip.min_expires > sip.max_expires {
            let span = Self::section_span(document, "sip");
            self.push(
                span,
                "sip.min_expires".into(),
                format!(
                    "min_expires ({}) must be at least 1 and at most max_expires ({})",
                    sip.min_expires, sip.max_expires
                ),
            );
        }
        if sip.digest_algorithms.is_empty() {
            let span = Self::section_span(document, "sip");
            self.push(
                span,
                "sip.digest_algorithms".into(),
                "offer at least one of \"SHA-256\", \"MD5\"".into(),
            );
        }
        let http = &document.http;
        for (section, cert, key) in [
            ("http", http.tls_cert.is_some(), http.tls_key.is_some()),
            ("sip", sip.tls_cert.is_some(), sip.tls_key.is_some()),
        ] {
            if cert != key {
                let span = Self::section_span(document, section);
                self.push(
                    span,
                    section.into(),
                    "tls_cert and tls_key must be set together".into(),
                );
            }
        }
        let has_tls_listener = sip.listen.iter().any(|l| l.transport == super::Transport::Tls);
        if has_tls_listener && sip.tls_cert.is_none() && http.tls_cert.is_none() {
            let span = Self::section_span(document, "sip");
            self.push(
                span,
                "sip.listen".into(),
                "a tls: listener needs a certificate: set [sip] (or [http]) tls_cert and tls_key".into(),
            );
        }
        if http.username.is_some() != http.password.is_some() {
            let span = Self::section_span(document, "http");
            self.push(
                span,
                "http".into(),
                "username and password must be set together (or both left out)".into(),
            );
        }
    }

    /// Lines with defaults applied; duplicate extensions and authnames are
    /// refused because SUBSCRIBE targets and digest users must be unambiguous.
    fn lines(&mut self, document: &Document) -> Vec<Line> {
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
                sip: LineSip {
                    digit_map: entry.digit_map.clone(),
                    outbound_proxy: entry
                        .outboundproxy_address
                        .clone()
                        .map(|address| (address, entry.outboundproxy_port.unwrap_or(5060))),
                    transport: entry.transport,
                    media_encryption: entry.media_encryption,
                    reregistration_timeout: entry.reregistration_timeout,
                    registration_retry_interval: entry.registration_retry_interval,
                    registration_max_retries: entry.registration_max_retries,
                    plar_number: entry.plar_number.clone(),
                },
            });
        }
        lines
    }

    fn phones(
        &mut self,
        document: &Document,
        contacts: &[phonebook::Contact],
        images: &[firmware::Firmware],
    ) -> Vec<Phone> {
        let groups: HashSet<&str> = contacts.iter().map(|c| c.group.as_str()).collect();
        // Entries with problems of their own still count as existing: one
        // mistake is reported once, where it is.
        // Indexed once: a site has thousands of phones, each naming a dozen
        // lines, and a scan per reference made `check` quadratic.
        let broken = |section: &'static str| {
            let entries = document.broken_entries.iter();
            entries
                .filter(move |(s, _)| s == section)
                .map(|(_, name)| name.as_str())
        };
        let line_names: HashSet<&str> = document
            .lines
            .iter()
            .map(|l| l.name.get_ref().as_str())
            .chain(broken("lines"))
            .collect();
        let network_names: HashSet<&str> = document
            .networks
            .iter()
            .map(|n| n.name.get_ref().as_str())
            .chain(broken("networks"))
            .collect();
        let line_exists = |name: &str| line_names.contains(name);
        let external_names: HashSet<&str> = document
            .external_lines
            .iter()
            .map(|l| l.name.get_ref().as_str())
            .chain(broken("external_lines"))
            .collect();
        let alert_names: HashSet<&str> = document
            .alerts
            .iter()
            .map(|a| a.name.get_ref().as_str())
            .chain(broken("alerts"))
            .collect();
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
            // (reference §1.5); a model that was given but refused is not
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
            registration::check_references(self.source, &path, external, &external_names, self.problems);
            let phone_alerts = entry.alerts.as_deref().unwrap_or_default();
            alerts::check_references(self.source, &path, phone_alerts, &alert_names, self.problems);
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
                alerts: phone_alerts.iter().map(|a| a.get_ref().clone()).collect(),
                active_ringtone: entry.active_ringtone.clone(),
                logo_file: self.logo_file(&path, entry.logo_file.as_ref()),
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

    /// Every line's automatic hint, then `[hints]` entries overriding or adding.
    /// Beside Asterisk a line's device is its PJSIP endpoint, as in DPMA's
    /// automatic hints (`PJSIP/<line>,CustomPresence:<line>`).
    fn hints(&mut self, document: &Document, lines: &[Line]) -> Vec<HintDefinition> {
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
