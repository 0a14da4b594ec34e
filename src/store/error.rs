//! `StoreError`: why the store failed, each variant with the path and
//! what an operator should do about it.

use std::path::PathBuf;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data folder {}: {source}", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("cannot open the store {}: {source}", path.display())]
    Open { path: PathBuf, source: redb::Error },
    #[error(
        "the store {} is an empty file (0 bytes), not a database; if this is a new installation delete it, otherwise restore it from a backup",
        path.display()
    )]
    Empty { path: PathBuf },
    #[error(
        "the store {} is corrupted ({detail}); stop opendpma, move it aside (keep it for inspection) and start again with an empty store, or restore it from a backup",
        path.display()
    )]
    Corrupted { path: PathBuf, detail: String },
    #[error(
        "the store {} has schema version {found}, this build understands {expected}; refusing to start rather than lose data",
        path.display()
    )]
    Schema {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error("the store {} holds an unreadable {what} record {key:?}: {detail}", path.display())]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        key: String,
        detail: String,
    },
    #[error("the store {} is failing (a full disk?); changes are refused until it can write again", path.display())]
    Unavailable { path: PathBuf },
    #[error("store operation failed: {0}")]
    Database(#[from] redb::Error),
}
