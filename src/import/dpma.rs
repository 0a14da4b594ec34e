//! res_digium_phone.conf (+ pjsip.conf for secrets) → phones.toml.
//!
//! Every option is either mapped or reported — with its section, file and
//! line — never dropped silently. What DPMA configs do not say but
//! phones.toml needs (the phone model, our server address) comes from the
//! caller, with a report line so the admin reviews it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::asterisk_conf::{Entry, Section};
use super::dpma_options::{
    ALERT, EXTERNAL_LINE, FIRMWARE, LINE, NETWORK, PHONE, Row, SECTION_REFERENCES, by_hand, no_xml_form,
    write_mapped,
};
use crate::config::{LINES_GROUP, MacAddress, PhoneModel};

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

fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_owned() } else { quoted(name) }
}

fn note(notes: &mut Vec<String>, section: &Section, entry: &Entry, what: &str) {
    notes.push(format!(
        "{}:{}: [{}] {} = {}: {what}",
        entry.file.display(),
        entry.line,
        section.name,
        entry.key,
        entry.value
    ));
}

/// Maps `entry` by `table`, or notes why not: no XML form (with the
/// reason), a value that does not fit, or an option opendpma does not know.
fn mapped_or_noted(
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

/// Line secrets from pjsip.conf: the auth named by an endpoint's `auth=`,
/// else an auth section named after the line, else one whose `username`
/// is the line name.
pub fn pjsip_secrets(sections: &[Section]) -> HashMap<String, String> {
    let auths: HashMap<&str, &Section> = sections
        .iter()
        .filter(|s| s.get("type").is_some_and(|t| t.eq_ignore_ascii_case("auth")))
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut secrets = HashMap::new();
    for section in sections {
        let kind = section.get("type").unwrap_or("");
        if kind.eq_ignore_ascii_case("endpoint")
            && let Some(password) = section
                .get("auth")
                .and_then(|a| auths.get(a))
                .and_then(|a| a.get("password"))
        {
            secrets.insert(section.name.clone(), password.to_owned());
        }
        if kind.eq_ignore_ascii_case("auth")
            && let Some(password) = section.get("password")
        {
            secrets
                .entry(section.name.clone())
                .or_insert_with(|| password.to_owned());
            if let Some(user) = section.get("username") {
                secrets
                    .entry(user.to_owned())
                    .or_insert_with(|| password.to_owned());
            }
        }
    }
    secrets
}

/// Converts DPMA sections (templates already applied).
pub fn convert(sections: &[Section], secrets: &HashMap<String, String>, options: &ImportOptions) -> Imported {
    let mut notes = Vec::new();
    let mut networks = String::new();
    let mut lines = String::new();
    let mut phones = String::new();
    // Phones may only name lines that are imported (known before phones,
    // whatever the file order).
    let line_names: Vec<&str> = sections
        .iter()
        .filter(|s| s.get("type").is_some_and(|t| t.eq_ignore_ascii_case("line")))
        .map(|s| s.name.as_str())
        .collect();
    let of_type = |kind: &str| -> Vec<&str> {
        sections
            .iter()
            .filter(|s| s.get("type").is_some_and(|t| t.eq_ignore_ascii_case(kind)))
            .map(|s| s.name.as_str())
            .collect()
    };
    let firmware_names = of_type("firmware");
    let external_names = of_type("external_line");
    let alert_names = of_type("alert");
    let mut others = String::new();
    let mut first_registrar: Option<String> = None;
    let mut seen_macs: BTreeMap<String, String> = BTreeMap::new();
    for section in sections {
        if section.name.eq_ignore_ascii_case("general") {
            for entry in &section.entries {
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
                for entry in &section.entries {
                    if entry.key.eq_ignore_ascii_case("type") {
                        continue;
                    }
                    if entry.key.eq_ignore_ascii_case("registration_address") {
                        first_registrar.get_or_insert_with(|| entry.value.clone());
                    }
                    mapped_or_noted(NETWORK, section, entry, &mut networks, &mut notes);
                }
                networks.push('\n');
            }
            "line" => {
                let _ = writeln!(lines, "[lines.{}]", key(&section.name));
                let mut has_secret = false;
                for entry in &section.entries {
                    if entry.key.eq_ignore_ascii_case("type") {
                        continue;
                    }
                    has_secret |= entry.key.eq_ignore_ascii_case("secret");
                    mapped_or_noted(LINE, section, entry, &mut lines, &mut notes);
                }
                if !has_secret {
                    match secrets.get(&section.name) {
                        Some(secret) => {
                            let _ = writeln!(lines, "secret = {}", quoted(secret));
                        }
                        None => {
                            notes.push(format!(
                                "{}:{}: [{}] has no secret here or in pjsip.conf; set one",
                                section.file.display(),
                                section.line,
                                section.name
                            ));
                            let _ = writeln!(lines, "secret = \"\"  # not found: set the SIP password");
                        }
                    }
                }
                lines.push('\n');
            }
            "phone" => {
                let mut body = String::new();
                let mut mac_ok = false;
                for entry in &section.entries {
                    match entry.key.to_ascii_lowercase().as_str() {
                        "type" | "line" | "network" => {}
                        "mac" => match entry.value.parse::<MacAddress>() {
                            Ok(mac) => match seen_macs.insert(mac.to_string(), section.name.clone()) {
                                Some(other) => note(
                                    &mut notes,
                                    section,
                                    entry,
                                    &format!("same MAC as [{other}]; phone not imported"),
                                ),
                                None => {
                                    mac_ok = true;
                                    let _ = writeln!(body, "mac = {}", quoted(mac.as_str()));
                                }
                            },
                            Err(error) => note(
                                &mut notes,
                                section,
                                entry,
                                &format!("{error}; phone not imported"),
                            ),
                        },
                        // DPMA's PIN claims a profile in DPMA mode (config_auth=pin);
                        // XML provisioning finds phones by MAC, so it has no place.
                        // The value is a secret: named, never printed.
                        "pin" => notes.push(format!(
                            "{}:{}: [{}] pin: DPMA's profile-claim PIN; opendpma finds phones by MAC; not imported",
                            entry.file.display(),
                            entry.line,
                            section.name
                        )),
                        // Each phone gets the [firmware] entry of its model.
                        "firmware" if firmware_names.contains(&entry.value.as_str()) => {}
                        "external_line" | "alert" => {}
                        reference if SECTION_REFERENCES.contains(&reference) => {}
                        // DPMA's own phonebook group of the PBX's lines is our
                        // lines' group, which is the default.
                        "blf_contact_group" if entry.value.eq_ignore_ascii_case(LINES_GROUP) => {}
                        _ => mapped_or_noted(PHONE, section, entry, &mut body, &mut notes),
                    }
                }
                let mut own_lines = section.all("line");
                own_lines.retain(|line| {
                    let known = line_names.contains(line);
                    if !known {
                        notes.push(format!(
                            "{}:{}: [{}] line = {line}: no type=line section of that name; left out",
                            section.file.display(),
                            section.line,
                            section.name
                        ));
                    }
                    known
                });
                if !mac_ok {
                    if section.get("mac").is_none() {
                        notes.push(format!(
                            "{}:{}: [{}] has no mac (DPMA PIN login); phones.toml needs one; phone not imported",
                            section.file.display(),
                            section.line,
                            section.name
                        ));
                    }
                    continue;
                }
                if own_lines.is_empty() {
                    notes.push(format!(
                        "{}:{}: [{}] has no line; phone not imported",
                        section.file.display(),
                        section.line,
                        section.name
                    ));
                    continue;
                }
                let _ = writeln!(phones, "[phones.{}]", key(&section.name));
                phones.push_str(&body);
                if let Some(model) = options.model {
                    let _ = writeln!(
                        phones,
                        "model = {}  # given to import-dpma: check",
                        quoted(model.as_str())
                    );
                }
                let list = |values: &[&str]| values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", ");
                let _ = writeln!(phones, "lines = [{}]", list(&own_lines));
                let external: Vec<&str> = section
                    .all("external_line")
                    .into_iter()
                    .filter(|name| external_names.contains(name))
                    .collect();
                if !external.is_empty() {
                    let _ = writeln!(phones, "external_lines = [{}]", list(&external));
                }
                let alerts: Vec<&str> = section
                    .all("alert")
                    .into_iter()
                    .filter(|name| alert_names.contains(name))
                    .collect();
                if !alerts.is_empty() {
                    let _ = writeln!(phones, "alerts = [{}]", list(&alerts));
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
                        "{}:{}: [{}] network = {}: several networks; `network` left out so that, as in DPMA, \
                         the one whose cidr holds the phone's address applies (to all networks, not only these)",
                        section.file.display(),
                        section.line,
                        section.name,
                        several.join(", ")
                    )),
                }
                phones.push('\n');
                if let Some(model) = options.model {
                    notes.push(format!(
                        "{}:{}: [{}] model set to {model} (DPMA configs do not say); check it",
                        section.file.display(),
                        section.line,
                        section.name,
                    ));
                }
            }
            "external_line" | "firmware" | "alert" => {
                let (table, heading) = match kind.as_str() {
                    "firmware" => (FIRMWARE, "firmware"),
                    "alert" => (ALERT, "alerts"),
                    _ => (EXTERNAL_LINE, "external_lines"),
                };
                let _ = writeln!(others, "[{heading}.{}]", key(&section.name));
                for entry in section
                    .entries
                    .iter()
                    .filter(|e| !e.key.eq_ignore_ascii_case("type"))
                {
                    mapped_or_noted(table, section, entry, &mut others, &mut notes);
                }
                if kind == "firmware" {
                    notes.push(format!(
                        "{}:{}: [{}] copy the firmware file into [general] files_dir (default: files/ next to \
                         phones.toml); `opendpma check` refuses it until it is there",
                        section.file.display(),
                        section.line,
                        section.name
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
                    "multicastpage" => {
                        "no XML form: no published config shows the element for paging groups; DPMA sends \
                         them over its channel (docs/DPMA-COVERAGE.md)"
                    }
                    "ringtone" => {
                        "no XML form opendpma can write: no published config shows how a downloaded tone is \
                         declared; built-in tones work (active_ringtone, [alerts] ringtone)"
                    }
                    _ => "not supported",
                };
                notes.push(format!(
                    "{}:{}: [{}] {what}: {reason}; section not imported",
                    section.file.display(),
                    section.line,
                    section.name
                ));
            }
        }
    }
    // Drop references to lines that were not imported, with a note.
    let server_address = options
        .server_address
        .clone()
        .or(first_registrar)
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let mut toml = String::new();
    toml.push_str("# Imported from DPMA by `opendpma import-dpma`; review the notes it printed.\n");
    let _ = writeln!(toml, "[general]\nserver_address = {}\n", quoted(&server_address));
    toml.push_str(&networks);
    toml.push_str(&lines);
    toml.push_str(&others);
    toml.push_str(&phones);
    Imported { toml, notes }
}
