//! opendpma: an open, DPMA-style provisioning and SIP presence server for
//! Digium/Sangoma D-series phones.
//!
//! # Layout
//! - [`config`]: phones.toml → validated, immutable [`config::Config`].
//! - [`cli`]: the command line (clap), shared by `main.rs` and the tests.

pub mod cli;
pub mod config;
pub mod server;

/// `0.1.0 (git 1234abcd5678)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("OPENDPMA_GIT_HASH"),
    ")"
);
