//! What the presence package takes from the config: expiry bounds, who
//! may publish for each line, and the subscription limits.

use crate::config::Cidr;

/// A line as PUBLISH sees it: who may publish for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAccess {
    pub name: String,
    pub exten: String,
    /// Digest users allowed to publish: the line's own authname and those
    /// of lines on the same phone.
    pub publishers: Vec<String>,
}

/// Settings from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceServerConfig {
    pub min_expires: u32,
    pub max_expires: u32,
    pub lines: Vec<LineAccess>,
    /// Live subscriptions to one extension.
    pub max_per_line: usize,
    /// Live subscriptions from one source address.
    pub max_per_address: usize,
    /// Sources standing for many phones (a proxy, a NAT'd site), allowed
    /// `max_per_trusted_address` instead.
    pub trusted_networks: Vec<Cidr>,
    pub max_per_trusted_address: usize,
}
