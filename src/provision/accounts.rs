//! A phone's `<account>`s: its own lines (registering to the network's
//! registrar, with its alternate as `<host_alternate>`), then its external
//! lines (their own servers). Per-line options map onto the attributes
//! Sangoma's "Phones - XML Configuration" lists (FusionPBX's and
//! Provisioner's configs write the same ones); unset options write nothing,
//! so the phone's defaults hold.

use super::templates::{AccountView, HostView};
use crate::config::{Config, LineSip, Network, Phone, Transport};

/// Re-register interval and retry delay when a line sets none: the values
/// every published config uses (Wazo retry 25; FusionPBX 300/25).
const DEFAULT_REREGISTER: i64 = 300;
const DEFAULT_RETRY: i64 = 25;

pub fn accounts<'a>(
    config: &'a Config,
    phone: &'a Phone,
    network: Option<&'a Network>,
) -> Vec<AccountView<'a>> {
    let server = network
        .and_then(|n| n.registration_address.as_deref())
        .unwrap_or(&config.general.server_address);
    let (port, transport) = network.map_or((5060, Transport::Udp), |n| (n.registration_port, n.transport));
    let alternate = network.and_then(|n| {
        n.alternate_registration_address
            .as_deref()
            .map(|address| (address, n))
    });
    let own = phone
        .lines
        .iter()
        .filter_map(|name| config.line(name))
        .map(|line| {
            let sip = &line.sip;
            let transport = sip.transport.unwrap_or(transport);
            AccountView {
                register: true,
                username: line.exten.as_str(),
                authname: &line.authname,
                password: line.secret.expose(),
                label: &line.label,
                caller_id: line.callerid.as_deref().unwrap_or(&line.label),
                voicemail: line.voicemail.as_deref().unwrap_or(""),
                mailbox: line.mailbox.is_some(),
                dial_plan: sip.digit_map.as_deref(),
                outbound_proxy: sip
                    .outbound_proxy
                    .as_ref()
                    .map(|(host, port)| (host.as_str(), *port)),
                plar_number: sip.plar_number.as_deref(),
                hosts: hosts(
                    host(server, port, transport, sip),
                    alternate.map(|(address, n)| {
                        host(
                            address,
                            n.alternate_registration_port.unwrap_or(port),
                            n.alternate_transport.unwrap_or(transport),
                            sip,
                        )
                    }),
                ),
                index: 0,
            }
        });
    let external = phone
        .external_lines
        .iter()
        .filter_map(|name| config.external_line(name))
        .map(|line| {
            let sip = LineSip {
                media_encryption: line.media_encryption,
                ..LineSip::default()
            };
            AccountView {
                register: line.register,
                username: &line.userid,
                authname: &line.authname,
                password: line.secret.expose(),
                label: &line.label,
                caller_id: line.callerid.as_deref().unwrap_or(&line.label),
                voicemail: "",
                mailbox: false,
                dial_plan: None,
                outbound_proxy: None,
                plar_number: None,
                hosts: hosts(
                    host(
                        &line.primary.address,
                        line.primary.port,
                        line.primary.transport,
                        &sip,
                    ),
                    line.secondary
                        .as_ref()
                        .map(|h| host(&h.address, h.port, h.transport, &sip)),
                ),
                index: 0,
            }
        });
    own.chain(external)
        .enumerate()
        .map(|(index, account)| AccountView { index, ..account })
        .collect()
}

fn hosts<'a>(primary: HostView<'a>, alternate: Option<HostView<'a>>) -> Vec<(&'static str, HostView<'a>)> {
    std::iter::once(("host_primary", primary))
        .chain(alternate.map(|host| ("host_alternate", host)))
        .collect()
}

fn host<'a>(server: &'a str, port: u16, transport: Transport, sip: &LineSip) -> HostView<'a> {
    HostView {
        server,
        port,
        transport: transport.as_str(),
        media_encryption: sip.media_encryption.map(|m| m.as_str()),
        reregister: sip.reregistration_timeout.map_or(DEFAULT_REREGISTER, |s| s.get()),
        retry: sip.registration_retry_interval.map_or(DEFAULT_RETRY, |s| s.get()),
        num_retries: sip.registration_max_retries,
    }
}
