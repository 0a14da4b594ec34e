//! `AmiSession`: one AMI connection's protocol state, sans-IO. Bytes go in
//! (`receive`), bytes to send come out (`take_output`), and what Asterisk
//! told us comes back as `SessionEvent`s. No socket, no clock.
//!
//! Phases: greeting → `Login` → loading (`PresenceStateList` and
//! `DeviceStateList`; live changes heard meanwhile are folded into the
//! snapshot) → synced. Actions are matched to responses by `ActionID`.
//!
//! Echo control (no loops, no flapping): every value we write is queued
//! per provider until Asterisk announces it back. Asterisk announces
//! presence changes in the order it applied them, so an announcement that
//! arrives while one of our writes is still queued was applied *before*
//! that write and is already overwritten: it is skipped. An announcement
//! with nothing queued is a change made in Asterisk, unless it repeats
//! the value we know Asterisk holds (`mirror`), which Asterisk sends for
//! every write, repeats included (reference §4.4).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::AmiError;
use super::message::Incoming;
use super::packet::{Frame, Packet, PacketReader};
use super::presence_codec::{echoes, setvar_value};
use crate::config::Secret;
use crate::presence::{DeviceState, PresenceValue};

/// Most writes queued per provider awaiting their echo; past this the
/// oldest is forgotten (bounded memory if Asterisk stops announcing).
const MAX_QUEUED_ECHOES: usize = 64;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Greeting,
    LoggingIn,
    Loading,
    Synced,
}

/// Asterisk's presence and device states, as listed at (re)connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsteriskState {
    pub presence: BTreeMap<String, PresenceValue>,
    pub devices: BTreeMap<String, DeviceState>,
}

/// What the driver must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    LoggedIn,
    /// Both lists are in; resynchronise against this.
    Loaded(AsteriskState),
    /// A presence change made in Asterisk.
    Presence {
        provider: String,
        value: PresenceValue,
    },
    /// A device state from Asterisk (live, or the answer to `query_device`).
    Device {
        device: String,
        state: DeviceState,
    },
    /// Asterisk refused one of our presence writes.
    WriteRefused {
        provider: String,
        message: String,
    },
    /// The answer to `check_sync`: `Err` carries Asterisk's message.
    CheckSync {
        token: u64,
        result: Result<(), String>,
    },
}

#[derive(Debug)]
enum Action {
    Login,
    List,
    Getvar { device: String },
    Setvar { provider: String, value: PresenceValue },
    CheckSync { token: u64 },
}

/// One connection's state. Create a new one per connection, carrying
/// `dirty` over with `reconnected`.
#[derive(Debug)]
pub struct AmiSession {
    username: String,
    secret: Secret,
    phase: Phase,
    reader: PacketReader,
    next_id: u64,
    actions: HashMap<String, Action>,
    lists_pending: u8,
    loading: AsteriskState,
    /// What Asterisk holds, as far as we know.
    mirror: HashMap<String, PresenceValue>,
    echoes: HashMap<String, VecDeque<PresenceValue>>,
    /// Providers changed here while not synced: pushed at the next resync.
    dirty: BTreeSet<String>,
    outbox: Vec<u8>,
}

impl AmiSession {
    pub fn new(username: String, secret: Secret) -> Self {
        Self {
            username,
            secret,
            phase: Phase::Greeting,
            reader: PacketReader::default(),
            next_id: 0,
            actions: HashMap::new(),
            lists_pending: 0,
            loading: AsteriskState::default(),
            mirror: HashMap::new(),
            echoes: HashMap::new(),
            dirty: BTreeSet::new(),
            outbox: Vec::new(),
        }
    }

