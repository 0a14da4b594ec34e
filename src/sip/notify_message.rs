//! A subscription's NOTIFY as bytes (`Subscription::notify_bytes`),
//! written in one pass into one buffer: a fan-out builds thousands of
//! them, so no header is a string of its own. The bytes are the generic
//! serialiser's (`message::serialize` of an `OutgoingRequest`), field for
//! field; the test below holds the two side by side, and the golden and
//! Asterisk-equivalence tests check the result on the wire.

use std::time::Instant;

use super::message::push_decimal;
use super::response::PRODUCT;
use super::subscription::{NotifyContent, Subscription};
use crate::presence::PidfParts;

impl Subscription {
    /// The NOTIFY for `content` as bytes, `via` its only Via and `body`
    /// the shared parts of its PIDF body (`None`: no body). Takes the
    /// next CSeq.
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
        let tagged = |out: &mut Vec<u8>, name: &[u8], uri: &str, tag: &str| {
            out.extend_from_slice(name);
            out.extend_from_slice(b": <");
            out.extend_from_slice(uri.as_bytes());
            out.extend_from_slice(b">;tag=");
            out.extend_from_slice(tag.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        tagged(&mut out, b"From", &dialog.local_uri, &dialog.local_tag);
        tagged(&mut out, b"To", &dialog.remote_uri, &dialog.remote_tag);
        line(&mut out, "Call-ID", &dialog.call_id);
        out.extend_from_slice(b"CSeq: ");
        push_decimal(&mut out, dialog.local_cseq);
        out.extend_from_slice(b" NOTIFY\r\n");
        line(&mut out, "Contact", &self.contact);
        out.extend_from_slice(b"Event: presence");
        if let Some(id) = &self.event_id {
            out.extend_from_slice(b";id=");
            out.extend_from_slice(id.as_bytes());
        }
        out.extend_from_slice(b"\r\nSubscription-State: ");
        match content {
            NotifyContent::Active => {
                out.extend_from_slice(b"active;expires=");
                push_decimal(&mut out, self.remaining(now));
            }
            NotifyContent::Terminated { reason, .. } => {
                out.extend_from_slice(b"terminated");
                if let Some(reason) = reason {
                    out.extend_from_slice(b";reason=");
                    out.extend_from_slice(reason.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\nAllow-Events: presence\r\n");
        line(&mut out, "User-Agent", PRODUCT);
        if body.is_some() {
            out.extend_from_slice(b"Content-Type: application/pidf+xml\r\n");
        }
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(&mut out, body_len);
        out.extend_from_slice(b"\r\n\r\n");
        if let Some(parts) = body {
            parts.write_body(&self.pidf_contact, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Transport;
    use crate::presence::HintState;
    use crate::sip::subscription::fixtures::{dialog, peer};
    use crate::sip::subscription::pidf_contact;

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
        use crate::sip::headers::Headers;
        use crate::sip::message::Method;
        use crate::sip::response::OutgoingRequest;
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
        headers.push("Contact", sub.contact.as_ref());
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
}
