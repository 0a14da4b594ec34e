//! The two documents about *other* lines that a phone watches: the
//! phonebook (`<contacts>`, one `subscribe_to` per contact) and the Smart
//! BLF sheet that puts those contacts on keys. Pure, like `render`.
//!
//! Rules and their sources (docs/DECISIONS.md §15):
//! - the phonebook group named by the config's `blf_contact_group` holds
//!   every watched contact (Sangoma "Contacts": no subscriptions otherwise);
//! - `account_id` is the contact's own account, as in FreePBX's
//!   `digium_phones_contacts.php` and FusionPBX's templates;
//! - the sheet is `<config><smart_blf><blf_items>` (Sangoma "Smart BLF"
//!   examples, FreePBX `blf_generator.php`, FusionPBX `-smartblf.cfg`), and
//!   each item's `contact_id` is a contact `id` of the phonebook.

use super::templates::{BlfItemView, ContactView, PhonebookXml, SmartBlfXml};
use crate::config::{Config, Phone};

/// The phonebook group's `group_name`, which `blf_contact_group` names
/// (its `id` stays `internal`, as in Wazo's and FusionPBX's configs).
pub const PHONEBOOK_GROUP: &str = "Internal";

/// `sip:<exten>@<server_address>`, with our SIP port when it is not 5060
/// (the phone would otherwise send its SUBSCRIBEs to the wrong port).
fn subscribe_uri(config: &Config, exten: &str) -> String {
    let port = config
        .sip
        .listen
        .first()
        .map_or(5060, |listen| listen.address.port());
    let host = &config.general.server_address;
    if port == 5060 {
        format!("sip:{exten}@{host}")
    } else {
        format!("sip:{exten}@{host}:{port}")
    }
}

/// The name a contact shows: the `full_name` of the phone whose primary
/// line it is (split at the first space into first and last name, as the
/// phone's `name_format` expects), else the line's label.
fn contact_name<'a>(config: &'a Config, line_name: &'a str, label: &'a str) -> (&'a str, &'a str) {
    let owner = config
        .phones_with_line(line_name)
        .find(|phone| phone.lines.first().is_some_and(|first| first == line_name));
    match owner.and_then(|phone| phone.full_name.as_deref()) {
        Some(full_name) => full_name
            .trim()
            .split_once(' ')
            .map_or((full_name.trim(), ""), |(first, last)| (first, last.trim())),
        None => (label, ""),
    }
}

pub fn phonebook_xml<'a>(config: &'a Config, phone: &'a Phone) -> PhonebookXml<'a> {
    let contacts = phone
        .contacts
        .iter()
        .filter_map(|name| config.line(name))
        .map(|line| {
            let (first_name, last_name) = contact_name(config, &line.name, &line.label);
            ContactView {
                exten: line.exten.as_str(),
                first_name,
                last_name,
                subscribe_to: subscribe_uri(config, line.exten.as_str()),
                has_voicemail: line.mailbox.is_some(),
            }
        })
        .collect();
    PhonebookXml {
        group: PHONEBOOK_GROUP,
        contacts,
    }
}

/// Lays the contacts out over the model's keys beside the phone's accounts
/// (`KeyLayout::slot`). Contacts beyond the capacity stay in the phonebook
/// only (`check` warns about them).
pub fn blf_xml<'a>(config: &'a Config, phone: &'a Phone) -> SmartBlfXml<'a> {
    let layout = phone.model.key_layout();
    let accounts = phone.lines.len();
    let contacts: Vec<_> = phone
        .contacts
        .iter()
        .filter_map(|name| config.line(name))
        .collect();
    let items: Vec<BlfItemView<'a>> = contacts
        .iter()
        .enumerate()
        .map_while(|(n, line)| {
            let slot = layout.slot(n, accounts)?;
            Some(BlfItemView {
                location: slot.location,
                index: slot.index,
                page: slot.page,
                contact_id: line.exten.as_str(),
            })
        })
        .collect();
    SmartBlfXml {
        model: phone.model.as_str(),
        accounts,
        capacity: layout.capacity(accounts),
        items,
    }
}
