//! opendpma: an open, DPMA-style provisioning and SIP presence server for
//! Digium/Sangoma D-series phones.
//!
//! # Layout
//! - [`config`]: phones.toml → validated, immutable [`config::Config`].
//! - [`cli`]: the command line (clap), shared by `main.rs` and the tests.
//! - [`auth`]: digest/basic credentials and brute-force lock-out (pure).
//! - [`provision`]: Digium XML rendering and the provisioning HTTP service.
//! - [`snapshot`]: a config plus everything derived from it, swapped on reload.
//! - [`server`]: tokio drivers — listeners, reload triggers, signals.
//! - [`asterisk`]: the AMI protocol (sans-IO), for working beside Asterisk.

pub mod admin;
pub mod asterisk;
pub mod auth;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod import;
pub mod metrics;
pub mod presence;
pub mod provision;
pub mod rate_limit;
pub mod server;
pub mod sip;
pub mod snapshot;
pub mod store;
pub mod wall_clock;

/// `0.1.0 (git 1234abcd5678)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("OPENDPMA_GIT_HASH"),
    ")"
);
