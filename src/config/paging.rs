//! `[paging.NAME]` (DPMA `type=multicastpage`: `alias`, `address`, `port`,
//! `priority`, `interrupt`, "DPMA Configuration"): a multicast paging group the
//! phones that list it (`paging = [...]`) listen to.
//!
//! Written as `<multicast><listener id name addr port priority
//! interrupt_calls [extension]/></multicast>`. The listener attributes and
//! their ranges are the Asterisk wiki's "XML Configuration" page (page
//! diff pageId 47874118, versions 5→6: `addr` an IPv4 multicast address,
//! `port` 1–65535, `priority` 1–10 with lower winning, `interrupt_calls`
//! 0 = play over calls, 1 = hold calls and play at full volume;
//! firmware 1_11_0 and later on every D-series model). The enclosing
//! element's name is not in that excerpt: see docs/DECISIONS.md §20.

use std::net::Ipv4Addr;

use serde::Deserialize;
use toml::Spanned;

use super::device_settings::Bounded;
use super::entry::Entry;
use super::problem::{Problem, path_segment};

/// A listener's priority: 1 (highest) to 10.
pub type PagePriority = Bounded<1, 10>;

/// `[paging.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingEntry {
    /// Shown in the phone's status bar while a page plays; default: the name.
    pub alias: Option<String>,
    pub address: Option<Spanned<Ipv4Addr>>,
    pub port: Option<u16>,
    pub priority: Option<PagePriority>,
    /// Hold a call in progress and play the page at full volume (DPMA
    /// `interrupt`); default no: the page plays over the call.
    #[serde(default)]
    pub interrupt: bool,
    /// Dialling this extension makes the phone ignore its own page.
    pub extension: Option<String>,
}

/// A validated paging group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingGroup {
    pub name: String,
    pub alias: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub priority: PagePriority,
    pub interrupt: bool,
    pub extension: Option<String>,
}

pub fn paging(source: &str, entries: &[Entry<PagingEntry>], problems: &mut Vec<Problem>) -> Vec<PagingGroup> {
    let mut groups = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("paging.{}", path_segment(name.get_ref()));
        let (Some(address), Some(port), Some(priority)) = (&value.address, value.port, value.priority) else {
            super::references::missing_keys(source, entry, &path, &["address", "port", "priority"], problems);
            continue;
        };
        // RFC 5771 §2: IPv4 multicast is 224.0.0.0/4; a phone cannot join
        // a group outside it.
        if !address.get_ref().is_multicast() {
            problems.push(Problem::at(
                source,
                address.span(),
                format!("{path}.address"),
                format!(
                    "{} is not a multicast address (224.0.0.0 to 239.255.255.255)",
                    address.get_ref()
                ),
            ));
            continue;
        }
        if port == 0 {
            problems.push(Problem::at(
                source,
                name.span(),
                format!("{path}.port"),
                "port 0 cannot be listened on (1 to 65535)",
            ));
            continue;
        }
        groups.push(PagingGroup {
            name: name.get_ref().clone(),
            alias: value.alias.clone().unwrap_or_else(|| name.get_ref().clone()),
            address: *address.get_ref(),
            port,
            priority,
            interrupt: value.interrupt,
            extension: value.extension.clone(),
        });
    }
    groups
}
