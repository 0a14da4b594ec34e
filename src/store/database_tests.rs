//! Tests of `RedbStore`: durability across reopening, one batch one
//! transaction, and the clear errors for foreign, empty or damaged files.

use super::*;
use crate::presence::PresenceUpdate;

#[test]
fn changes_survive_reopening() {
    let folder = tempfile::tempdir().unwrap();
    let value = PresenceUpdate::parse_asterisk("away,lunch,back at 2, promise")
        .unwrap()
        .into_value(42);
    {
        let store = RedbStore::open(folder.path()).unwrap();
        store
            .apply(&Plan::SetPresence {
                provider: "CustomPresence:2000".into(),
                value: value.clone(),
            })
            .unwrap();
        store
            .apply(&Plan::SetDevice {
                device: "Custom:2000".into(),
                state: DeviceState::Inuse,
            })
            .unwrap();
        store
            .put_records(
                RecordTable::Subscriptions,
                &[
                    ("a".into(), Some(b"x".to_vec())),
                    ("b".into(), Some(b"y".to_vec())),
                ],
            )
            .unwrap();
        store
            .put_records(RecordTable::Subscriptions, &[("a".into(), None)])
            .unwrap();
    }
    let state = RedbStore::open(folder.path()).unwrap().load().unwrap();
    assert_eq!(state.providers["CustomPresence:2000"], value);
    assert_eq!(state.devices["Custom:2000"], DeviceState::Inuse);
    let subscriptions = &state.records[&RecordTable::Subscriptions];
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions["b"], b"y");
}

#[test]
fn one_batch_is_one_transaction_applied_in_order() {
    let folder = tempfile::tempdir().unwrap();
    let value = PresenceUpdate::parse_asterisk("dnd").unwrap().into_value(7);
    {
        let store = RedbStore::open(folder.path()).unwrap();
        store
            .commit(&WriteBatch {
                plans: vec![
                    Plan::SetPresence {
                        provider: "CustomPresence:2000".into(),
                        value: value.clone(),
                    },
                    Plan::SetPresence {
                        provider: "CustomPresence:2001".into(),
                        value: value.clone(),
                    },
                    Plan::ClearPresence {
                        provider: "CustomPresence:2001".into(),
                    },
                ],
                records: vec![
                    (RecordTable::Subscriptions, "a".into(), Some(b"old".to_vec())),
                    (RecordTable::PhoneContacts, "bob".into(), Some(b"here".to_vec())),
                    (RecordTable::Subscriptions, "a".into(), Some(b"new".to_vec())),
                ],
            })
            .unwrap();
    }
    let state = RedbStore::open(folder.path()).unwrap().load().unwrap();
    assert_eq!(state.providers.len(), 1, "the later clear wins");
    assert_eq!(state.providers["CustomPresence:2000"], value);
    assert_eq!(state.records[&RecordTable::Subscriptions]["a"], b"new");
    assert_eq!(state.records[&RecordTable::PhoneContacts]["bob"], b"here");
}

#[test]
fn refuses_a_store_with_another_schema_version() {
    let folder = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(folder.path()).unwrap();
        let guard = store.database.read().unwrap();
        let transaction = guard.as_ref().unwrap().begin_write().unwrap();
        transaction
            .open_table(META)
            .unwrap()
            .insert("schema_version", 99)
            .unwrap();
        transaction.commit().unwrap();
    }
    let error = RedbStore::open(folder.path()).err().expect("refused");
    assert!(
        error
            .to_string()
            .contains("schema version 99, this build understands 1"),
        "{error}"
    );
}

#[test]
fn refuses_an_unreadable_file() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("opendpma.redb"),
        b"this is not a database, just junk bytes",
    )
    .unwrap();
    let error = RedbStore::open(folder.path()).err().expect("refused");
    assert!(error.to_string().starts_with("cannot open the store"), "{error}");
}

#[test]
fn an_empty_file_is_an_error_not_a_new_database() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("opendpma.redb");
    std::fs::write(&path, b"").unwrap();
    let error = RedbStore::open(folder.path()).err().expect("refused");
    assert!(matches!(error, StoreError::Empty { .. }), "{error}");
    assert!(error.to_string().contains("empty file"), "{error}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as found");
}

#[test]
fn damaged_pages_are_one_clear_error() {
    let folder = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(folder.path()).unwrap();
        let records: Vec<(String, Option<Vec<u8>>)> = (0..2000)
            .map(|i| (format!("key{i}"), Some(vec![7; 200])))
            .collect();
        store.put_records(RecordTable::Subscriptions, &records).unwrap();
    }
    let path = folder.path().join("opendpma.redb");
    let intact = std::fs::read(&path).unwrap();
    // 64 bytes over the records' pages, at several places in turn:
    // each either leaves the data intact or is refused, never loads
    // wrong values and never panics.
    let mut refused = 0;
    for place in 0..20 {
        let mut damaged = intact.clone();
        let at = 4_113 + place * 30_000;
        for (offset, byte) in damaged[at..at + 64].iter_mut().enumerate() {
            *byte = (offset as u8).wrapping_mul(37).wrapping_add(place as u8);
        }
        std::fs::write(&path, &damaged).unwrap();
        match RedbStore::open(folder.path()) {
            Ok(store) => {
                let state = store.load().unwrap();
                let records = &state.records[&RecordTable::Subscriptions];
                assert_eq!(records.len(), 2000);
                assert!(records.values().all(|v| v == &vec![7; 200]), "place {place}");
            }
            Err(error) => {
                refused += 1;
                assert!(matches!(error, StoreError::Corrupted { .. }), "{error}");
                let text = error.to_string();
                assert!(
                    text.contains("opendpma.redb") && text.contains("corrupted"),
                    "{text}"
                );
                assert!(text.contains("move it aside"), "{text}");
            }
        }
    }
    assert!(refused > 0, "some of the damage hit live pages");
}

#[cfg(unix)]
#[test]
fn folder_and_file_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("data");
    RedbStore::open(&folder).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&folder.join("opendpma.redb")), 0o600);
}
