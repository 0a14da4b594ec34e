//! PIDF (RFC 3863) NOTIFY bodies, laid out as Asterisk's PJSIP lays them
//! out (`res_pjsip_pidf_body_generator.c` and its Digium and eyebeam
//! body supplements): a note and a tuple from the extension state, then
//! for Digium/Sangoma User-Agents the `digium-presence` tuple, then a
//! `dm:person` element.
//!
//! Two person variants (docs/DECISIONS.md, "NOTIFY bodies next to Asterisk's"):
//! - Digium/Sangoma watchers get Asterisk's bytes exactly: `<dm:person />`,
//!   or `rpid:on-the-phone` alone while the line is busy — never presence
//!   in RPID. Byte-identity with Asterisk 22's own NOTIFYs is checked per
//!   captured case in `tests/asterisk_notify.rs`.
//! - Everyone else (softphones, which never read `digium_presence`) also
//!   gets the presence state as RPID activities (away → `away`, xa →
//!   `vacation`, dnd → `busy`) and the message as `dm:note`, with the
//!   person `id` RFC 4479 requires.
//!
//! Values are always escaped. Asterisk leaves the entity and tuple id raw;
//! for URIs and extensions without `& < > " '` that prints the same bytes,
//! and where Asterisk would print malformed XML we stay well-formed. An
//! empty attribute is left out rather than printed bare.

use super::device::ExtensionState;
use super::hint::HintState;
use super::state::PresenceState;

/// What a NOTIFY body describes, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidfView<'a> {
    /// The presentity URI, e.g. `sip:2001@pbx.example.com:5060`.
    pub entity: &'a str,
    /// The watcher's URI (its From URI without port), the tuple contact.
    pub watcher: &'a str,
    pub state: &'a HintState,
    /// A Digium/Sangoma watcher: the `digium-presence` tuple and
    /// Asterisk's person element instead of ours.
    pub digium: bool,
}

/// Whether a User-Agent gets the Digium tuple (any case, as Asterisk).
pub fn is_digium_user_agent(user_agent: &str) -> bool {
    let lower = user_agent.to_ascii_lowercase();
    lower.contains("digium") || lower.contains("sangoma")
}

/// The `<note>` and `<basic>` for an extension state, as Asterisk's
/// `ast_sip_presence_exten_state_to_str` (`res_pjsip/presence_xml.c`)
/// maps them: only unavailable is `closed`.
fn note_and_basic(state: ExtensionState) -> (&'static str, &'static str) {
    match state {
        ExtensionState::Idle => ("Ready", "open"),
        ExtensionState::InUse | ExtensionState::Busy => ("On the phone", "open"),
        ExtensionState::Unavailable => ("Unavailable", "closed"),
        ExtensionState::Ringing | ExtensionState::InUseRinging => ("Ringing", "open"),
        ExtensionState::OnHold => ("On hold", "open"),
    }
}

/// Whether the line is in a call (Asterisk's eyebeam supplement: every
/// state but idle and unavailable shows `rpid:on-the-phone`,
/// `res_pjsip/presence_xml.c`).
fn on_the_phone(state: ExtensionState) -> bool {
    !matches!(state, ExtensionState::Idle | ExtensionState::Unavailable)
}

/// RPID activities for a non-Digium watcher's person element: the call
/// as Asterisk shows it, then the presence state (our documented mapping;
/// RFC 4480 has no activity for available or chat).
fn activities(state: &HintState) -> Vec<&'static str> {
    let mut activities = Vec::new();
    if on_the_phone(state.extension_state) {
        activities.push("on-the-phone");
    }
    match state.presence.state {
        PresenceState::Away => activities.push("away"),
        PresenceState::Xa => activities.push("vacation"),
        PresenceState::Dnd => activities.push("busy"),
        _ => {}
    }
    activities
}

/// Escapes text and attribute values (Asterisk's `ast_sip_sanitize_xml`
/// set, which also protects line ends).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            // Not allowed in XML 1.0 at all: drop rather than break the document.
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The whole body, ending with a newline.
pub fn render(view: &PidfView<'_>) -> String {
    PidfParts::new(view.entity, view.state, view.digium).body(view.watcher)
}

