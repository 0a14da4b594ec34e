//! Durable state behind a small trait, so the embedded database can be
//! swapped (redb has had a new major version about yearly) without
//! touching the presence logic.
//!
//! Contract: `apply` returns only after the change is on disk (fsync'd);
//! callers acknowledge nothing before that. `load` returns everything, and
//! fails loudly — with the path — on a store it cannot read, so the server
//! never silently starts empty.

mod database;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::presence::{DeviceState, Plan, PresenceValue};

pub use database::{RedbStore, SCHEMA_VERSION};

/// Everything the store held at start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoredState {
    pub providers: HashMap<String, PresenceValue>,
    pub devices: HashMap<String, DeviceState>,
    /// Opaque records of other subsystems (SIP subscriptions, phone
    /// contacts) by table and key; each subsystem owns its encoding.
    pub records: HashMap<RecordTable, HashMap<String, Vec<u8>>>,
}

/// Tables for records other subsystems keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordTable {
    /// SIP presence subscriptions (dialog state), so they survive restarts.
    Subscriptions,
    /// Each phone's last contact (address, transport, Contact, User-Agent).
    PhoneContacts,
}

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
        "the store {} has schema version {found}, this build understands {SCHEMA_VERSION}; refusing to start rather than lose data",
        path.display()
    )]
    Schema { path: PathBuf, found: u64 },
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

/// A durable home for presence, devices and other subsystems' records.
pub trait Store: Send + Sync + 'static {
    /// Everything stored.
    fn load(&self) -> Result<StoredState, StoreError>;
    /// Makes a presence or device change durable.
    fn apply(&self, plan: &Plan) -> Result<(), StoreError>;
    /// Writes (`Some`) or deletes (`None`) records in one durable commit.
    fn put_records(
        &self,
        table: RecordTable,
        records: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), StoreError>;
    /// Whether the last write succeeded (for `/healthz`).
    fn healthy(&self) -> bool {
        true
    }
    /// Like `healthy`, but a failing store first tries a real write, so
    /// health comes back as soon as the disk does.
    fn probe(&self) -> bool {
        self.healthy()
    }
}
