//! Rendering a phone's three documents from the config. Pure: the same
//! `Config` always gives the same bytes, which is what makes per-snapshot
//! caching and ETags sound.

use askama::Template;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::templates::{
    AccountView, BlfItemView, ContactView, PhoneConfigXml, PhonebookXml, SettingView, SmartBlfXml,
};
use crate::config::{Config, Phone};

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
    pub config: Document,
    pub contacts: Document,
    pub blf: Document,
    /// Contacts that did not fit on the model's BLF keys.
    pub blf_overflow: usize,
}

impl PhoneDocuments {
    pub fn get(&self, kind: DocumentKind) -> &Document {
        match kind {
            DocumentKind::Config => &self.config,
            DocumentKind::Contacts => &self.contacts,
            DocumentKind::Blf => &self.blf,
        }
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
    let (blf, blf_overflow) = blf_xml(config, phone);
    Ok(PhoneDocuments {
        config: Document::new(config_xml(config, phone).render().map_err(fail("config"))?),
        contacts: Document::new(phonebook_xml(config, phone).render().map_err(fail("contacts"))?),
        blf: Document::new(blf.render().map_err(fail("blf"))?),
        blf_overflow,
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

fn config_xml<'a>(config: &'a Config, phone: &'a Phone) -> PhoneConfigXml<'a> {
    let network = phone.network.as_deref().and_then(|name| config.network(name));
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
    if let Some(ntp) = network.and_then(|n| n.ntp_server.as_deref()) {
        setting("time_source", "ntp");
        setting("ntp_server", ntp);
    }
    if let Some(password) = &phone.login_password {
        setting("login_password", password.expose());
    }
    setting("enable_check_sync", "1");
    if phone.model.key_layout().capacity() == 0 {
        // Models without BLF keys show contacts on unused line keys.
        setting("enable_blf_on_unused_line_keys", "1");
    }
    let server = network
        .and_then(|n| n.registration_address.as_deref())
        .unwrap_or(&config.general.server_address);
    let (port, transport) = network.map_or((5060, "udp"), |n| (n.registration_port, n.transport.as_str()));
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
            server,
            port,
            transport,
        })
        .collect();
    let base = base_url(config);
    PhoneConfigXml {
        model: phone.model.as_str(),
        settings,
        accounts,
        contacts_url: format!("{base}{}-contacts.xml", phone.mac),
        blf_url: format!("{base}{}-blf.xml", phone.mac),
    }
}

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

fn phonebook_xml<'a>(config: &'a Config, phone: &'a Phone) -> PhonebookXml<'a> {
    let account_id = phone
        .lines
        .first()
        .and_then(|name| config.line(name))
        .map_or("", |line| line.exten.as_str());
    let contacts = phone
        .contacts
        .iter()
        .filter_map(|name| config.line(name))
        .map(|line| ContactView {
            exten: line.exten.as_str(),
            name: &line.label,
            subscribe_to: subscribe_uri(config, line.exten.as_str()),
        })
        .collect();
    PhonebookXml { account_id, contacts }
}

/// Lays the contacts out over the model's keys: side keys where the model
/// has them (D50, D70), else pages of main keys (D65, D80). Contacts beyond
/// the capacity are left off (and counted, so the server can warn).
fn blf_xml<'a>(config: &'a Config, phone: &'a Phone) -> (SmartBlfXml<'a>, usize) {
    let layout = phone.model.key_layout();
    let (location, per_page) = if layout.side_keys > 0 {
        ("side", usize::from(layout.side_keys))
    } else {
        ("main", usize::from(layout.main_keys))
    };
    let capacity = layout.capacity();
    let items: Vec<BlfItemView<'a>> = phone
        .contacts
        .iter()
        .filter_map(|name| config.line(name))
        .take(capacity)
        .enumerate()
        .map(|(slot, line)| BlfItemView {
            location,
            index: slot % per_page,
            page: slot / per_page,
            contact_id: line.exten.as_str(),
        })
        .collect();
    let overflow = phone.contacts.len() - items.len();
    let xml = SmartBlfXml {
        model: phone.model.as_str(),
        capacity,
        items,
    };
    (xml, overflow)
}
