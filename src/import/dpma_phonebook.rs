//! DPMA phonebook files (a phone's `contact = FILE`) → `[contacts.ID]`
//! entries in groups, plus the PBX lines the file lists.
//!
//! The file is Digium's phonebook XML (as FreePBX and Wazo write it): a
//! `<phonebooks>` root holding `<contacts group_name=…>` groups, or FreePBX's
//! bare `<contacts>` root; each `<contact>` has name attributes,
//! `<numbers><number dial label/>` and `<emails><email address/>`. A contact
//! that is one of the imported lines — `subscribe_to="auto_hint_<line>"`
//! under DPMA (Asterisk wiki, Smart BLF), a `sip:` URI or extension naming
//! its exten, or its `account_id` — becomes a line in the phone's `contacts`
//! (so the BLF key watches it); the others become `[contacts]` entries. What
//! cannot be converted is reported with its file and line.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::config::LINES_GROUP;

/// What one phonebook file gave: its `[contacts]` groups and the lines it
/// lists.
#[derive(Debug, Clone, Default)]
pub struct FileBook {
    pub groups: Vec<String>,
    pub lines: Vec<String>,
}

/// The phonebook files read so far (each once, however many phones name
/// it) and the `[contacts]` TOML they gave.
#[derive(Debug, Default)]
pub struct Phonebooks {
    files: HashMap<PathBuf, FileBook>,
    used_ids: HashSet<String>,
    pub toml: String,
}

/// A contact as read.
#[derive(Debug, Default)]
struct Card {
    line: usize,
    attributes: HashMap<String, String>,
    numbers: Vec<(String, String)>,
    email: Option<String>,
}

impl Phonebooks {
    /// The groups and lines of the file at `path`; `lines` maps each
    /// imported line's name and extension to its name.
    pub fn load(
        &mut self,
        path: &Path,
        lines: &HashMap<String, String>,
        notes: &mut Vec<String>,
    ) -> FileBook {
        if let Some(book) = self.files.get(path) {
            return book.clone();
        }
        let book = match std::fs::read_to_string(path) {
            Ok(text) => self.convert(path, &text, lines, notes),
            Err(error) => {
                notes.push(format!(
                    "{}: cannot read this phonebook file ({error}); its contacts are not imported",
                    path.display()
                ));
                FileBook::default()
            }
        };
        self.files.insert(path.to_path_buf(), book.clone());
        book
    }

