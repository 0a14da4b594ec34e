//! `AmiSession` driven with the bytes Asterisk 22.10 sends.

use super::*;
use crate::presence::PresenceState;

fn value(state: PresenceState, message: &str) -> PresenceValue {
    PresenceValue {
        state,
        subtype: String::new(),
        message: message.into(),
        changed_at: None,
    }
}

fn change(provider: &str, state: &str, message: &str) -> String {
    format!(
        "Event: PresenceStateChange\r\nPresentity: {provider}\r\nStatus: {state}\r\nSubtype: \r\nMessage: {message}\r\n\r\n"
    )
}

/// Logs in and loads the two lists; returns the `Loaded` state.
fn synced(asterisk: &str) -> (AmiSession, AsteriskState) {
    let mut session = AmiSession::new("opendpma".into(), Secret::new("pw"));
    assert!(
        session
            .receive(b"Asterisk Call Manager/11.0.0\r\n")
            .unwrap()
            .is_empty()
    );
    let login = String::from_utf8(session.take_output()).unwrap();
    assert_eq!(
        login,
        "Action: Login\r\nUsername: opendpma\r\nSecret: pw\r\nEvents: call\r\nActionID: 1\r\n\r\n"
    );
    let events = session
        .receive(b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n")
        .unwrap();
    assert_eq!(events, [SessionEvent::LoggedIn]);
    let probe = String::from_utf8(session.take_output()).unwrap();
    assert_eq!(
        probe,
        "Action: Getvar\r\nVariable: PRESENCE_STATE(CustomPresence:opendpma-probe,value)\r\nActionID: 2\r\n\r\n"
    );
    let events = session
        .receive(b"Response: Success\r\nActionID: 2\r\nVariable: x\r\nValue: not_set\r\n\r\n")
        .unwrap();
    assert!(events.is_empty());
    let lists = String::from_utf8(session.take_output()).unwrap();
    assert!(
        lists.contains("Action: PresenceStateList\r\nActionID: 3\r\n"),
        "{lists}"
    );
    assert!(
        lists.contains("Action: DeviceStateList\r\nActionID: 4\r\n"),
        "{lists}"
    );
    let stream = format!(
        "Response: Success\r\nActionID: 3\r\nEventList: start\r\n\r\n\
         Event: PresenceStateChange\r\nActionID: 3\r\nPresentity: CustomPresence:2000\r\nStatus: away\r\nSubtype: lunch\r\nMessage: back \\\"soon\\\"\r\n\r\n\
         {asterisk}\
         Event: PresenceStateListComplete\r\nActionID: 3\r\nEventList: Complete\r\n\r\n\
         Event: DeviceStateChange\r\nActionID: 4\r\nDevice: PJSIP/2000\r\nState: NOT_INUSE\r\n\r\n\
         Event: DeviceStateListComplete\r\nActionID: 4\r\nEventList: Complete\r\n\r\n"
    );
    let mut events = session.receive(stream.as_bytes()).unwrap();
    assert_eq!(session.phase(), Phase::Synced);
    let Some(SessionEvent::Loaded(state)) = events.pop() else {
        panic!("loaded")
    };
    (session, state)
}

#[test]
fn logs_in_loads_lists_and_folds_in_live_changes() {
    let (_, state) = synced(&change("CustomPresence:2001", "dnd", ""));
    assert_eq!(state.presence["CustomPresence:2000"].message, "back \"soon\"");
    assert_eq!(state.presence["CustomPresence:2001"].state, PresenceState::Dnd);
    assert_eq!(state.devices["PJSIP/2000"], DeviceState::NotInuse);
}

#[test]
fn a_refused_login_or_an_asterisk_still_starting_is_an_error() {
    let mut session = AmiSession::new("u".into(), Secret::new("wrong"));
    session.receive(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
    let refused =
        session.receive(b"Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n");
    assert_eq!(
        refused,
        Err(AmiError::LoginRefused("Authentication failed".into()))
    );
    let mut other = AmiSession::new("u".into(), Secret::new("pw"));
    assert!(matches!(
        other.receive(b"SSH-2.0-OpenSSH\r\n"),
        Err(AmiError::NotAmi(_))
    ));
    let mut noise = AmiSession::new("u".into(), Secret::new("pw"));
    let mut line = vec![b'x'; 60_000];
    line.extend(b"\r\n");
    assert_eq!(
        noise.receive(&line),
        Err(AmiError::NotAmi("x".repeat(80))),
        "a log line, not 60 kB of whatever answered"
    );
    // Logged in, but func_presencestate not loaded yet: an empty Getvar.
    let mut early = AmiSession::new("u".into(), Secret::new("pw"));
    early.receive(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
    early
        .receive(b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n")
        .unwrap();
    let starting = early.receive(b"Response: Success\r\nActionID: 2\r\nVariable: x\r\nValue: \r\n\r\n");
    assert_eq!(starting, Err(AmiError::NotReady));
}

/// Our writes come back as events (every write, repeats included):
/// none of them may be taken for a change made in Asterisk.
#[test]
fn own_writes_are_not_echoed_back_and_superseded_changes_are_skipped() {
    let (mut session, _) = synced("");
    let away = value(PresenceState::Away, "a, b");
    let dnd = value(PresenceState::Dnd, "");
    session.local_change("CustomPresence:2001", &away);
    session.local_change("CustomPresence:2001", &dnd);
    let out = String::from_utf8(session.take_output()).unwrap();
    assert!(out.contains("Value: away,,YSwgYg==,e\r\nActionID: 5"), "{out}");
    assert!(out.contains("Value: dnd\r\nActionID: 6"), "{out}");
    // A change made in Asterisk before our writes landed, then our echoes.
    let stream = change("CustomPresence:2001", "xa", "")
        + &change("CustomPresence:2001", "away", "a, b")
        + &change("CustomPresence:2001", "dnd", "");
    assert!(session.receive(stream.as_bytes()).unwrap().is_empty());
    // The same value again (Asterisk announces repeats): still nothing.
    assert!(
        session
            .receive(change("CustomPresence:2001", "dnd", "").as_bytes())
            .unwrap()
            .is_empty()
    );
    // A value we already hold is not written again.
    session.local_change("CustomPresence:2001", &dnd);
    assert!(session.take_output().is_empty());
    // Now a real change in Asterisk.
    let events = session
        .receive(change("CustomPresence:2001", "chat", "hi").as_bytes())
        .unwrap();
    assert_eq!(
        events,
        [SessionEvent::Presence {
            provider: "CustomPresence:2001".into(),
            value: value(PresenceState::Chat, "hi")
        }]
    );
    // Applying it here comes back as a local change: not written back.
    session.local_change("CustomPresence:2001", &value(PresenceState::Chat, "hi"));
    assert!(session.take_output().is_empty());
}

#[test]
fn a_refused_write_is_reported_and_not_awaited() {
    let (mut session, _) = synced("");
    session.local_change("CustomPresence:9", &value(PresenceState::Away, ""));
    session.take_output();
    let events = session
        .receive(b"Response: Error\r\nActionID: 5\r\nMessage: Variable not set\r\n\r\n")
        .unwrap();
    assert_eq!(
        events,
        [SessionEvent::WriteRefused {
            provider: "CustomPresence:9".into(),
            message: "Variable not set".into()
        }]
    );
    let events = session
        .receive(change("CustomPresence:9", "xa", "").as_bytes())
        .unwrap();
    assert_eq!(events.len(), 1, "nothing queued any more: a change from Asterisk");
}

#[test]
fn changes_while_not_synced_are_dirty_and_survive_a_reconnect() {
    let mut session = AmiSession::new("u".into(), Secret::new("pw"));
    session.local_change("CustomPresence:1", &value(PresenceState::Away, ""));
    assert!(session.take_output().is_empty());
    let (mut synced, _) = synced("");
    synced.local_change("CustomPresence:2", &value(PresenceState::Away, ""));
    synced.check_sync("2000", 7);
    assert_eq!(synced.reconnected(), [7], "unanswered check-sync");
    assert_eq!(synced.phase(), Phase::Greeting);
    assert_eq!(
        synced.take_dirty(),
        BTreeSet::from(["CustomPresence:2".to_owned()]),
        "a write whose echo never came"
    );
    assert_eq!(
        session.take_dirty(),
        BTreeSet::from(["CustomPresence:1".to_owned()])
    );
}

#[test]
fn check_sync_and_device_queries_are_answered_by_action_id() {
    let (mut session, _) = synced("");
    session.check_sync("2000", 41);
    session.query_device("PJSIP/2003");
    let out = String::from_utf8(session.take_output()).unwrap();
    assert!(
        out.contains(
            "Action: PJSIPNotify\r\nEndpoint: 2000\r\nVariable: Event=check-sync\r\nActionID: 5\r\n"
        )
    );
    assert!(out.contains("Variable: DEVICE_STATE(PJSIP/2003)\r\nActionID: 6\r\n"));
    let events = session
        .receive(b"Response: Success\r\nActionID: 6\r\nValue: INUSE\r\n\r\nResponse: Error\r\nActionID: 5\r\nMessage: Unable to retrieve endpoint 2000\r\n\r\n")
        .unwrap();
    assert_eq!(
        events,
        [
            SessionEvent::Device {
                device: "PJSIP/2003".into(),
                state: DeviceState::Inuse
            },
            SessionEvent::CheckSync {
                token: 41,
                result: Err(ActionRefused("Unable to retrieve endpoint 2000".into()))
            }
        ]
    );
}

#[test]
fn a_ping_left_unanswered_means_a_dead_connection() {
    let (mut session, _) = synced("");
    assert!(session.ping());
    assert!(
        session
            .take_output()
            .starts_with(b"Action: Ping\r\nActionID: 5\r\n")
    );
    assert!(!session.ping(), "the first one is still unanswered");
    session
        .receive(b"Response: Success\r\nActionID: 5\r\nPing: Pong\r\n\r\n")
        .unwrap();
    assert!(session.ping());
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, ..Default::default() })]

    /// Whatever a peer sends, in any chunks, the session answers with
    /// events or an error, never a panic.
    #[test]
    fn any_bytes_in_any_chunks_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        split in 0usize..2048,
    ) {
        let mut session = AmiSession::new("u".into(), Secret::new("pw"));
        let mut stream = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n\r\n".to_vec();
        stream.extend(&bytes);
        let split = split.min(stream.len());
        if session.receive(&stream[..split]).is_ok() {
            let _ = session.receive(&stream[split..]);
        }
        session.local_change("CustomPresence:x", &value(PresenceState::Away, "a,b\nc"));
    }
}
