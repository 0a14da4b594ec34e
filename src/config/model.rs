//! The validated, immutable configuration. Every cross-reference here has
//! been checked: a phone's lines exist, MACs and extensions are unique, and
//! so on. Code that holds a `Config` never re-validates.

use std::collections::HashMap;
use std::path::PathBuf;

use super::asterisk::Asterisk;
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
    /// `[asterisk]`: work beside this Asterisk (AMI); `None` = alone.
    pub asterisk: Option<Asterisk>,
    /// By name, in file order.
    pub networks: Vec<(String, Network)>,
    /// In file order.
    pub lines: Vec<Line>,
    /// In file order.
    pub phones: Vec<Phone>,
    /// `[alerts]`, in file order.
    pub alerts: Vec<super::alerts::Alert>,
    /// `[external_lines]` accounts, in file order.
    pub external_lines: Vec<super::registration::ExternalLine>,
    /// MD5 (hex) of served files that phones check by hash (logos,
    /// wallpapers, ringtones), filled
    /// by `Config::load`.
    pub file_md5: HashMap<String, String>,
    /// `[firmware]` images, in file order.
    pub firmware: Vec<super::firmware::Firmware>,
    /// `[contacts]` phonebook entries, in file order.
    pub contacts: Vec<super::phonebook::Contact>,
    /// `[ringtones]` files, in file order.
    pub ringtones: Vec<super::ringtones::UserRingtone>,
    /// `[paging]` multicast groups, in file order.
    pub paging: Vec<super::paging::PagingGroup>,
    /// Things that work but are probably not what was meant (more
    /// contacts than BLF keys, …), for `check` and the server log.
    pub warnings: Vec<super::problem::Problem>,
    /// One per extension: the automatic hint of each line, with the
    /// `[hints]` overrides applied, plus hints for extra extensions.
    pub hints: Vec<HintDefinition>,
    /// `phones.NAME` / `lines.NAME` → where each key set for it was set:
    /// in the entry or in which profile (`render --explain`).
    pub origins: HashMap<String, Vec<super::profiles::KeyOrigin>>,
    /// Positions in `lines` and `phones` by every key they are looked up
    /// by; built once by `validate`.
    pub(super) index: Index,
}

/// Lookups by name, extension, authname and MAC. A site has tens of
/// thousands of lines and every SIP request and rendered document looks
/// several up: a scan each made a 10,000-phone reload take seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Index {
    line_by_name: HashMap<String, usize>,
    line_by_exten: HashMap<String, usize>,
    line_by_authname: HashMap<String, usize>,
    phone_by_name: HashMap<String, usize>,
    phone_by_mac: HashMap<MacAddress, usize>,
    /// Line name → the phones that carry it as one of their own lines.
    phones_by_line: HashMap<String, Vec<usize>>,
}

impl Index {
    pub(super) fn build(lines: &[Line], phones: &[Phone]) -> Self {
        let mut index = Index::default();
        for (position, line) in lines.iter().enumerate() {
            // The first wins, as the scans did (validate refuses duplicates).
            index.line_by_name.entry(line.name.clone()).or_insert(position);
            index
                .line_by_exten
                .entry(line.exten.to_string())
                .or_insert(position);
            index
                .line_by_authname
                .entry(line.authname.clone())
                .or_insert(position);
        }
        for (position, phone) in phones.iter().enumerate() {
            index.phone_by_name.entry(phone.name.clone()).or_insert(position);
            index.phone_by_mac.entry(phone.mac.clone()).or_insert(position);
            for line in &phone.lines {
                let carriers = index.phones_by_line.entry(line.clone()).or_default();
                if carriers.last() != Some(&position) {
                    carriers.push(position);
                }
            }
        }
        index
    }
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
    pub sip: super::registration::LineSip,
}

