//! The validated, immutable configuration. Every cross-reference here has
//! been checked: a phone's lines exist, MACs and extensions are unique, and
//! so on. Code that holds a `Config` never re-validates.

use std::path::PathBuf;

use super::extension::Extension;
use super::mac_address::MacAddress;
use super::phone_model::PhoneModel;
use super::secret::Secret;
use super::sections::{Admin, General, Http, Limits, Network, Sip};

/// A whole phones.toml, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where it was read from (for messages and reloads).
    pub source: PathBuf,
    pub general: General,
    pub http: Http,
    pub sip: Sip,
    pub admin: Admin,
    pub limits: Limits,
    /// By name, in file order.
    pub networks: Vec<(String, Network)>,
    /// In file order.
    pub lines: Vec<Line>,
    /// In file order.
    pub phones: Vec<Phone>,
    /// Things that work but are probably not what was meant (more
    /// contacts than BLF keys, …), for `check` and the server log.
    pub warnings: Vec<super::problem::Problem>,
    /// One per extension: the automatic hint of each line, with the
    /// `[hints]` overrides applied, plus hints for extra extensions.
    pub hints: Vec<HintDefinition>,
}

/// A SIP account (DPMA `type=line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The table key; `CustomPresence:<name>` and `Custom:<name>` use it.
    pub name: String,
    pub exten: Extension,
    pub authname: String,
    pub secret: Secret,
    pub label: String,
    pub callerid: Option<String>,
    pub mailbox: Option<String>,
    pub voicemail: Option<String>,
}

/// A desk phone (DPMA `type=phone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub name: String,
    pub mac: MacAddress,
    pub model: PhoneModel,
    pub login_password: Option<Secret>,
    pub full_name: Option<String>,
    /// Line names, primary first; never empty.
    pub lines: Vec<String>,
    /// Line names for the phonebook and BLF keys.
    pub contacts: Vec<String>,
    /// Network name as set; `None`: chosen per request by address
    /// (`Config::network_for`).
    pub network: Option<String>,
    pub timezone: Option<String>,
}

/// Which device states and presence providers make up an extension's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintDefinition {
    pub exten: Extension,
    /// Device names, e.g. `Custom:2000`.
    pub devices: Vec<String>,
    /// Presence providers, e.g. `CustomPresence:2000`.
    pub presence: Vec<String>,
}

impl Config {
    /// The line called `name`.
    pub fn line(&self, name: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.name == name)
    }

    /// The line whose extension is `exten`.
    pub fn line_by_exten(&self, exten: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.exten.as_str() == exten)
    }

    /// The line whose digest user name is `authname`.
    pub fn line_by_authname(&self, authname: &str) -> Option<&Line> {
        self.lines.iter().find(|line| line.authname == authname)
    }

    /// The phone called `name`.
    pub fn phone(&self, name: &str) -> Option<&Phone> {
        self.phones.iter().find(|phone| phone.name == name)
    }

    /// The phone with this MAC.
    pub fn phone_by_mac(&self, mac: &MacAddress) -> Option<&Phone> {
        self.phones.iter().find(|phone| &phone.mac == mac)
    }

    /// The network called `name`.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, network)| network)
    }

    /// The network a phone fetching from `peer` is on: its own `network`,
    /// else the first network (in file order) whose `cidr` holds `peer`,
    /// as DPMA picks one; `None` when none does.
    pub fn network_for<'a>(&'a self, phone: &'a Phone, peer: std::net::IpAddr) -> Option<&'a str> {
        match &phone.network {
            Some(name) => Some(name),
            None => self
                .networks
                .iter()
                .find(|(_, network)| network.cidr.contains(peer))
                .map(|(name, _)| name.as_str()),
        }
    }

    /// Phones that carry line `name` (as one of their own lines).
    pub fn phones_with_line<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Phone> + 'a {
        self.phones
            .iter()
            .filter(move |phone| phone.lines.iter().any(|l| l == name))
    }

    /// Counts for a one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{} phones, {} lines, {} networks, {} hints",
            self.phones.len(),
            self.lines.len(),
            self.networks.len(),
            self.hints.len()
        )
    }
}
