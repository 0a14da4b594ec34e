//! The sans-IO SIP core as the tests, the mutation test and the fuzz
//! targets build it (the fuzz crate includes this file by path): one
//! endpoint configuration for host 192.0.2.1:5070 with line 2000's
//! password, fixed seeds so tags and nonces repeat from run to run, the
//! presence book, and lines whose only publisher is themselves.

use std::collections::HashMap;
use std::time::Instant;

use opendpma::auth::{Algorithm, LockoutPolicy, NonceSecret};
use opendpma::config::{Secret, Transport};
use opendpma::presence::{Hint, PresenceBook, PresenceUpdate};
use opendpma::sip::{Endpoint, EndpointConfig, LineAccess, PresenceServer, PresenceServerConfig, Random};

/// Line 2000's digest password.
pub const PASSWORD: &str = "pw-2000";

/// Host 192.0.2.1, port 5070 on UDP and TCP, realm `opendpma`, user 2000
/// with `PASSWORD`, SHA-256 offered before MD5, default lock-out.
pub fn endpoint_config(require_auth: bool) -> EndpointConfig {
    EndpointConfig {
        realm: "opendpma".into(),
        require_auth,
        credentials: HashMap::from([("2000".to_owned(), Secret::new(PASSWORD))]),
        host: "192.0.2.1".into(),
        ports: HashMap::from([(Transport::Udp, 5070), (Transport::Tcp, 5070)]),
        algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        lockout: LockoutPolicy::default(),
    }
}

/// An endpoint on `config` with fixed seeds.
pub fn endpoint(now: Instant, config: EndpointConfig) -> Endpoint {
    Endpoint::new(config, Random::seeded(5), NonceSecret::new([1; 32]), now)
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
pub fn book(extens: &[&str]) -> PresenceBook {
    let hints = extens.iter().map(|exten| hint(exten)).collect();
    PresenceBook::new(hints, HashMap::new(), HashMap::new())
}

/// A presence server on `endpoint` with a line per name in `lines`
/// (extension = name, published only by itself), told the state of each
/// of `book`'s hints.
pub fn presence_server_on(
    now: Instant,
    endpoint: Endpoint,
    lines: &[&str],
    book: &PresenceBook,
) -> PresenceServer {
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
    let mut server = PresenceServer::new(endpoint, config);
    server.handle_hints(now, book.hint_states());
    server
}

/// `presence_server_on` with auth off.
pub fn presence_server(now: Instant, lines: &[&str], book: &PresenceBook) -> PresenceServer {
    presence_server_on(now, endpoint(now, endpoint_config(false)), lines, book)
}

/// Sets `provider` to an Asterisk-style `value` in `book` (as a change at
/// time 1) and hands the changes to `server`, as the presence hub does.
pub fn set_presence(
    book: &mut PresenceBook,
    server: &mut PresenceServer,
    now: Instant,
    provider: &str,
    value: &str,
) {
    let update = PresenceUpdate::parse_asterisk(value).expect("valid");
    let plan = book
        .plan_presence(provider, update, 1)
        .expect("room")
        .expect("a change");
    for change in book.apply(plan) {
        server.handle_change(now, change);
    }
}
