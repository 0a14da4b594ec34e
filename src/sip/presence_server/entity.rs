//! The presentity URI a NOTIFY body names in `<presence entity=…>`,
//! derived from the SUBSCRIBE's Request-URI the way Asterisk does it.
//!
//! Asterisk (`res_pjsip_pubsub.c`, `allocate_subscription`) copies the
//! Request-URI into a new `sip:` URI, sets the user to the resource, and
//! prints it in Contact context (pjsip `sip_uri.c`, `pjsip_url_print`):
//! the scheme is always `sip:`, the port is kept if given, and of the
//! parameters `user`, `transport`, `ttl` and `maddr` come first in that
//! order, then every other parameter as received; `lr` and `method` are
//! not printed in that context. So a SUBSCRIBE over TCP to
//! `sip:2000@pbx:5090;transport=tcp` gets
//! `entity="sip:2000@pbx:5090;transport=tcp"` (captured from Asterisk 22
//! in `tests/fixtures/asterisk-notify/tcp-initial-digium.txt`).

use crate::sip::uri::SipUri;

/// Parameters pjsip prints first, in its order.
const LEADING: [&str; 4] = ["user", "transport", "ttl", "maddr"];
/// Parameters pjsip leaves out in Contact context.
const OMITTED: [&str; 2] = ["lr", "method"];

/// `sip:<exten>@host[:port][;params]` for a parsed Request-URI.
pub(super) fn entity_uri(request_uri: &SipUri, exten: &str) -> String {
    let host = if request_uri.host.contains(':') {
        format!("[{}]", request_uri.host)
    } else {
        request_uri.host.clone()
    };
    let mut entity = format!("sip:{exten}@{host}");
    if let Some(port) = request_uri.port {
        entity.push_str(&format!(":{port}"));
    }
    let leading = LEADING.iter().filter_map(|name| {
        request_uri
            .params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
    });
    let rest = request_uri.params.iter().filter(|(name, _)| {
        !LEADING
            .iter()
            .chain(OMITTED.iter())
            .any(|known| name.eq_ignore_ascii_case(known))
    });
    for (name, value) in leading.chain(rest) {
        entity.push(';');
        entity.push_str(name);
        if let Some(value) = value {
            entity.push('=');
            entity.push_str(value);
        }
    }
    entity
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(uri: &str, exten: &str) -> String {
        entity_uri(&SipUri::parse(uri).expect("test URIs parse"), exten)
    }

    #[test]
    fn keeps_host_port_and_transport() {
        assert_eq!(
            entity("sip:2000@127.0.0.1:5090", "2000"),
            "sip:2000@127.0.0.1:5090"
        );
        assert_eq!(
            entity("sip:2000@127.0.0.1:5090;transport=tcp", "2000"),
            "sip:2000@127.0.0.1:5090;transport=tcp"
        );
        assert_eq!(
            entity("sip:2000@pbx.example.com", "2000"),
            "sip:2000@pbx.example.com"
        );
    }

    #[test]
    fn orders_params_as_pjsip_and_drops_lr_and_method() {
        assert_eq!(
            entity(
                "sip:2000@h;foo=1;lr;maddr=10.0.0.1;transport=TCP;user=phone;method=INVITE;bar",
                "2000"
            ),
            "sip:2000@h;user=phone;transport=TCP;maddr=10.0.0.1;foo=1;bar"
        );
    }

    #[test]
    fn scheme_is_sip_and_user_is_the_resource() {
        assert_eq!(
            entity("sips:2000;x=y@[2001:db8::1]:5061", "2000"),
            "sip:2000@[2001:db8::1]:5061"
        );
    }
}
