//! Provisioning documents: each phone's `<mac>.cfg`, `<mac>-contacts.xml`
//! and `<mac>-blf.xml` in Digium's XML format, rendered from a `Config`,
//! and the access rules for fetching them. Pure: the HTTP router that
//! serves them from the current snapshot is `provision_http`.
//!
//! - `templates`: one askama struct per file in `templates/`.
//! - `accounts`: lines and external lines as `<account>`s (pure).
//! - `render`: config + phone → documents with ETags (pure).
//! - `contact_sheets`: the phonebook and Smart BLF sheet (pure).
//! - `device_xml`: device, network and codec settings (pure).
//! - `media_xml`: logo, wallpaper, ringtones and paging groups (pure).
//! - `document_token`: the per-phone path of the credential-free URLs.
//! - `catalog`: all phones rendered once per config snapshot.
//! - `request_path`: file name → (MAC, document).
//! - `access`: allow-list, lock-out and Digest/Basic credentials.

mod access;
mod accounts;
mod catalog;
mod contact_sheets;
mod device_xml;
mod document_token;
mod media_xml;
mod render;
mod request_path;
mod templates;

pub use access::{Access, AccessControl, AccessRequest};
pub use catalog::Catalog;
pub use document_token::DocumentToken;
pub use render::{Document, DocumentKind, PhoneDocuments, RenderError, render_phone};
pub use request_path::parse_file_name;
