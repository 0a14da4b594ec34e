#![no_main]
//! Any datagram into the SIP server (auth off, so SUBSCRIBE/PUBLISH logic
//! is reached too), then a timer tick.

use libfuzzer_sys::fuzz_target;
use opendpma::sip::Peer;
use opendpma_fuzz::Target;

fuzz_target!(|data: &[u8]| {
    let mut target = Target::new(false);
    let peer = Peer::udp("192.0.2.9:5060".parse().expect("address"));
    target.server.handle_datagram(target.now, 1, peer, data);
    target.drain();
    let later = target.now + std::time::Duration::from_secs(40);
    target.server.handle_timeout(later, 41);
    target.drain();
});
