//! The tests' digest client: answers one challenge the way a phone does
//! (RFC 7616 §3.4 with qop=auth, RFC 3261 §22.4 for SIP), with the value
//! formatting the server's own check-sync client uses.

use opendpma::auth::{DigestCredentials, parse_challenge};

/// The client nonce every test answer carries.
pub const CNONCE: &str = "0a4f113b";

/// An `Authorization` value answering `challenge` (a `WWW-Authenticate`
/// value) for `method uri` as `user` with nonce count `nc`.
pub fn answer(challenge: &str, user: &str, password: &str, method: &str, uri: &str, nc: u32) -> String {
    let (realm, nonce, algorithm, _) = parse_challenge(challenge).expect("a digest challenge we can answer");
    let mut credentials = DigestCredentials {
        username: user.into(),
        realm,
        nonce,
        uri: uri.into(),
        response: String::new(),
        algorithm,
        qop: Some("auth".into()),
        cnonce: Some(CNONCE.into()),
        nc: Some(nc),
    };
    credentials.response = credentials.expected_response(method, password);
    credentials.header_value()
}
