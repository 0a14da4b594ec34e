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

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::endpoint::ClientId;
use super::peer::Peer;
use super::uri::{NameAddr, SipUri};
use crate::config::{Extension, Transport};
use crate::presence::{HintState, escape_xml};

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
    /// Shared with the other subscriptions holding the same text (the
    /// presence server's `SharedTexts`), as are `entity` and `contact`.
    pub user_agent: Arc<str>,
    /// Add the `digium-presence` tuple.
    pub digium: bool,
    /// Presentity URI for the PIDF `entity`.
    pub entity: Arc<str>,
    /// Our Contact for this dialog.
    pub contact: Arc<str>,
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

    /// The durable form. Times become Unix seconds (`wall` = now).
    pub fn record(&self, now: Instant, wall: u64) -> SubscriptionRecord {
        SubscriptionRecord {
            exten: self.exten.to_string(),
            dialog: self.dialog.clone(),
            transport: self.peer.transport,
            address: self.peer.address.to_string(),
            expires_at_unix: wall + self.remaining(now),
            event_id: self.event_id.clone(),
            user_agent: self.user_agent.to_string(),
            digium: self.digium,
            entity: self.entity.to_string(),
            contact: self.contact.to_string(),
        }
    }

    /// The durable form as the store keeps it (JSON).
    pub fn record_bytes(&self, now: Instant, wall: u64) -> Vec<u8> {
        serde_json::to_vec(&self.record(now, wall)).expect("records serialise")
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
            user_agent: record.user_agent.into(),
            digium: record.digium,
            entity: record.entity.into(),
            contact: record.contact.into(),
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

/// A dialog and a peer for unit tests of this module and of
/// `notify_message`.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::Dialog;
    use crate::config::Transport;
    use crate::sip::peer::{ConnectionId, Peer};

    pub(crate) fn dialog(remote_target: &str, route_set: &[&str]) -> Dialog {
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

    pub(crate) fn peer(transport: Transport) -> Peer {
        Peer {
            transport,
            address: "192.0.2.7:40123".parse().unwrap(),
            connection: Some(ConnectionId(3)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{dialog, peer};
    use super::*;

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
