#![no_main]
//! Any text as phones.toml.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = opendpma::config::Config::parse(&String::from_utf8_lossy(data), std::path::Path::new("/tmp/phones.toml"));
});