    /// A fresh session for a new connection that remembers what changed
    /// here meanwhile (including writes whose echo never came). Returns the
    /// check-sync tokens left unanswered by the old connection.
    pub fn reconnected(&mut self) -> Vec<u64> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.extend(self.echoes.drain().map(|(provider, _)| provider));
        let unanswered = self
            .actions
            .values()
            .filter_map(|action| match action {
                Action::CheckSync { token } => Some(*token),
                _ => None,
            })
            .collect();
        *self = Self::new(std::mem::take(&mut self.username), self.secret.clone());
        self.dirty = dirty;
        unanswered
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Bytes to write to the socket now.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.outbox)
    }

    /// Feeds received bytes; returns what they meant.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<SessionEvent>, AmiError> {
        self.reader.push(bytes);
        let mut events = Vec::new();
        while let Some(frame) = self.reader.next_frame()? {
            match frame {
                Frame::Greeting(line) => {
                    if !line.starts_with("Asterisk Call Manager") {
                        return Err(AmiError::NotAmi(line));
                    }
                    let mut login = Packet::new([("Action", "Login"), ("Username", self.username.as_str())]);
                    login.push("Secret", self.secret.expose());
                    // Only the `call` class carries the events we follow.
                    login.push("Events", "call");
                    self.send(login, Action::Login);
                    self.phase = Phase::LoggingIn;
                }
                Frame::Packet(packet) => self.incoming(Incoming::classify(packet), &mut events)?,
            }
        }
        Ok(events)
    }

    /// A presence change accepted here. Written to Asterisk when synced
    /// and not already what Asterisk holds; remembered for the next
    /// resync otherwise.
    pub fn local_change(&mut self, provider: &str, value: &PresenceValue) {
        if self.phase != Phase::Synced {
            self.dirty.insert(provider.to_owned());
            return;
        }
        if self
            .mirror
            .get(provider)
            .is_some_and(|known| known.same_as(value))
        {
            return;
        }
        self.push(provider, value.clone());
    }

    /// Writes `value` to Asterisk's `PRESENCE_STATE(provider)`.
    pub fn push(&mut self, provider: &str, value: PresenceValue) {
        let packet = Packet::new([
            ("Action", "Setvar".to_owned()),
            ("Variable", format!("PRESENCE_STATE({provider})")),
            ("Value", setvar_value(&value)),
        ]);
        let queue = self.echoes.entry(provider.to_owned()).or_default();
        if queue.len() == MAX_QUEUED_ECHOES {
            queue.pop_front();
        }
        queue.push_back(value.clone());
        self.mirror.insert(provider.to_owned(), value.clone());
        self.send(
            packet,
            Action::Setvar {
                provider: provider.to_owned(),
                value,
            },
        );
    }

    /// Asks for one device's current state (a hinted device Asterisk did
    /// not list); the answer comes as `SessionEvent::Device`.
    pub fn query_device(&mut self, device: &str) {
        let packet = Packet::new([
            ("Action", "Getvar".to_owned()),
            ("Variable", format!("DEVICE_STATE({device})")),
        ]);
        self.send(
            packet,
            Action::Getvar {
                device: device.to_owned(),
            },
        );
    }

    /// Sends `Event: check-sync` to a PJSIP endpoint through Asterisk.
    pub fn check_sync(&mut self, endpoint: &str, token: u64) {
        let packet = Packet::new([
            ("Action", "PJSIPNotify"),
            ("Endpoint", endpoint),
            ("Variable", "Event=check-sync"),
        ]);
        self.send(packet, Action::CheckSync { token });
    }

    /// Providers changed here while not synced; cleared by the call.
    pub fn take_dirty(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.dirty)
    }

    fn send(&mut self, mut packet: Packet, action: Action) {
        self.next_id += 1;
        let id = self.next_id.to_string();
        packet.push("ActionID", id.clone());
        self.outbox.extend(packet.encode());
        self.actions.insert(id, action);
    }

    fn incoming(&mut self, incoming: Incoming, events: &mut Vec<SessionEvent>) -> Result<(), AmiError> {
        match incoming {
            Incoming::Response {
                action_id,
                success,
                message,
                packet,
            } => {
                let Some(action) = action_id.and_then(|id| self.actions.remove(&id)) else {
                    return Ok(());
                };
                self.response(action, success, message, &packet, events)?;
            }
            Incoming::Presence {
                action_id: Some(_),
                provider,
                value,
            } if self.phase == Phase::Loading => {
                self.loading.presence.insert(provider, value);
            }
            Incoming::Device {
                action_id: Some(_),
                device,
                state,
            } if self.phase == Phase::Loading => {
                self.loading.devices.insert(device, state);
            }
            Incoming::Presence { provider, value, .. } => self.announced(provider, value, events),
            Incoming::Device { device, state, .. } => match self.phase {
                Phase::Loading => {
                    self.loading.devices.insert(device, state);
                }
                Phase::Synced => events.push(SessionEvent::Device { device, state }),
                Phase::Greeting | Phase::LoggingIn => {}
            },
            Incoming::ListComplete { .. } if self.phase == Phase::Loading => {
                self.lists_pending = self.lists_pending.saturating_sub(1);
                if self.lists_pending == 0 {
                    self.phase = Phase::Synced;
                    let state = std::mem::take(&mut self.loading);
                    self.mirror = state.presence.clone().into_iter().collect();
                    events.push(SessionEvent::Loaded(state));
                }
            }
            Incoming::ListComplete { .. } | Incoming::Ignored(_) => {}
        }
        Ok(())
    }

    fn response(
        &mut self,
        action: Action,
        success: bool,
        message: String,
        packet: &Packet,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), AmiError> {
        match action {
            Action::Login if success => {
                self.phase = Phase::Loading;
                self.lists_pending = 2;
                self.send(Packet::new([("Action", "PresenceStateList")]), Action::List);
                self.send(Packet::new([("Action", "DeviceStateList")]), Action::List);
                events.push(SessionEvent::LoggedIn);
            }
            Action::Login => return Err(AmiError::LoginRefused(message)),
            Action::List if !success => return Err(AmiError::ListRefused(message)),
            Action::List => {}
            Action::Getvar { device } => {
                if let Some(state) = packet.get("Value").and_then(|v| v.parse().ok()) {
                    events.push(SessionEvent::Device { device, state });
                }
            }
            Action::Setvar { provider, value } if !success => {
                if let Some(queue) = self.echoes.get_mut(&provider)
                    && let Some(index) = queue.iter().position(|queued| queued == &value)
                {
                    queue.remove(index);
                }
                // What Asterisk holds is unknown now; the next change goes out.
                self.mirror.remove(&provider);
                events.push(SessionEvent::WriteRefused { provider, message });
            }
            Action::Setvar { .. } => {}
            Action::CheckSync { token } => events.push(SessionEvent::CheckSync {
                token,
                result: if success { Ok(()) } else { Err(message) },
            }),
        }
        Ok(())
    }

    /// A live `PresenceStateChange`.
    fn announced(&mut self, provider: String, value: PresenceValue, events: &mut Vec<SessionEvent>) {
        match self.phase {
            Phase::Loading => {
                self.loading.presence.insert(provider, value);
                return;
            }
            Phase::Greeting | Phase::LoggingIn => return,
            Phase::Synced => {}
        }
        if let Some(queue) = self.echoes.get_mut(&provider)
            && !queue.is_empty()
        {
            // Our own write coming back (drop it and any older ones it
            // overtook), or a change applied before our queued write.
            if let Some(index) = queue.iter().position(|sent| echoes(sent, &value)) {
                queue.drain(..=index);
            }
            return;
        }
        if self
            .mirror
            .get(&provider)
            .is_some_and(|known| known.same_as(&value))
        {
            return;
        }
        self.mirror.insert(provider.clone(), value.clone());
        events.push(SessionEvent::Presence { provider, value });
    }
}