    fn convert(
        &mut self,
        path: &Path,
        text: &str,
        lines: &HashMap<String, String>,
        notes: &mut Vec<String>,
    ) -> FileBook {
        let stem = path
            .file_stem()
            .map_or_else(|| "contacts".to_owned(), |s| s.to_string_lossy().into_owned());
        let mut book = FileBook::default();
        let mut reader = quick_xml::Reader::from_str(text);
        let mut group = stem.clone();
        let mut card: Option<Card> = None;
        // Counted on bytes: an offset is never asked to be a char boundary.
        let line_at = |offset: u64| {
            let end = usize::try_from(offset).map_or(text.len(), |o| o.min(text.len()));
            text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
        };
        loop {
            let offset = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(error) => {
                    notes.push(format!(
                        "{}:{}: not well-formed XML ({error}); the rest of the file is not imported",
                        path.display(),
                        line_at(offset)
                    ));
                    break;
                }
            };
            match event {
                Event::Start(element) | Event::Empty(element) => {
                    let attributes = attributes(&element);
                    match element.name().as_ref() {
                        "contacts" => {
                            group = attributes
                                .get("group_name")
                                .cloned()
                                .unwrap_or_else(|| stem.clone());
                        }
                        "contact" => {
                            if let Some(done) = card.take() {
                                self.finish(path, &group, done, lines, &mut book, notes);
                            }
                            card = Some(Card {
                                line: line_at(offset),
                                attributes,
                                ..Card::default()
                            });
                        }
                        "number" => {
                            if let (Some(card), Some(dial)) = (card.as_mut(), attributes.get("dial")) {
                                let label = attributes.get("label").cloned().unwrap_or_else(|| "Work".into());
                                card.numbers.push((label, dial.clone()));
                            }
                        }
                        "email" => {
                            if let Some(card) = card.as_mut() {
                                card.email = card.email.take().or_else(|| attributes.get("address").cloned());
                            }
                        }
                        _ => {}
                    }
                }
                Event::End(element) if element.name().as_ref() == "contact" => {
                    if let Some(done) = card.take() {
                        self.finish(path, &group, done, lines, &mut book, notes);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if let Some(done) = card.take() {
            self.finish(path, &group, done, lines, &mut book, notes);
        }
        book
    }

    /// Writes one contact as a line reference or a `[contacts]` entry, or
    /// notes why it cannot be.
    fn finish(
        &mut self,
        path: &Path,
        group: &str,
        card: Card,
        lines: &HashMap<String, String>,
        book: &mut FileBook,
        notes: &mut Vec<String>,
    ) {
        let get = |key: &str| card.attributes.get(key).filter(|v| !v.is_empty()).cloned();
        let id = get("id").unwrap_or_else(|| format!("{group}-{}", card.line));
        let mut note =
            |why: &str| notes.push(format!("{}:{}: contact {id:?}: {why}", path.display(), card.line));
        if let Some(line) = line_of(&card, lines) {
            if !book.lines.contains(&line) {
                book.lines.push(line);
            }
            return;
        }
        if lines.contains_key(&id) || self.used_ids.contains(&id) {
            note("its id is already a line or another contact; not imported");
            return;
        }
        let (first, last, organization) = (get("first_name"), get("last_name"), get("organization"));
        if first.is_none() && last.is_none() && organization.is_none() {
            note("has no first_name, last_name or organization to show; not imported");
            return;
        }
        if card.numbers.is_empty() && card.email.is_none() {
            note("has no number and no email; not imported");
            return;
        }
        let group = if group.eq_ignore_ascii_case(LINES_GROUP) {
            // The lines' own group: outside contacts go in one of their own.
            "External".to_owned()
        } else {
            group.to_owned()
        };
        self.used_ids.insert(id.clone());
        let quoted = |v: &str| toml::Value::String(v.to_owned()).to_string();
        let _ = writeln!(self.toml, "[contacts.{}]", super::toml_text::key(&id));
        let _ = writeln!(self.toml, "group = {}", quoted(&group));
        for (key, value) in [
            ("first_name", first),
            ("last_name", last),
            ("organization", organization),
            ("job_title", get("job_title")),
            ("location", get("location")),
            ("notes", get("notes")),
            ("email", card.email.clone()),
            (
                "subscribe_to",
                get("subscribe_to").filter(|s| s.starts_with("sip:")),
            ),
        ] {
            if let Some(value) = value {
                let _ = writeln!(self.toml, "{key} = {}", quoted(&value));
            }
        }
        if !card.numbers.is_empty() {
            let numbers: Vec<String> = card
                .numbers
                .iter()
                .map(|(label, dial)| format!("{{ label = {}, dial = {} }}", quoted(label), quoted(dial)))
                .collect();
            let _ = writeln!(self.toml, "numbers = [{}]", numbers.join(", "));
        }
        self.toml.push('\n');
        if !book.groups.contains(&group) {
            book.groups.push(group);
        }
    }
}

/// The imported line a contact stands for, if any.
fn line_of(card: &Card, lines: &HashMap<String, String>) -> Option<String> {
    let subscribe = card
        .attributes
        .get("subscribe_to")
        .map(String::as_str)
        .unwrap_or("");
    let target = subscribe
        .strip_prefix("auto_hint_")
        .or_else(|| {
            let user = subscribe.strip_prefix("sip:")?;
            Some(user.split(['@', ';']).next().unwrap_or(user))
        })
        .or((!subscribe.is_empty()).then_some(subscribe))
        .or(card.attributes.get("account_id").map(String::as_str))?;
    lines.get(target).cloned()
}

/// An element's attributes, unescaped; a malformed one is skipped.
fn attributes(element: &BytesStart<'_>) -> HashMap<String, String> {
    element
        .attributes()
        .filter_map(Result::ok)
        .filter_map(|attribute| {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            let key = attribute.key.local_name().as_ref().to_owned();
            Some((key, value))
        })
        .collect()
}
