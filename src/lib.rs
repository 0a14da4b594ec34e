//! opendpma: an open, DPMA-style provisioning and SIP presence server for
//! Digium/Sangoma D-series phones.
//!
//! # Layout
//! Pure modules (no sockets, no clock; time comes in as an argument):
//! - [`config`]: phones.toml → validated, immutable [`config::Config`].
//! - [`snapshot`]: a config plus everything derived from it, swapped on reload.
//! - [`provision`]: Digium XML rendering (config → each phone's documents)
//!   and the rules for who may fetch them.
//! - [`auth`]: digest/basic credentials and brute-force lock-out.
//! - [`sip`]: the SIP core — messages, transactions, the presence event
//!   package.
//! - [`presence`]: presence and device states, hints, the presence book,
//!   PIDF in and out.
//! - [`asterisk`]: the AMI protocol, for working beside Asterisk.
//! - [`import`]: reading a DPMA setup (Asterisk `.conf` files) into
//!   phones.toml.
//! - [`rate_limit`], [`client_address`]: per-address token buckets and the
//!   address unit they count by.
//! - [`metrics`]: counters and gauges in Prometheus text.
//! - [`hex`]: lower-case hexadecimal (digests, ETags, tokens).
//! - [`quoted_string`]: SIP and HTTP quoted strings (`"…"` with `\` escapes).
//!
//! With I/O:
//! - [`provision_http`]: the provisioning HTTP router, serving the current
//!   snapshot's documents and the files the config names.
//! - [`wall_clock`]: the one reader of the wall clock (Unix time), for the
//!   drivers and handlers to pass into the pure modules.
//! - [`store`]: durable state (redb in `data_dir`) behind a trait.
//! - [`server`]: tokio drivers — sockets, the SIP and AMI tasks, the
//!   presence hub and its committer, reload triggers, signals.
//! - [`admin`]: the admin API, dashboard and the CLI's client commands.
//! - [`app`]: wires all of the above on bound sockets, owns its tasks and
//!   stops them in order.
//! - [`cli`]: the command line (clap), shared by `main.rs` and the tests.

pub mod admin;
pub mod app;
pub mod asterisk;
pub mod auth;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod hex;
pub mod import;
pub mod metrics;
pub mod presence;
pub mod provision;
pub mod provision_http;
pub mod quoted_string;
pub mod rate_limit;
pub mod server;
pub mod sip;
pub mod snapshot;
pub mod store;
pub mod wall_clock;

pub use cli::VERSION;
