//! The tokio drivers: everything that owns a socket, a task or a signal.
//! Protocol and domain decisions live in the sans-IO modules; this module
//! moves bytes and time to and from them. Wiring the drivers together is
//! `crate::app`'s job; nothing here imports its parent.
//!
//! - `http`: serving an axum router (provisioning, admin).
//! - `reload` / `config_watch`: re-reading phones.toml on change, SIGHUP
//!   or API call; `exposure`: the settings a reload may not open up.
//! - `shutdown`: SIGINT/SIGTERM.
//! - `presence_hub` / `committer`: the durable, broadcasting write path
//!   around the presence book; `commit_delay`: when a batch waits for
//!   company.
//! - `sip_transport` / `sip_driver`: SIP sockets and the task that owns
//!   the sans-IO presence server; `sip_stream`: one TCP/TLS connection;
//!   `sip_inbound`: what the sockets hand to the driver.
//! - `ami`: the link to Asterisk's manager interface (`[asterisk]`).
//! - `udp_buffers`: the SIP UDP sockets' kernel buffers; `sip_rate`: the
//!   per-address SIP request rate; `connection_limits` / `handle_budget`:
//!   connection caps and the open-file limit they fit under;
//!   `write_deadline`: a deadline on every HTTP write; `tls`: PEM pairs to
//!   rustls acceptors; `memory`: freed heap back to the OS.
//! - `error`: why the server could not start.

pub(crate) mod ami;
mod commit_delay;
mod committer;
pub(crate) mod config_watch;
pub(crate) mod connection_limits;
mod error;
pub(crate) mod exposure;
pub(crate) mod handle_budget;
pub(crate) mod http;
mod memory;
mod presence_hub;
mod reload;
mod shutdown;
pub(crate) mod sip_driver;
mod sip_inbound;
mod sip_rate;
mod sip_stream;
mod sip_transport;
pub mod tls;
mod udp_buffers;
mod write_deadline;

pub use ami::AmiHandle;
pub use committer::QUEUE_CAPACITY as STORE_QUEUE_CAPACITY;
pub use error::ServerError;
pub use exposure::ExposureError;
pub use presence_hub::{HubError, PresenceHub};
pub use reload::{ReloadError, ReloadSummary, ReloadTargets, Reloader};
pub use shutdown::shutdown_signal;
pub use sip_driver::lockout_policy;
pub use sip_driver::{PhoneContact, ReconfigureOutcome, ReconfigureReport, SipHandle};
