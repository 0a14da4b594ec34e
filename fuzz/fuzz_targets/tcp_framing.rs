#![no_main]
//! Any byte stream into one TCP connection, cut into reads whose sizes
//! come from the first byte; auth on.

use libfuzzer_sys::fuzz_target;
use opendpma::config::Transport;
use opendpma::sip::{ConnectionId, Peer};
use opendpma_fuzz::Target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let mut target = Target::new(true);
    let peer = Peer {
        transport: Transport::Tcp,
        address: "192.0.2.9:40000".parse().expect("address"),
        connection: Some(ConnectionId(1)),
    };
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        if target.server.handle_stream_bytes(target.now, 1, peer, piece).is_err() {
            break;
        }
        target.drain();
    }
});
