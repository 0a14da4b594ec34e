//! Tests of `AuthGate`: the sequence both protocols share, with each
//! protocol's rules (one HTTP user with Basic allowed; many SIP users).

use std::collections::HashMap;

use super::*;
use crate::auth::{Algorithm, DigestCredentials};

const REALM: &str = "opendpma";

/// SIP-like accounts: any of several users, any `sip:` uri.
struct Lines(HashMap<String, Secret>);

impl Accounts for Lines {
    fn password(&self, user: &str) -> Option<&Secret> {
        self.0.get(user)
    }
    fn accepts_uri(&self, uri: &str) -> bool {
        uri.starts_with("sip:")
    }
}

/// HTTP-like account: one user, the exact request path, Basic allowed.
struct Provisioning {
    user: &'static str,
    password: Secret,
}

impl Accounts for Provisioning {
    fn password(&self, user: &str) -> Option<&Secret> {
        (user == self.user).then_some(&self.password)
    }
    fn accepts_uri(&self, uri: &str) -> bool {
        uri == "/0004f2000001.cfg"
    }
    fn accepts_basic(&self) -> bool {
        true
    }
}

fn lines() -> Lines {
    Lines(HashMap::from([
        ("2000".to_owned(), Secret::new("pw-2000")),
        ("2001".to_owned(), Secret::new("pw-2001")),
    ]))
}

fn gate(secret: u8) -> AuthGate {
    AuthGate::new(NonceSecret::new([secret; 32]), LockoutPolicy::default(), "sip")
}

fn ip() -> IpAddr {
    "192.0.2.7".parse().expect("literal address")
}

fn attempt<'a>(authorization: Option<&'a str>, expected_user: Option<&'a str>, now: u64) -> Attempt<'a> {
    Attempt {
        peer: ip(),
        method: "SUBSCRIBE",
        realm: REALM,
        authorization,
        expected_user,
        now,
    }
}

/// A client's answer to `nonce` (what a phone sends back).
fn answer(nonce: &str, user: &str, password: &str, uri: &str, method: &str) -> String {
    let mut credentials = DigestCredentials {
        username: user.into(),
        realm: REALM.into(),
        nonce: nonce.into(),
        uri: uri.into(),
        response: String::new(),
        algorithm: Algorithm::Sha256,
        qop: Some("auth".into()),
        cnonce: Some("c".into()),
        nc: Some(1),
    };
    credentials.response = credentials.expected_response(method, password);
    credentials.header_value()
}

