//! res_digium_phone.conf (+ pjsip.conf for secrets) → phones.toml.
//!
//! Every option is either mapped or reported — with its section, file and
//! line — never dropped silently. What DPMA configs do not say but
//! phones.toml needs (the phone model, our server address) comes from the
//! caller, with a report line so the admin reviews it.
//!
//! Templates become profiles where they can (`dpma_profiles`), phones are
//! converted in `dpma_phone`, and the phonebook files phones name in
//! `dpma_phonebook`.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;

use super::asterisk_conf::{Entry, Section};
use super::dpma_options::{
    ALERT, EXTERNAL_LINE, FIRMWARE, LINE, MULTICAST_PAGE, NETWORK, RINGTONE, Row, by_hand, no_xml_form, row,
    write_mapped,
};
use super::dpma_phone;
use super::dpma_phonebook::Phonebooks;
use super::dpma_profiles::ProfilePlan;
use crate::config::PhoneModel;

/// What to fill in that DPMA does not know.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub server_address: Option<String>,
    /// `None`: phones get no `model`; the server reads it from each
    /// phone's User-Agent.
    pub model: Option<PhoneModel>,
}

/// The TOML and the notes about what could not be carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub toml: String,
    pub notes: Vec<String>,
}

pub(super) fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

pub(super) fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_owned() } else { quoted(name) }
}

pub(super) fn note(notes: &mut Vec<String>, section: &Section, entry: &Entry, what: &str) {
    notes.push(format!(
        "{}: [{}] {} = {}: {what}",
        entry.at(),
        section.name,
        entry.key,
        entry.value
    ));
}

/// Maps `entry` by `table`, or notes why not: no XML form (with the
/// reason), a value that does not fit, or an option opendpma does not know.
pub(super) fn mapped_or_noted(
    table: &[Row],
    section: &Section,
    entry: &Entry,
    out: &mut String,
    notes: &mut Vec<String>,
) {
    match write_mapped(table, entry, out) {
        Ok(true) => {}
        Ok(false) => match (no_xml_form(&entry.key), by_hand(&entry.key)) {
            (Some(reason), _) => note(
                notes,
                section,
                entry,
                &format!("no XML form: {reason}; not imported"),
            ),
            (None, Some(what)) => note(
                notes,
                section,
                entry,
                &format!("set by hand: {what}; not imported"),
            ),
            (None, None) => note(notes, section, entry, "not supported; not imported"),
        },
        Err(why) => note(notes, section, entry, &why),
    }
}

/// What converting a phone needs to know about the rest of the file.
pub(super) struct Context<'a> {
    pub options: &'a ImportOptions,
    pub plan: ProfilePlan,
    /// Section names per `type=` (lower case), in file order.
    pub names: HashMap<String, Vec<&'a str>>,
    /// Each imported line's name and extension → its name.
    pub lines: HashMap<String, String>,
    /// Where `contact =` files are: `[general] file_directory`, if set.
    pub file_directory: Option<PathBuf>,
}

impl Context<'_> {
    pub fn has(&self, kind: &str, name: &str) -> bool {
        self.names.get(kind).is_some_and(|names| names.contains(&name))
    }
}

/// The entries of `section` that are written for it: not `type`, not what
/// its profile holds, and of a single-valued option (one with a row in
/// `table`) only the last, which is the one Asterisk uses.
pub(super) fn own_entries<'s>(section: &'s Section, table: &[Row], plan: &ProfilePlan) -> Vec<&'s Entry> {
    let entries = &section.entries;
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.key.eq_ignore_ascii_case("type") && !plan.in_profile(e))
        .filter(|(i, e)| {
            row(table, &e.key).is_none()
                || !entries[i + 1..]
                    .iter()
                    .any(|later| later.key.eq_ignore_ascii_case(&e.key) && !plan.in_profile(later))
        })
        .map(|(_, e)| e)
        .collect()
}

