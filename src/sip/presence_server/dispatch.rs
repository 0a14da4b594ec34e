//! What the endpoint hands up: authenticated requests go to SUBSCRIBE or
//! PUBLISH handling, responses and timeouts to the NOTIFY or check-sync
//! they answer.

use std::time::Instant;

use super::output::{DEFAULT_EXPIRES, Output};
use super::server::PresenceServer;
use crate::sip::endpoint::Event;
use crate::sip::header_views::contact_expires;
use crate::sip::message::{Method, Request};
use crate::sip::peer::Peer;
use crate::sip::response::ResponseBuilder;
use crate::sip::uri::NameAddr;

impl PresenceServer {
    pub(super) fn process_events(&mut self, now: Instant, wall: u64) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::Request {
                    id,
                    request,
                    peer,
                    user,
                } => {
                    if let Some(user) = &user {
                        self.seen(&request, peer, user.clone());
                    }
                    match request.method {
                        Method::Subscribe => self.subscribe(now, wall, id, *request, peer),
                        Method::Publish => self.publish(now, id, request, peer, user),
                        _ => {
                            let response = self.response(&request, peer, 405);
                            self.endpoint.respond(now, id, response);
                        }
                    }
                }
                Event::Response { id, response } => {
                    if self.check_sync_finished(now, id, Some(&response)) {
                        continue;
                    }
                    let Some(tag) = self.notifies.remove(&id) else {
                        continue;
                    };
                    if (200..300).contains(&response.code) {
                        self.notify_done(now, &tag);
                    } else {
                        tracing::debug!(code = response.code, "NOTIFY refused; subscription ends");
                        self.drop_subscription(&tag);
                    }
                }
                Event::Timeout { id } => {
                    if self.check_sync_finished(now, id, None) {
                        continue;
                    }
                    if let Some(tag) = self.notifies.remove(&id) {
                        tracing::debug!("NOTIFY timed out; subscription ends");
                        self.drop_subscription(&tag);
                    }
                }
            }
        }
    }

    /// Notes where the phone that authenticated as `user` is (for check-sync).
    pub(super) fn seen(&mut self, request: &Request, peer: Peer, user: String) {
        let contact = request
            .headers
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri);
        self.outputs.push_back(Output::Seen {
            user,
            peer,
            contact,
            user_agent: request.user_agent().unwrap_or("").to_owned(),
        });
    }

    /// A response with a fresh To-tag (for refusals outside any dialog).
    pub(super) fn response(&mut self, request: &Request, peer: Peer, code: u16) -> ResponseBuilder {
        let tag = self.endpoint.random().token();
        ResponseBuilder::new(request, code, peer.address, &tag)
    }

    /// The requested interval: Expires, else the Contact's expires
    /// parameter, else the package default.
    pub(super) fn requested_expires(request: &Request) -> u32 {
        request
            .expires()
            .or_else(|| contact_expires(&request.headers))
            .unwrap_or(DEFAULT_EXPIRES)
    }
}
