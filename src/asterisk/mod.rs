//! Asterisk Manager Interface (AMI), sans-IO: framing (`packet`), what
//! Asterisk's packets mean (`message`), presence values across AMI
//! (`presence_codec`), one connection's protocol state (`session`), telling
//! our own writes from Asterisk's changes (`echo`) and the resync rule
//! (`resync`), and why a connection was given up (`error`). No socket, no
//! clock: the tokio driver is `server::ami`.
//!
//! Facts about Asterisk 22's AMI used here are cited where they are used;
//! the raw transcripts are in tests/asterisk/README.md.

mod echo;
mod error;
mod message;
mod packet;
mod presence_codec;
mod resync;
mod session;

pub use error::{ActionRefused, AmiError};
pub use message::Incoming;
pub use packet::{Frame, MAX_PACKET_BYTES, Packet, PacketReader};
pub use presence_codec::{echoes, parse_state, setvar_value, unescape_c};
pub use resync::{ResyncPlan, is_custom_presence, plan as plan_resync};
pub use session::{AmiSession, AsteriskState, Phase, SessionEvent};
