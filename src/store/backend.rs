//! The `Store` trait: the durable home the server writes through, so
//! the embedded database can be swapped without touching presence logic.

use super::error::StoreError;
use super::records::{RecordTable, StoredState, WriteBatch};
use crate::presence::Plan;

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
