//! The link to Asterisk's manager interface (`[asterisk]`): `link`, the
//! task that keeps the connection and carries out what
//! `asterisk::AmiSession` decides; `mirror`, the state of both sides kept
//! alike; `handle`, how other tasks ask for a check-sync through Asterisk.

mod handle;
mod link;
mod mirror;

pub use self::handle::AmiHandle;
pub use self::link::{AmiLink, spawn};
