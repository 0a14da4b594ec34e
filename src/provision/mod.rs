//! HTTP provisioning: each phone's `<mac>.cfg`, `<mac>-contacts.xml` and
//! `<mac>-blf.xml` in Digium's XML format.
//!
//! - `templates`: one askama struct per file in `templates/`.
//! - `accounts`: lines and external lines as `<account>`s (pure).
//! - `render`: config + phone → documents with ETags (pure).
//! - `contact_sheets`: the phonebook and Smart BLF sheet (pure).
//! - `device_xml`: device, network and codec settings (pure).
//! - `media_xml`: logo, wallpaper, ringtones and paging groups (pure).
//! - `file_service`: served files (firmware, images, ringtones), streamed
//!   with Range and ETag.
//! - `document_token`: the per-phone path of the credential-free URLs.
//! - `catalog`: all phones rendered once per config snapshot.
//! - `request_path`: file name → (MAC, document).
//! - `access`: allow-list, lock-out and Digest/Basic credentials.
//! - `service`: the axum router that ties them together (no sockets).

mod access;
mod accounts;
mod catalog;
mod contact_sheets;
mod device_xml;
mod document_token;
mod file_service;
mod media_xml;
mod render;
mod request_path;
mod service;
mod templates;

pub use access::AccessControl;
pub use catalog::Catalog;
pub use document_token::DocumentToken;
pub use render::{Document, DocumentKind, PhoneDocuments, RenderError, render_phone};
pub use request_path::parse_file_name;
pub use service::{FetchLog, ProvisionState, router};
