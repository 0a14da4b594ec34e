//! `RedbStore`: the `Store` on redb, an embedded, crash-safe B-tree whose
//! commits (with the default `Durability::Immediate`) return only after an
//! fsync. One file, `opendpma.redb`, in `data_dir`.
//!
//! Values are JSON: small, inspectable, and tolerant of added fields.
//!
//! A failed commit (a full disk, an I/O error) leaves redb unable to write
//! until the file is reopened, so after a failure the next operation (or
//! a health probe) reopens it: the store recovers by itself when the disk
//! does, and says so.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::backend::Store;
use super::error::StoreError;
use super::records::{RecordTable, StoredState, WriteBatch};
use crate::presence::{DeviceState, Plan, PresenceValue};

/// Bump with a migration when a table's layout changes.
pub const SCHEMA_VERSION: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const PRESENCE: TableDefinition<&str, &[u8]> = TableDefinition::new("presence");
const DEVICES: TableDefinition<&str, &str> = TableDefinition::new("devices");
const SUBSCRIPTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscriptions");
const PHONE_CONTACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("phone_contacts");
/// Scratch space for the health probe of a failing store (empty otherwise).
const PROBE: TableDefinition<&str, &[u8]> = TableDefinition::new("probe");

/// What the probe writes: room for a burst of subscription records.
const PROBE_BYTES: usize = 1 << 20;

fn record_table(table: RecordTable) -> TableDefinition<'static, &'static str, &'static [u8]> {
    match table {
        RecordTable::Subscriptions => SUBSCRIPTIONS,
        RecordTable::PhoneContacts => PHONE_CONTACTS,
    }
}

/// The redb-backed store.
pub struct RedbStore {
    /// `None` only while a reopen after a failure has not succeeded.
    database: RwLock<Option<Database>>,
    path: PathBuf,
    /// The last write failed; the next operation reopens the file first.
    failing: AtomicBool,
}

