//! check-sync: an unsolicited `NOTIFY` with `Event: check-sync` and no
//! body tells a Digium phone to fetch its config again (what DPMA's
//! "reconfigure" sends). Phones
//! often challenge requests they receive; we know each line's secret, so
//! one 401/407 is answered with digest credentials and the NOTIFY resent.
//!
//! Those credentials are the line's secret, so a challenge is
//! answered only when it comes from the peer the NOTIFY went to (the
//! endpoint drops responses from anyone else) and names our own realm: a
//! digest answer to a stranger's realm and nonce can be cracked offline.
//! The peer itself is only ever learned from an authenticated request.

use std::time::Instant;

use super::check_sync_state::{CheckSync, CheckSyncResult};
use super::output::Output;
use super::server::PresenceServer;
use crate::auth::{DigestCredentials, parse_challenge};
use crate::config::Secret;
use crate::sip::endpoint::ClientId;
use crate::sip::headers::Headers;
use crate::sip::message::{Method, Response};
use crate::sip::peer::Peer;
use crate::sip::response::{OutgoingRequest, PRODUCT};

impl PresenceServer {
    /// Sends a check-sync to `uri` via `peer`; the outcome comes back as
    /// `Output::CheckSyncDone { token, … }`. `credentials` (authname,
    /// secret) answer a challenge from the phone.
    pub fn send_check_sync(
        &mut self,
        now: Instant,
        token: u64,
        peer: Peer,
        uri: &str,
        credentials: Option<(String, Secret)>,
    ) {
        // What was decided before goes out before: a reload ends the
        // watches of removed lines (`noresource`), then check-syncs the
        // phones (`server/sip_driver/new_snapshot.rs`), so NOTIFYs still in
        // line are built now, ahead of it. Check-syncs are rare (reloads,
        // admin requests); fan-outs stay lazy otherwise.
        self.advance_clock(now);
        self.build_all_notifies();
        let call_id = format!("{}@opendpma", self.endpoint.random().token());
        let from_tag = self.endpoint.random().token();
        let mut check = CheckSync {
            token,
            peer,
            uri: uri.to_owned(),
            credentials,
            cseq: 1,
            call_id,
            from_tag,
            retried: false,
        };
        let request = self.check_sync_request(&check, None);
        let id = self.endpoint.send_request(now, peer, request);
        check.cseq = 1;
        self.check_syncs.insert(id, check);
    }

    fn check_sync_request(
        &self,
        check: &CheckSync,
        authorization: Option<(&str, String)>,
    ) -> OutgoingRequest {
        let config = self.endpoint.config();
        let mut headers = Headers::new();
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!("<sip:opendpma@{}>;tag={}", config.host, check.from_tag),
        );
        headers.push("To", format!("<{}>", check.uri));
        headers.push("Call-ID", check.call_id.as_str());
        headers.push("CSeq", format!("{} NOTIFY", check.cseq));
        headers.push("Event", "check-sync");
        headers.push("Subscription-State", "terminated");
        headers.push("User-Agent", PRODUCT);
        if let Some((name, value)) = authorization {
            headers.push(name, value);
        }
        OutgoingRequest {
            method: Method::Notify,
            uri: check.uri.clone(),
            headers,
            body: Default::default(),
        }
    }

    /// A final response (or timeout) to a check-sync NOTIFY; `true` if
    /// `id` was one.
    pub(super) fn check_sync_finished(
        &mut self,
        now: Instant,
        id: ClientId,
        response: Option<&Response>,
    ) -> bool {
        let Some(mut check) = self.check_syncs.remove(&id) else {
            return false;
        };
        let result = match response {
            Some(response) if matches!(response.code, 401 | 407) && !check.retried => {
                if let Some(authorization) = self.answer_challenge(&check, response) {
                    check.retried = true;
                    check.cseq += 1;
                    let request = self.check_sync_request(&check, Some(authorization));
                    let id = self.endpoint.send_request(now, check.peer, request);
                    self.check_syncs.insert(id, check);
                    return true;
                }
                CheckSyncResult::Answered { code: response.code }
            }
            Some(response) => CheckSyncResult::Answered { code: response.code },
            None => CheckSyncResult::Timeout,
        };
        self.outputs.push_back(Output::CheckSyncDone {
            token: check.token,
            result,
        });
        true
    }

    fn answer_challenge(&self, check: &CheckSync, response: &Response) -> Option<(&'static str, String)> {
        let (user, secret) = check.credentials.as_ref()?;
        let (header, answer) = if response.code == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let our_realm = &self.endpoint.config().realm;
        let Some((realm, nonce, algorithm, qop)) = response
            .headers
            .lines(header)
            .filter_map(parse_challenge)
            .find(|(realm, ..)| realm == our_realm)
        else {
            tracing::info!(
                code = response.code,
                "check-sync challenge not for our realm; not answered"
            );
            return None;
        };
        let mut credentials = DigestCredentials {
            username: user.clone(),
            realm,
            nonce,
            uri: check.uri.clone(),
            response: String::new(),
            algorithm,
            qop: qop.then(|| "auth".to_owned()),
            cnonce: qop.then(|| format!("{:08x}", check.cseq)),
            nc: qop.then_some(1),
        };
        credentials.response = credentials.expected_response("NOTIFY", secret.expose());
        Some((answer, credentials.header_value()))
    }
}
