//! Rendering a phone's three documents from the config. Pure: the same
//! `Config` always gives the same bytes, which is what makes per-snapshot
//! caching and ETags sound.
//!
//! A phone without `network =` gets the network whose `cidr` holds the
//! address it fetches from (DPMA's rule), so its `<mac>.cfg` is rendered
//! once per distinct `Placement` among the networks (networks placing it
//! alike share the bytes), plus once for "no network matched".

use std::collections::HashMap;

use askama::Template;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::contact_sheets::{PHONEBOOK_GROUP, blf_xml, phonebook_xml};
use super::document_token::DocumentToken;
use super::templates::{AccountView, PhoneConfigXml, SettingView};
use crate::config::{Config, KeyLayout, Network, Phone};

/// Digium's documented default for `contacts_max_subscriptions`; we never
/// write less (Sangoma "Contacts": beyond it, contacts are not watched).
const DEFAULT_MAX_SUBSCRIPTIONS: usize = 40;

/// Which of a phone's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `<mac>.cfg`
    Config,
    /// `<mac>-contacts.xml`
    Contacts,
    /// `<mac>-blf.xml`
    Blf,
}

/// A rendered file with its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub body: Bytes,
    /// Quoted strong ETag derived from the body.
    pub etag: String,
}

impl Document {
    fn new(mut body: String) -> Self {
        // askama drops the template's final newline; files end with one.
        body.push('\n');
        let digest = Sha256::digest(body.as_bytes());
        let etag = format!(
            "\"{}\"",
            digest[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Self {
            body: Bytes::from(body),
            etag,
        }
    }
}

/// All of one phone's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneDocuments {
    /// `<mac>.cfg` on the phone's own `network`, or on no network.
    pub config: Document,
    /// `<mac>.cfg` on each network, by name, for a phone without `network =`.
    pub config_by_network: Vec<(String, Document)>,
    pub contacts: Document,
    pub blf: Document,
    /// The path segment of the credential-free phonebook and BLF URLs.
    pub token: DocumentToken,
}

impl PhoneDocuments {
    /// `kind` as served to a phone with no network chosen by address.
    pub fn get(&self, kind: DocumentKind) -> &Document {
        self.get_on(kind, None)
    }

    /// `kind` for a phone on `network` (see `Config::network_for`).
    pub fn get_on(&self, kind: DocumentKind, network: Option<&str>) -> &Document {
        match kind {
            DocumentKind::Config => network
                .and_then(|name| self.config_by_network.iter().find(|(n, _)| n == name))
                .map_or(&self.config, |(_, document)| document),
            DocumentKind::Contacts => &self.contacts,
            DocumentKind::Blf => &self.blf,
        }
    }

    /// Every body with its tag, for change detection across reloads.
    pub fn etags(&self) -> impl Iterator<Item = &str> {
        [&self.config, &self.contacts, &self.blf]
            .into_iter()
            .chain(self.config_by_network.iter().map(|(_, document)| document))
            .map(|document| document.etag.as_str())
    }
}

/// Why rendering failed (a template bug, never bad config: the config was
/// validated before it got here).
#[derive(Debug, thiserror::Error)]
#[error("rendering {document} for phone {phone:?}: {source}")]
pub struct RenderError {
    phone: String,
    document: &'static str,
    source: askama::Error,
}

/// Renders every document of `phone`.
pub fn render_phone(config: &Config, phone: &Phone) -> Result<PhoneDocuments, RenderError> {
    let fail = |document: &'static str| {
        let phone = phone.name.clone();
        move |source| RenderError {
            phone,
            document,
            source,
        }
    };
    let blf = blf_xml(config, phone);
    let token = DocumentToken::derive(config, phone);
    let own = phone.network.as_deref().and_then(|name| config.network(name));
    let mut config_by_network = Vec::new();
    if phone.network.is_none() {
        // Networks that place a phone alike (often every branch of a site:
        // one registrar, one NTP server, different cidrs) share one
        // rendering, and `Bytes` clones share the body, so a site's
        // phones × networks documents cost memory per distinct placement.
        let mut rendered: HashMap<Placement<'_>, Document> = HashMap::new();
        for (name, network) in &config.networks {
            let placement = Placement::of(config, Some(network));
            let document = match rendered.get(&placement) {
                Some(document) => document.clone(),
                None => {
                    let xml = config_xml(config, phone, placement, &token);
                    let document = Document::new(xml.render().map_err(fail("config"))?);
                    rendered.insert(placement, document.clone());
                    document
                }
            };
            config_by_network.push((name.clone(), document));
        }
    }
    Ok(PhoneDocuments {
        config: Document::new(
            config_xml(config, phone, Placement::of(config, own), &token)
                .render()
                .map_err(fail("config"))?,
        ),
        config_by_network,
        contacts: Document::new(phonebook_xml(config, phone).render().map_err(fail("contacts"))?),
        blf: Document::new(blf.render().map_err(fail("blf"))?),
        token,
    })
}

