//! Who a message came from or goes to, and the bytes to send.

use std::fmt;
use std::net::SocketAddr;

use crate::config::Transport;

/// A TCP/TLS connection, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ConnectionId(pub u64);

/// The other end: transport, address and, for streams, the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub address: SocketAddr,
    /// `None` for UDP; for TCP/TLS the connection the message came on
    /// (responses and in-dialog requests go back over it).
    pub connection: Option<ConnectionId>,
}

impl Peer {
    pub fn udp(address: SocketAddr) -> Self {
        Self {
            transport: Transport::Udp,
            address,
            connection: None,
        }
    }

    /// Whether the transport retransmits for us (no Timer E/G, zero J/K).
    pub fn is_reliable(&self) -> bool {
        self.transport != Transport::Udp
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.address)
    }
}

/// Bytes for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub peer: Peer,
    pub bytes: Vec<u8>,
}

/// Randomness for tags, branches and ETags, injected so that tests are
/// repeatable. The driver seeds it from the OS.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    pub fn seeded(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// xorshift64*: not cryptographic (tags and branches only need to be
    /// unique, RFC 3261 §19.3); nonces are HMAC-signed elsewhere.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 16 hex digits.
    pub fn token(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}
