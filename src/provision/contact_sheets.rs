//! The two documents about *other* lines that a phone watches: the
//! phonebook (`<contacts>`, one `subscribe_to` per contact) and the Smart
//! BLF sheet that puts those contacts on keys. Pure, like `render`.
//!
//! Rules and their sources (docs/DECISIONS.md §15):
//! - the phonebook group named by the config's `blf_contact_group` holds
//!   every watched contact (Sangoma "Contacts": no subscriptions otherwise):
//!   the lines' group `Internal` unless the phone names one of its
//!   `[contacts]` groups; each `[contacts]` group is a `<contacts>` of its own;
//! - call-feature actions carry `X-Digium-Call-Feature` (and Diversion for
//!   send-to-voicemail) as FreePBX's `digium_phones_contacts.php` writes them;
//! - `account_id` is the contact's own account, as in FreePBX's
//!   `digium_phones_contacts.php` and FusionPBX's templates;
//! - the sheet is `<config><smart_blf><blf_items>` (Sangoma "Smart BLF"
//!   examples, FreePBX `blf_generator.php`, FusionPBX `-smartblf.cfg`), and
//!   each item's `contact_id` is a contact `id` of the phonebook.

use super::templates::{
    ActionView, BlfItemView, ContactView, GroupView, NumberView, PhonebookXml, SmartBlfXml,
};
use crate::config::{Config, Contact, ContactAction, LINES_GROUP, Line, Phone, PhoneModel, Transport};

/// The header every Digium call feature travels in (digium-phone-apps' sample
/// contacts).
const CALL_FEATURE: &str = "X-Digium-Call-Feature";
/// Send-to-voicemail also names the diverting account, in the phone's own
/// placeholders (FreePBX `digium_phones_contacts.php`).
const SEND_TO_VM_DIVERSION: &str =
    "<sip:%_ACCOUNT_USERNAME_%@%_ACCOUNT_SERVER_%:%_ACCOUNT_PORT_%>;reason=\"send_to_vm\"";

/// `sip:<exten>@<server_address>`, with our SIP port when it is not 5060
/// (the phone would otherwise send its SUBSCRIBEs to the wrong port).
/// A `sip:` URI without `transport=` means UDP (RFC 3263 §4.1), so the port
/// is a UDP listener's; only without one does the URI name TCP or TLS.
fn subscribe_uri(config: &Config, exten: &str) -> String {
    let listen = [Transport::Udp, Transport::Tcp, Transport::Tls]
        .into_iter()
        .find_map(|transport| config.sip.listen.iter().find(|l| l.transport == transport));
    let (port, transport) = listen.map_or((5060, Transport::Udp), |l| (l.address.port(), l.transport));
    // An IPv6 literal is bracketed in a SIP URI (RFC 3261 §25.1
    // `IPv6reference`), or its colons would read as a port.
    let host = &config.general.server_address;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let port = if port == 5060 {
        String::new()
    } else {
        format!(":{port}")
    };
    let transport = match transport {
        Transport::Udp => String::new(),
        other => format!(";transport={other}"),
    };
    format!("sip:{exten}@{host}{port}{transport}")
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

/// The `<action>`s of a line contact: `primary` dials it; each of the
/// phone's `contact_actions` dials it with its call-feature header.
/// Send-to-voicemail only where the line has a mailbox.
fn line_actions<'a>(phone: &Phone, line: &'a Line) -> Vec<ActionView<'a>> {
    let dial = line.exten.as_str();
    let mut actions = vec![ActionView {
        id: "primary",
        dial,
        label: "Call",
        headers: Vec::new(),
    }];
    for action in &phone.contact_actions {
        let (id, label, headers) = match action {
            ContactAction::Intercom => ("intercom", "Intercom", vec![(CALL_FEATURE, "feature_intercom")]),
            ContactAction::Monitor => ("monitor", "Monitor", vec![(CALL_FEATURE, "feature_monitor")]),
            ContactAction::Pickup => ("pickupcall", "Pick up", vec![(CALL_FEATURE, "feature_pickup")]),
            ContactAction::Voicemail if line.mailbox.is_some() => (
                "dial_vm",
                "Voicemail",
                vec![
                    (CALL_FEATURE, "feature_send_to_vm"),
                    ("Diversion", SEND_TO_VM_DIVERSION),
                ],
            ),
            ContactAction::Voicemail => continue,
        };
        actions.push(ActionView {
            id,
            dial,
            label,
            headers,
        });
    }
    actions
}

fn line_contact<'a>(config: &'a Config, phone: &Phone, line: &'a Line) -> ContactView<'a> {
    let (first_name, last_name) = contact_name(config, &line.name, &line.label);
    let exten = line.exten.as_str();
    ContactView {
        id: exten,
        first_name,
        last_name,
        card: Vec::new(),
        account_id: Some(exten),
        subscribe_to: Some(subscribe_uri(config, exten)),
        has_voicemail: line.mailbox.is_some(),
        numbers: vec![NumberView {
            label: "Extension",
            dial: exten,
        }],
        email: None,
        actions: line_actions(phone, line),
    }
}

