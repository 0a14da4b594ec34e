//! The provisioning HTTP router: serves the current snapshot's documents
//! (`provision` renders them) and the files the config names. It reads the
//! clock and the disk but owns no socket; `server::http` serves it and
//! tests drive it in-process.
//!
//! - `service`: the axum router — access check in front of everything, then
//!   documents by file name or by document token, with ETag/If-None-Match.
//! - `file_service`: served files (firmware, images, ringtones), streamed
//!   with Range and ETag.
//! - `conditional`: `If-None-Match` against the current `ETag` (304).
//! - `fetch_log`: when each phone last fetched its config, for the dashboard.

mod conditional;
mod fetch_log;
mod file_service;
mod service;

pub use fetch_log::FetchLog;
pub use service::{ProvisionState, router};
