//! One presence subscription (RFC 6665 / RFC 3856) as the notifier keeps
//! it: the dialog, where NOTIFYs go, when it ends, and the one NOTIFY that
//! may be in flight plus the one waiting behind it.
//!
//! ```text
//!   SUBSCRIBE ──► active ──(refresh)──► active
//!                   │ unsubscribe / expiry / line removed / 481 / Timer F
//!                   ▼
//!              terminating (final NOTIFY in flight) ──► gone
//! ```

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::endpoint::ClientId;
use super::peer::Peer;
use super::response::PRODUCT;
use super::uri::{NameAddr, SipUri};
use crate::config::{Extension, Transport};
use crate::presence::{HintState, PidfParts, escape_xml};

/// What the next NOTIFY says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyContent {
    /// `active;expires=…` with the line's state as the body — its state
    /// when the NOTIFY is built, not when it was queued: presence is a
    /// state, so the latest one is what a watcher should get, and a
    /// fan-out need not copy the state once per watcher.
    Active,
    /// `terminated[;reason=…]`: the last NOTIFY; with a body only for a
    /// fetch (an initial `Expires: 0`), which gets the state just once.
    Terminated {
        reason: Option<&'static str>,
        state: Option<HintState>,
    },
}

/// The dialog a subscription lives in (RFC 3261 §12), from our side (UAS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our URI (the SUBSCRIBE's To).
    pub local_uri: String,
    /// The watcher's URI (the SUBSCRIBE's From).
    pub remote_uri: String,
    /// Where in-dialog requests go (the watcher's Contact).
    pub remote_target: String,
    /// Record-Route values, in order.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: u32,
}

/// A live subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub exten: Extension,
    pub dialog: Dialog,
    /// Where NOTIFYs are sent: the SUBSCRIBE's source (NAT-safe, like
    /// Asterisk's rewrite_contact) or its connection.
    pub peer: Peer,
    pub expires_at: Instant,
    pub event_id: Option<String>,
    pub user_agent: String,
    /// Add the `digium-presence` tuple.
    pub digium: bool,
    /// Presentity URI for the PIDF `entity`.
    pub entity: String,
    /// Our Contact for this dialog.
    pub contact: String,
    /// The watcher as the PIDF tuple contact shows it, XML-escaped
    /// (`pidf_contact`): worked out once, not once per NOTIFY.
    pub pidf_contact: String,
    pub in_flight: Option<ClientId>,
    pub queued: Option<NotifyContent>,
    /// Waiting in the presence package's queue of NOTIFYs to build.
    pub scheduled: bool,
    /// The final NOTIFY is queued or in flight; the dialog is already
    /// unknown to new requests.
    pub terminating: bool,
}

impl Subscription {
    /// Seconds left, rounded down, never below 0.
    pub fn remaining(&self, now: Instant) -> u64 {
        self.expires_at.saturating_duration_since(now).as_secs()
    }

    /// Queues `content`, keeping a queued termination (nothing may follow it).
    /// Returns true when a state was dropped: replaced by a newer one, or
    /// refused because the subscription is already ending.
    ///
    /// The queue per subscription is one deep on purpose: presence is a
    /// state, not a log, so a deeper queue would only deliver states that
    /// are already stale; the latest one always wins.
    pub fn queue(&mut self, content: NotifyContent) -> bool {
        if matches!(self.queued, Some(NotifyContent::Terminated { .. })) {
            return true;
        }
        self.queued.replace(content).is_some()
    }

