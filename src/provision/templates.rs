//! One askama struct per file in `templates/`. Every value is a plain
//! string prepared by `render.rs`; askama's XML escaping (on by default for
//! `.xml`) escapes each of them, so a label like `Bob & <Co>` stays text.

use askama::Template;

/// `templates/config.xml`: the phone's `<mac>.cfg`.
#[derive(Template)]
#[template(path = "config.xml")]
pub struct PhoneConfigXml<'a> {
    pub model: &'static str,
    pub settings: Vec<SettingView>,
    pub accounts: Vec<AccountView<'a>>,
    pub contacts_url: String,
    pub blf_url: String,
    pub codecs: Vec<CodecView>,
    pub firmware: Option<FirmwareView<'a>>,
    pub alerts: Vec<AlertView<'a>>,
    pub tones: Vec<ToneView<'a>>,
    pub listeners: Vec<ListenerView<'a>>,
}

/// `<tone id display type [url md5]/>`: `type` is `phone` (built in) or
/// `user` (downloaded from `url`).
pub struct ToneView<'a> {
    pub id: &'a str,
    pub display: &'a str,
    pub kind: &'static str,
    pub url: Option<String>,
    pub md5: Option<&'a str>,
}

/// `<listener id name addr port priority interrupt_calls [extension]/>`.
pub struct ListenerView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub addr: String,
    pub port: u16,
    pub priority: i64,
    pub interrupt_calls: u8,
    pub extension: Option<&'a str>,
}

/// `<alert alert_info ringtone_id ring_type/>`.
pub struct AlertView<'a> {
    pub alert_info: &'a str,
    pub ringtone_id: &'a str,
    pub ring_type: &'static str,
}

/// `<firmware model version url/>`: the phone flashes when `version`
/// differs from its own.
pub struct FirmwareView<'a> {
    pub model: &'static str,
    pub version: &'a str,
    pub url: String,
}

/// `<setting id=… value=…/>`.
pub struct SettingView {
    pub id: &'static str,
    pub value: String,
    /// More attributes: `network="CIDR"` (applies on that network only),
    /// or a file's `path`, `url` and `md5`.
    pub extra: Vec<(&'static str, String)>,
}

impl SettingView {
    pub fn new(id: &'static str, value: String) -> Self {
        Self {
            id,
            value,
            extra: Vec::new(),
        }
    }
}

/// One `<codec>`.
pub struct CodecView {
    pub id: &'static str,
    pub priority: usize,
    pub enabled: bool,
}

/// One `<account>`: a line or an external line of the phone.
pub struct AccountView<'a> {
    pub index: usize,
    pub register: bool,
    pub username: &'a str,
    pub authname: &'a str,
    pub password: &'a str,
    pub label: &'a str,
    pub caller_id: &'a str,
    pub voicemail: &'a str,
    /// The line has a `mailbox`: MWI subscription and voicemail permissions.
    pub mailbox: bool,
    pub dial_plan: Option<&'a str>,
    pub outbound_proxy: Option<(&'a str, u16)>,
    pub plar_number: Option<&'a str>,
    /// `host_primary`, then `host_alternate` when there is one.
    pub hosts: Vec<(&'static str, HostView<'a>)>,
}

/// `<host_primary>` / `<host_alternate>`.
pub struct HostView<'a> {
    pub server: &'a str,
    pub port: u16,
    pub transport: &'static str,
    pub media_encryption: Option<&'static str>,
    pub reregister: i64,
    pub retry: i64,
    pub num_retries: Option<u16>,
}

/// `templates/contacts.xml`: the phone's phonebook, one `<contacts>` per group.
#[derive(Template)]
#[template(path = "contacts.xml")]
pub struct PhonebookXml<'a> {
    pub groups: Vec<GroupView<'a>>,
}

/// One phonebook group.
pub struct GroupView<'a> {
    pub name: &'a str,
    pub id: String,
    pub contacts: Vec<ContactView<'a>>,
}

/// One `<contact>`: a watched line or a `[contacts]` entry.
pub struct ContactView<'a> {
    pub id: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// organization, job_title, location, notes when set.
    pub card: Vec<(&'static str, &'a str)>,
    pub account_id: Option<&'a str>,
    pub subscribe_to: Option<String>,
    pub has_voicemail: bool,
    pub numbers: Vec<NumberView<'a>>,
    pub email: Option<&'a str>,
    pub actions: Vec<ActionView<'a>>,
}

/// One `<number>`; the first is primary.
pub struct NumberView<'a> {
    pub label: &'a str,
    pub dial: &'a str,
}

/// One `<action>` with its SIP headers.
pub struct ActionView<'a> {
    pub id: &'static str,
    pub dial: &'a str,
    pub label: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
}

/// `templates/blf.xml`: the phone's Smart BLF sheet.
#[derive(Template)]
#[template(path = "blf.xml")]
pub struct SmartBlfXml<'a> {
    pub model: &'static str,
    pub accounts: usize,
    pub capacity: usize,
    pub items: Vec<BlfItemView<'a>>,
}

/// One `<blf_item>`: a key showing a contact.
pub struct BlfItemView<'a> {
    pub location: &'static str,
    pub index: usize,
    pub page: usize,
    pub contact_id: &'a str,
}
