//! Tests of `Lockout`: per-user locks, the per-address ceiling, shared addresses, bounded tables.

use super::*;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, last])
}

#[test]
fn locks_a_user_after_max_failures_within_the_window_then_releases() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    for second in 0..9 {
        assert!(!lockout.record_failure(ip(1), "2000", second));
    }
    assert_eq!(lockout.check_user(ip(1), "2000", 9), Verdict::Allowed);
    assert!(
        lockout.record_failure(ip(1), "2000", 9),
        "10th failure starts the lock-out"
    );
    assert_eq!(
        lockout.check_user(ip(1), "2000", 10),
        Verdict::LockedOut { until: 309 }
    );
    assert!(
        !lockout.record_failure(ip(1), "2000", 11),
        "no second warning while locked"
    );
    assert_eq!(
        lockout.check_user(ip(2), "2000", 10),
        Verdict::Allowed,
        "other addresses unaffected"
    );
    assert_eq!(lockout.check_user(ip(1), "2000", 309), Verdict::Allowed);
}

#[test]
fn one_bad_user_behind_a_shared_address_does_not_lock_out_the_others() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    for second in 0..10 {
        lockout.record_failure(ip(1), "2000", second);
    }
    assert!(matches!(
        lockout.check_user(ip(1), "2000", 10),
        Verdict::LockedOut { .. }
    ));
    assert_eq!(lockout.check_user(ip(1), "2001", 10), Verdict::Allowed);
    assert_eq!(lockout.check(ip(1), 10), Verdict::Allowed);
}

#[test]
fn a_success_does_not_reset_the_address_ceiling() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    // An attacker who knows 2000's secret guesses at many other users,
    // logging in as 2000 between guesses.
    let mut locked_at = None;
    for attempt in 0..200u32 {
        let user = format!("guess{attempt}");
        if lockout.check_user(ip(1), &user, 0) != Verdict::Allowed {
            locked_at = Some(attempt);
            break;
        }
        lockout.record_failure(ip(1), &user, 0);
        lockout.record_success(ip(1), "2000");
    }
    assert_eq!(locked_at, Some(100), "the ceiling is 10 × max_failures");
    assert_eq!(lockout.check(ip(1), 1), Verdict::LockedOut { until: 300 });
    assert!(matches!(
        lockout.check_user(ip(1), "2000", 1),
        Verdict::LockedOut { .. }
    ));
}

#[test]
fn a_shared_address_has_no_ceiling_but_each_user_still_locks() {
    let policy = LockoutPolicy {
        shared_addresses: vec!["10.0.0.0/24".parse().expect("cidr")],
        ..LockoutPolicy::default()
    };
    let mut lockout = Lockout::new(policy);
    // Someone behind the proxy tries 20 made-up users 10 times each.
    for attempt in 0..200u32 {
        lockout.record_failure(ip(1), &format!("guess{}", attempt % 20), 0);
    }
    assert_eq!(lockout.check(ip(1), 1), Verdict::Allowed);
    assert_eq!(
        lockout.check_user(ip(1), "2000", 1),
        Verdict::Allowed,
        "the real phones still log in"
    );
    assert!(matches!(
        lockout.check_user(ip(1), "guess3", 1),
        Verdict::LockedOut { .. }
    ));
    // Outside the shared network the ceiling holds.
    let other = IpAddr::from([192, 0, 2, 1]);
    for attempt in 0..200u32 {
        lockout.record_failure(other, &format!("guess{}", attempt % 20), 0);
    }
    assert!(matches!(lockout.check(other, 1), Verdict::LockedOut { .. }));
}

#[test]
fn a_shared_address_meets_the_ceiling_when_its_users_cannot_be_counted() {
    let policy = LockoutPolicy {
        shared_addresses: vec!["10.0.0.0/24".parse().expect("cidr")],
        max_tracked: 4,
        ..LockoutPolicy::default()
    };
    let mut lockout = Lockout::new(policy);
    // Someone fills the pair table from elsewhere first.
    for user in ["a", "b", "c", "d"] {
        lockout.record_failure(IpAddr::from([192, 0, 2, 1]), user, 0);
    }
    for attempt in 0..100u32 {
        lockout.record_failure(ip(1), &format!("guess{attempt}"), 0);
    }
    assert!(matches!(lockout.check(ip(1), 1), Verdict::LockedOut { .. }));
}

#[test]
fn ipv6_failures_count_per_64_prefix() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    // Each guess from a fresh address inside one /64.
    for attempt in 0..10u16 {
        let address = IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, attempt, 1]);
        lockout.record_failure(address, "2000", 0);
    }
    let fresh = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 7]);
    assert!(matches!(
        lockout.check_user(fresh, "2000", 1),
        Verdict::LockedOut { .. }
    ));
    let next_prefix = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
    assert_eq!(lockout.check_user(next_prefix, "2000", 1), Verdict::Allowed);
    // A success from any address of the /64 forgives the pair.
    lockout.record_success(fresh, "2000");
    assert_eq!(lockout.check_user(fresh, "2000", 1), Verdict::Allowed);
    // IPv4-mapped addresses count as the IPv4 address.
    for second in 0..10 {
        lockout.record_failure(
            IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0009]),
            "2001",
            second,
        );
    }
    assert!(matches!(
        lockout.check_user(ip(9), "2001", 10),
        Verdict::LockedOut { .. }
    ));
}

#[test]
fn success_forgives_only_its_own_user() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    for second in 0..9 {
        lockout.record_failure(ip(1), "2001", second);
        lockout.record_failure(ip(1), "2002", second);
    }
    lockout.record_success(ip(1), "2001");
    assert!(!lockout.record_failure(ip(1), "2001", 9), "2001 starts over");
    assert!(lockout.record_failure(ip(1), "2002", 9), "2002 still counts");
}

#[test]
fn failures_spread_beyond_the_window_do_not_lock() {
    let mut lockout = Lockout::new(LockoutPolicy::default());
    for attempt in 0..30 {
        assert!(!lockout.record_failure(ip(1), "2000", attempt * 7));
    }
    assert_eq!(lockout.check_user(ip(1), "2000", 300), Verdict::Allowed);
}

#[test]
fn the_tables_stay_bounded() {
    let policy = LockoutPolicy {
        max_tracked: 4,
        ..LockoutPolicy::default()
    };
    let mut lockout = Lockout::new(policy);
    for last in 0..10 {
        lockout.record_failure(ip(last), "u", 0);
    }
    assert_eq!(lockout.tracked(), 4);
    lockout.record_success(ip(0), "u");
    assert_eq!(lockout.tracked(), 3);
    lockout.record_failure(ip(100), "u", 1);
    assert_eq!(lockout.tracked(), 4);
    lockout.record_failure(ip(200), "u", 100);
    assert_eq!(lockout.tracked(), 1, "lapsed entries are pruned when full");
    let long = "x".repeat(10_000);
    lockout.record_failure(ip(201), &long, 100);
    assert!(
        lockout
            .users
            .records
            .keys()
            .all(|(_, user)| user.len() <= MAX_KEY_USER)
    );
}