    /// The NOTIFY for `content` as bytes, `via` its only Via and `body`
    /// the shared parts of its PIDF body (`None`: no body), written in
    /// one pass into one buffer: a fan-out builds thousands of these, so
    /// no header is allocated on its own. The bytes are those of the
    /// generic serialiser (`message::serialize`), field for field — the
    /// test below holds the two side by side. Takes the next CSeq.
    pub fn notify_bytes(
        &mut self,
        now: Instant,
        content: &NotifyContent,
        body: Option<&PidfParts>,
        via: &str,
    ) -> Vec<u8> {
        self.dialog.local_cseq += 1;
        let dialog = &self.dialog;
        let body_len = body.map_or(0, |parts| parts.body_len(&self.pidf_contact));
        let mut out = Vec::with_capacity(512 + body_len);
        let line = |out: &mut Vec<u8>, name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        out.extend_from_slice(b"NOTIFY ");
        out.extend_from_slice(dialog.remote_target.as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        line(&mut out, "Via", via);
        for route in &dialog.route_set {
            line(&mut out, "Route", route);
        }
        out.extend_from_slice(b"Max-Forwards: 70\r\n");
        // Writing into a Vec cannot fail.
        let _ = write!(out, "From: <{}>;tag={}\r\n", dialog.local_uri, dialog.local_tag);
        let _ = write!(out, "To: <{}>;tag={}\r\n", dialog.remote_uri, dialog.remote_tag);
        line(&mut out, "Call-ID", &dialog.call_id);
        let _ = write!(out, "CSeq: {} NOTIFY\r\n", dialog.local_cseq);
        line(&mut out, "Contact", &self.contact);
        match &self.event_id {
            Some(id) => {
                let _ = write!(out, "Event: presence;id={id}\r\n");
            }
            None => out.extend_from_slice(b"Event: presence\r\n"),
        }
        let _ = match content {
            NotifyContent::Active => write!(
                out,
                "Subscription-State: active;expires={}\r\n",
                self.remaining(now)
            ),
            NotifyContent::Terminated { reason: None, .. } => {
                write!(out, "Subscription-State: terminated\r\n")
            }
            NotifyContent::Terminated {
                reason: Some(reason), ..
            } => write!(out, "Subscription-State: terminated;reason={reason}\r\n"),
        };
        out.extend_from_slice(b"Allow-Events: presence\r\n");
        line(&mut out, "User-Agent", PRODUCT);
        if body.is_some() {
            out.extend_from_slice(b"Content-Type: application/pidf+xml\r\n");
        }
        let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
        if let Some(parts) = body {
            parts.write_body(&self.pidf_contact, &mut out);
        }
        out
    }

    /// The durable form. Times become Unix seconds (`wall` = now).
    pub fn record(&self, now: Instant, wall: u64) -> SubscriptionRecord {
        SubscriptionRecord {
            exten: self.exten.to_string(),
            dialog: self.dialog.clone(),
            transport: self.peer.transport,
            address: self.peer.address.to_string(),
            expires_at_unix: wall + self.remaining(now),
            event_id: self.event_id.clone(),
            user_agent: self.user_agent.clone(),
            digium: self.digium,
            entity: self.entity.clone(),
            contact: self.contact.clone(),
        }
    }

    /// Back from a record after a restart. NOTIFY CSeqs were not stored on
    /// every NOTIFY (that would be an fsync each), so they jump ahead.
    pub fn restore(record: SubscriptionRecord, now: Instant, wall: u64) -> Option<Self> {
        if record.expires_at_unix <= wall {
            return None;
        }
        let mut dialog = record.dialog;
        dialog.local_cseq = dialog.local_cseq.saturating_add(CSEQ_JUMP_AFTER_RESTART);
        let watcher = pidf_contact(&dialog.remote_uri);
        let source = Peer {
            transport: record.transport,
            address: record.address.parse().ok()?,
            connection: None,
        };
        Some(Self {
            exten: record.exten.parse().ok()?,
            peer: reconnect_peer(&dialog, source),
            dialog,
            expires_at: now + Duration::from_secs(record.expires_at_unix - wall),
            event_id: record.event_id,
            user_agent: record.user_agent,
            digium: record.digium,
            entity: record.entity,
            contact: record.contact,
            pidf_contact: watcher,
            in_flight: None,
            queued: None,
            scheduled: false,
            terminating: false,
        })
    }
}

/// The watcher URI as Asterisk's PIDF tuple contact shows it: the From
/// URI printed the way pjsip prints From/To URIs, without port or
/// parameters (`res_pjsip_pidf_body_generator.c`), XML-escaped.
pub fn pidf_contact(uri: &str) -> String {
    let printed = match SipUri::parse(uri) {
        Ok(parsed) => {
            let scheme = if parsed.secure { "sips" } else { "sip" };
            let host = if parsed.host.contains(':') {
                format!("[{}]", parsed.host)
            } else {
                parsed.host
            };
            match parsed.user {
                Some(user) => format!("{scheme}:{user}@{host}"),
                None => format!("{scheme}:{host}"),
            }
        }
        Err(_) => uri.to_owned(),
    };
    escape_xml(&printed)
}

/// Where NOTIFYs go once `peer`'s connection is gone (a restart, or the
/// watcher closed it): a stream's source port was the watcher's ephemeral
/// one, so connect to the next hop of the dialog instead — the first
/// Record-Route entry if there is one, else the remote target (the
/// watcher's Contact), as RFC 3261 §12.2.1.1 and §8.1.2 route in-dialog
/// requests, so a TCP subscription survives our restart or a dropped
/// connection instead of dialling a port nobody listens on. For UDP
/// the source address stays: it is the NAT-safe choice there.
pub fn reconnect_peer(dialog: &Dialog, peer: Peer) -> Peer {
    let hop = dialog.route_set.first().unwrap_or(&dialog.remote_target);
    connect_peer(hop, peer)
}

/// Where to connect for `hop` (a URI or name-addr) when `peer`'s
/// connection is gone: its IP and port (default 5060, 5061 for TLS per
/// RFC 3263 §4.2) for a stream; `peer`'s own address, unconnected, for UDP
/// or a host name (the core does no DNS).
pub fn connect_peer(hop: &str, peer: Peer) -> Peer {
    let unconnected = Peer {
        connection: None,
        ..peer
    };
    if peer.transport == Transport::Udp {
        return unconnected;
    }
    let Some(uri) = NameAddr::parse(hop).ok().and_then(|hop| hop.sip_uri()) else {
        return unconnected;
    };
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return unconnected;
    };
    let default_port = if peer.transport == Transport::Tls {
        5061
    } else {
        5060
    };
    Peer {
        transport: peer.transport,
        address: SocketAddr::new(ip, uri.port.unwrap_or(default_port)),
        connection: None,
    }
}

