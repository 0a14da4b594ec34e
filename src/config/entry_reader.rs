//! Reading one section or named entry of phones.toml into its serde type,
//! reporting every unknown key (with a suggestion) and every bad value:
//! when serde rejects a value the key is noted, dropped, and the entry read
//! again to find the next one. Entries of `[phones]` and `[lines]` are
//! read after their `profile` chain is applied.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::entry::Entry;
use super::field_names::field_names;
use super::problem::{LineStarts, Problem, nearest_key, path_segment};
use super::profiles::{KeyOrigin, Profiles};

pub(super) struct Reader<'s, 'p> {
    pub(super) source: &'s str,
    /// Built once: every key of every entry records its line for
    /// `render --explain`, and a scan per key made big files quadratic.
    pub(super) line_starts: &'p LineStarts,
    pub(super) problems: &'p mut Vec<Problem>,
    pub(super) profiles: &'p Profiles<'s>,
    /// While reading one entry: its inherited keys → their profile, so a
    /// problem with one names the profile's key (where the line is).
    pub(super) inherited: HashMap<String, String>,
}

impl<'s> Reader<'s, '_> {
    /// Reads `[phones.NAME]` or `[lines.NAME]` entries, each after applying
    /// its `profile` chain, recording where each key came from.
    pub(super) fn inheriting_entries<T: for<'de> Deserialize<'de>>(
        &mut self,
        section: &str,
        value: Spanned<DeValue<'s>>,
        broken: &mut HashSet<(String, String)>,
        origins: &mut HashMap<String, Vec<KeyOrigin>>,
    ) -> Vec<Entry<T>> {
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            return self.entries(section, Spanned::new(span, DeValue::Boolean(false)), broken);
        };
        let mut expanded_table = DeTable::new();
        let mut inherited_by_entry = HashMap::new();
        for (key, entry) in table {
            let name = key.get_ref().to_string();
            let path = format!("{section}.{}", path_segment(&name));
            let entry_span = entry.span();
            let entry = match entry.into_inner() {
                DeValue::Table(entry) => {
                    let expanded =
                        self.profiles
                            .expand(self.source, self.line_starts, &path, entry, self.problems);
                    origins.insert(path, expanded.origins);
                    inherited_by_entry.insert(name, expanded.inherited);
                    Spanned::new(entry_span, DeValue::Table(expanded.table))
                }
                other => Spanned::new(entry_span, other),
            };
            expanded_table.insert(key, entry);
        }
        self.entries_with(section, expanded_table, broken, &mut inherited_by_entry)
    }

    /// Reads a table of named entries (`[phones.NAME]` …).
    pub(super) fn entries<T: for<'de> Deserialize<'de>>(
        &mut self,
        section: &str,
        value: Spanned<DeValue<'s>>,
        broken: &mut HashSet<(String, String)>,
    ) -> Vec<Entry<T>> {
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            self.push(
                span,
                section,
                format!("[{section}] must be a table of named entries"),
            );
            return Vec::new();
        };
        self.entries_with(section, table, broken, &mut HashMap::new())
    }

    fn entries_with<T: for<'de> Deserialize<'de>>(
        &mut self,
        section: &str,
        table: DeTable<'s>,
        broken: &mut HashSet<(String, String)>,
        inherited_by_entry: &mut HashMap<String, HashMap<String, String>>,
    ) -> Vec<Entry<T>> {
        let mut entries = Vec::new();
        for (key, entry) in table {
            let name = key.get_ref().to_string();
            let path = format!("{section}.{}", path_segment(&name));
            let keys = match entry.get_ref() {
                DeValue::Table(table) => table.keys().map(|k| k.get_ref().to_string()).collect(),
                _ => Vec::new(),
            };
            self.inherited = inherited_by_entry.remove(&name).unwrap_or_default();
            let read = self.entry(&path, entry);
            self.inherited.clear();
            match read {
                Some(value) => entries.push(Entry {
                    name: Spanned::new(key.span(), name),
                    keys,
                    value,
                }),
                None => {
                    broken.insert((section.to_owned(), name));
                }
            }
        }
        entries
    }

    /// Reads one table into `T`, reporting every unknown key and every bad
    /// value; the result holds the values that were valid. `None` if it is
    /// not a table or a required value is missing or bad.
    pub(super) fn entry<T: for<'de> Deserialize<'de>>(
        &mut self,
        path: &str,
        value: Spanned<DeValue<'s>>,
    ) -> Option<T> {
        let span = value.span();
        let DeValue::Table(mut table) = value.into_inner() else {
            self.push(span, path, "must be a table");
            return None;
        };
        let known = field_names::<T>();
        let unknown: Vec<Spanned<String>> = table
            .keys()
            .filter(|key| !known.contains(&key.get_ref().as_ref()))
            .map(|key| Spanned::new(key.span(), key.get_ref().to_string()))
            .collect();
        for key in &unknown {
            self.unknown_key(path, key, known);
            table.remove(key.get_ref().as_str());
        }
        let mut removed: Vec<String> = Vec::new();
        // Each failed attempt removes the key serde complained about, so this
        // runs at most once per key plus once.
        loop {
            let attempt = Spanned::new(span.clone(), DeValue::Table(table.clone()));
            match T::deserialize(ValueDeserializer::from(attempt)) {
                Ok(parsed) => return Some(parsed),
                Err(error) => {
                    // "key" is the TOML word; serde says "field".
                    let mut message = error
                        .message()
                        .trim_end()
                        .replace("missing field `", "missing key `");
                    if path.starts_with("networks.") && message.starts_with("missing key `cidr`") {
                        message.push_str(NETWORK_KEYS);
                    }
                    if removed
                        .iter()
                        .any(|key| message.contains(&format!("missing key `{key}`")))
                    {
                        return None;
                    }
                    let error_span = error.span().unwrap_or(span.clone());
                    let culprit = key_containing(&table, &error_span);
                    let key_path = match &culprit {
                        Some(key) => self.key_path(path, key),
                        None => path.to_owned(),
                    };
                    self.push(error_span, &key_path, message);
                    let key = culprit?;
                    table.remove(key.as_str());
                    removed.push(key);
                }
            }
        }
    }

    pub(super) fn unknown_key(&mut self, path: &str, key: &Spanned<impl AsRef<str>>, known: &[&str]) {
        let name = key.get_ref().as_ref();
        if name == "pin" && path.starts_with("phones.") {
            // Accepted once and then ignored; now refused with the reason.
            let message = "`pin` is not supported: DPMA's PIN only lets a user claim a phone profile \
                           in DPMA mode; XML provisioning finds the phone by its MAC (remove the key)";
            self.push(key.span(), &format!("{path}.pin"), message);
            return;
        }
        let section = path.split('.').next().unwrap_or(path);
        let hint = match nearest_key(name, known) {
            // Valid in a profile (checked there), but not for this entry.
            _ if self.inherited.contains_key(name) => format!(" for [{section}] entries"),
            Some(candidate) => format!(" (did you mean `{candidate}`?)"),
            // A phone has dozens of keys: a list that long is not read.
            None if known.len() > LISTED_KEYS => " (docs/DPMA-COVERAGE.md lists every key)".to_owned(),
            None => format!(" (expected one of: {})", known.join(", ")),
        };
        let full_path = if path.is_empty() {
            path_segment(name)
        } else {
            self.key_path(path, name)
        };
        self.push(key.span(), &full_path, format!("unknown key `{name}`{hint}"));
    }

    /// `path.key`, or for an inherited key `profiles.P.key (inherited by
    /// path)`: the line:column is the profile's, so the path says so too.
    fn key_path(&self, path: &str, key: &str) -> String {
        match self.inherited.get(key) {
            Some(profile) => format!(
                "profiles.{}.{} (inherited by {path})",
                path_segment(profile),
                path_segment(key)
            ),
            None => format!("{path}.{}", path_segment(key)),
        }
    }

    fn push(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        self.problems.push(Problem::at(self.source, span, path, message));
    }
}

/// Up to this many known keys are listed after an unknown one.
const LISTED_KEYS: usize = 12;

/// Which `[networks.NAME]` keys are needed, told where one is missing.
const NETWORK_KEYS: &str = " (required: cidr, the addresses of the phones on this network; \
     optional: registration_address (default: [general] server_address), registration_port (5060), \
     transport (udp), ntp_server (none), alias)";

/// The key whose value (or key) covers `span`.
fn key_containing(table: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let covers = |s: Range<usize>| s.start <= span.start && span.end <= s.end.max(s.start + 1);
        (covers(value.span()) || covers(key.span())).then(|| key.get_ref().to_string())
    })
}
