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

use super::asterisk_conf::Section;
use super::dpma_context::{Context, ImportOptions};
use super::dpma_entries::{mapped_or_noted, note, own_entries};
use super::dpma_options::{ALERT, EXTERNAL_LINE, FIRMWARE, LINE, MULTICAST_PAGE, NETWORK, RINGTONE};
use super::dpma_phone;
use super::dpma_phonebook::Phonebooks;
use super::dpma_profiles::ProfilePlan;
use super::toml_text::{key, quoted};

/// The TOML and the notes about what could not be carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub toml: String,
    pub notes: Vec<String>,
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
