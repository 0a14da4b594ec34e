//! `PresenceHub`: the driver around the pure `PresenceBook` — it reads the
//! clock, validates names at the edge, and hands writes to the committer
//! (`server::committer`), which commits them in groups and fans them out.
//!
//! Write path, for every accepted change: validate → queue → plan against
//! the book → store commit (one fsync per batch, on the committer thread)
//! → apply to the book → broadcast → answer. The book sits behind a std
//! `Mutex` held only for in-memory work, so readers (API, SIP) are never
//! blocked by an fsync. When the queue is full (the disk or the CPU falls
//! behind), API and SIP writes are refused at once with `Overloaded`
//! (503 + Retry-After) instead of growing a backlog; mirrored AMI events
//! wait for room instead, since Asterisk already holds them as fact.
//!
//! Changes go out two ways: a broadcast for observers that may miss some
//! (admin events, AMI), and one lossless feed of hint changes for the SIP
//! driver (`follow_hints`), whose watchers must see every state.
//!
//! Files: `hub` (`PresenceHub`), `error` (`HubError`), `shared`
//! (`HubShared`, what the hub and the committer thread share).

mod error;
mod hub;
mod shared;

pub use self::error::HubError;
pub use self::hub::PresenceHub;
pub use self::shared::HubShared;
