//! phones.toml: parse → validate → immutable `Config`.
//!
//! - `document` reads the TOML into typed sections and entries (each by
//!   `entry_reader`), collecting syntax errors, unknown keys and bad values
//!   with their `line:column`.
//! - `validate` (with `validate_lines`, `validate_phones`) applies
//!   cross-entry defaults and rules (unknown references, duplicates) and
//!   builds the `model`; `key_limits` says what a model's
//!   keys allow (too many lines: a problem; too many contacts: a warning).
//! - The value types (`MacAddress`, `Extension`, `PhoneModel`, `SipListen`,
//!   `Cidr`, `Secret`) validate themselves once, at this edge.
//!
//! - `load`: `Config::load` / `parse` and `ConfigError`, the entry points.
//! - One file per section or entry kind: `sections`, `entries`, `alerts`,
//!   `asterisk`, `device_settings` / `phone_settings`, `registration`
//!   (external lines), `firmware`, `logo`, `ringtones`, `paging`,
//!   `phonebook`, `profiles`; and per value: `extension`, `mac_address`,
//!   `phone_model`, `listen_address`, `secret`, `xml_text`.
//! - `served_files`: the on-disk checks of the files a config serves;
//!   `explain`: where each of a phone's keys was set (`render --explain`);
//!   `field_names`: the keys a serde struct accepts (unknown-key problems).
//!
//! No I/O here beyond reading the one file in `Config::load` and checking
//! there that every file it serves (firmware, logos, wallpapers, ringtones)
//! exists and fits.

mod alerts;
mod asterisk;
mod device_settings;
mod document;
mod entries;
mod entry;
mod entry_reader;
mod explain;
mod extension;
mod field_names;
mod firmware;
mod key_limits;
mod listen_address;
mod load;
mod logo;
mod mac_address;
mod model;
mod paging;
mod phone_model;
mod phone_settings;
mod phonebook;
mod problem;
mod profiles;
mod references;
mod registration;
mod ringtones;
mod secret;
mod sections;
mod served_files;
mod validate;
mod validate_lines;
mod validate_phones;
mod xml_text;

pub use alerts::{Alert, BUILT_IN_TONES, RingType, Ringtone};
pub use asterisk::{AmiAddress, Asterisk, InvalidAmiAddress};
pub use device_settings::{Codec, DeviceSettings};
pub use extension::{Extension, InvalidExtension};
pub use firmware::Firmware;
pub use listen_address::{Cidr, SipListen, Transport};
pub use load::ConfigError;
pub use mac_address::{InvalidMacAddress, MacAddress};
pub use model::{Config, HintDefinition, Line, Phone};
pub use paging::PagingGroup;
pub use phone_model::{BlfSlot, KeyLayout, PhoneModel};
pub use phonebook::{Contact, ContactAction, ContactNumber, LINES_GROUP};
pub use problem::Problem;
pub use profiles::KeyOrigin;
pub use registration::{ExternalLine, Host, LineSip, MediaEncryption};
pub use ringtones::UserRingtone;
pub use secret::Secret;
pub use sections::{Admin, DigestAlgorithm, General, Http, Limits, Network, Sip};
