//! `Inbound`: what the SIP sockets hand to the driver task — datagrams,
//! stream bytes, and connections opening and closing. A leaf, so the UDP
//! and accept loops (`sip_transport`) and each connection (`sip_stream`)
//! send on one channel without importing each other in a loop.

use tokio::sync::mpsc;

use crate::sip::{ConnectionId, Peer};

/// What the sockets hand to the driver.
#[derive(Debug)]
pub enum Inbound {
    Datagram {
        peer: Peer,
        bytes: Vec<u8>,
        /// When it was read from the socket (for shedding stale requests).
        received: std::time::Instant,
    },
    Stream {
        peer: Peer,
        bytes: Vec<u8>,
    },
    Opened {
        connection: ConnectionId,
        writer: mpsc::Sender<Vec<u8>>,
    },
    Closed {
        connection: ConnectionId,
    },
}
