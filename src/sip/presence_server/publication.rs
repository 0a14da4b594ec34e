//! PUBLISH (RFC 3903): entity tags issued, refreshed, modified and
//! removed; the body read into a presence update handed to the driver.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::output::{Expiry, Output};
use super::publish_state::{PendingPublish, Publication};
use super::server::PresenceServer;
use crate::presence::{PidfError, PresenceUpdate, read_pidf};
use crate::sip::endpoint::RequestId;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::response::{ACCEPT, ALLOW_EVENTS, ResponseBuilder};
use crate::sip::uri::SipUri;

impl PresenceServer {
    pub(super) fn publish(
        &mut self,
        now: Instant,
        id: RequestId,
        request: Box<Request>,
        peer: Peer,
        user: Option<String>,
    ) {
        let refuse = |server: &mut Self, id: RequestId, response: ResponseBuilder| {
            server.endpoint.respond(now, id, response)
        };
        let tag = self.endpoint.random().token();
        let base = |code| ResponseBuilder::new(&request, code, peer.address, &tag);
        let Ok(uri) = SipUri::parse(&request.uri) else {
            return refuse(self, id, base(416));
        };
        let exten = uri.user_name().unwrap_or_default();
        let Some(line) = self.config.lines.iter().find(|line| line.exten == exten).cloned() else {
            return refuse(self, id, base(404));
        };
        if request.event().is_none_or(|event| event.package != "presence") {
            return refuse(self, id, base(489).header("Allow-Events", ALLOW_EVENTS));
        }
        if let Some(user) = &user
            && !line.publishers.contains(user)
        {
            return refuse(self, id, base(403).reason("Not Your Line"));
        }
        let requested = Self::requested_expires(&request);
        if requested > 0 && requested < self.config.min_expires {
            return refuse(
                self,
                id,
                base(423).header("Min-Expires", self.config.min_expires.to_string()),
            );
        }
        let expires = requested.min(self.config.max_expires);
        let if_match = request.sip_if_match().map(str::to_owned);
        if let Some(etag) = &if_match {
            let known = self
                .publications
                .get(etag)
                .is_some_and(|p| p.line == line.name && p.expires_at > now);
            if !known {
                return refuse(self, id, base(412));
            }
        }
        let has_body = !request.body.is_empty();
        match (&if_match, has_body, expires) {
            (None, false, _) => {
                return refuse(self, id, base(400).reason("PUBLISH Without Body Or SIP-If-Match"));
            }
            (None, true, 0) => return refuse(self, id, base(400).reason("Initial PUBLISH With Expires 0")),
            // Remove: the etag goes, the line's presence stays.
            (Some(etag), _, 0) => {
                self.publications.remove(etag);
                let response = self.issue_etag(now, &request, peer, &tag, &line.name, 0);
                return self.endpoint.respond(now, id, response);
            }
            // Refresh: a new etag, a new expiry, nothing else.
            (Some(etag), false, _) => {
                self.publications.remove(etag);
                let response = self.issue_etag(now, &request, peer, &tag, &line.name, expires);
                return self.endpoint.respond(now, id, response);
            }
            _ => {}
        }
        if request.content_type().as_deref() != Some(ACCEPT) {
            return refuse(self, id, base(415).header("Accept", ACCEPT));
        }
        let body = String::from_utf8_lossy(&request.body);
        let published = match read_pidf(&body) {
            Ok(published) => published,
            // Well-formed, but no state we can read (baresip publishes
            // `<basic>unknown</basic>` before its user picks one): accept
            // the publication and leave the line's presence as it is.
            Err(PidfError::NoState) => {
                if let Some(etag) = &if_match {
                    self.publications.remove(etag);
                }
                let response = self.issue_etag(now, &request, peer, &tag, &line.name, expires);
                return self.endpoint.respond(now, id, response);
            }
            Err(error) => return refuse(self, id, base(400).reason(&error.to_string())),
        };
        let update = match PresenceUpdate::new(&published.state, &published.subtype, &published.message) {
            Ok(update) => update,
            Err(error) => {
                let host = self.endpoint.config().host.clone();
                let text = error.to_string().replace(['"', '\\'], "'");
                return refuse(
                    self,
                    id,
                    base(488).header("Warning", format!("399 {host} \"{text}\"")),
                );
            }
        };
        if let Some(etag) = &if_match {
            self.publications.remove(etag);
        }
        self.next_token += 1;
        let token = self.next_token;
        self.outputs.push_back(Output::Publish {
            token,
            provider: format!("CustomPresence:{}", line.name),
            update,
        });
        self.pending_publishes.insert(
            token,
            PendingPublish {
                id,
                request,
                peer,
                line: line.name,
                expires,
            },
        );
    }

    /// 200 with a fresh entity tag (RFC 3903 §6 step 6: new on every success).
    pub(super) fn issue_etag(
        &mut self,
        now: Instant,
        request: &Request,
        peer: Peer,
        to_tag: &str,
        line: &str,
        expires: u32,
    ) -> ResponseBuilder {
        let etag = self.endpoint.random().token();
        if expires > 0 {
            let expires_at = now + Duration::from_secs(u64::from(expires));
            self.publications.insert(
                etag.clone(),
                Publication {
                    line: line.to_owned(),
                    expires_at,
                },
            );
            self.expiries
                .push(Reverse((expires_at, Expiry::Publication(etag.clone()))));
        }
        ResponseBuilder::new(request, 200, peer.address, to_tag)
            .header("SIP-ETag", etag)
            .header("Expires", expires.to_string())
    }
}
