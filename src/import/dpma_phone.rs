//! One DPMA `type=phone` section → `[phones.NAME]`: its MAC (unique), its
//! lines (only imported ones), the sections it names (external lines,
//! alerts, ringtones, paging groups, firmware), its phonebook files, its
//! profile, and every other option by the phone table or with a note.

use std::collections::HashMap;
use std::fmt::Write;

use super::asterisk_conf::Section;
use super::dpma_context::Context;
use super::dpma_entries::{mapped_or_noted, note, own_entries};
use super::dpma_options::PHONE;
use super::dpma_phonebook::Phonebooks;
use super::toml_text::quoted;
use crate::config::{LINES_GROUP, MacAddress};

/// Repeated phone options that name sections of a type, and the phones.toml
/// list they become (DPMA's singular `type=phone` option names).
const REFERENCES: &[(&str, &str, &str)] = &[
    ("external_line", "external_line", "external_lines"),
    ("alert", "alert", "alerts"),
    ("ringtone", "ringtone", "ringtones"),
    ("multicastpage", "multicastpage", "paging"),
];

pub fn convert(
    section: &Section,
    context: &Context<'_>,
    seen_macs: &mut HashMap<String, String>,
    phonebooks: &mut Phonebooks,
    phones: &mut String,
    notes: &mut Vec<String>,
) {
    let mut body = String::new();
    let mut mac_ok = false;
    let mut contact_groups: Vec<String> = Vec::new();
    let mut contacts: Vec<String> = Vec::new();
    for entry in own_entries(section, PHONE, &context.plan) {
        match entry.key.to_ascii_lowercase().as_str() {
            "line" | "network" => {}
            "mac" => match entry.value.parse::<MacAddress>() {
                Ok(mac) => match seen_macs.insert(mac.to_string(), section.name.clone()) {
                    Some(other) => note(
                        notes,
                        section,
                        entry,
                        &format!("same MAC as [{other}]; phone not imported"),
                    ),
                    None => {
                        mac_ok = true;
                        let _ = writeln!(body, "mac = {}", quoted(mac.as_str()));
                    }
                },
                Err(error) => note(notes, section, entry, &format!("{error}; phone not imported")),
            },
            // DPMA's PIN claims a profile in DPMA mode (config_auth=pin);
            // XML provisioning finds phones by MAC, so it has no place.
            // The value is a secret: named, never printed.
            "pin" => notes.push(format!(
                "{}: [{}] pin: DPMA's profile-claim PIN; opendpma finds phones by MAC; not imported",
                entry.at(),
                section.name
            )),
            // Each phone gets the [firmware] entry of its model.
            "firmware" if context.has("firmware", &entry.value) => {}
            reference if REFERENCES.iter().any(|(key, ..)| *key == reference) => {}
            "contact" => {
                let folder = context.file_directory.clone().unwrap_or_else(|| {
                    entry
                        .file
                        .parent()
                        .unwrap_or(std::path::Path::new("."))
                        .to_path_buf()
                });
                let book = phonebooks.load(&folder.join(&entry.value), &context.lines, notes);
                for group in book.groups {
                    if !contact_groups.contains(&group) {
                        contact_groups.push(group);
                    }
                }
                for line in book.lines {
                    if !contacts.contains(&line) {
                        contacts.push(line);
                    }
                }
            }
            "wallpaper_file" => {
                mapped_or_noted(PHONE, section, entry, &mut body, notes);
                note(
                    notes,
                    section,
                    entry,
                    "copy the wallpaper (a PNG) into [general] files_dir; `opendpma check` refuses it until \
                     it is there",
                );
            }
            // DPMA's own phonebook group of the PBX's lines is our
            // lines' group, which is the default.
            "blf_contact_group" if entry.value.eq_ignore_ascii_case(LINES_GROUP) => {}
            _ => mapped_or_noted(PHONE, section, entry, &mut body, notes),
        }
    }
    let mut own_lines = section.all("line");
    own_lines.retain(|line| {
        let known = context.has("line", line);
        if !known {
            notes.push(format!(
                "{} line = {line}: no type=line section of that name; left out",
                section.at()
            ));
        }
        known
    });
    if !mac_ok {
        if section.get("mac").is_none() {
            notes.push(format!(
                "{} has no mac (DPMA PIN login); phones.toml needs one; phone not imported",
                section.at()
            ));
        }
        return;
    }
    if own_lines.is_empty() {
        notes.push(format!("{} has no line; phone not imported", section.at()));
        return;
    }
    let _ = writeln!(phones, "[phones.{}]", super::toml_text::key(&section.name));
    if let Some(profile) = context.plan.profile_of(section) {
        let _ = writeln!(phones, "profile = {}", quoted(profile));
    }
    phones.push_str(&body);
    if let Some(model) = context.options.model {
        let _ = writeln!(
            phones,
            "model = {}  # given to import-dpma: check",
            quoted(model.as_str())
        );
    }
    let list = |values: &[&str]| values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(phones, "lines = [{}]", list(&own_lines));
    contacts.retain(|line| !own_lines.contains(&line.as_str()));
    if !contacts.is_empty() {
        let contacts: Vec<&str> = contacts.iter().map(String::as_str).collect();
        let _ = writeln!(phones, "contacts = [{}]", list(&contacts));
    }
    if !contact_groups.is_empty() {
        let groups: Vec<&str> = contact_groups.iter().map(String::as_str).collect();
        let _ = writeln!(phones, "contact_groups = [{}]", list(&groups));
    }
    for (dpma, kind, key) in REFERENCES {
        let named: Vec<&str> = section
            .all(dpma)
            .into_iter()
            .filter(|name| context.has(kind, name))
            .collect();
        if !named.is_empty() {
            let _ = writeln!(phones, "{key} = [{}]", list(&named));
        }
    }
    let networks = section.all("network");
    match networks.as_slice() {
        [] => {}
        [only] => {
            let _ = writeln!(phones, "network = {}", quoted(only));
        }
        // Several candidates: DPMA picks by the phone's address,
        // which is what opendpma does without `network =`.
        several => notes.push(format!(
            "{} network = {}: several networks; `network` left out so that, as in DPMA, \
             the one whose cidr holds the phone's address applies (to all networks, not only these)",
            section.at(),
            several.join(", ")
        )),
    }
    phones.push('\n');
    if let Some(model) = context.options.model {
        notes.push(format!(
            "{} model set to {model} (DPMA configs do not say); check it",
            section.at(),
        ));
    }
}
