//! `Endpoint`: the sans-IO SIP server. Bytes and time go in
//! (`handle_datagram`, `handle_stream_bytes`, `handle_timeout`), bytes and
//! decisions come out (`poll_transmit`, `poll_event`, `poll_timeout`).
//!
//! It answers on its own everything that needs no application decision —
//! OPTIONS, INVITE (405: we are no PBX), unknown methods (501), malformed
//! requests (400 saying what is wrong), retransmissions — and challenges
//! SUBSCRIBE and PUBLISH for digest credentials. Authenticated SUBSCRIBE
//! and PUBLISH requests become `Event::Request`s that the presence package
//! answers through `respond`.

//! - `machine`: `Endpoint` itself, its tables and the `handle_*` /
//!   `poll_*` surface; `config`: `EndpointConfig`; `events`: `Event`,
//!   `RequestId`, `ClientId`.
//! - `requests`: what it answers on its own; `authentication`: the digest
//!   challenge through `auth::AuthGate`; `transactions`: answering
//!   requests and our own client transactions.

mod authentication;
mod config;
mod events;
mod machine;
mod requests;
mod transactions;

pub use self::config::EndpointConfig;
pub use self::events::{ClientId, Event, RequestId};
pub(crate) use self::machine::shrink_if_mostly_empty;
pub use self::machine::{Endpoint, EndpointStats, MAX_SERVER_TRANSACTIONS};
