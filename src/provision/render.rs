//! Rendering a phone's three documents from the config. Pure: the same
//! `Config` always gives the same bytes, which is what makes per-snapshot
//! caching and ETags sound.
//!
//! A phone without `network =` gets the network whose `cidr` holds the
//! address it fetches from (DPMA's rule), so its `<mac>.cfg` is rendered
//! once per network, plus once for "no network matched".

use askama::Template;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::accounts::accounts;
use super::contact_sheets::{blf_xml, phonebook_xml, watched_ids};
use super::device_xml::{codecs, device_settings};
use super::document_token::DocumentToken;
use super::media_xml::{image_settings, listeners, tones};
use super::templates::{AlertView, FirmwareView, PhoneConfigXml, SettingView};
use crate::config::{Config, KeyLayout, Network, Phone, PhoneModel};

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
        let etag = format!("\"{}\"", crate::hex::lower(&digest[..12]));
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
    /// A phone without `model`: its documents for each model, served by
    /// the model its User-Agent names (the fields above are the first's).
    pub by_model: Vec<(PhoneModel, PhoneDocuments)>,
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

    /// The documents to serve to a phone that says it is `model`: its own
    /// when its model is set, else the variant for `model` (none when the
    /// phone did not say).
    pub fn for_model(&self, model: Option<PhoneModel>) -> Option<&PhoneDocuments> {
        if self.by_model.is_empty() {
            return Some(self);
        }
        let model = model?;
        self.by_model
            .iter()
            .find(|(m, _)| *m == model)
            .map(|(_, documents)| documents)
    }

    /// Every body with its tag, for change detection across reloads.
    pub fn etags(&self) -> Vec<&str> {
        let own = [&self.config, &self.contacts, &self.blf]
            .into_iter()
            .chain(self.config_by_network.iter().map(|(_, document)| document))
            .map(|document| document.etag.as_str());
        own.chain(self.by_model.iter().flat_map(|(_, variant)| variant.etags()))
            .collect()
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

/// Renders every document of `phone`: for its model, or for every model
/// when it has none (the phone's User-Agent, `Digium D65 2_9_27`, names it).
pub fn render_phone(config: &Config, phone: &Phone) -> Result<PhoneDocuments, RenderError> {
    if let Some(model) = phone.model {
        return render_as(config, phone, model);
    }
    let mut by_model = Vec::new();
    for model in PhoneModel::ALL {
        by_model.push((model, render_as(config, phone, model)?));
    }
    let (_, first) = by_model.first().expect("there are models").clone();
    Ok(PhoneDocuments { by_model, ..first })
}

fn render_as(config: &Config, phone: &Phone, model: PhoneModel) -> Result<PhoneDocuments, RenderError> {
    let fail = |document: &'static str| {
        let phone = phone.name.clone();
        move |source| RenderError {
            phone,
            document,
            source,
        }
    };
    let blf = blf_xml(config, phone, model);
    let token = DocumentToken::derive(config, phone);
    let own = phone.network.as_deref().and_then(|name| config.network(name));
    let mut config_by_network = Vec::new();
    if phone.network.is_none() {
        for (name, network) in &config.networks {
            let xml = config_xml(config, phone, model, Some(network), &token);
            config_by_network.push((name.clone(), Document::new(xml.render().map_err(fail("config"))?)));
        }
    }
    Ok(PhoneDocuments {
        config: Document::new(
            config_xml(config, phone, model, own, &token)
                .render()
                .map_err(fail("config"))?,
        ),
        config_by_network,
        contacts: Document::new(phonebook_xml(config, phone).render().map_err(fail("contacts"))?),
        blf: Document::new(blf.render().map_err(fail("blf"))?),
        token,
        by_model: Vec::new(),
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

fn config_xml<'a>(
    config: &'a Config,
    phone: &'a Phone,
    model: PhoneModel,
    network: Option<&'a Network>,
    token: &DocumentToken,
) -> PhoneConfigXml<'a> {
    let mut settings = Vec::new();
    let mut setting = |id, value: &str| settings.push(SettingView::new(id, value.to_owned()));
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
    device_settings(phone, network, &mut settings);
    // Files under the phone's token, like its phonebook.
    let files_url = format!("{}p/{}/{}/", base_url(config), token.as_str(), phone.mac);
    settings.extend(image_settings(config, phone, model, &files_url));
    let mut setting = |id, value: &str| settings.push(SettingView::new(id, value.to_owned()));
    // Without a group the phone subscribes to nothing (Sangoma "Contacts").
    setting("blf_contact_group", &phone.blf_contact_group);
    let watched = watched_ids(config, phone).len().max(DEFAULT_MAX_SUBSCRIPTIONS);
    setting("contacts_max_subscriptions", &watched.to_string());
    if !matches!(model.key_layout(), KeyLayout::Side { .. }) {
        // Contacts share the line keys here; DPMA's blf_unused_linekeys.
        setting("enable_blf_on_unused_line_keys", "1");
    }
    let accounts = accounts(config, phone, network);
    // The phonebook and BLF sheet under the phone's token: no credentials
    // needed, so a phone that does not re-send them still gets its keys.
    let base = format!("{}p/{}/", base_url(config), token.as_str());
    PhoneConfigXml {
        model: model.as_str(),
        settings,
        accounts,
        contacts_url: format!("{base}{}-contacts.xml", phone.mac),
        blf_url: format!("{base}{}-blf.xml", phone.mac),
        codecs: codecs(&phone.device),
        alerts: phone
            .alerts
            .iter()
            .filter_map(|name| config.alert(name))
            .map(|alert| AlertView {
                alert_info: &alert.alert_info,
                ringtone_id: alert.ringtone.as_ref().map_or("", |tone| tone.as_str()),
                ring_type: alert.ring_type.as_str(),
            })
            .collect(),
        tones: tones(config, phone, &files_url),
        listeners: listeners(config, phone),
        // Under the phone's token, like the phonebook: nothing says the
        // phone re-sends its credentials for URLs inside its config.
        firmware: phone
            .firmware
            .as_deref()
            .and_then(|name| config.firmware_named(name))
            .filter(|image| image.model == model)
            .or_else(|| {
                phone
                    .model
                    .is_none()
                    .then(|| config.firmware_for_model(model))
                    .flatten()
            })
            .map(|image| FirmwareView {
                model: image.model.as_str(),
                version: &image.version,
                url: format!("{files_url}{}", image.file),
            }),
    }
}
