//! Durable state behind a small trait, so the embedded database can be
//! swapped (redb has had a new major version about yearly) without
//! touching the presence logic.
//!
//! Contract: `commit` (and `apply`, `put_records`) returns only after the
//! whole batch is on disk (fsync'd), in one transaction: all of it or none
//! of it. Callers acknowledge nothing before that. Group commit (issue 16)
//! is the caller's part: `server::committer` gathers what arrives while
//! the previous commit is in flight into the next `WriteBatch`. `load` returns everything, and
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

/// Writes that become durable together, in one transaction and one fsync.
/// Applied in order: a later write to the same key wins.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    /// Presence and device changes.
    pub plans: Vec<Plan>,
    /// Records written (`Some`) or deleted (`None`), by table and key.
    pub records: Vec<(RecordTable, String, Option<Vec<u8>>)>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty() && self.records.is_empty()
    }
}

/// A durable home for presence, devices and other subsystems' records.
pub trait Store: Send + Sync + 'static {
    /// Everything stored.
    fn load(&self) -> Result<StoredState, StoreError>;
    /// Makes a whole batch durable in one commit (one fsync).
    fn commit(&self, batch: &WriteBatch) -> Result<(), StoreError>;
    /// Makes one presence or device change durable.
    fn apply(&self, plan: &Plan) -> Result<(), StoreError> {
        self.commit(&WriteBatch {
            plans: vec![plan.clone()],
            records: Vec::new(),
        })
    }
    /// Writes (`Some`) or deletes (`None`) records in one durable commit.
    fn put_records(
        &self,
        table: RecordTable,
        records: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), StoreError> {
        self.commit(&WriteBatch {
            plans: Vec::new(),
            records: records
                .iter()
                .map(|(key, value)| (table, key.clone(), value.clone()))
                .collect(),
        })
    }
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
