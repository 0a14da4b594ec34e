//! Shared set-up for the fuzz targets: the tests' sans-IO fixture (one
//! file, included by path) with a few hints, in a fixed state (no clock,
//! no sockets).

use std::time::Instant;

use opendpma::sip::{Output, PresenceServer};

#[path = "../../tests/support/sans_io.rs"]
pub mod sans_io;

/// A server as a fuzz target drives it.
pub struct Target {
    pub server: PresenceServer,
    pub now: Instant,
}

impl Target {
    pub fn new(require_auth: bool) -> Self {
        let now = Instant::now();
        let endpoint = sans_io::endpoint(now, sans_io::endpoint_config(require_auth));
        let book = sans_io::book(&["2000", "2001"]);
        Self {
            server: sans_io::presence_server_on(now, endpoint, &["2000"], &book),
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
