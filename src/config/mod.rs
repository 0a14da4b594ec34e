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
//! No I/O here beyond reading the one file in `Config::load` and checking
//! there that every file it serves (firmware, logos, wallpapers, ringtones)
//! exists and fits.

mod alerts;
mod asterisk;
mod device_settings;
mod document;
mod entries;
mod entry_reader;
mod explain;
mod extension;
mod field_names;
mod firmware;
mod key_limits;
mod listen_address;
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
mod validate;
mod validate_lines;
mod validate_phones;
mod xml_text;

use std::fmt;
use std::path::{Path, PathBuf};

pub use alerts::{Alert, BUILT_IN_TONES, RingType, Ringtone};
pub use asterisk::{AmiAddress, Asterisk, InvalidAmiAddress};
pub use device_settings::{Codec, DeviceSettings};
pub use extension::{Extension, InvalidExtension};
pub use firmware::Firmware;
pub use listen_address::{Cidr, SipListen, Transport};
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

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}", Problems { path, problems })]
    Invalid { path: PathBuf, problems: Vec<Problem> },
}

/// Formats problems one per line as `FILE:LINE:COL: PATH: MESSAGE`, the
/// shape editors and `grep -n` users expect.
struct Problems<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{} has {count} problem{}:",
            self.path.display(),
            if count == 1 { "" } else { "s" }
        )?;
        for problem in self.problems {
            write!(f, "\n  {}:{problem}", self.path.display())?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_with_files(&source, path)
    }

    /// Validates `source` as read from `path`, then checks the files it
    /// names (firmware, logos) on disk: what a start or a reload needs,
    /// where `parse` alone judges only the text.
    pub fn parse_with_files(source: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config = Self::parse(source, path)?;
        let mut problems = config.missing_files();
        problems.extend(config.check_logos());
        problems.extend(config.check_ringtone_files());
        problems.sort_by_key(|p| (p.line, p.column));
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Validates `source` as if read from `path` (which anchors a relative
    /// `data_dir` and names the file in messages).
    pub fn parse(source: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let document = document::read(source, &mut problems);
        match validate::validate(document, source, path, &mut problems) {
            Some(config) if problems.is_empty() => Ok(config),
            _ => {
                problems.sort_by_key(|p| (p.line, p.column));
                Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    problems,
                })
            }
        }
    }
}
