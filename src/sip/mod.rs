//! The SIP core, sans-IO: bytes and time in, bytes and events out. No
//! sockets, no tokio, no clock — the drivers in `server/` own those.
//!
//! - `headers`, `uri`, `via`, `message`, `parse`: the message layer
//!   (framing rules, normalisation, validation; see docs/DECISIONS.md for
//!   why this is our own and not rsip's).
//! - `header_views`: typed Event / Expires / Accept / SIP-If-Match / …
//! - `response`: building responses and outgoing requests.
//! - `framing`: TCP stream framing and keep-alives.
//! - `transaction`: non-INVITE transaction state and timers.
//! - `endpoint`: the state machine that ties it together
//!   (`handle_*` in, `poll_*` out); `inspection`: the Request-URI and
//!   `Require` checks before a request is processed; `peer`: who a message
//!   came from or goes to; `completed_transactions`: which completed UDP
//!   transaction a full table forgets first.
//! - `subscription`, `presence_server`: the presence event package
//!   (SUBSCRIBE/NOTIFY, PUBLISH) on top of the endpoint; `notify_message`:
//!   a subscription's NOTIFY written out in one pass.

mod completed_transactions;
pub mod endpoint;
pub mod framing;
pub mod header_views;
pub mod headers;
pub mod inspection;
pub mod message;
mod notify_message;
pub mod parse;
pub mod peer;
pub mod presence_server;
pub mod response;
pub mod server_transactions;
pub mod subscription;
pub mod transaction;
pub mod uri;
pub mod via;

pub use endpoint::{ClientId, Endpoint, EndpointConfig, EndpointStats, Event, RequestId};
pub use headers::Headers;
pub use message::{Message, Method, Request, Response};
pub use parse::{Framing, MAX_MESSAGE_BYTES, Malformed, parse};
pub use peer::{ConnectionId, Peer, Random, Transmit};
pub use presence_server::{
    CheckSyncResult, LineAccess, Output, PresenceServer, PresenceServerConfig, PublishFailure,
    PublishRefusal, SubscriptionSummary,
};
pub use response::{OutgoingRequest, ResponseBuilder, reason_phrase};