/// How far NOTIFY CSeqs jump after a restart: more NOTIFYs than this
/// between two refreshes of one subscription would be needed to reuse a
/// number (and a refresh stores the current one).
pub const CSEQ_JUMP_AFTER_RESTART: u32 = 100_000;

/// What the store keeps per subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub exten: String,
    pub dialog: Dialog,
    pub transport: Transport,
    pub address: String,
    pub expires_at_unix: u64,
    pub event_id: Option<String>,
    pub user_agent: String,
    pub digium: bool,
    pub entity: String,
    pub contact: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog(remote_target: &str, route_set: &[&str]) -> Dialog {
        Dialog {
            call_id: "c".into(),
            local_tag: "l".into(),
            remote_tag: "r".into(),
            local_uri: "sip:2001@192.0.2.1".into(),
            remote_uri: "sip:2000@192.0.2.7".into(),
            remote_target: remote_target.into(),
            route_set: route_set.iter().map(|r| (*r).to_owned()).collect(),
            local_cseq: 1,
            remote_cseq: 1,
        }
    }

    fn peer(transport: Transport) -> Peer {
        Peer {
            transport,
            address: "192.0.2.7:40123".parse().unwrap(),
            connection: Some(super::super::peer::ConnectionId(3)),
        }
    }

    /// The NOTIFY as the generic path built it before `notify_bytes`
    /// (one `Headers` field per line, then `OutgoingRequest::to_bytes`):
    /// the reference the one-pass writer must match byte for byte.
    fn reference_notify(
        sub: &Subscription,
        now: Instant,
        content: &NotifyContent,
        body: Option<String>,
        via: &str,
    ) -> Vec<u8> {
        use super::super::headers::Headers;
        use super::super::message::Method;
        use super::super::response::OutgoingRequest;
        let mut headers = Headers::new();
        for route in &sub.dialog.route_set {
            headers.push("Route", route.as_str());
        }
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!("<{}>;tag={}", sub.dialog.local_uri, sub.dialog.local_tag),
        );
        headers.push(
            "To",
            format!("<{}>;tag={}", sub.dialog.remote_uri, sub.dialog.remote_tag),
        );
        headers.push("Call-ID", sub.dialog.call_id.as_str());
        headers.push("CSeq", format!("{} NOTIFY", sub.dialog.local_cseq));
        headers.push("Contact", sub.contact.as_str());
        headers.push(
            "Event",
            match &sub.event_id {
                Some(id) => format!("presence;id={id}"),
                None => "presence".to_owned(),
            },
        );
        let state = match content {
            NotifyContent::Active => format!("active;expires={}", sub.remaining(now)),
            NotifyContent::Terminated { reason: None, .. } => "terminated".to_owned(),
            NotifyContent::Terminated {
                reason: Some(reason), ..
            } => format!("terminated;reason={reason}"),
        };
        headers.push("Subscription-State", state);
        headers.push("Allow-Events", "presence");
        headers.push("User-Agent", PRODUCT);
        let body = match body {
            Some(body) => {
                headers.push("Content-Type", "application/pidf+xml");
                body.into()
            }
            None => Default::default(),
        };
        OutgoingRequest {
            method: Method::Notify,
            uri: sub.dialog.remote_target.clone(),
            headers,
            body,
        }
        .to_bytes(via)
    }

    #[test]
    fn notify_bytes_are_those_of_the_generic_serialiser() {
        use crate::presence::{ExtensionState, PresenceState, PresenceValue};
        let now = Instant::now();
        let mut with_routes = dialog("sip:2000@192.0.2.7:5062", &["<sip:192.0.2.50;lr>", "<sip:p2;lr>"]);
        with_routes.remote_uri = "sip:w&<1>@[2001:db8::7]:5070;transport=udp".into();
        let mut sub = Subscription {
            exten: "2001".parse().unwrap(),
            pidf_contact: pidf_contact(&with_routes.remote_uri),
            dialog: with_routes,
            peer: peer(Transport::Udp),
            expires_at: now + Duration::from_secs(600),
            event_id: Some("7".into()),
            user_agent: "Digium D65".into(),
            digium: true,
            entity: "sip:2001@192.0.2.1".into(),
            contact: "<sip:2001@192.0.2.1:5060;transport=udp>".into(),
            in_flight: None,
            queued: None,
            scheduled: false,
            terminating: false,
        };
        assert_eq!(
            sub.pidf_contact, "sip:w&amp;&lt;1&gt;@[2001:db8::7]",
            "pjsip's form, escaped"
        );
        let mut presence = PresenceValue::not_set();
        presence.state = PresenceState::Away;
        presence.subtype = "lunch & more".into();
        presence.message = "back <soon>".into();
        let state = HintState {
            exten: "2001".parse().unwrap(),
            extension_state: ExtensionState::InUse,
            presence,
        };
        let via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK0123456789abcdef;rport";
        let contents = [
            NotifyContent::Active,
            NotifyContent::Terminated {
                reason: Some("timeout"),
                state: None,
            },
            NotifyContent::Terminated {
                reason: None,
                state: None,
            },
        ];
        for digium in [true, false] {
            for event_id in [Some("7".to_owned()), None] {
                for (index, content) in contents.iter().enumerate() {
                    sub.digium = digium;
                    sub.event_id = event_id.clone();
                    let parts = PidfParts::new(&sub.entity, &state, digium);
                    let with_body = index != 2;
                    let written = sub.notify_bytes(now, content, with_body.then_some(&parts), via);
                    let body = with_body
                        .then(|| parts.body(&sub.dialog.remote_uri.replace(":5070;transport=udp", "")));
                    let expected = reference_notify(&sub, now, content, body, via);
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        String::from_utf8(expected).unwrap()
                    );
                }
            }
        }
        sub.dialog.route_set.clear();
        let expected = reference_notify(&sub, now, &NotifyContent::Active, None, via);
        let written = sub.notify_bytes(now, &NotifyContent::Active, None, via);
        assert_eq!(sub.dialog.local_cseq, 14, "each NOTIFY takes the next CSeq");
        // The reference was built before the CSeq moved on.
        let expected = String::from_utf8(expected)
            .unwrap()
            .replace("CSeq: 13 ", "CSeq: 14 ");
        assert_eq!(String::from_utf8(written).unwrap(), expected);
    }

    #[test]
    fn a_gone_stream_reconnects_to_the_next_hop_not_the_source_port() {
        let contact = dialog("sip:2000@192.0.2.7:5062;transport=tcp", &[]);
        let hop = reconnect_peer(&contact, peer(Transport::Tcp));
        assert_eq!(hop.address, "192.0.2.7:5062".parse().unwrap());
        assert_eq!((hop.transport, hop.connection), (Transport::Tcp, None));
        let routed = dialog(
            "sip:2000@10.0.0.7:5062",
            &["<sip:192.0.2.50;lr>", "<sip:192.0.2.51;lr>"],
        );
        assert_eq!(
            reconnect_peer(&routed, peer(Transport::Tcp)).address,
            "192.0.2.50:5060".parse().unwrap(),
            "the first Record-Route, default port"
        );
        let tls = dialog("sips:2000@[2001:db8::7]", &[]);
        assert_eq!(
            reconnect_peer(&tls, peer(Transport::Tls)).address,
            "[2001:db8::7]:5061".parse().unwrap()
        );
        let named = dialog("sip:2000@phone.example.com:5062", &[]);
        let kept = reconnect_peer(&named, peer(Transport::Tcp));
        assert_eq!(
            (kept.address, kept.connection),
            (peer(Transport::Tcp).address, None),
            "no DNS in the core: a host name keeps the old address"
        );
        let udp = Peer::udp("192.0.2.7:40123".parse().unwrap());
        assert_eq!(
            reconnect_peer(&contact, udp),
            udp,
            "UDP keeps its NAT-safe source address"
        );
    }
}
