//! The sans-IO presence server as the core tests and the mutation test
//! build it: one endpoint configuration, the presence book as its hint
//! source, and lines whose only publisher is themselves.

use std::collections::HashMap;
use std::time::Instant;

use opendpma::auth::{Algorithm, LockoutPolicy, NonceSecret};
use opendpma::config::{Secret, Transport};
use opendpma::presence::{Hint, HintState, PresenceBook};
use opendpma::sip::{
    Endpoint, EndpointConfig, HintSource, LineAccess, PresenceServer, PresenceServerConfig, Random,
};

/// The presence book, lent to the server as its source of hint states.
pub struct Book(pub PresenceBook);

impl HintSource for Book {
    fn hint_state(&self, exten: &str) -> Option<HintState> {
        self.0.hint_state(exten)
    }
}

/// A hint on `Custom:<exten>` and `CustomPresence:<exten>`.
pub fn hint(exten: &str) -> Hint {
    Hint {
        exten: exten.parse().expect("test extensions are valid"),
        devices: vec![format!("Custom:{exten}")],
        presence: vec![format!("CustomPresence:{exten}")],
    }
}

/// A book with one hint per extension and nothing set yet.
pub fn book(extens: &[&str]) -> Book {
    let hints = extens.iter().map(|exten| hint(exten)).collect();
    Book(PresenceBook::new(hints, HashMap::new(), HashMap::new()))
}

/// A server for host 192.0.2.1:5070 (UDP and TCP), auth off, with a line
/// per name in `lines` (extension = name, published only by itself).
/// Seeds are fixed so tags and nonces repeat from run to run.
pub fn presence_server(now: Instant, lines: &[&str]) -> PresenceServer {
    let endpoint = Endpoint::new(
        EndpointConfig {
            realm: "opendpma".into(),
            require_auth: false,
            credentials: HashMap::from([("2000".to_owned(), Secret::new("pw"))]),
            host: "192.0.2.1".into(),
            ports: HashMap::from([(Transport::Udp, 5070), (Transport::Tcp, 5070)]),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            lockout: LockoutPolicy::default(),
        },
        Random::seeded(5),
        NonceSecret::new([1; 32]),
        now,
    );
    let config = PresenceServerConfig {
        min_expires: 60,
        max_expires: 3600,
        max_per_line: 2000,
        max_per_address: 1000,
        trusted_networks: Vec::new(),
        max_per_trusted_address: 1000,
        lines: lines
            .iter()
            .map(|line| LineAccess {
                name: (*line).into(),
                exten: (*line).into(),
                publishers: vec![(*line).into()],
            })
            .collect(),
    };
    PresenceServer::new(endpoint, config)
}
