//! The admin HTTP API on `[admin] listen` (loopback by default):
//! health, reload, presence, devices, hints, live events and metrics.
//! Handlers translate HTTP to calls on the shared services; they hold no
//! state of their own.
//!
//! - `router`: which path goes to which handler, behind which guards, and
//!   `/healthz`.
//! - Handlers: `presence` (presence, devices, hints), `inventory` (lines,
//!   phones), `firmware_status`, `events` (SSE), `reload`, `reconfigure`,
//!   `dashboard`; they share `state`'s `AdminState` and answer refusals
//!   through `json`.
//! - Guards: `token` (Bearer), `host_check` (DNS rebinding), `protection`
//!   (CSRF, Origin, lock-out); `credentials` finds the token a request
//!   carries.
//! - The CLI's side: `client` (finding and calling the server), `commands`,
//!   `table`; `utc_time` also serves the dashboard.

pub mod client;
pub mod commands;
mod credentials;
mod dashboard;
mod events;
mod firmware_status;
mod host_check;
mod inventory;
mod json;
mod presence;
mod protection;
mod reconfigure;
mod reload;
mod router;
mod state;
mod table;
mod token;
mod utc_time;

pub use self::router::router;
pub use self::state::AdminState;
