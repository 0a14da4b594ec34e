//! Reading phones.toml into typed sections and entries, collecting every
//! problem on the way.
//!
//! toml's recoverable parser yields a spanned tree plus all syntax errors.
//! Each section and each `[phones.X]`/`[lines.X]` entry is then read on its
//! own (`entry_reader`), so one bad entry never hides another.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::de::DeTable;

use super::alerts::AlertEntry;
use super::asterisk::Asterisk;
use super::entries::{HintEntry, LineEntry, PhoneEntry};
use super::entry::Entry;
use super::entry_reader::Reader;
use super::field_names::field_names;
use super::firmware::FirmwareEntry;
use super::paging::PagingEntry;
use super::phonebook::ContactEntry;
use super::problem::{LineStarts, Problem};
use super::profiles::{KeyOrigin, Profiles};
use super::registration::ExternalLineEntry;
use super::ringtones::RingtoneEntry;
use super::sections::{Admin, General, Http, Limits, Network, Sip};

/// The sections phones.toml may have, in the order the docs present them.
const SECTIONS: &[&str] = &[
    "general",
    "http",
    "sip",
    "admin",
    "limits",
    "asterisk",
    "networks",
    "profiles",
    "lines",
    "phones",
    "external_lines",
    "contacts",
    "alerts",
    "ringtones",
    "paging",
    "firmware",
    "hints",
];

/// Everything read from one document. Entries keep whatever values were
/// valid, so cross-reference checks still run on an entry with a typo.
#[derive(Debug, Default)]
pub struct Document {
    pub general: Option<General>,
    pub http: Http,
    pub sip: Sip,
    pub admin: Admin,
    pub limits: Limits,
    pub asterisk: Option<Asterisk>,
    pub networks: Vec<Entry<Network>>,
    pub lines: Vec<Entry<LineEntry>>,
    pub phones: Vec<Entry<PhoneEntry>>,
    pub hints: Vec<Entry<HintEntry>>,
    pub contacts: Vec<Entry<ContactEntry>>,
    pub firmware: Vec<Entry<FirmwareEntry>>,
    pub external_lines: Vec<Entry<ExternalLineEntry>>,
    pub alerts: Vec<Entry<AlertEntry>>,
    pub ringtones: Vec<Entry<RingtoneEntry>>,
    pub paging: Vec<Entry<PagingEntry>>,
    /// Names of entries that exist but are not tables, so cross-reference
    /// checks do not also call them "unknown".
    pub broken_entries: HashSet<(String, String)>,
    /// Where each singleton section starts, for problems about the section
    /// as a whole (e.g. `min_expires` above `max_expires`).
    pub section_spans: Vec<(&'static str, Range<usize>)>,
    /// `phones.NAME` / `lines.NAME` → where each of its resolved keys was
    /// set (the entry itself or a profile), for `render --explain`.
    pub origins: HashMap<String, Vec<KeyOrigin>>,
    /// Where each line of the source starts, built once here and used by
    /// `validate` as well to place every problem and warning.
    pub line_starts: LineStarts,
}

impl Document {
    /// The names of `section`'s entries, valid or not: an entry with a
    /// problem of its own still exists, so a reference to it is not also
    /// reported (one mistake, reported once, where it is).
    pub fn names<'a, T>(&'a self, section: &str, entries: &'a [Entry<T>]) -> HashSet<&'a str> {
        entries
            .iter()
            .map(|entry| entry.name.get_ref().as_str())
            .chain(
                self.broken_entries
                    .iter()
                    .filter(move |(s, _)| s == section)
                    .map(|(_, name)| name.as_str()),
            )
            .collect()
    }
}

/// Reads `source`, pushing every problem found into `problems`.
pub fn read(source: &str, problems: &mut Vec<Problem>) -> Document {
    let (root, syntax_errors) = DeTable::parse_recoverable(source);
    for error in syntax_errors {
        let span = error.span().unwrap_or(0..0);
        problems.push(Problem::at(source, span, "", error.message().trim_end()));
    }
    for (span, path, message) in super::xml_text::illegal_strings(root.get_ref()) {
        problems.push(Problem::at(source, span, path, message));
    }
    let root_span = root.span();
    let mut root = root.into_inner();
    // Profiles first: phones and lines anywhere in the file inherit from them.
    let profiles = match root.remove_entry("profiles") {
        Some((_, value)) => {
            let known: Vec<&str> = field_names::<PhoneEntry>()
                .iter()
                .chain(field_names::<LineEntry>())
                .copied()
                .collect();
            let mut profile_problems = Vec::new();
            let profiles = Profiles::read(source, value, &known, &mut profile_problems);
            problems.extend(profile_problems);
            profiles
        }
        None => Profiles::default(),
    };
    let line_starts = LineStarts::new(source);
    let mut reader = Reader {
        source,
        line_starts: &line_starts,
        problems,
        profiles: &profiles,
        inherited: HashMap::new(),
    };
    let mut document = Document::default();
    let mut saw_general = false;
    for (key, value) in root {
        let name = key.get_ref().as_ref();
        if let Some(section) = SECTIONS.iter().find(|s| **s == name) {
            document.section_spans.push((section, key.span()));
        }
        match name {
            "general" => {
                saw_general = true;
                document.general = reader.entry("general", value);
            }
            "http" => document.http = reader.entry("http", value).unwrap_or_default(),
            "sip" => document.sip = reader.entry("sip", value).unwrap_or_default(),
            "admin" => document.admin = reader.entry("admin", value).unwrap_or_default(),
            "limits" => document.limits = reader.entry("limits", value).unwrap_or_default(),
            "asterisk" => document.asterisk = reader.entry("asterisk", value),
            "networks" => document.networks = reader.entries("networks", value, &mut document.broken_entries),
            "lines" => {
                document.lines = reader.inheriting_entries(
                    "lines",
                    value,
                    &mut document.broken_entries,
                    &mut document.origins,
                )
            }
            "phones" => {
                document.phones = reader.inheriting_entries(
                    "phones",
                    value,
                    &mut document.broken_entries,
                    &mut document.origins,
                )
            }
            "external_lines" => {
                document.external_lines =
                    reader.entries("external_lines", value, &mut document.broken_entries)
            }
            "alerts" => document.alerts = reader.entries("alerts", value, &mut document.broken_entries),
            "ringtones" => {
                document.ringtones = reader.entries("ringtones", value, &mut document.broken_entries)
            }
            "paging" => document.paging = reader.entries("paging", value, &mut document.broken_entries),
            "firmware" => document.firmware = reader.entries("firmware", value, &mut document.broken_entries),
            "contacts" => document.contacts = reader.entries("contacts", value, &mut document.broken_entries),
            "hints" => document.hints = reader.entries("hints", value, &mut document.broken_entries),
            _ => reader.unknown_key("", &key, SECTIONS),
        }
    }
    if !saw_general {
        reader.problems.push(Problem::at(
            source,
            root_span.start..root_span.start,
            "general",
            "missing section [general] (it needs at least server_address)",
        ));
    }
    document.line_starts = line_starts;
    document
}
