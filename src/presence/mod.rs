//! The presence domain: pure, no I/O, no clock (time comes in as `now`).
//!
//! - `state`: the seven Asterisk presence states and the five selectable
//!   ones (`PhoneState`), with aggregation ranks.
//! - `value`: a provider's value, validated updates, provider names.
//! - `device`: `Custom:` device states and extension-state aggregation.
//! - `hint`: an extension's sources and the snapshot its watchers get.
//! - `book`: the model itself; plan → (driver commits) → apply → changes.
//! - `pidf` / `pidf_read`: NOTIFY bodies out, PUBLISH bodies in.

mod book;
mod device;
mod hint;
mod pidf;
mod pidf_read;
mod state;
mod value;

pub use book::{BookError, Change, MAX_ENTRIES, Plan, PresenceBook};
pub use device::{DeviceState, ExtensionState, UnknownDeviceState};
pub use hint::{Hint, HintState, combine_presence};
pub use pidf::{PidfParts, PidfView, escape as escape_xml, is_digium_user_agent, render as render_pidf};
pub use pidf_read::{PidfError, PublishedPresence, XmlProblem, read as read_pidf};
pub use state::{PhoneState, PresenceState, UnsupportedState};
pub use value::{
    InvalidName, InvalidUpdate, MAX_MESSAGE_BYTES, MAX_SUBTYPE_BYTES, PresenceUpdate, PresenceValue,
    normalize_name,
};
