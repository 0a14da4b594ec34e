//! What an AMI packet from Asterisk means to us: an action's response,
//! a presence or device state (live, or an item of a list we asked for),
//! the end of a list, or something we do not follow.

use super::packet::Packet;
use super::presence_codec::{parse_state, unescape_c};
use crate::presence::{DeviceState, PresenceValue};

/// A packet, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Response {
        action_id: Option<String>,
        success: bool,
        message: String,
        packet: Packet,
    },
    /// `PresenceStateChange` (live, or a `PresenceStateList` item).
    Presence {
        action_id: Option<String>,
        provider: String,
        value: PresenceValue,
    },
    /// `DeviceStateChange` (live, or a `DeviceStateList` item).
    Device {
        action_id: Option<String>,
        device: String,
        state: DeviceState,
    },
    /// `…ListComplete`.
    ListComplete { action_id: Option<String> },
    /// Anything else (other events, or one we could not read), by name.
    Ignored(String),
}

impl Incoming {
    pub fn classify(packet: Packet) -> Self {
        let action_id = packet.get("ActionID").map(str::to_owned);
        if let Some(response) = packet.get("Response") {
            return Self::Response {
                action_id,
                success: response.eq_ignore_ascii_case("Success"),
                message: packet.get("Message").unwrap_or_default().to_owned(),
                packet,
            };
        }
        let event = packet.get("Event").unwrap_or_default().to_owned();
        match event.as_str() {
            "PresenceStateChange" => presence(&packet, action_id).unwrap_or(Self::Ignored(event)),
            "DeviceStateChange" => device(&packet, action_id).unwrap_or(Self::Ignored(event)),
            name if name.ends_with("ListComplete") => Self::ListComplete { action_id },
            _ => Self::Ignored(event),
        }
    }
}

fn presence(packet: &Packet, action_id: Option<String>) -> Option<Incoming> {
    let provider = canonical_label(packet.get("Presentity")?);
    let state = parse_state(packet.get("Status")?)?;
    Some(Incoming::Presence {
        action_id,
        provider,
        value: PresenceValue {
            state,
            // Both fields are C-escaped (presence_codec's module doc).
            subtype: unescape_c(packet.get("Subtype").unwrap_or_default()),
            message: unescape_c(packet.get("Message").unwrap_or_default()),
            changed_at: None,
        },
    })
}

/// Asterisk takes the `CustomPresence:` label in any case and announces the
/// name as written (`func_presencestate.c`); one provider, one spelling.
fn canonical_label(provider: &str) -> String {
    const LABEL: &str = "CustomPresence:";
    match provider.get(..LABEL.len()) {
        Some(head) if head.eq_ignore_ascii_case(LABEL) => format!("{LABEL}{}", &provider[LABEL.len()..]),
        _ => provider.to_owned(),
    }
}

fn device(packet: &Packet, action_id: Option<String>) -> Option<Incoming> {
    let device = packet.get("Device")?.to_owned();
    let name = packet.get("State")?;
    // Asterisk's INVALID (no such device, or a dead channel) counts as
    // UNAVAILABLE in a hint (`ast_devstate_to_extenstate`, main/pbx.c).
    let state = if name.eq_ignore_ascii_case("INVALID") {
        DeviceState::Unavailable
    } else {
        name.parse().ok()?
    };
    Some(Incoming::Device {
        action_id,
        device,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::PresenceState;

    /// Fields as Asterisk 22.10 sent them (tests/asterisk/README.md).
    #[test]
    fn reads_presence_changes_unescaping_the_message() {
        let packet = Packet::new([
            ("Event", "PresenceStateChange"),
            ("Privilege", "call,all"),
            ("Presentity", "CustomPresence:2001"),
            ("Status", "dnd"),
            ("Subtype", r#"a,b \"q\"\n"#),
            ("Message", r#"hello, world\n\"x\""#),
        ]);
        let Incoming::Presence {
            action_id,
            provider,
            value,
        } = Incoming::classify(packet)
        else {
            panic!("presence")
        };
        assert_eq!((action_id, provider.as_str()), (None, "CustomPresence:2001"));
        assert_eq!(value.state, PresenceState::Dnd);
        assert_eq!(
            (value.subtype.as_str(), value.message.as_str()),
            ("a,b \"q\"\n", "hello, world\n\"x\"")
        );
    }

    #[test]
    fn any_spelling_of_the_label_is_one_provider() {
        let packet = Packet::new([
            ("Event", "PresenceStateChange"),
            ("Presentity", "custompresence:Bob"),
            ("Status", "away"),
        ]);
        assert!(matches!(
            Incoming::classify(packet),
            Incoming::Presence { provider, .. } if provider == "CustomPresence:Bob"
        ));
    }

    #[test]
    fn reads_device_states_list_items_and_completion() {
        let item = Packet::new([
            ("Event", "DeviceStateChange"),
            ("ActionID", "5"),
            ("Device", "PJSIP/2000"),
            ("State", "UNAVAILABLE"),
        ]);
        assert_eq!(
            Incoming::classify(item),
            Incoming::Device {
                action_id: Some("5".into()),
                device: "PJSIP/2000".into(),
                state: DeviceState::Unavailable
            }
        );
        let invalid = Packet::new([
            ("Event", "DeviceStateChange"),
            ("Device", "CLIEval/1"),
            ("State", "INVALID"),
        ]);
        assert!(matches!(
            Incoming::classify(invalid),
            Incoming::Device {
                state: DeviceState::Unavailable,
                ..
            }
        ));
        let done = Packet::new([("Event", "DeviceStateListComplete"), ("ActionID", "5")]);
        assert_eq!(
            Incoming::classify(done),
            Incoming::ListComplete {
                action_id: Some("5".into())
            }
        );
    }

    #[test]
    fn unreadable_events_are_ignored_not_errors() {
        let bad = Packet::new([
            ("Event", "PresenceStateChange"),
            ("Presentity", "CustomPresence:x"),
            ("Status", "bored"),
        ]);
        assert_eq!(
            Incoming::classify(bad),
            Incoming::Ignored("PresenceStateChange".into())
        );
        let response = Packet::new([
            ("Response", "Error"),
            ("ActionID", "3"),
            ("Message", "Variable not set"),
        ]);
        assert!(matches!(
            Incoming::classify(response),
            Incoming::Response { success: false, .. }
        ));
    }
}
