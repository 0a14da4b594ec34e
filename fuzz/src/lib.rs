//! Shared set-up for the fuzz targets: a sans-IO presence server with a
//! few hints, auth on, in a fixed state (no clock, no sockets).

use std::collections::HashMap;
use std::time::Instant;

use opendpma::auth::{Algorithm, LockoutPolicy, NonceSecret};
use opendpma::config::{Secret, Transport};
use opendpma::presence::{Hint, HintState, PresenceBook};
use opendpma::sip::{
    Endpoint, EndpointConfig, HintSource, LineAccess, Output, PresenceServer, PresenceServerConfig, Random,
};

pub struct Book(pub PresenceBook);

impl HintSource for Book {
    fn hint_state(&self, exten: &str) -> Option<HintState> {
        self.0.hint_state(exten)
    }
}

/// A server and its hints, as a fuzz target drives them.
pub struct Target {
    pub server: PresenceServer,
    pub book: Book,
    pub now: Instant,
}

impl Target {
    pub fn new(require_auth: bool) -> Self {
        let now = Instant::now();
        let endpoint = Endpoint::new(
            EndpointConfig {
                realm: "opendpma".into(),
                require_auth,
                credentials: HashMap::from([("2000".to_owned(), Secret::new("pw"))]),
                host: "192.0.2.1".into(),
                ports: HashMap::from([(Transport::Udp, 5060), (Transport::Tcp, 5060)]),
                algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
                lockout: LockoutPolicy::default(),
            },
            Random::seeded(3),
            NonceSecret::new([2; 32]),
            now,
        );
        let hints = ["2000", "2001"]
            .iter()
            .map(|exten| Hint {
                exten: exten.parse().expect("valid"),
                devices: vec![format!("Custom:{exten}")],
                presence: vec![format!("CustomPresence:{exten}")],
            })
            .collect();
        let config = PresenceServerConfig {
            min_expires: 60,
            max_expires: 3600,
            max_per_line: 2000,
            max_per_address: 1000,
            trusted_networks: Vec::new(),
            max_per_trusted_address: 1000,
            lines: vec![LineAccess { name: "2000".into(), exten: "2000".into(), publishers: vec!["2000".into()] }],
        };
        Self {
            server: PresenceServer::new(endpoint, config),
            book: Book(PresenceBook::new(hints, HashMap::new(), HashMap::new())),
            now,
        }
    }

    /// Drains everything the server produced, answering presence writes.
    pub fn drain(&mut self) {
        while self.server.poll_transmit().is_some() {}
        while let Some(output) = self.server.poll_output() {
            if let Output::Publish { token, .. } = output {
                self.server.publish_committed(self.now, token, Ok(()));
            }
        }
    }
}
