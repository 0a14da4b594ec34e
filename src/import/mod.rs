//! Importing an existing DPMA setup: Asterisk's config format
//! (`asterisk_conf`) and the mapping of DPMA's sections to phones.toml
//! (`dpma`, with `dpma_phone`, `dpma_phonebook`, `dpma_profiles`), and
//! line secrets from pjsip.conf (`pjsip`). Leaves they share:
//! `dpma_options` (which option becomes which key), `dpma_context` (what
//! converting one phone needs), `dpma_entries` (one section's entries,
//! mapped or noted), `toml_text` (how names and values are spelled).

mod asterisk_conf;
mod dpma;
mod dpma_context;
mod dpma_entries;
mod dpma_options;
mod dpma_phone;
mod dpma_phonebook;
mod dpma_profiles;
mod pjsip;
mod toml_text;

pub use asterisk_conf::{ConfError, Entry, Section, read as read_conf};
pub use dpma::{Imported, convert};
pub use dpma_context::ImportOptions;
pub use pjsip::pjsip_secrets;