fn nonce_of(decision: Decision) -> String {
    match decision {
        Decision::Challenge { nonce, .. } | Decision::Refused { nonce } => nonce,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[test]
fn no_credentials_get_a_challenge_then_the_right_ones_pass() {
    let mut gate = gate(1);
    let first = gate.check(&attempt(None, None, 100), &lines());
    assert!(matches!(first, Decision::Challenge { stale: false, .. }));
    let authorization = answer(
        &nonce_of(first),
        "2000",
        "pw-2000",
        "sip:2001@192.0.2.1",
        "SUBSCRIBE",
    );
    assert_eq!(
        gate.check(&attempt(Some(&authorization), None, 101), &lines()),
        Decision::Granted { user: "2000".into() }
    );
}

#[test]
fn wrong_passwords_are_refused_then_lock_that_user_out_but_not_the_others() {
    let mut gate = gate(1);
    let max = LockoutPolicy::default().max_failures;
    for attempt_number in 0..max {
        let nonce = nonce_of(gate.check(&attempt(None, None, 100), &lines()));
        let guess = answer(&nonce, "2000", "guess", "sip:2001@192.0.2.1", "SUBSCRIBE");
        let decision = gate.check(&attempt(Some(&guess), None, 100), &lines());
        assert!(
            matches!(decision, Decision::Refused { .. }),
            "guess {attempt_number}: {decision:?}"
        );
    }
    let nonce = nonce_of(gate.check(&attempt(None, None, 100), &lines()));
    let right = answer(&nonce, "2000", "pw-2000", "sip:2001@192.0.2.1", "SUBSCRIBE");
    assert!(matches!(
        gate.check(&attempt(Some(&right), None, 100), &lines()),
        Decision::LockedOut { .. }
    ));
    let other = answer(&nonce, "2001", "pw-2001", "sip:2001@192.0.2.1", "SUBSCRIBE");
    assert_eq!(
        gate.check(&attempt(Some(&other), None, 100), &lines()),
        Decision::Granted { user: "2001".into() },
        "the lock is per (address, user)"
    );
}

#[test]
fn a_right_password_with_another_process_nonce_is_stale_not_a_failure() {
    let mut before_restart = gate(1);
    let nonce = nonce_of(before_restart.check(&attempt(None, None, 100), &lines()));
    let mut gate = gate(2);
    let max = LockoutPolicy::default().max_failures;
    let old = answer(&nonce, "2000", "pw-2000", "sip:2001@192.0.2.1", "SUBSCRIBE");
    for _ in 0..=max {
        assert!(matches!(
            gate.check(&attempt(Some(&old), None, 100), &lines()),
            Decision::Challenge { stale: true, .. }
        ));
    }
    assert_eq!(gate.locked_out(ip(), Some("2000"), 100), None);
}

#[test]
fn a_replayed_right_answer_is_refused_but_never_locks_out() {
    let mut gate = gate(1);
    let nonce = nonce_of(gate.check(&attempt(None, None, 100), &lines()));
    let right = answer(&nonce, "2000", "pw-2000", "sip:2001@192.0.2.1", "SUBSCRIBE");
    assert_eq!(
        gate.check(&attempt(Some(&right), None, 100), &lines()),
        Decision::Granted { user: "2000".into() }
    );
    let max = LockoutPolicy::default().max_failures;
    for replay in 0..=max * 2 {
        let decision = gate.check(&attempt(Some(&right), None, 101), &lines());
        assert!(
            matches!(decision, Decision::Challenge { stale: true, .. }),
            "replay {replay}: {decision:?}"
        );
    }
    assert_eq!(gate.locked_out(ip(), Some("2000"), 101), None);
    assert_eq!(gate.locked_out(ip(), None, 101), None);
    let nonce = nonce_of(gate.check(&attempt(None, None, 102), &lines()));
    let next = answer(&nonce, "2000", "pw-2000", "sip:2001@192.0.2.1", "SUBSCRIBE");
    assert_eq!(
        gate.check(&attempt(Some(&next), None, 102), &lines()),
        Decision::Granted { user: "2000".into() }
    );
}

#[test]
fn a_uri_or_user_the_protocol_does_not_accept_is_a_failure() {
    let mut gate = gate(1);
    let nonce = nonce_of(gate.check(&attempt(None, None, 100), &lines()));
    let http_uri = answer(&nonce, "2000", "pw-2000", "http://192.0.2.1/", "SUBSCRIBE");
    assert!(matches!(
        gate.check(&attempt(Some(&http_uri), None, 100), &lines()),
        Decision::Refused { .. }
    ));
    let unknown = answer(&nonce, "9999", "pw-2000", "sip:2001@192.0.2.1", "SUBSCRIBE");
    assert!(matches!(
        gate.check(&attempt(Some(&unknown), None, 100), &lines()),
        Decision::Refused { .. }
    ));
    assert!(matches!(
        gate.check(&attempt(Some("Digest garbage"), None, 100), &lines()),
        Decision::Refused { .. }
    ));
}

#[test]
fn basic_is_taken_only_where_the_protocol_allows_it() {
    let provisioning = Provisioning {
        user: "admin",
        password: Secret::new("s3cret"),
    };
    let mut gate = gate(1);
    // "admin:s3cret"
    let basic = "Basic YWRtaW46czNjcmV0";
    let http = |authorization| Attempt {
        method: "GET",
        ..attempt(Some(authorization), Some("admin"), 100)
    };
    assert_eq!(
        gate.check(&http(basic), &provisioning),
        Decision::Granted { user: "admin".into() }
    );
    assert!(matches!(
        gate.check(&http(basic), &lines()),
        Decision::Refused { .. }
    ));
}

#[test]
fn a_known_user_locked_out_is_refused_before_any_credentials_are_read() {
    let provisioning = Provisioning {
        user: "admin",
        password: Secret::new("s3cret"),
    };
    let mut gate = gate(1);
    for _ in 0..LockoutPolicy::default().max_failures {
        gate.failed(ip(), "admin", 100);
    }
    let until = gate.locked_out(ip(), Some("admin"), 100).expect("locked");
    assert_eq!(
        gate.check(&attempt(None, Some("admin"), 100), &provisioning),
        Decision::LockedOut { until }
    );
    assert!(
        matches!(
            gate.check(&attempt(None, None, 100), &lines()),
            Decision::Challenge { .. }
        ),
        "another user at the address is still asked"
    );
}
