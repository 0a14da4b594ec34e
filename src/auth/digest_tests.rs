//! Tests of digest parsing and verification against the RFC 2617 and RFC 7616 examples.

use super::*;

/// RFC 2617 §3.5's worked example (MD5, qop=auth).
const RFC2617: &str = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

#[test]
fn rfc2617_example_verifies() {
    let credentials = parse_digest(RFC2617).unwrap();
    assert_eq!(credentials.username, "Mufasa");
    assert_eq!(credentials.nc, Some(1));
    assert!(credentials.response_matches("GET", "Circle Of Life"));
    assert!(!credentials.response_matches("GET", "circle of life"));
    assert!(!credentials.response_matches("POST", "Circle Of Life"));
}

/// RFC 7616 §3.9.1's SHA-256 example.
#[test]
fn rfc7616_sha256_example_verifies() {
    let header = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    let credentials = parse_digest(header).unwrap();
    assert_eq!(credentials.algorithm, Algorithm::Sha256);
    assert!(credentials.response_matches("GET", "Circle of Life"));
}

#[test]
fn nonce_count_is_hex_and_bounded() {
    let tenth = RFC2617.replace("nc=00000001", "nc=0000000a");
    assert_eq!(parse_digest(&tenth).unwrap().nc, Some(10));
    let short = RFC2617.replace("nc=00000001", "nc=1");
    assert_eq!(parse_digest(&short), Err(ParseError::NonceCount));
    let bad = RFC2617.replace("nc=00000001", "nc=0000000g");
    assert_eq!(parse_digest(&bad), Err(ParseError::NonceCount));
}

#[test]
fn malformed_headers_are_refused_not_misread() {
    for header in [
        "",
        "Basic dXNlcjpwYXNz",
        "Digest",
        r#"Digest username="a"#,
        r#"Digest username="a" realm="b""#,
        "Digest =x",
        r#"Digest username="a", realm="r", nonce="n", uri="/", response="x", algorithm=SHA-512"#,
    ] {
        assert!(parse_digest(header).is_err(), "{header:?}");
    }
    let missing = r#"Digest username="a", realm="r", nonce="n", uri="/""#;
    assert_eq!(parse_digest(missing), Err(ParseError::Missing("response")));
}

#[test]
fn quoted_values_keep_commas_and_escapes() {
    let header = r#"Digest username="a\"b, c", realm="r", nonce="n", uri="sip:x@y;a=b,c", response="00""#;
    let credentials = parse_digest(header).unwrap();
    assert_eq!(credentials.username, "a\"b, c");
    assert_eq!(credentials.uri, "sip:x@y;a=b,c");
}

fn signed(verifier: &mut DigestVerifier, now: u64, nc: u32, password: &str) -> DigestCredentials {
    let mut credentials = DigestCredentials {
        username: "2000".into(),
        realm: "opendpma".into(),
        nonce: verifier.nonce(now, "opendpma"),
        uri: "sip:2001@pbx".into(),
        response: String::new(),
        algorithm: Algorithm::Sha256,
        qop: Some("auth".into()),
        cnonce: Some("c".into()),
        nc: Some(nc),
    };
    credentials.response = credentials.expected_response("SUBSCRIBE", password);
    credentials
}

#[test]
fn used_nonces_are_still_forgotten_after_their_lifetime() {
    let mut verifier = DigestVerifier::new(NonceSecret::new([1; 32]));
    for _ in 0..50 {
        let credentials = signed(&mut verifier, 100, 1, "pw");
        assert_eq!(
            verifier.verify(100, "opendpma", "SUBSCRIBE", &credentials, "pw"),
            Ok(())
        );
    }
    assert_eq!(verifier.counts.len(), 50, "pruned at most once a second");
    let later = 100 + NONCE_LIFETIME_SECONDS + 1;
    let fresh = signed(&mut verifier, later, 1, "pw");
    assert_eq!(
        verifier.verify(later, "opendpma", "SUBSCRIBE", &fresh, "pw"),
        Ok(())
    );
    assert_eq!(verifier.counts.len(), 1, "the expired ones are gone");
}

#[test]
fn verifier_accepts_increasing_counts_and_rejects_replays() {
    let mut verifier = DigestVerifier::new(NonceSecret::new([1; 32]));
    let first = signed(&mut verifier, 100, 1, "pw");
    assert_eq!(
        verifier.verify(100, "opendpma", "SUBSCRIBE", &first, "pw"),
        Ok(())
    );
    assert_eq!(
        verifier.verify(101, "opendpma", "SUBSCRIBE", &first, "pw"),
        Err(DigestError::Replay)
    );
    let mut second = first.clone();
    second.nc = Some(2);
    second.response = second.expected_response("SUBSCRIBE", "pw");
    assert_eq!(
        verifier.verify(102, "opendpma", "SUBSCRIBE", &second, "pw"),
        Ok(())
    );
    assert_eq!(
        verifier.verify(500, "opendpma", "SUBSCRIBE", &second, "pw"),
        Err(DigestError::StaleNonce)
    );
    let wrong = signed(&mut verifier, 100, 1, "guess");
    assert_eq!(
        verifier.verify(100, "opendpma", "SUBSCRIBE", &wrong, "pw"),
        Err(DigestError::WrongResponse)
    );
    let mut other_realm = signed(&mut verifier, 100, 1, "pw");
    other_realm.realm = "x".into();
    assert_eq!(
        verifier.verify(100, "opendpma", "SUBSCRIBE", &other_realm, "pw"),
        Err(DigestError::Realm("x".into()))
    );
}

#[test]
fn a_previous_process_nonce_with_the_right_password_is_stale_not_a_failure() {
    let mut before_restart = DigestVerifier::new(NonceSecret::new([1; 32]));
    let mut after_restart = DigestVerifier::new(NonceSecret::new([2; 32]));
    let right = signed(&mut before_restart, 100, 1, "pw");
    assert_eq!(
        after_restart.verify(101, "opendpma", "SUBSCRIBE", &right, "pw"),
        Err(DigestError::StaleNonce)
    );
    let wrong = signed(&mut before_restart, 100, 1, "guess");
    assert_eq!(
        after_restart.verify(101, "opendpma", "SUBSCRIBE", &wrong, "pw"),
        Err(DigestError::InvalidNonce),
        "a wrong password is a failure whatever the nonce"
    );
    let expired_wrong = signed(&mut after_restart, 100, 1, "guess");
    assert_eq!(
        after_restart.verify(1_000, "opendpma", "SUBSCRIBE", &expired_wrong, "pw"),
        Err(DigestError::WrongResponse)
    );
}

#[test]
fn a_nonce_without_qop_serves_one_request() {
    let mut verifier = DigestVerifier::new(NonceSecret::new([1; 32]));
    let mut credentials = signed(&mut verifier, 100, 1, "pw");
    credentials.qop = None;
    credentials.cnonce = None;
    credentials.nc = None;
    credentials.response = credentials.expected_response("GET", "pw");
    assert_eq!(
        verifier.verify(100, "opendpma", "GET", &credentials, "pw"),
        Ok(())
    );
    assert_eq!(
        verifier.verify(101, "opendpma", "GET", &credentials, "pw"),
        Err(DigestError::StaleNonce),
        "the replay gets a fresh challenge, not access"
    );
}
