//! `SipListen`: one `[sip] listen` entry such as `udp:0.0.0.0:5060`, and
//! `Cidr`: an IP network such as `10.0.0.0/8`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A SIP transport we listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// Lower-case name as used in config and in `Via`/`transport=` (which
    /// upper-cases it itself where needed).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `transport:ip:port`, e.g. `udp:0.0.0.0:5060` or `tcp:[::]:5060`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SipListen {
    pub transport: Transport,
    pub address: SocketAddr,
}

/// Why a string is not a SIP listen address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a SIP listen address (expected udp:IP:PORT, tcp:IP:PORT or tls:IP:PORT, e.g. udp:0.0.0.0:5060)"
)]
pub struct InvalidSipListen {
    input: String,
}

impl FromStr for SipListen {
    type Err = InvalidSipListen;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidSipListen {
            input: input.to_owned(),
        };
        let (transport, address) = input.split_once(':').ok_or_else(invalid)?;
        let transport = match transport.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => return Err(invalid()),
        };
        let address = address.parse().map_err(|_| invalid())?;
        Ok(Self { transport, address })
    }
}

impl TryFrom<String> for SipListen {
    type Error = InvalidSipListen;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<SipListen> for String {
    fn from(listen: SipListen) -> Self {
        listen.to_string()
    }
}

impl fmt::Display for SipListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.address)
    }
}

/// An IP network in CIDR notation. Host bits must be zero, so that
/// `10.1.2.3/8` (almost always a typo) is reported instead of widened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr(ipnet::IpNet);

/// Why a string is not a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a network in CIDR notation (expected e.g. 10.0.0.0/8 or fd00::/8, host bits zero)")]
pub struct InvalidCidr {
    input: String,
}

impl Cidr {
    /// Whether `ip` lies inside this network (IPv4-mapped IPv6 addresses
    /// count as their IPv4 address: dual-stack sockets report them).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        self.0.contains(&ip)
    }

    /// The prefix length: of two networks holding one address, the longer
    /// prefix is the more specific (`Config::network_for`).
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }
}

impl FromStr for Cidr {
    type Err = InvalidCidr;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let net: ipnet::IpNet = input.trim().parse().map_err(|_| InvalidCidr {
            input: input.to_owned(),
        })?;
        if net.trunc() != net {
            return Err(InvalidCidr {
                input: input.to_owned(),
            });
        }
        Ok(Self(net))
    }
}

impl TryFrom<String> for Cidr {
    type Error = InvalidCidr;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> Self {
        cidr.0.to_string()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_addresses() {
        let listen: SipListen = "udp:0.0.0.0:5060".parse().unwrap();
        assert_eq!(listen.transport, Transport::Udp);
        assert_eq!(listen.address, "0.0.0.0:5060".parse().unwrap());
        let listen: SipListen = "TCP:[::1]:5070".parse().unwrap();
        assert_eq!(listen.transport, Transport::Tcp);
        assert_eq!(listen.to_string(), "tcp:[::1]:5070");
        for bad in [
            "0.0.0.0:5060",
            "sctp:0.0.0.0:5060",
            "udp:0.0.0.0",
            "udp:host:5060",
            "udp:1.2.3.4:99999",
        ] {
            assert!(bad.parse::<SipListen>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_networks_and_matches_addresses() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.1.2.3/8", "office", "fd00::1/8"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }
}
