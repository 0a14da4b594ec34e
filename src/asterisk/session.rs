//! `AmiSession`: one AMI connection's protocol state, sans-IO. Bytes go in
//! (`receive`), bytes to send come out (`take_output`), and what Asterisk
//! told us comes back as `SessionEvent`s. No socket, no clock.
//!
//! Phases: greeting → `Login` (then a probe that Asterisk has finished
//! loading `PRESENCE_STATE()`) → loading (`PresenceStateList` and
//! `DeviceStateList`; live changes heard meanwhile are folded into the
//! snapshot) → synced. Actions are matched to responses by `ActionID`.
//!
//! Our own writes coming back are told apart from changes made in
//! Asterisk by `echo::EchoControl`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::echo::EchoControl;
use super::error::{ActionRefused, AmiError};
use super::message::Incoming;
use super::packet::{Frame, Packet, PacketReader};
use super::presence_codec::setvar_value;
use crate::config::Secret;
use crate::presence::{DeviceState, PresenceValue};

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
        result: Result<(), ActionRefused>,
    },
}

#[derive(Debug)]
enum Action {
    Login,
    Probe,
    List,
    Getvar { device: String },
    Setvar { provider: String, value: PresenceValue },
    CheckSync { token: u64 },
    Ping,
}

/// One connection's state; `reconnected` starts over for a new
/// connection, carrying `dirty` over. (No `Debug`: the output buffer holds
/// the login secret.)
pub struct AmiSession {
    username: String,
    secret: Secret,
    phase: Phase,
    reader: PacketReader,
    next_id: u64,
    actions: HashMap<String, Action>,
    lists_pending: u8,
    loading: AsteriskState,
    echo: EchoControl,
    /// A `Ping` is waiting for its answer.
    ping_unanswered: bool,
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
            echo: EchoControl::default(),
            ping_unanswered: false,
            dirty: BTreeSet::new(),
            outbox: Vec::new(),
        }
    }

    /// A fresh session for a new connection that remembers what changed
    /// here meanwhile (including writes whose echo never came). Returns the
    /// check-sync tokens left unanswered by the old connection.
    pub fn reconnected(&mut self) -> Vec<u64> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.extend(self.echo.unconfirmed());
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
                        // Whatever answered may send a 64 KiB "line": the
                        // log gets its start.
                        return Err(AmiError::NotAmi(line.chars().take(80).collect()));
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
    /// and not already what Asterisk holds (then `true`); remembered for
    /// the next resync otherwise.
    pub fn local_change(&mut self, provider: &str, value: &PresenceValue) -> bool {
        if self.phase != Phase::Synced {
            self.dirty.insert(provider.to_owned());
            return false;
        }
        if self.echo.holds(provider, value) {
            return false;
        }
        self.push(provider, value.clone());
        true
    }

    /// Writes `value` to Asterisk's `PRESENCE_STATE(provider)`.
    pub fn push(&mut self, provider: &str, value: PresenceValue) {
        let packet = Packet::new([
            ("Action", "Setvar".to_owned()),
            ("Variable", format!("PRESENCE_STATE({provider})")),
            ("Value", setvar_value(&value)),
        ]);
        self.echo.wrote(provider, &value);
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

    /// Sends `Ping` (a silent peer, e.g. a crashed host, is otherwise never
    /// noticed); `false` if the previous one is still unanswered: the
    /// connection is dead.
    pub fn ping(&mut self) -> bool {
        if self.ping_unanswered {
            return false;
        }
        self.ping_unanswered = true;
        self.send(Packet::new([("Action", "Ping")]), Action::Ping);
        true
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
                    self.echo.listed(&state.presence);
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
                // AMI answers while Asterisk is still loading modules; a
                // Setvar before func_presencestate is loaded would be
                // refused. Getvar of a missing function is "Success" with an
                // empty value (checked on 22.10), a loaded one says not_set.
                let probe = Packet::new([
                    ("Action", "Getvar"),
                    ("Variable", "PRESENCE_STATE(CustomPresence:opendpma-probe,value)"),
                ]);
                self.send(probe, Action::Probe);
                events.push(SessionEvent::LoggedIn);
            }
            Action::Login => return Err(AmiError::LoginRefused(message)),
            Action::Probe if packet.get("Value").is_some_and(|value| !value.is_empty()) => {
                self.phase = Phase::Loading;
                self.lists_pending = 2;
                self.send(Packet::new([("Action", "PresenceStateList")]), Action::List);
                self.send(Packet::new([("Action", "DeviceStateList")]), Action::List);
            }
            Action::Probe => return Err(AmiError::NotReady),
            Action::List if !success => return Err(AmiError::ListRefused(message)),
            Action::List => {}
            Action::Getvar { device } => {
                if let Some(state) = packet.get("Value").and_then(|v| v.parse().ok()) {
                    events.push(SessionEvent::Device { device, state });
                }
            }
            Action::Setvar { provider, value } if !success => {
                self.echo.refused(&provider, &value);
                events.push(SessionEvent::WriteRefused { provider, message });
            }
            Action::Setvar { .. } => {}
            Action::Ping => self.ping_unanswered = false,
            Action::CheckSync { token } => events.push(SessionEvent::CheckSync {
                token,
                result: if success {
                    Ok(())
                } else {
                    Err(ActionRefused(message))
                },
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
        if self.echo.announced(&provider, &value) {
            events.push(SessionEvent::Presence { provider, value });
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
