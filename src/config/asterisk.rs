//! `[asterisk]`: the Asterisk that opendpma works beside, reached over AMI
//! (README, "Beside Asterisk"): `ami = "127.0.0.1:5038"`, `username`, `secret`
//! (or the environment variable `OPENDPMA_AMI_SECRET`, read at start).
//! Read at start; a reload does not reconnect.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::secret::Secret;

/// `[asterisk]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asterisk {
    /// Where Asterisk's manager interface listens.
    pub ami: AmiAddress,
    /// The manager.conf user.
    pub username: String,
    /// Its secret; `OPENDPMA_AMI_SECRET` overrides it at start.
    pub secret: Option<Secret>,
}

/// `host:port` of an AMI listener (a host name or an IP; IPv6 in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AmiAddress(String);

/// Why an AMI address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not host:port (e.g. \"127.0.0.1:5038\")")]
pub struct InvalidAmiAddress(String);

impl FromStr for AmiAddress {
    type Err = InvalidAmiAddress;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidAmiAddress(input.to_owned());
        let (host, port) = input.rsplit_once(':').ok_or_else(invalid)?;
        let host_ok = !host.is_empty()
            && (host.starts_with('[') && host.ends_with(']')
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)));
        match port.parse::<u16>() {
            Ok(port) if port > 0 && host_ok => Ok(Self(input.to_owned())),
            _ => Err(invalid()),
        }
    }
}

impl TryFrom<String> for AmiAddress {
    type Error = InvalidAmiAddress;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for AmiAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_host_port_and_refuses_the_rest() {
        for good in ["127.0.0.1:5038", "pbx.example.com:5038", "[::1]:5038"] {
            assert_eq!(
                good.parse::<AmiAddress>().map(|a| a.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in ["127.0.0.1", ":5038", "pbx:0", "pbx:99999", "a b:5038", "pbx:port"] {
            assert!(bad.parse::<AmiAddress>().is_err(), "{bad}");
        }
    }
}
