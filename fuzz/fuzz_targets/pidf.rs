#![no_main]
//! Any text as a PUBLISH body.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = opendpma::presence::read_pidf(&String::from_utf8_lossy(data));
});
