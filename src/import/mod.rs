//! Importing an existing DPMA setup: Asterisk's config format
//! (`asterisk_conf`) and the mapping of DPMA's sections to phones.toml
//! (`dpma`).

mod asterisk_conf;
mod dpma;
mod dpma_options;

pub use asterisk_conf::{ConfError, Entry, Section, read as read_conf};
pub use dpma::{ImportOptions, Imported, convert, pjsip_secrets};
