//! What the SIP core takes from a config snapshot: the endpoint's realm,
//! credentials and digest algorithms, the brute-force policy, and who may
//! publish for each line.

use std::collections::HashMap;

use crate::auth::{Algorithm, LockoutPolicy};
use crate::config::{Config, DigestAlgorithm, Transport};
use crate::sip::{EndpointConfig, LineAccess, PresenceServerConfig};

pub(super) fn endpoint_config(config: &Config, ports: &HashMap<Transport, u16>) -> EndpointConfig {
    EndpointConfig {
        realm: config.general.realm.clone(),
        require_auth: config.sip.require_auth,
        credentials: config
            .lines
            .iter()
            .map(|line| (line.authname.clone(), line.secret.clone()))
            .collect(),
        host: config.general.server_address.clone(),
        ports: ports.clone(),
        algorithms: config
            .sip
            .digest_algorithms
            .iter()
            .map(|algorithm| match algorithm {
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
                DigestAlgorithm::Md5 => Algorithm::Md5,
            })
            .collect(),
        lockout: lockout_policy(&config.limits),
    }
}

/// The brute-force policy from `[limits]`, shared by SIP and HTTP.
pub fn lockout_policy(limits: &crate::config::Limits) -> LockoutPolicy {
    LockoutPolicy {
        max_failures: limits.auth_failures,
        window: limits.auth_window,
        cooldown: limits.auth_cooldown,
        shared_addresses: limits.trusted_networks.clone(),
        ..LockoutPolicy::default()
    }
}

/// Who may PUBLISH for each line: its own user and the users of the other
/// lines on any phone that carries it.
pub(super) fn server_config(config: &Config) -> PresenceServerConfig {
    let lines = config
        .lines
        .iter()
        .map(|line| {
            let mut publishers = vec![line.authname.clone()];
            for phone in config.phones_with_line(&line.name) {
                for mate in phone.lines.iter().filter_map(|name| config.line(name)) {
                    if !publishers.contains(&mate.authname) {
                        publishers.push(mate.authname.clone());
                    }
                }
            }
            LineAccess {
                name: line.name.clone(),
                exten: line.exten.to_string(),
                publishers,
            }
        })
        .collect();
    PresenceServerConfig {
        min_expires: config.sip.min_expires,
        max_expires: config.sip.max_expires,
        lines,
        max_per_line: config.limits.subscriptions_per_line,
        max_per_address: config.limits.subscriptions_per_ip,
        trusted_networks: config.limits.trusted_networks.clone(),
        max_per_trusted_address: config.limits.trusted_subscriptions_per_ip,
    }
}
