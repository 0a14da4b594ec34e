//! DPMA templates (Asterisk's `[name](!)` config templates) →
//! `[profiles.NAME]`, so an imported site keeps its shared settings in one
//! place instead of a copy in every phone and line.
//!
//! A template becomes a profile when it can mean the same thing there: all
//! sections that inherit it are of one type (phone or line), it names at
//! most one template itself (which must be a profile too), and every
//! section using it names only one template (a profile has one parent).
//! Otherwise its values are copied into each section, as before. A profile
//! holds the template's single-valued options that have a key of their own;
//! repeated options (`line`, `network`, `alert`, …) and those handled one
//! by one (`mac`, `pin`, notes) stay with each section that inherits them.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use super::asterisk_conf::{Entry, Section};
use super::dpma_options::{LINE, PHONE, Row, row, write_mapped};

/// Which templates become profiles, and for which section type.
#[derive(Debug, Default)]
pub struct ProfilePlan {
    /// Template name → its rows table (phone or line) and its parent.
    profiles: BTreeMap<String, (&'static [Row], Option<String>)>,
}

fn kind(section: &Section) -> Option<&'static [Row]> {
    match section.get("type")?.to_ascii_lowercase().as_str() {
        "phone" => Some(PHONE),
        "line" => Some(LINE),
        _ => None,
    }
}

impl ProfilePlan {
    pub fn new(sections: &[Section]) -> Self {
        let mut candidates: BTreeMap<String, (Option<&'static [Row]>, Vec<String>)> = BTreeMap::new();
        let mut refused: HashSet<String> = HashSet::new();
        for section in sections {
            let table = kind(section);
            let linear = section.parents.len() <= 1;
            for (template, parents) in &section.templates {
                let entry = candidates
                    .entry(template.clone())
                    .or_insert((table, parents.clone()));
                let same_kind = match (entry.0, table) {
                    (Some(a), Some(b)) => std::ptr::eq(a, b),
                    _ => false,
                };
                if !same_kind || !linear || parents.len() > 1 {
                    refused.insert(template.clone());
                }
            }
        }
        // A profile's parent must be a profile: refuse up the chains until
        // nothing changes.
        loop {
            let before = refused.len();
            for (name, (_, parents)) in &candidates {
                if parents.iter().any(|parent| refused.contains(parent)) {
                    refused.insert(name.clone());
                }
            }
            if refused.len() == before {
                break;
            }
        }
        let profiles = candidates
            .into_iter()
            .filter(|(name, _)| !refused.contains(name))
            .filter_map(|(name, (table, parents))| Some((name, (table?, parents.first().cloned()))))
            .collect();
        Self { profiles }
    }

    /// The profile `section` names: its one template, when that is one.
    pub fn profile_of<'a>(&self, section: &'a Section) -> Option<&'a str> {
        match section.parents.as_slice() {
            [only] if self.profiles.contains_key(only) => Some(only),
            _ => None,
        }
    }

    /// Whether `entry` of a section is written in a profile instead.
    pub fn in_profile(&self, entry: &Entry) -> bool {
        entry
            .template
            .as_ref()
            .and_then(|template| self.profiles.get(template))
            .is_some_and(|(table, _)| row(table, &entry.key).is_some())
    }

    /// Writes `[profiles.NAME]` for each, from the template's own entries
    /// (as inherited by the sections; later ones win, as in Asterisk).
    pub fn write(&self, sections: &[Section], out: &mut String, notes: &mut Vec<String>) {
        for (name, (table, parent)) in &self.profiles {
            let mut own: BTreeMap<String, &Entry> = BTreeMap::new();
            let mut order: Vec<String> = Vec::new();
            let entries = sections.iter().flat_map(|s| &s.entries);
            for entry in entries.filter(|e| e.template.as_deref() == Some(name.as_str())) {
                let key = entry.key.to_ascii_lowercase();
                if row(table, &key).is_none() || order.contains(&key) && own[&key].line >= entry.line {
                    continue;
                }
                if !order.contains(&key) {
                    order.push(key.clone());
                }
                own.insert(key, entry);
            }
            let _ = writeln!(out, "[profiles.{}]", super::toml_text::key(name));
            if let Some(parent) = parent {
                let _ = writeln!(out, "profile = {}", toml::Value::String(parent.clone()));
            }
            for key in &order {
                let entry = own[key];
                if let Err(why) = write_mapped(table, entry, out) {
                    notes.push(format!(
                        "{}: [{name}] {} = {}: {why}",
                        entry.at(),
                        entry.key,
                        entry.value
                    ));
                }
            }
            out.push('\n');
        }
    }
}