/// A body without its watcher: everything every watcher of one state,
/// entity and variant shares, so a change fanned out to many watchers is
/// rendered once. Only the tuple contact is per watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidfParts {
    /// Up to and including `<contact priority="1">`.
    head: String,
    /// From `</contact>` to the end.
    tail: String,
}

impl PidfParts {
    pub fn new(entity: &str, state: &HintState, digium: bool) -> Self {
        let (note, basic) = note_and_basic(state.extension_state);
        let mut head = String::with_capacity(384);
        head.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        head.push_str(&format!(
            "<presence entity=\"{}\" xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\">\n",
            escape(entity)
        ));
        head.push_str(&format!(" <note>{note}</note>\n"));
        head.push_str(&format!(" <tuple id=\"{}\">\n", escape(state.exten.as_str())));
        head.push_str(&format!("  <status>\n   <basic>{basic}</basic>\n  </status>\n"));
        head.push_str("  <contact priority=\"1\">");
        let mut tail = String::with_capacity(384);
        tail.push_str("</contact>\n </tuple>\n");
        if digium {
            let presence = &state.presence;
            let mut element = format!("<digium_presence type=\"{}\"", presence.state.as_str());
            if !presence.subtype.is_empty() {
                element.push_str(&format!(" subtype=\"{}\"", escape(&presence.subtype)));
            }
            if presence.message.is_empty() {
                element.push_str(" />");
            } else {
                element.push_str(&format!(">{}</digium_presence>", escape(&presence.message)));
            }
            tail.push_str(&format!(
                " <tuple id=\"digium-presence\">\n  <status>\n   {element}\n  </status>\n </tuple>\n"
            ));
            push_asterisk_person(&mut tail, state);
        } else {
            push_rpid_person(&mut tail, state);
        }
        tail.push_str("</presence>\n");
        Self { head, tail }
    }

    /// The body for one watcher (its URI as the tuple contact).
    pub fn body(&self, watcher: &str) -> String {
        let watcher = escape(watcher);
        let mut body = String::with_capacity(self.head.len() + watcher.len() + self.tail.len());
        body.push_str(&self.head);
        body.push_str(&watcher);
        body.push_str(&self.tail);
        body
    }

    /// The length of the body for a watcher whose URI is already escaped.
    pub fn body_len(&self, escaped_watcher: &str) -> usize {
        self.head.len() + escaped_watcher.len() + self.tail.len()
    }

    /// Appends the body for a watcher whose URI is already escaped: the
    /// same bytes as `body`, without a string per watcher (a fan-out
    /// writes thousands of these straight into their NOTIFYs).
    pub fn write_body(&self, escaped_watcher: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(escaped_watcher.as_bytes());
        out.extend_from_slice(self.tail.as_bytes());
    }
}

/// Asterisk's person element, byte for byte (`res_pjsip_pidf_eyebeam_body_supplement.c`:
/// no `id`, and `on-the-phone` the only activity).
fn push_asterisk_person(body: &mut String, state: &HintState) {
    if on_the_phone(state.extension_state) {
        body.push_str(" <dm:person>\n  <rpid:activities>\n   <rpid:on-the-phone />\n  </rpid:activities>\n </dm:person>\n");
    } else {
        body.push_str(" <dm:person />\n");
    }
}

/// The person element for watchers that do not read `digium_presence`.
fn push_rpid_person(body: &mut String, state: &HintState) {
    let activities = activities(state);
    let message = &state.presence.message;
    if activities.is_empty() && message.is_empty() {
        body.push_str(" <dm:person id=\"p1\" />\n");
        return;
    }
    body.push_str(" <dm:person id=\"p1\">\n");
    if !activities.is_empty() {
        body.push_str("  <rpid:activities>\n");
        for activity in activities {
            body.push_str(&format!("   <rpid:{activity} />\n"));
        }
        body.push_str("  </rpid:activities>\n");
    }
    if !message.is_empty() {
        body.push_str(&format!("  <dm:note>{}</dm:note>\n", escape(message)));
    }
    body.push_str(" </dm:person>\n");
}