/// `http(s)://server:port/` — where the phone fetches its other files.
fn base_url(config: &Config) -> String {
    let host = &config.general.server_address;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let scheme = if config.http.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}:{}/", config.http.listen.port())
}

/// Everything a network changes in a `<mac>.cfg`: where the accounts
/// register and the NTP server. `config_xml` reads a network only through
/// this, so two networks with equal placements render equal bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Placement<'a> {
    server: &'a str,
    port: u16,
    transport: &'static str,
    ntp_server: Option<&'a str>,
}

impl<'a> Placement<'a> {
    /// On `network`, or on none: `[general] server_address`, 5060, udp.
    fn of(config: &'a Config, network: Option<&'a Network>) -> Self {
        Self {
            server: network
                .and_then(|n| n.registration_address.as_deref())
                .unwrap_or(&config.general.server_address),
            port: network.map_or(5060, |n| n.registration_port),
            transport: network.map_or("udp", |n| n.transport.as_str()),
            ntp_server: network.and_then(|n| n.ntp_server.as_deref()),
        }
    }
}

fn config_xml<'a>(
    config: &'a Config,
    phone: &'a Phone,
    placement: Placement<'a>,
    token: &DocumentToken,
) -> PhoneConfigXml<'a> {
    let mut settings = Vec::new();
    let mut setting = |id, value: &str| {
        settings.push(SettingView {
            id,
            value: value.to_owned(),
        })
    };
    if let Some(timezone) = &phone.timezone {
        setting("time_zone", timezone);
    }
    if let Some(ntp) = placement.ntp_server {
        setting("time_source", "ntp");
        setting("ntp_server", ntp);
    }
    if let Some(password) = &phone.login_password {
        setting("login_password", password.expose());
    }
    setting("enable_check_sync", "1");
    // Without a group the phone subscribes to nothing (Sangoma "Contacts").
    setting("blf_contact_group", PHONEBOOK_GROUP);
    let watched = phone.contacts.len().max(DEFAULT_MAX_SUBSCRIPTIONS);
    setting("contacts_max_subscriptions", &watched.to_string());
    if !matches!(phone.model.key_layout(), KeyLayout::Side { .. }) {
        // Contacts share the line keys here; DPMA's blf_unused_linekeys.
        setting("enable_blf_on_unused_line_keys", "1");
    }
    let Placement {
        server,
        port,
        transport,
        ..
    } = placement;
    let accounts = phone
        .lines
        .iter()
        .filter_map(|name| config.line(name))
        .enumerate()
        .map(|(index, line)| AccountView {
            index,
            username: line.exten.as_str(),
            authname: &line.authname,
            password: line.secret.expose(),
            label: &line.label,
            caller_id: line.callerid.as_deref().unwrap_or(&line.label),
            voicemail: line.voicemail.as_deref().unwrap_or(""),
            mailbox: line.mailbox.is_some(),
            server,
            port,
            transport,
        })
        .collect();
    // The phonebook and BLF sheet under the phone's token: no credentials
    // needed, so a phone that does not re-send them still gets its keys.
    let base = format!("{}p/{}/", base_url(config), token.as_str());
    PhoneConfigXml {
        model: phone.model.as_str(),
        settings,
        accounts,
        contacts_url: format!("{base}{}-contacts.xml", phone.mac),
        blf_url: format!("{base}{}-blf.xml", phone.mac),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Three branches with one registrar share one body (one allocation,
    /// whatever the number of networks); a branch with its own registrar
    /// gets its own.
    #[test]
    fn networks_that_place_a_phone_alike_share_one_body() {
        let text = "[general]\nserver_address = \"pbx\"\n\
             [networks.a]\ncidr = \"10.1.0.0/16\"\nregistration_address = \"sip.example\"\n\
             [networks.b]\ncidr = \"10.2.0.0/16\"\nregistration_address = \"sip.example\"\n\
             [networks.c]\ncidr = \"10.3.0.0/16\"\nregistration_address = \"sip.example\"\n\
             [networks.lab]\ncidr = \"10.9.0.0/16\"\nregistration_address = \"lab.example\"\n\
             [lines.2000]\nsecret = \"a\"\n\
             [phones.roaming]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"2000\"]\n";
        let config = Config::parse(text, Path::new("phones.toml")).expect("valid");
        let documents = render_phone(&config, config.phone("roaming").expect("phone")).expect("renders");
        let body = |network| documents.get_on(DocumentKind::Config, Some(network)).body.clone();
        let (a, b, c, lab) = (body("a"), body("b"), body("c"), body("lab"));
        assert!(
            std::str::from_utf8(&a)
                .expect("UTF-8")
                .contains("server=\"sip.example\"")
        );
        assert!(
            std::str::from_utf8(&lab)
                .expect("UTF-8")
                .contains("server=\"lab.example\"")
        );
        assert_eq!(
            (a.as_ptr(), a.as_ptr()),
            (b.as_ptr(), c.as_ptr()),
            "one shared body"
        );
        assert_ne!(a.as_ptr(), lab.as_ptr());
        assert_ne!(a, lab);
    }
}
