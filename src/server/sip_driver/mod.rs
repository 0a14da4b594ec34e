//! The SIP driver: the one task that owns the sans-IO `PresenceServer`.
//! It feeds it socket bytes, timer ticks, hint changes (pushed from the
//! presence hub's lossless feed), new config snapshots and store
//! completions, and carries out what comes back. Durable writes are handed
//! to the committer (`server::committer`) without waiting; the server
//! holds a SUBSCRIBE's or PUBLISH's 200 until the completion for its
//! write comes back, so nothing is acknowledged before it is on disk and
//! nothing else waits for the disk meanwhile.
//!
//! Files: `spawn` (`SipDriver`, starting it), `driver_task` (`DriverTask`
//! and its loop), `bind` (sockets, `BindError`), `settings` (config →
//! endpoint and package settings), `handle` (`SipHandle`), `flush`
//! (outputs to the committer, transmits), `reconfigure` (check-sync
//! bookkeeping), `new_snapshot` (the reload order), `shedding` (stale
//! UDP requests), `unreached` (phones never heard from), and the leaves
//! they share: `phone_contact` (`PhoneContact`), `reconfigure_report`
//! (`ReconfigureReport`, `ReconfigureOutcome`, `PendingReconfigure`),
//! `publish_failure` (a failed write → the PUBLISH's answer). The files
//! with `impl DriverTask` blocks import `driver_task`, which imports none
//! of them back.

mod bind;
mod driver_task;
mod flush;
mod handle;
mod new_snapshot;
mod phone_contact;
mod publish_failure;
mod reconfigure;
mod reconfigure_report;
mod settings;
mod shedding;
mod spawn;
mod unreached;

pub use self::bind::{BindError, SipSockets, bind};
pub use self::handle::SipHandle;
pub use self::phone_contact::PhoneContact;
pub use self::reconfigure_report::{ReconfigureOutcome, ReconfigureReport};
pub use self::settings::lockout_policy;
pub use self::spawn::SipDriver;
pub use self::unreached::{CheckSyncFuture, UnreachedPhones};
