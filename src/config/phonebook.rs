//! `[contacts.NAME]`: phonebook entries beyond the lines (suppliers, other
//! sites, a lobby door), each in a named group; a phone lists the groups it
//! gets (`contact_groups`), the actions its line contacts carry
//! (`contact_actions`) and which group its BLF keys watch
//! (`blf_contact_group`, default: the lines' own group).
//!
//! The contact fields are Digium's phonebook XML's (`first_name`,
//! `last_name`, `organization`, `job_title`, `location`, `notes`, numbers,
//! emails); the actions are Digium's call features, each a SIP header the
//! PBX acts on (FreePBX `digium_phones_contacts.php`; digium-phone-apps'
//! sample contacts files).

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::entry::Entry;
use super::problem::{Problem, path_segment};

/// The group of the lines' own contacts (its `group_name`; docs/DECISIONS.md §15).
pub const LINES_GROUP: &str = "Internal";

/// `[contacts.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactEntry {
    /// The phonebook group it is listed in (`group_name`).
    pub group: Option<Spanned<String>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub organization: Option<String>,
    pub job_title: Option<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    /// `[{ label = "Work", dial = "5551234" }, …]`; the first is primary.
    #[serde(default)]
    pub numbers: Vec<ContactNumber>,
    /// Presence to watch (a SIP URI), for a BLF key on an outside number.
    pub subscribe_to: Option<String>,
}

/// One `<number>` of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactNumber {
    pub label: String,
    pub dial: String,
}

/// A validated phonebook entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The table key; the contact's `id` in the phonebook.
    pub name: String,
    pub group: String,
    pub first_name: String,
    pub last_name: String,
    pub organization: Option<String>,
    pub job_title: Option<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    pub numbers: Vec<ContactNumber>,
    pub subscribe_to: Option<String>,
}

/// A Digium call feature on a line contact, sent as
/// `X-Digium-Call-Feature` (digium-phone-apps' sample contacts files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactAction {
    /// `feature_intercom`: the PBX auto-answers the call.
    Intercom,
    /// `feature_monitor`: listen in.
    Monitor,
    /// `feature_send_to_vm` plus `Diversion;reason="send_to_vm"`; only on
    /// contacts whose line has a mailbox.
    Voicemail,
    /// `feature_pickup`: pick up the contact's ringing call.
    Pickup,
}

/// Validates every `[contacts]` entry; returns them and their groups.
pub fn contacts(
    source: &str,
    entries: &[Entry<ContactEntry>],
    line_extens: &HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Vec<Contact> {
    let mut contacts = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("contacts.{}", path_segment(name.get_ref()));
        let mut push =
            |message: String| problems.push(Problem::at(source, name.span(), path.clone(), message));
        if line_extens.contains(name.get_ref()) {
            push(format!(
                "{:?} is also a line's extension, and both would be contact id {0:?} in a phonebook: rename one",
                name.get_ref()
            ));
        }
        let Some(group) = &value.group else {
            if !entry.has("group") {
                push("missing key `group` (the phonebook group it is listed in)".into());
            }
            continue;
        };
        if value.first_name.is_none() && value.last_name.is_none() && value.organization.is_none() {
            push("a contact needs a first_name, last_name or organization to be shown".into());
        }
        if value.numbers.is_empty() && value.email.is_none() && !entry.has("numbers") && !entry.has("email") {
            push("a contact needs at least one of `numbers` or `email`".into());
        }
        if group.get_ref() == LINES_GROUP {
            problems.push(Problem::at(
                source,
                group.span(),
                format!("{path}.group"),
                format!("{LINES_GROUP:?} is the lines' own group: choose another name"),
            ));
        }
        contacts.push(Contact {
            name: name.get_ref().clone(),
            group: group.get_ref().clone(),
            first_name: value.first_name.clone().unwrap_or_default(),
            last_name: value.last_name.clone().unwrap_or_default(),
            organization: value.organization.clone(),
            job_title: value.job_title.clone(),
            location: value.location.clone(),
            notes: value.notes.clone(),
            email: value.email.clone(),
            numbers: value.numbers.clone(),
            subscribe_to: value.subscribe_to.clone(),
        });
    }
    contacts
}

/// Checks a phone's `contact_groups` and `blf_contact_group` against the
/// groups the contacts define.
pub fn phone_groups(
    source: &str,
    path: &str,
    groups: &[Spanned<String>],
    watched: Option<&Spanned<String>>,
    known: &HashSet<&str>,
    problems: &mut Vec<Problem>,
) {
    for group in groups {
        if !known.contains(group.get_ref().as_str()) {
            problems.push(Problem::at(
                source,
                group.span(),
                format!("{path}.contact_groups"),
                format!("no [contacts] entry is in group {:?}", group.get_ref()),
            ));
        }
    }
    if let Some(watched) = watched {
        let listed = groups.iter().any(|g| g.get_ref() == watched.get_ref());
        if watched.get_ref() != LINES_GROUP && !listed {
            problems.push(Problem::at(
                source,
                watched.span(),
                format!("{path}.blf_contact_group"),
                format!(
                    "{:?} is neither {LINES_GROUP:?} (the lines in `contacts`) nor one of this phone's contact_groups",
                    watched.get_ref()
                ),
            ));
        }
    }
}