impl RedbStore {
    /// Opens (or creates) `data_dir/opendpma.redb`. The folder is created
    /// private (0700) and the file is private (0600): it holds who is where.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        create_private_folder(data_dir)?;
        let path = data_dir.join("opendpma.redb");
        let open_error = |source: redb::Error| StoreError::Open {
            path: path.clone(),
            source,
        };
        // redb would make a 0-byte file into a new, empty database: a
        // store truncated by a crash or a bad copy must not silently lose
        // everything it held.
        if std::fs::metadata(&path).is_ok_and(|meta| meta.len() == 0) {
            return Err(StoreError::Empty { path });
        }
        let mut database = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => StoreError::Corrupted {
                path: path.clone(),
                detail,
            },
            other => open_error(other.into()),
        })?;
        restrict_file(&path);
        // Normal reads do not verify page checksums, so damaged pages
        // would load as wrong values or make a lookup panic; a full check
        // at start (the store is small) turns either into one clear error.
        match database.check_integrity() {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(path = %path.display(), "the store was damaged and has been repaired to its last intact commit");
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail))) => {
                return Err(StoreError::Corrupted { path, detail });
            }
            Err(error) => return Err(open_error(error.into())),
        }
        let store = Self {
            database: RwLock::new(Some(database)),
            path,
            failing: AtomicBool::new(false),
        };
        store.check_schema()?;
        Ok(store)
    }

    /// Runs `operation` on the database and notes whether it failed. While
    /// the store is failing, every operation first checks that it can
    /// write again (`recover`): a small write may squeeze into space the
    /// file already has while the disk is still full, and must not make
    /// the store look healthy.
    fn with_database<T>(
        &self,
        operation: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.failing.load(Ordering::Acquire) && !self.recover() {
            return Err(StoreError::Unavailable {
                path: self.path.clone(),
            });
        }
        let guard = self.database.read().expect("store lock is never poisoned");
        let database = guard.as_ref().ok_or_else(|| StoreError::Unavailable {
            path: self.path.clone(),
        })?;
        let result = operation(database);
        if let Err(error) = &result
            && !self.failing.swap(true, Ordering::AcqRel)
        {
            tracing::error!(path = %self.path.display(), %error, "the store failed; refusing changes until it can write again");
        }
        result
    }

    /// Reopens the file and commits (then removes) a scratch value big
    /// enough to need fresh pages; true when both commits went through.
    fn recover(&self) -> bool {
        if self.reopen().is_err() {
            return false;
        }
        let guard = self.database.read().expect("store lock is never poisoned");
        let Some(database) = guard.as_ref() else {
            return false;
        };
        let probe = || -> Result<(), redb::Error> {
            for value in [Some(vec![0; PROBE_BYTES]), None] {
                let transaction = database.begin_write()?;
                {
                    let mut table = transaction.open_table(PROBE)?;
                    match &value {
                        Some(bytes) => table.insert("space", bytes.as_slice()).map(|_| ())?,
                        None => table.remove("space").map(|_| ())?,
                    }
                }
                transaction.commit()?;
            }
            Ok(())
        };
        let recovered = probe().is_ok();
        if recovered && self.failing.swap(false, Ordering::AcqRel) {
            tracing::info!(path = %self.path.display(), "the store works again");
        }
        recovered
    }

    /// Drops the handle and opens the file again (redb repairs it to its
    /// last commit).
    fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.database.write().expect("store lock is never poisoned");
        // The old handle must be closed before the file can be opened again.
        drop(guard.take());
        let database = Database::create(&self.path).map_err(|source| StoreError::Open {
            path: self.path.clone(),
            source: source.into(),
        })?;
        *guard = Some(database);
        Ok(())
    }

    /// Writes the schema version into a new store, or checks an existing one.
    fn check_schema(&self) -> Result<(), StoreError> {
        self.with_database(|database| self.check_schema_in(database))
    }

    fn check_schema_in(&self, database: &Database) -> Result<(), StoreError> {
        let transaction = database.begin_write().map_err(redb::Error::from)?;
        {
            let mut meta = transaction.open_table(META).map_err(redb::Error::from)?;
            let found = meta
                .get("schema_version")
                .map_err(redb::Error::from)?
                .map(|v| v.value());
            match found {
                Some(SCHEMA_VERSION) => {}
                Some(found) => {
                    return Err(StoreError::Schema {
                        path: self.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(redb::Error::from)?;
                }
            }
            // Create every table so that reads never meet a missing one.
            transaction.open_table(PRESENCE).map_err(redb::Error::from)?;
            transaction.open_table(DEVICES).map_err(redb::Error::from)?;
            transaction.open_table(SUBSCRIPTIONS).map_err(redb::Error::from)?;
            transaction
                .open_table(PHONE_CONTACTS)
                .map_err(redb::Error::from)?;
        }
        transaction.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    fn corrupt(&self, what: &'static str, key: &str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            key: key.to_owned(),
            detail: detail.to_string(),
        }
    }
}

impl Store for RedbStore {
    fn load(&self) -> Result<StoredState, StoreError> {
        self.with_database(|database| self.load_from(database))
    }

    fn commit(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.with_database(|database| commit_to(database, batch))
    }

    fn healthy(&self) -> bool {
        !self.failing.load(Ordering::Acquire)
    }

    fn probe(&self) -> bool {
        self.healthy() || self.recover()
    }
}

impl RedbStore {
    fn load_from(&self, database: &Database) -> Result<StoredState, StoreError> {
        let transaction = database.begin_read().map_err(redb::Error::from)?;
        let mut state = StoredState::default();
        let presence = transaction.open_table(PRESENCE).map_err(redb::Error::from)?;
        for entry in presence.iter().map_err(redb::Error::from)? {
            let (key, value) = entry.map_err(redb::Error::from)?;
            let value: PresenceValue = serde_json::from_slice(value.value())
                .map_err(|e| self.corrupt("presence", key.value(), e))?;
            state.providers.insert(key.value().to_owned(), value);
        }
        let devices = transaction.open_table(DEVICES).map_err(redb::Error::from)?;
        for entry in devices.iter().map_err(redb::Error::from)? {
            let (key, value) = entry.map_err(redb::Error::from)?;
            let device: DeviceState = value
                .value()
                .parse()
                .map_err(|e| self.corrupt("device", key.value(), e))?;
            state.devices.insert(key.value().to_owned(), device);
        }
        for table in [RecordTable::Subscriptions, RecordTable::PhoneContacts] {
            let records = transaction
                .open_table(record_table(table))
                .map_err(redb::Error::from)?;
            let loaded = state.records.entry(table).or_default();
            for entry in records.iter().map_err(redb::Error::from)? {
                let (key, value) = entry.map_err(redb::Error::from)?;
                loaded.insert(key.value().to_owned(), value.value().to_vec());
            }
        }
        Ok(state)
    }
}

/// One write transaction for the whole batch: one fsync however many
/// changes it holds.
fn commit_to(database: &Database, batch: &WriteBatch) -> Result<(), StoreError> {
    let transaction = database.begin_write().map_err(redb::Error::from)?;
    for plan in &batch.plans {
        apply_plan(&transaction, plan)?;
    }
    // Each table opened once per transaction, not once per record (opening
    // looks the table up in redb's own tree). Records keep their order
    // within a table: a subscription stored then removed in one batch ends
    // removed.
    for table in [RecordTable::Subscriptions, RecordTable::PhoneContacts] {
        let mut records = batch.records.iter().filter(|(of, ..)| *of == table).peekable();
        if records.peek().is_none() {
            continue;
        }
        let mut opened = transaction
            .open_table(record_table(table))
            .map_err(redb::Error::from)?;
        for (_, key, value) in records {
            write_record(&mut opened, key, value.as_deref())?;
        }
    }
    transaction.commit().map_err(redb::Error::from)?;
    Ok(())
}

fn write_record(
    table: &mut redb::Table<'_, &'static str, &'static [u8]>,
    key: &str,
    value: Option<&[u8]>,
) -> Result<(), StoreError> {
    match value {
        Some(value) => table.insert(key, value).map(|_| ()),
        None => table.remove(key).map(|_| ()),
    }
    .map_err(|error| redb::Error::from(error).into())
}

fn apply_plan(transaction: &redb::WriteTransaction, plan: &Plan) -> Result<(), redb::Error> {
    match plan {
        Plan::SetPresence { provider, value } => {
            let json = serde_json::to_vec(value).expect("presence values serialise");
            let mut table = transaction.open_table(PRESENCE)?;
            table.insert(provider.as_str(), json.as_slice())?;
        }
        Plan::ClearPresence { provider } => {
            let mut table = transaction.open_table(PRESENCE)?;
            table.remove(provider.as_str())?;
        }
        Plan::SetDevice { device, state } => {
            let mut table = transaction.open_table(DEVICES)?;
            table.insert(device.as_str(), state.as_str())?;
        }
    }
    Ok(())
}

fn create_private_folder(path: &Path) -> Result<(), StoreError> {
    let folder_error = |source| StoreError::Folder {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !path.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(folder_error)?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(path).map_err(folder_error)?;
    Ok(())
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(error) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(%error, path = %path.display(), "cannot make the store file private");
        }
    }
}

#[cfg(test)]
#[path = "database_tests.rs"]
mod tests;
