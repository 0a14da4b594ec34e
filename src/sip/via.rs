//! The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 `rport`).

use std::fmt;
use std::net::SocketAddr;

use super::uri::{
    UriError, borrowed_params, is_token_char, parse_params, split_host_port, write_host_port_params,
};

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, `TLS`, … (upper-cased).
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<(String, Option<String>)>,
}

impl Via {
    /// Parses `SIP / 2.0 / UDP host:port ;branch=…` (LWS allowed around
    /// `/`, `;` and `=`, as RFC 4475's wsinv shows).
    pub fn parse(input: &str) -> Result<Self, UriError> {
        let (protocol_and_host, params) = match input.find(';') {
            Some(index) => (&input[..index], &input[index..]),
            None => (input, ""),
        };
        let mut parts = protocol_and_host.splitn(3, '/');
        let name = parts.next().unwrap_or("").trim();
        let version = parts.next().unwrap_or("").trim();
        let rest = parts
            .next()
            .ok_or(UriError("Via needs SIP/2.0/TRANSPORT"))?
            .trim_start();
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(UriError("Via protocol must be SIP/2.0"));
        }
        let split = rest
            .find(char::is_whitespace)
            .ok_or(UriError("Via has no sent-by"))?;
        let (transport, sent_by) = (&rest[..split], rest[split..].trim());
        if transport.is_empty() || !transport.chars().all(is_token_char) {
            return Err(UriError("invalid Via transport"));
        }
        let (host, port) = split_host_port(sent_by)?;
        Ok(Self {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params: parse_params(params)?,
        })
    }

    fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The transaction branch, if any.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Whether the client asked for `rport` (RFC 3581).
    pub fn wants_rport(&self) -> bool {
        self.param("rport").is_some()
    }

    /// Sets a parameter, replacing an existing one.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self.params.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(existing) => existing.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }
}

impl Via {
    /// This Via as a response carries it back (RFC 3261 §18.2.1, RFC 3581
    /// §4): `rport` filled in with the source port if the client asked
    /// for it, and `received` set to the source address when it asked for
    /// `rport` or sent another host. Written straight from the parsed
    /// value: no copy of it is made.
    pub fn stamped_for(&self, source: SocketAddr) -> String {
        let ip = source.ip().to_string();
        let mut port = itoa::Buffer::new();
        let port = port.format(source.port());
        let mut rport_due = self.wants_rport();
        let mut received_due = rport_due || self.host != ip;
        let mut params = Vec::with_capacity(self.params.len() + 2);
        for (name, value) in borrowed_params(&self.params) {
            let value = if rport_due && name.eq_ignore_ascii_case("rport") {
                rport_due = false;
                Some(port)
            } else if received_due && name.eq_ignore_ascii_case("received") {
                received_due = false;
                Some(ip.as_str())
            } else {
                value
            };
            params.push((name, value));
        }
        if rport_due {
            params.push(("rport", Some(port)));
        }
        if received_due {
            params.push(("received", Some(ip.as_str())));
        }
        let mut out = String::with_capacity(64 + self.host.len() + ip.len());
        out.push_str("SIP/2.0/");
        out.push_str(&self.transport);
        out.push(' ');
        write_host_port_params(&mut out, &self.host, self.port, params).expect("a String takes any text");
        out
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} ", self.transport)?;
        write_host_port_params(f, &self.host, self.port, borrowed_params(&self.params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spaced_out_vias() {
        let via = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch=  z9hG4bK30239").unwrap();
        assert_eq!(
            (via.transport.as_str(), via.host.as_str(), via.branch()),
            ("UDP", "192.168.255.111", Some("z9hG4bK30239"))
        );
        let via = Via::parse("SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK1;rport").unwrap();
        assert_eq!((via.host.as_str(), via.port), ("2001:db8::9", Some(5070)));
        assert!(via.wants_rport());
    }

    #[test]
    fn round_trips_with_received_and_rport_set() {
        let mut via = Via::parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport").unwrap();
        via.set_param("received", Some("2001:db8::9".into()));
        via.set_param("rport", Some("40000".into()));
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport=40000;received=2001:db8::9"
        );
    }

    #[test]
    fn refuses_malformed_vias() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/3.0/UDP host",
            "SIP/2.0/UDP",
            "SIP/2.0 host",
            "SIP/2.0/UDP host1.example.com:16777216",
            "SIP/2.0/UDP host;branch=\"unterminated",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stamping_fills_rport_and_received_in_place() {
        let source: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        for (sent, stamped) in [
            (
                "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKa",
                "SIP/2.0/UDP 10.0.0.1:5060;rport=40000;branch=z9hG4bKa;received=192.0.2.7",
            ),
            (
                "SIP / 2.0 / udp 10.0.0.1 ; received=1.2.3.4 ; branch=z9hG4bKb",
                "SIP/2.0/UDP 10.0.0.1;received=192.0.2.7;branch=z9hG4bKb",
            ),
            (
                "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKc",
                "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKc",
            ),
            (
                "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKd;rport",
                "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKd;rport=40000;received=192.0.2.7",
            ),
        ] {
            let via = Via::parse(sent).unwrap();
            assert_eq!(via.stamped_for(source), stamped, "{sent}");
            // The same as setting the parameters on a copy and writing it.
            let mut copy = via.clone();
            if via.wants_rport() {
                copy.set_param("rport", Some("40000".into()));
                copy.set_param("received", Some("192.0.2.7".into()));
            } else if via.host != "192.0.2.7" {
                copy.set_param("received", Some("192.0.2.7".into()));
            }
            assert_eq!(copy.to_string(), stamped, "{sent}");
        }
    }
}
