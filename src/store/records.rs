//! What the store holds and takes: `StoredState` (everything, at start),
//! `WriteBatch` (what becomes durable together) and `RecordTable` (the
//! tables other subsystems keep opaque records in).

use std::collections::HashMap;

use crate::presence::{DeviceState, Plan, PresenceValue};

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
