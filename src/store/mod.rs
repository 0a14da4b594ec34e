//! Durable state behind a small trait, so the embedded database can be
//! swapped (redb has had a new major version about yearly) without
//! touching the presence logic.
//!
//! Contract: `commit` (and `apply`, `put_records`) returns only after the
//! whole batch is on disk (fsync'd), in one transaction: all of it or none
//! of it. Callers acknowledge nothing before that. Group commit
//! is the caller's part: `server::committer` gathers what arrives while
//! the previous commit is in flight into the next `WriteBatch`. `load`
//! returns everything, and fails loudly — with the path — on a store it cannot read, so the server
//! never silently starts empty.
//!
//! Files: `backend` (the `Store` trait), `records` (`StoredState`,
//! `WriteBatch`, `RecordTable`), `error` (`StoreError`), `database`
//! (`RedbStore`, the redb implementation).

mod backend;
mod database;
mod error;
mod records;

pub use backend::Store;
pub use database::{RedbStore, SCHEMA_VERSION};
pub use error::StoreError;
pub use records::{RecordTable, StoredState, WriteBatch};
