//! The unit every per-address limit counts by (lock-out, request rates,
//! connection caps): an IPv4 address (also when mapped into IPv6), or an
//! IPv6 /64.
//!
//! Why /64 for IPv6: a host on a /64 forms as many addresses in it as it
//! likes (SLAAC, RFC 4862; temporary addresses, RFC 8981), so counted per
//! address an attacker starts from zero with each new one and no
//! per-address limit ever binds — a single host could take every
//! connection slot or guess passwords without end. A /64 is the smallest
//! block one host can be assumed not to share with another site.

use std::net::{IpAddr, Ipv6Addr};

/// The key `ip` counts under.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_kept_and_ipv6_is_cut_to_its_64() {
        let v4 = IpAddr::from([192, 0, 2, 7]);
        assert_eq!(limit_key(v4), v4);
        assert_eq!(
            limit_key(IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207])),
            v4
        );
        assert_eq!(
            limit_key(IpAddr::from([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6])),
            IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, 0])
        );
        assert_eq!(
            limit_key(IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1])),
            IpAddr::from([0u16; 8]),
            "::1 shares ::/64 with nothing that matters"
        );
    }
}