fn book_contact(contact: &Contact) -> ContactView<'_> {
    let card = [
        ("organization", &contact.organization),
        ("job_title", &contact.job_title),
        ("location", &contact.location),
        ("notes", &contact.notes),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.as_deref().map(|value| (key, value)))
    .collect();
    let numbers: Vec<NumberView<'_>> = contact
        .numbers
        .iter()
        .map(|number| NumberView {
            label: &number.label,
            dial: &number.dial,
        })
        .collect();
    let actions = numbers
        .first()
        .map(|primary| ActionView {
            id: "primary",
            dial: primary.dial,
            label: "Call",
            headers: Vec::new(),
        })
        .into_iter()
        .collect();
    ContactView {
        id: &contact.name,
        first_name: &contact.first_name,
        last_name: &contact.last_name,
        card,
        account_id: None,
        subscribe_to: contact.subscribe_to.clone(),
        has_voicemail: false,
        numbers,
        email: contact.email.as_deref(),
        actions,
    }
}

/// A group's `id`: lower case, anything but letters and digits as `_`
/// (the lines' group keeps `internal`, as Wazo and FusionPBX write it).
fn group_id(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

pub fn phonebook_xml<'a>(config: &'a Config, phone: &'a Phone) -> PhonebookXml<'a> {
    let lines = phone
        .contacts
        .iter()
        .filter_map(|name| config.line(name))
        .map(|line| line_contact(config, phone, line))
        .collect();
    let mut groups = vec![GroupView {
        name: LINES_GROUP,
        id: group_id(LINES_GROUP),
        contacts: lines,
    }];
    for group in &phone.contact_groups {
        groups.push(GroupView {
            name: group,
            id: group_id(group),
            contacts: config.contacts_in(group).map(book_contact).collect(),
        });
    }
    PhonebookXml { groups }
}

/// The contact ids the BLF keys watch: the lines in `contacts`, or the
/// entries of the phone's `blf_contact_group`.
pub fn watched_ids<'a>(config: &'a Config, phone: &'a Phone) -> Vec<&'a str> {
    if phone.blf_contact_group == LINES_GROUP {
        phone
            .contacts
            .iter()
            .filter_map(|name| config.line(name))
            .map(|line| line.exten.as_str())
            .collect()
    } else {
        config
            .contacts_in(&phone.blf_contact_group)
            .map(|contact| contact.name.as_str())
            .collect()
    }
}

/// Lays the contacts out over the model's keys beside the phone's accounts
/// (`KeyLayout::slot`). Contacts beyond the capacity stay in the phonebook
/// only (`check` warns about them).
pub fn blf_xml<'a>(config: &'a Config, phone: &'a Phone, model: PhoneModel) -> SmartBlfXml<'a> {
    let layout = model.key_layout();
    let accounts = phone.lines.len() + phone.external_lines.len();
    let items: Vec<BlfItemView<'a>> = watched_ids(config, phone)
        .into_iter()
        .enumerate()
        .map_while(|(n, contact_id)| {
            let slot = layout.slot(n, accounts)?;
            Some(BlfItemView {
                location: slot.location,
                index: slot.index,
                page: slot.page,
                contact_id,
            })
        })
        .collect();
    SmartBlfXml {
        model: model.as_str(),
        accounts,
        capacity: layout.capacity(accounts),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(server_address: &str, sip_listen: &str) -> Config {
        let text = format!(
            "[general]\nserver_address = \"{server_address}\"\n[sip]\nlisten = [\"{sip_listen}\"]\n\
             [lines.2000]\nsecret = \"a\"\n"
        );
        Config::parse(&text, Path::new("phones.toml")).expect("valid")
    }

    #[test]
    fn subscribe_to_brackets_an_ipv6_server_and_names_our_port() {
        assert_eq!(
            subscribe_uri(&config("fd00::1", "udp:[::]:5070"), "2000"),
            "sip:2000@[fd00::1]:5070"
        );
        assert_eq!(
            subscribe_uri(&config("fd00::1", "udp:[::]:5060"), "2000"),
            "sip:2000@[fd00::1]"
        );
        assert_eq!(
            subscribe_uri(&config("pbx.example", "udp:0.0.0.0:5070"), "2000"),
            "sip:2000@pbx.example:5070"
        );
    }

    /// Listed first or not, the UDP listener is the one a bare `sip:` URI
    /// reaches; without one, the URI says which transport to use.
    #[test]
    fn subscribe_to_names_a_listener_the_phone_reaches() {
        assert_eq!(
            subscribe_uri(&config("pbx", "tcp:0.0.0.0:5061\", \"udp:0.0.0.0:5062"), "2000"),
            "sip:2000@pbx:5062"
        );
        assert_eq!(
            subscribe_uri(&config("pbx", "tcp:0.0.0.0:5070"), "2000"),
            "sip:2000@pbx:5070;transport=tcp"
        );
    }
}
