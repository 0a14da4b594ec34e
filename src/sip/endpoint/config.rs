//! `EndpointConfig`: what the endpoint takes from the config.

use std::collections::HashMap;

use crate::auth::{Algorithm, LockoutPolicy};
use crate::config::{Secret, Transport};

/// What the endpoint needs from the config; replaced on reload.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub realm: String,
    pub require_auth: bool,
    /// Digest user (a line's authname) → password.
    pub credentials: HashMap<String, Secret>,
    /// Host for our Via sent-by and Contact.
    pub host: String,
    /// Our port per transport.
    pub ports: HashMap<Transport, u16>,
    /// Challenges offered, in order (`[sip] digest_algorithms`).
    pub algorithms: Vec<Algorithm>,
    /// Brute-force lock-out (read at start).
    pub lockout: LockoutPolicy,
}