#[cfg(test)]
mod tests {
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
        let lists = String::from_utf8(session.take_output()).unwrap();
        assert!(
            lists.contains("Action: PresenceStateList\r\nActionID: 2\r\n"),
            "{lists}"
        );
        assert!(
            lists.contains("Action: DeviceStateList\r\nActionID: 3\r\n"),
            "{lists}"
        );
        let stream = format!(
            "Response: Success\r\nActionID: 2\r\nEventList: start\r\n\r\n\
             Event: PresenceStateChange\r\nActionID: 2\r\nPresentity: CustomPresence:2000\r\nStatus: away\r\nSubtype: lunch\r\nMessage: back \\\"soon\\\"\r\n\r\n\
             {asterisk}\
             Event: PresenceStateListComplete\r\nActionID: 2\r\nEventList: Complete\r\n\r\n\
             Event: DeviceStateChange\r\nActionID: 3\r\nDevice: PJSIP/2000\r\nState: NOT_INUSE\r\n\r\n\
             Event: DeviceStateListComplete\r\nActionID: 3\r\nEventList: Complete\r\n\r\n"
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
    fn a_refused_login_is_an_error() {
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
        assert!(out.contains("Value: away,,YSwgYg==,e\r\nActionID: 4"), "{out}");
        assert!(out.contains("Value: dnd\r\nActionID: 5"), "{out}");
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
            .receive(b"Response: Error\r\nActionID: 4\r\nMessage: Variable not set\r\n\r\n")
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
        assert!(out.contains(
            "Action: PJSIPNotify\r\nEndpoint: 2000\r\nVariable: Event=check-sync\r\nActionID: 4\r\n"
        ));
        assert!(out.contains("Variable: DEVICE_STATE(PJSIP/2003)\r\nActionID: 5\r\n"));
        let events = session
            .receive(b"Response: Success\r\nActionID: 5\r\nValue: INUSE\r\n\r\nResponse: Error\r\nActionID: 4\r\nMessage: Unable to retrieve endpoint 2000\r\n\r\n")
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
                    result: Err("Unable to retrieve endpoint 2000".into())
                }
            ]
        );
    }
}
