//! SIP core throughput: parse and answer an OPTIONS (the whole sans-IO
//! path: framing, parse, validation, transaction, response), and a full
//! digest verification (nonce check, hash, replay table) per algorithm.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opendpma::auth::{Algorithm, DigestCredentials, DigestVerifier, LockoutPolicy, NonceSecret};
use opendpma::config::{Secret, Transport};
use opendpma::sip::{Endpoint, EndpointConfig, Framing, Peer, Random, parse};

fn options(branch: u64) -> Vec<u8> {
    format!(
        "OPTIONS sip:2000@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:2001@192.0.2.1>;tag=abc\r\nTo: <sip:2000@192.0.2.1>\r\nCall-ID: bench-{branch}@192.0.2.7\r\nCSeq: 1 OPTIONS\r\nUser-Agent: Digium D65 2_9_27\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn endpoint() -> Endpoint {
    Endpoint::new(
        EndpointConfig {
            realm: "opendpma".into(),
            require_auth: true,
            credentials: HashMap::from([("2000".to_owned(), Secret::new("pw"))]),
            host: "192.0.2.1".into(),
            ports: HashMap::from([(Transport::Udp, 5060)]),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            lockout: LockoutPolicy::default(),
        },
        Random::seeded(1),
        NonceSecret::new([1; 32]),
        Instant::now(),
    )
}

fn sip(c: &mut Criterion) {
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    let message = options(1);
    group.bench_function("parse OPTIONS", |b| {
        b.iter(|| parse(black_box(&message), Framing::Datagram).unwrap())
    });
    let mut endpoint = endpoint();
    let peer = Peer::udp("192.0.2.7:5062".parse().unwrap());
    let now = Instant::now();
    let mut branch = 0u64;
    let messages: Vec<Vec<u8>> = (0..4096).map(options).collect();
    group.bench_function("parse and answer OPTIONS", |b| {
        b.iter(|| {
            branch += 1;
            endpoint.handle_datagram(now, peer, &messages[(branch % 4096) as usize]);
            black_box(endpoint.poll_transmit().unwrap());
            // Keep the transaction table from growing without bound.
            if branch.is_multiple_of(4096) {
                endpoint.handle_timeout(now + std::time::Duration::from_secs(3600));
            }
        })
    });
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let mut verifier = DigestVerifier::new(NonceSecret::new([4; 32]));
        let nonce = verifier.nonce(100, "opendpma");
        let mut nc = 0u32;
        group.bench_function(format!("digest verify {}", algorithm.as_str()), |b| {
            b.iter(|| {
                nc += 1;
                let mut credentials = DigestCredentials {
                    username: "2000".into(),
                    realm: "opendpma".into(),
                    nonce: nonce.clone(),
                    uri: "sip:2001@192.0.2.1".into(),
                    response: String::new(),
                    algorithm,
                    qop: Some("auth".into()),
                    cnonce: Some("c".into()),
                    nc: Some(nc),
                };
                // The client's side of the work is excluded below: the
                // verifier recomputes the response itself.
                credentials.response = credentials.expected_response("SUBSCRIBE", "pw");
                verifier
                    .verify(100, "opendpma", "SUBSCRIBE", black_box(&credentials), "pw")
                    .unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sip);
criterion_main!(benches);