/// Converts DPMA sections (templates applied; each entry says which
/// template it came from).
pub fn convert(sections: &[Section], secrets: &HashMap<String, String>, options: &ImportOptions) -> Imported {
    let mut notes = Vec::new();
    let mut networks = String::new();
    let mut lines = String::new();
    let mut phones = String::new();
    let mut others = String::new();
    let mut names: HashMap<String, Vec<&str>> = HashMap::new();
    for section in sections {
        let kind = section.get("type").unwrap_or("").to_ascii_lowercase();
        names.entry(kind).or_default().push(&section.name);
    }
    let mut line_keys = HashMap::new();
    for section in sections
        .iter()
        .filter(|s| s.get("type").is_some_and(|t| t.eq_ignore_ascii_case("line")))
    {
        line_keys.insert(section.name.clone(), section.name.clone());
        if let Some(exten) = section.get("exten") {
            line_keys.insert(exten.to_owned(), section.name.clone());
        }
    }
    let general = sections.iter().find(|s| s.name.eq_ignore_ascii_case("general"));
    let file_directory = general.and_then(|g| {
        let folder = g.file.parent().unwrap_or(std::path::Path::new("."));
        g.get("file_directory").map(|dir| folder.join(dir))
    });
    let context = Context {
        options,
        plan: ProfilePlan::new(sections),
        names,
        lines: line_keys,
        file_directory,
    };
    let mut phonebooks = Phonebooks::default();
    let mut first_registrar: Option<String> = None;
    let mut seen_macs = HashMap::new();
    for section in sections {
        if section.name.eq_ignore_ascii_case("general") {
            for entry in &section.entries {
                if entry.key.eq_ignore_ascii_case("file_directory") {
                    continue; // used to find the phonebook files
                }
                note(
                    &mut notes,
                    section,
                    entry,
                    "[general] options have no phones.toml equivalent (DPMA-mode discovery and profile claiming; \
                     XML provisioning has neither); not imported",
                );
            }
            continue;
        }
        let kind = section.get("type").unwrap_or("").to_ascii_lowercase();
        match kind.as_str() {
            "network" => {
                let _ = writeln!(networks, "[networks.{}]", key(&section.name));
                for entry in own_entries(section, NETWORK, &context.plan) {
                    if entry.key.eq_ignore_ascii_case("registration_address") {
                        first_registrar.get_or_insert_with(|| entry.value.clone());
                    }
                    mapped_or_noted(NETWORK, section, entry, &mut networks, &mut notes);
                }
                networks.push('\n');
            }
            "line" => {
                let _ = writeln!(lines, "[lines.{}]", key(&section.name));
                if let Some(profile) = context.plan.profile_of(section) {
                    let _ = writeln!(lines, "profile = {}", quoted(profile));
                }
                for entry in own_entries(section, LINE, &context.plan) {
                    mapped_or_noted(LINE, section, entry, &mut lines, &mut notes);
                }
                if section.get("secret").is_none() {
                    match secrets.get(&section.name) {
                        Some(secret) => {
                            let _ = writeln!(lines, "secret = {}", quoted(secret));
                        }
                        None => {
                            notes.push(format!(
                                "{} has no secret here or in pjsip.conf; set one",
                                section.at()
                            ));
                            let _ = writeln!(lines, "secret = \"\"  # not found: set the SIP password");
                        }
                    }
                }
                lines.push('\n');
            }
            "phone" => dpma_phone::convert(
                section,
                &context,
                &mut seen_macs,
                &mut phonebooks,
                &mut phones,
                &mut notes,
            ),
            "external_line" | "firmware" | "alert" | "ringtone" | "multicastpage" => {
                let (table, heading) = match kind.as_str() {
                    "firmware" => (FIRMWARE, "firmware"),
                    "alert" => (ALERT, "alerts"),
                    "ringtone" => (RINGTONE, "ringtones"),
                    "multicastpage" => (MULTICAST_PAGE, "paging"),
                    _ => (EXTERNAL_LINE, "external_lines"),
                };
                let _ = writeln!(others, "[{heading}.{}]", key(&section.name));
                for entry in own_entries(section, table, &context.plan) {
                    mapped_or_noted(table, section, entry, &mut others, &mut notes);
                }
                let copy = match kind.as_str() {
                    "firmware" => Some("the firmware file"),
                    "ringtone" => Some(
                        "the tone, as a 16 kHz mono WAV under 1 MiB (DPMA's .raw files need converting),",
                    ),
                    _ => None,
                };
                for required in ["address", "port", "priority"] {
                    if kind == "multicastpage" && section.get(required).is_none() {
                        notes.push(format!(
                            "{} has no {required}, which a phone's paging listener needs; set it",
                            section.at()
                        ));
                    }
                }
                if let Some(what) = copy {
                    notes.push(format!(
                        "{} copy {what} into [general] files_dir (default: files/ next to \
                         phones.toml); `opendpma check` refuses it until it is there",
                        section.at()
                    ));
                }
                others.push('\n');
            }
            other => {
                let what = if other.is_empty() {
                    "a section without type".to_owned()
                } else {
                    format!("type={other}")
                };
                let reason = match other {
                    "application" => "DPMA applications run over DPMA's channel (docs/DECISIONS.md §16)",
                    "translation" => "no XML form: string tables for DPMA applications only",
                    _ => "not supported",
                };
                notes.push(format!("{} {what}: {reason}; section not imported", section.at()));
            }
        }
    }
    let mut profiles = String::new();
    context.plan.write(sections, &mut profiles, &mut notes);
    let server_address = options
        .server_address
        .clone()
        .or(first_registrar)
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let mut toml = String::new();
    toml.push_str("# Imported from DPMA by `opendpma import-dpma`; review the notes it printed.\n");
    let _ = writeln!(toml, "[general]\nserver_address = {}\n", quoted(&server_address));
    for part in [&networks, &profiles, &lines, &others, &phonebooks.toml, &phones] {
        toml.push_str(part);
    }
    Imported { toml, notes }
}
