//! `PresenceServer`: the presence event package on top of the endpoint —
//! SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856) and PUBLISH (RFC 3903). Sans-IO
//! like the endpoint it wraps: the driver feeds it bytes, time (`now` for
//! timers, `wall` Unix seconds for what is stored) and hint states as
//! events (`handle_hints`, `handle_change`; it keeps its own copy), and
//! carries out its outputs: transmits, durable presence writes
//! (`Output::Publish`, answered with `publish_committed`) and subscription
//! records (`Output::Store`).
//!
//! Where Asterisk and the RFCs differ, the RFC wins unless phones depend
//! on Asterisk's way: an initial `Expires: 0` is a one-shot fetch (RFC 6665
//! §4.4.3; Asterisk answers 400); 423 carries Min-Expires (RFC 6665
//! §4.2.1.1; Asterisk leaves it out); an Accept without PIDF gets 489, as
//! Asterisk's testsuite `mismatch` expects; terminated NOTIFYs carry a
//! reason except when the watcher asked (RFC 6665 §4.2.2); PUBLISH expiry
//! is capped and checked against the minimum (RFC 3903 §6 step 4, which
//! Asterisk does not do).
//!
//! Files: `server` (`PresenceServer`, its tables and driver surface),
//! `output` (`Output`, `Expiry`, `DEFAULT_EXPIRES`), `config`, `dispatch`
//! (events to handlers), `subscribe`, `notifier`, `notify_queue` (the
//! line of NOTIFYs built on demand), `restore` (paced), `publication`,
//! `durability` (answers held until records are stored), `hints`,
//! `check_sync`, `entity`, `body_cache`, `memory`, `summary`,
//! `shared_texts` (one copy of texts many subscriptions hold). The types
//! in `server`'s tables live in leaves of their own — `check_sync_state`
//! (`CheckSync`, `CheckSyncResult`), `confirmations` (held answers),
//! `publish_state` (`Publication`, `PendingPublish`, `PublishFailure`) —
//! so the files holding `impl PresenceServer` blocks import `server` and
//! nothing imports them back.

mod body_cache;
mod check_sync;
mod check_sync_state;
mod config;
mod confirmations;
mod dispatch;
mod durability;
mod entity;
mod hints;
mod memory;
mod notifier;
mod notify_queue;
mod output;
mod publication;
mod publish_state;
mod restore;
mod server;
mod shared_texts;
mod subscribe;
mod summary;

pub use self::check_sync_state::CheckSyncResult;
pub use self::config::{LineAccess, PresenceServerConfig};
pub use self::output::{DEFAULT_EXPIRES, Output};
pub use self::publish_state::{PublishFailure, PublishRefusal};
pub use self::server::PresenceServer;
pub use self::summary::SubscriptionSummary;
