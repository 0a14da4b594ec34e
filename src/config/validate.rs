//! From a read `Document` to a `Config`: defaults that depend on other
//! values, and every rule that spans more than one value. One small function
//! per rule, each pushing its own problems: the sections here, lines and
//! hints in `validate_lines`, phones in `validate_phones`.

use std::collections::HashMap;
use std::path::Path;

use super::alerts;
use super::document::Document;
use super::firmware;
use super::model::{Config, Index};
use super::paging;
use super::phonebook;
use super::problem::{LineStarts, Problem, path_segment};
use super::registration;
use super::ringtones;

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
    let ringtones = ringtones::ringtones(source, &document.ringtones, check.problems);
    let paging = paging::paging(source, &document.paging, check.problems);
    let tone_names = document.names("ringtones", &document.ringtones);
    let alerts = alerts::alerts(source, &document.alerts, &tone_names, check.problems);
    let phones = check.phones(&document, &contacts, &firmware, &tone_names);
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
        ringtones,
        paging,
        file_md5: HashMap::new(),
        warnings,
        hints,
        origins: document.origins,
        index,
    })
}

pub(super) struct Checker<'s, 'p> {
    pub(super) source: &'s str,
    pub(super) problems: &'p mut Vec<Problem>,
    warnings: &'p mut Vec<Problem>,
    /// Built at the first problem or warning.
    /// The document's, taken over: located once per file, not per problem.
    line_starts: LineStarts,
}

impl Checker<'_, '_> {
    fn locate(&self, span: std::ops::Range<usize>, path: String, message: String) -> Problem {
        self.line_starts.problem(self.source, span, path, message)
    }

    pub(super) fn push(&mut self, span: std::ops::Range<usize>, path: String, message: String) {
        let problem = self.locate(span, path, message);
        self.problems.push(problem);
    }

    pub(super) fn warn(&mut self, span: std::ops::Range<usize>, path: String, message: String) {
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
        let has_tls_listener = sip
            .listen
            .iter()
            .any(|l| l.transport == super::listen_address::Transport::Tls);
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
}
