//! The entry points: `Config::load` (read, validate, check the files it
//! serves) and `Config::parse` (the text alone), and `ConfigError`, which
//! lists every problem at once as `FILE:LINE:COL: PATH: MESSAGE`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::model::Config;
use super::problem::Problem;
use super::{document, validate};

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