/// A desk phone (DPMA `type=phone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub name: String,
    pub mac: MacAddress,
    /// `None`: the phone's documents follow the model its User-Agent names.
    pub model: Option<PhoneModel>,
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
    pub device: super::device_settings::DeviceSettings,
    /// `[external_lines]` names, after its own lines.
    pub external_lines: Vec<String>,
    /// `[alerts]` names it honours.
    pub alerts: Vec<String>,
    pub active_ringtone: Option<super::alerts::Ringtone>,
    /// `[ringtones]` names it downloads: those it lists, then those its
    /// alerts and `active_ringtone` name, each once, in that order.
    pub ringtones: Vec<String>,
    /// `[paging]` groups it listens to.
    pub paging: Vec<String>,
    pub logo_file: Option<super::logo::LogoFile>,
    pub wallpaper_file: Option<super::logo::LogoFile>,
    /// The `[firmware]` entry it runs, if any.
    pub firmware: Option<String>,
    /// `[contacts]` groups in the phonebook, after the lines' group.
    pub contact_groups: Vec<String>,
    /// The group the BLF keys watch (`phonebook::LINES_GROUP` by default).
    pub blf_contact_group: String,
    /// Call features on the line contacts.
    pub contact_actions: Vec<super::phonebook::ContactAction>,
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
        self.index.line_by_name.get(name).map(|&i| &self.lines[i])
    }

    /// The line whose extension is `exten`.
    pub fn line_by_exten(&self, exten: &str) -> Option<&Line> {
        self.index.line_by_exten.get(exten).map(|&i| &self.lines[i])
    }

    /// The line whose digest user name is `authname`.
    pub fn line_by_authname(&self, authname: &str) -> Option<&Line> {
        self.index.line_by_authname.get(authname).map(|&i| &self.lines[i])
    }

    /// The phone called `name`.
    pub fn phone(&self, name: &str) -> Option<&Phone> {
        self.index.phone_by_name.get(name).map(|&i| &self.phones[i])
    }

    /// The phone with this MAC.
    pub fn phone_by_mac(&self, mac: &MacAddress) -> Option<&Phone> {
        self.index.phone_by_mac.get(mac).map(|&i| &self.phones[i])
    }

    /// The network called `name`.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, network)| network)
    }

    /// The network a phone fetching from `peer` is on: its own `network`,
    /// else the network whose `cidr` holds `peer`, as DPMA picks one;
    /// `None` when none does. Where cidrs overlap (a branch /16 inside the
    /// site's /8) the longest prefix wins, as in IP routing, so the more
    /// specific network is reachable whatever the file order; equal
    /// prefixes go to the first in file order (DECISIONS §15).
    pub fn network_for<'a>(&'a self, phone: &'a Phone, peer: std::net::IpAddr) -> Option<&'a str> {
        match &phone.network {
            Some(name) => Some(name),
            None => self
                .networks
                .iter()
                .filter(|(_, network)| network.cidr.contains(peer))
                // `rev` + `max_by_key` keeps the first of equal prefixes.
                .rev()
                .max_by_key(|(_, network)| network.cidr.prefix_len())
                .map(|(name, _)| name.as_str()),
        }
    }

    /// The `[alerts]` entry called `name`.
    pub fn alert(&self, name: &str) -> Option<&super::alerts::Alert> {
        self.alerts.iter().find(|alert| alert.name == name)
    }

    /// The `[external_lines]` entry called `name`.
    pub fn external_line(&self, name: &str) -> Option<&super::registration::ExternalLine> {
        self.external_lines.iter().find(|line| line.name == name)
    }

    /// The one `[firmware]` entry for `model`, if there is exactly one.
    pub fn firmware_for_model(&self, model: PhoneModel) -> Option<&super::firmware::Firmware> {
        let mut entries = self.firmware.iter().filter(|image| image.model == model);
        let first = entries.next()?;
        entries.next().is_none().then_some(first)
    }

    /// The `[firmware]` entry called `name`.
    pub fn firmware_named(&self, name: &str) -> Option<&super::firmware::Firmware> {
        self.firmware.iter().find(|image| image.name == name)
    }

    /// The file behind `/files/NAME`, if the config serves one by that name.
    pub fn served_file(&self, name: &str) -> Option<std::path::PathBuf> {
        let firmware = self.firmware.iter().any(|image| image.file == name);
        let tone = self.ringtones.iter().any(|tone| tone.file == name);
        let image = self.phones.iter().any(|phone| {
            [&phone.logo_file, &phone.wallpaper_file]
                .into_iter()
                .flatten()
                .any(|image| image.file == name)
        });
        (firmware || tone || image).then(|| self.general.files_dir.join(name))
    }

    /// The `[ringtones]` entry called `name`.
    pub fn ringtone(&self, name: &str) -> Option<&super::ringtones::UserRingtone> {
        self.ringtones.iter().find(|tone| tone.name == name)
    }

    /// The `[paging]` group called `name`.
    pub fn paging_group(&self, name: &str) -> Option<&super::paging::PagingGroup> {
        self.paging.iter().find(|group| group.name == name)
    }

    /// The `[contacts]` entries of `group`, in file order.
    pub fn contacts_in<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = &'a super::phonebook::Contact> + 'a {
        self.contacts.iter().filter(move |contact| contact.group == group)
    }

    /// Phones that carry line `name` (as one of their own lines).
    pub fn phones_with_line<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Phone> + 'a {
        let carriers = self.index.phones_by_line.get(name).map_or(&[][..], Vec::as_slice);
        carriers.iter().map(|&i| &self.phones[i])
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A site-wide /8 listed before a branch /16 inside it: phones in the
    /// branch get the branch (longest prefix), the rest the site; an IPv6
    /// phone and an IPv4-mapped peer (dual-stack socket) are placed too.
    #[test]
    fn overlapping_cidrs_go_to_the_longest_prefix() {
        let text = "[general]\nserver_address = \"pbx\"\n\
             [networks.site]\ncidr = \"10.0.0.0/8\"\n\
             [networks.branch]\ncidr = \"10.1.0.0/16\"\n\
             [networks.branch_again]\ncidr = \"10.1.0.0/16\"\n\
             [networks.v6]\ncidr = \"fd00:1::/64\"\n\
             [lines.2000]\nsecret = \"a\"\n\
             [phones.roaming]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"2000\"]\n";
        let config = Config::parse(text, Path::new("phones.toml")).expect("valid");
        let phone = config.phone("roaming").expect("phone");
        let on = |peer: &str| config.network_for(phone, peer.parse().expect("address"));
        assert_eq!(on("10.1.2.3"), Some("branch"));
        assert_eq!(on("::ffff:10.1.2.3"), Some("branch"));
        assert_eq!(on("10.2.0.1"), Some("site"));
        assert_eq!(on("fd00:1::5"), Some("v6"));
        assert_eq!(on("192.0.2.1"), None);
        // `branch_again` is reachable only by name: `check` says so.
        let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("networks.branch_again.cidr: same cidr as network \"branch\""),
            "{warnings:?}"
        );
    }
}
