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
use crate::config::{Config, Phone, Transport};

/// The phonebook group's `group_name`, which `blf_contact_group` names
/// (its `id` stays `internal`, as in Wazo's and FusionPBX's configs).
pub const PHONEBOOK_GROUP: &str = "Internal";

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
