//! Tests of `PresenceBook`: repeat rules, hint combination, reloads.

use super::*;
use crate::presence::state::PresenceState;

fn hint(exten: &str, devices: &[&str], presence: &[&str]) -> Hint {
    Hint {
        exten: exten.parse().unwrap(),
        devices: devices.iter().map(|s| (*s).to_owned()).collect(),
        presence: presence.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn update(value: &str) -> PresenceUpdate {
    PresenceUpdate::parse_asterisk(value).unwrap()
}

/// Plans and applies like the driver does (store commit omitted).
fn set(book: &mut PresenceBook, provider: &str, value: &str, now: u64) -> Vec<Change> {
    match book.plan_presence(provider, update(value), now).unwrap() {
        Some(plan) => book.apply(plan),
        None => Vec::new(),
    }
}

/// A book with `hints` and nothing set.
fn book_of(hints: Vec<Hint>) -> PresenceBook {
    PresenceBook::new(hints, HashMap::new(), HashMap::new())
}

fn hint_changes(changes: &[Change]) -> Vec<&HintState> {
    changes
        .iter()
        .filter_map(|c| if let Change::Hint(h) = c { Some(h) } else { None })
        .collect()
}

/// Testsuite `presencestate_repeat`: the identical value again gives
/// no event at all (so no NOTIFY).
#[test]
fn a_repeated_value_changes_nothing() {
    let mut book = book_of(vec![hint("Eggs", &[], &["CustomPresence:Eggs"])]);
    let first = set(
        &mut book,
        "CustomPresence:Eggs",
        "AWAY,scrambled,feeling a bit sick",
        1,
    );
    assert_eq!(first.len(), 2, "presence + hint");
    let hint = hint_changes(&first)[0];
    assert_eq!(hint.presence.state, PresenceState::Away);
    assert_eq!(
        hint.extension_state,
        ExtensionState::Unavailable,
        "presence-only hint"
    );
    assert!(
        set(
            &mut book,
            "CustomPresence:Eggs",
            "away,scrambled,feeling a bit sick",
            2
        )
        .is_empty()
    );
}

/// Testsuite `presencestate_repeat_okay`: a changed subtype alone, or a
/// changed message alone, is a change.
#[test]
fn a_changed_subtype_or_message_alone_is_a_change() {
    let mut book = book_of(vec![hint("Eggs", &[], &["CustomPresence:Eggs"])]);
    set(&mut book, "CustomPresence:Eggs", "away,scrambled,sick", 1);
    assert_eq!(
        hint_changes(&set(&mut book, "CustomPresence:Eggs", "away,fried,sick", 2)).len(),
        1
    );
    assert_eq!(
        hint_changes(&set(&mut book, "CustomPresence:Eggs", "away,fried,better", 3)).len(),
        1
    );
}

/// Testsuite `devstate_repeat`: setting a device to the state it
/// already shows (NOT_INUSE and the default UNKNOWN both read Idle) is
/// no hint change.
#[test]
fn a_device_change_that_keeps_the_extension_state_is_not_a_hint_change() {
    let mut book = book_of(vec![hint("Eggs", &["Custom:Eggs"], &[])]);
    assert_eq!(
        book.hint_state("Eggs").unwrap().extension_state,
        ExtensionState::Idle
    );
    let plan = book
        .plan_device("Custom:Eggs", DeviceState::NotInuse)
        .unwrap()
        .unwrap();
    let changes = book.apply(plan);
    assert_eq!(
        changes,
        vec![Change::Device {
            device: "Custom:Eggs".into(),
            state: DeviceState::NotInuse
        }]
    );
    assert_eq!(book.plan_device("Custom:Eggs", DeviceState::NotInuse), Ok(None));
    assert_eq!(book.plan_device("Custom:Other", DeviceState::Unknown), Ok(None));
    let plan = book
        .plan_device("Custom:Eggs", DeviceState::Inuse)
        .unwrap()
        .unwrap();
    let changes = book.apply(plan);
    assert_eq!(hint_changes(&changes)[0].extension_state, ExtensionState::InUse);
}

#[test]
fn hints_combine_their_providers_and_clearing_returns_to_not_set() {
    let mut book = book_of(vec![hint(
        "2000",
        &["Custom:2000"],
        &["CustomPresence:2000", "CustomPresence:queue"],
    )]);
    set(&mut book, "CustomPresence:2000", "available", 1);
    let changes = set(&mut book, "CustomPresence:queue", "dnd,,in a queue", 2);
    let state = hint_changes(&changes)[0];
    assert_eq!(
        (state.presence.state, state.presence.message.as_str()),
        (PresenceState::Dnd, "in a queue")
    );
    let changes = book.apply(book.plan_clear("CustomPresence:queue").unwrap());
    assert_eq!(
        changes[0],
        Change::Presence {
            provider: "CustomPresence:queue".into(),
            value: PresenceValue::not_set()
        }
    );
    assert_eq!(hint_changes(&changes)[0].presence.state, PresenceState::Available);
    assert_eq!(
        book.plan_clear("CustomPresence:queue"),
        None,
        "clearing twice is a no-op"
    );
    assert_eq!(book.presence("CustomPresence:queue"), PresenceValue::not_set());
}

#[test]
fn providers_of_other_hints_do_not_touch_this_one() {
    let mut book = book_of(vec![
        hint("2000", &[], &["CustomPresence:2000"]),
        hint("2001", &[], &["CustomPresence:2001"]),
    ]);
    let changes = set(&mut book, "CustomPresence:2001", "away", 1);
    let hints = hint_changes(&changes);
    assert_eq!(hints.len(), 1);
    assert_eq!(hints[0].exten.as_str(), "2001");
    let names: Vec<String> = book.providers().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["CustomPresence:2000", "CustomPresence:2001"]);
}

#[test]
fn reloaded_hints_report_removed_and_changed_extensions() {
    let mut book = book_of(vec![
        hint("2000", &[], &["CustomPresence:2000"]),
        hint("2001", &[], &["CustomPresence:2001"]),
    ]);
    set(&mut book, "CustomPresence:x", "xa", 1);
    let changes = book.set_hints(vec![hint("2000", &[], &["CustomPresence:x"])]);
    assert_eq!(
        changes[0],
        Change::HintRemoved {
            exten: "2001".parse().unwrap()
        }
    );
    assert_eq!(hint_changes(&changes)[0].presence.state, PresenceState::Xa);
    assert!(
        book.set_hints(book.hints().to_vec()).is_empty(),
        "same hints: nothing to say"
    );
}
