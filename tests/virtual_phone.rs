//! A virtual D-series phone of every model against the real binary: it
//! fetches `<mac>.cfg` as a phone does (with the provisioning credentials),
//! follows every URL in it exactly as written and *without* credentials (a
//! phone need not re-send them), checks each document against the rules a
//! real phone needs (docs/DECISIONS.md §15), then SUBSCRIBEs to every contact
//! it would watch with the account credentials from its own config and a
//! Digium User-Agent, and expects an active NOTIFY with the
//! `digium-presence` tuple.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use opendpma::sip::Message;
use reqwest::StatusCode;
use support::sip_client::SipClient;
use support::xml_elements::{all, elements};
use support::{HTTP_CREDENTIALS, Server};

/// What the test knows about each model, from the sources in DECISIONS §15
/// (written out here, not taken from the library, so that a wrong table in
/// the code cannot also make the test pass).
struct ModelFacts {
    model: &'static str,
    line_keys: usize,
    /// `main` items share the line keys after the accounts; `side` items
    /// have their own 10 keys per page.
    location: &'static str,
}

const MODELS: [ModelFacts; 8] = [
    ModelFacts {
        model: "D40",
        line_keys: 2,
        location: "main",
    },
    ModelFacts {
        model: "D45",
        line_keys: 2,
        location: "main",
    },
    ModelFacts {
        model: "D50",
        line_keys: 4,
        location: "side",
    },
    ModelFacts {
        model: "D60",
        line_keys: 2,
        location: "main",
    },
    ModelFacts {
        model: "D62",
        line_keys: 2,
        location: "main",
    },
    ModelFacts {
        model: "D65",
        line_keys: 6,
        location: "main",
    },
    ModelFacts {
        model: "D70",
        line_keys: 6,
        location: "side",
    },
    ModelFacts {
        model: "D80",
        line_keys: 6,
        location: "main",
    },
];

/// (phone name, model, own lines, contacts, explicit network)
type PhonePlan = (
    &'static str,
    &'static str,
    Vec<u32>,
    Vec<u32>,
    Option<&'static str>,
);

fn plan() -> Vec<PhonePlan> {
    vec![
        // One account on a 2-key phone leaves one key; the second contact is
        // in the phonebook only, and still watched.
        ("d40", "D40", vec![3000], vec![3010, 3011], None),
        ("d45", "D45", vec![3001, 3002], vec![3010], None),
        ("d50", "D50", vec![3003], vec![3000, 3001, 3002, 3004], None),
        ("d60", "D60", vec![3004], vec![3003], Some("branch")),
        ("d62", "D62", vec![3005], vec![3000], None),
        // Two accounts: four keys per page, so two pages.
        ("d65", "D65", vec![3006, 3007], (3010..3019).collect(), None),
        // More than the documented default of 40 watched contacts.
        ("d70", "D70", vec![3008], (3010..3055).collect(), None),
        (
            "d80",
            "D80",
            vec![3009],
            (3000..3009).chain([3010, 3011]).collect(),
            None,
        ),
    ]
}

fn config_body() -> String {
    let mut body = String::from(
        "[networks.lab]\ncidr = \"127.0.0.0/8\"\nregistration_address = \"registrar.lab.example\"\n\
         registration_port = 5070\ntransport = \"tcp\"\nntp_server = \"ntp.lab.example\"\n\n\
         [networks.branch]\ncidr = \"10.0.0.0/8\"\nregistration_address = \"registrar.branch.example\"\n\n",
    );
    for line in 3000..3055 {
        let _ = writeln!(
            body,
            "[lines.{line}]\nsecret = \"vp-secret-{line}\"\nlabel = \"Line {line}\""
        );
        if line % 2 == 0 {
            let _ = writeln!(body, "mailbox = \"{line}@default\"\nvoicemail = \"*97\"");
        }
        body.push('\n');
    }
    for (index, (name, model, lines, contacts, network)) in plan().into_iter().enumerate() {
        let list = |values: &[u32]| {
            values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            body,
            "[phones.{name}]\nmac = \"0019150000{index:02x}\"\nmodel = \"{model}\"\nfull_name = \"User {name}\"\n\
             lines = [{}]\ncontacts = [{}]",
            list(&lines),
            list(&contacts)
        );
        if let Some(network) = network {
            let _ = writeln!(body, "network = \"{network}\"");
        }
        body.push('\n');
    }
    body
}

/// Each virtual phone has an address of its own (loopback has all of
/// 127/8), so per-address limits apply per phone as on a real network.
fn phone_address(index: usize) -> IpAddr {
    IpAddr::from([127, 0, 0, 10 + index as u8])
}

/// GET `url` from `phone`'s address as its cURL would; `credentials` only
/// for the config.
async fn fetch(phone: IpAddr, url: &str, model: &str, credentials: bool) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(phone)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut request = client
        .get(url)
        .header("user-agent", format!("Digium {model} 2_9_27"));
    if credentials {
        request = request.basic_auth("provision", Some("http-secret-pw"));
    }
    request.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_model_boots_watches_its_contacts_and_lights_its_keys() {
    let server = Server::start_with_env(HTTP_CREDENTIALS, &config_body(), &[("RUST_LOG", "trace")]);
    let mut tokens = Vec::new();
    let mut subscriptions = 0;
    for (index, (name, model, lines, contacts, network)) in plan().into_iter().enumerate() {
        let facts = MODELS.iter().find(|f| f.model == model).expect("model facts");
        let mac = format!("0019150000{index:02x}");
        let address = phone_address(index);

        // 1. The config, with the provisioning credentials.
        let response = fetch(address, &server.http_url(&format!("/{mac}.cfg")), model, true).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let cfg = response.text().await.unwrap();
        let config = elements(&cfg);
        assert_eq!(config[0].path, "config", "{name}");
        let settings: BTreeMap<&str, &str> = all(&config, "config/setting")
            .iter()
            .map(|s| (s.get("id"), s.get("value")))
            .collect();
        let accounts = all(&config, "config/accounts/account");
        assert_eq!(accounts.len(), lines.len(), "{name}: one account per line");
        assert!(
            accounts.len() <= facts.line_keys,
            "{name}: more accounts than line keys"
        );
        for (position, (account, line)) in accounts.iter().zip(&lines).enumerate() {
            assert_eq!(account.get("index"), position.to_string());
            assert_eq!(account.get("authname"), line.to_string());
            let mwi = if line % 2 == 0 { "1" } else { "0" };
            assert_eq!(
                account.get("needMwiSubscription"),
                mwi,
                "{name}: mailbox drives MWI"
            );
        }
        // The network: by cidr (we fetch from 127.0.0.1) unless set.
        let hosts = all(&config, "config/accounts/account/host_primary");
        let (registrar, port, transport, ntp) = match network {
            Some(_) => ("registrar.branch.example", "5060", "udp", None),
            None => ("registrar.lab.example", "5070", "tcp", Some("ntp.lab.example")),
        };
        for host in &hosts {
            assert_eq!(
                (host.get("server"), host.get("port"), host.get("transport")),
                (registrar, port, transport),
                "{name}"
            );
        }
        assert_eq!(settings.get("ntp_server").copied(), ntp, "{name}");
        // Sangoma "Contacts": no group, no subscriptions; the default max is 40.
        let group = *settings.get("blf_contact_group").expect("blf_contact_group");
        let max: usize = settings["contacts_max_subscriptions"].parse().unwrap();
        assert!(max >= contacts.len(), "{name}: {max} < {}", contacts.len());

        // 2. Every URL exactly as written, without credentials.
        let contacts_url = all(&config, "config/contacts")[0].get("url").to_owned();
        let blf_url = all(&config, "config/smart_blf/blf_items")[0]
            .get("url")
            .to_owned();
        let mut documents = Vec::new();
        for url in [&contacts_url, &blf_url] {
            let response = fetch(address, url, model, false).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}: {url}");
            assert_eq!(response.headers()["content-type"], "application/xml");
            documents.push(response.text().await.unwrap());
        }
        let token = contacts_url
            .split("/p/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        assert_eq!(token.len(), 32, "{name}: a 128-bit token");
        tokens.push(token.to_owned());

        // 3. The phonebook: one group, the one blf_contact_group names, each
        //    contact its own account.
        let phonebook = elements(&documents[0]);
        let groups = all(&phonebook, "phonebooks/contacts");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].get("group_name"), group, "{name}");
        let entries = all(&phonebook, "phonebooks/contacts/contact");
        assert_eq!(
            entries.len(),
            contacts.len(),
            "{name}: every contact is in the phonebook"
        );
        let owners: BTreeMap<u32, &str> = plan().iter().map(|p| (p.2[0], p.0)).collect();
        let mut ids = HashSet::new();
        for (entry, contact) in entries.iter().zip(&contacts) {
            // full_name of the phone whose primary line it is, else the label.
            let shown = match owners.get(contact) {
                Some(owner) => ("User".to_owned(), (*owner).to_owned()),
                None => (format!("Line {contact}"), String::new()),
            };
            assert_eq!(
                (
                    entry.get("first_name").to_owned(),
                    entry.get("last_name").to_owned()
                ),
                shown
            );
            let voicemail = entry.attributes.get("has_voicemail").map(String::as_str);
            assert_eq!(
                voicemail,
                (contact % 2 == 0).then_some("1"),
                "{name}: mailbox marks the contact"
            );
            assert_eq!(entry.get("id"), contact.to_string());
            assert_eq!(
                entry.get("account_id"),
                contact.to_string(),
                "{name}: the contact's own account"
            );
            assert_eq!(
                entry.get("subscribe_to"),
                format!("sip:{contact}@127.0.0.1:{}", server.sip.port())
            );
            ids.insert(entry.get("id").to_owned());
        }

        // 4. The Smart BLF sheet: the published shape, items after the
        //    accounts, pages from 1, no key used twice, known contacts.
        let sheet = elements(&documents[1]);
        assert_eq!(
            sheet.iter().take(3).map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["config", "config/smart_blf", "config/smart_blf/blf_items"],
            "{name}"
        );
        let items = all(&sheet, "config/smart_blf/blf_items/blf_item");
        let mut keys = HashSet::new();
        let mut previous = None;
        for (n, item) in items.iter().enumerate() {
            assert!(ids.contains(item.get("contact_id")), "{name}: unknown contact_id");
            assert_eq!(
                item.get("contact_id"),
                contacts[n].to_string(),
                "{name}: keys follow the contacts' order"
            );
            assert_eq!(item.get("location"), facts.location, "{name}");
            let index: usize = item.get("index").parse().unwrap();
            let page: usize = item.get("paging").parse().unwrap();
            assert!(page >= 1, "{name}: pages count from 1");
            if facts.location == "main" && model != "D80" {
                assert!(
                    (lines.len()..facts.line_keys).contains(&index),
                    "{name}: main item at {index} is under an account or off the keys"
                );
            } else if facts.location == "main" {
                // The D80's list: accounts still take precedence (SBLF).
                assert!(
                    index >= lines.len(),
                    "{name}: item at {index} is under an account"
                );
            } else if facts.location == "side" {
                assert!(index < 10, "{name}");
            }
            assert!(
                keys.insert((index, page)),
                "{name}: key {index} page {page} used twice"
            );
            // Contacts fill a page before the next (SBLF: a repeated index
            // goes to the next page), in phonebook order.
            assert!(
                previous < Some((page, index)),
                "{name}: item ({page}, {index}) out of order after {previous:?}"
            );
            previous = Some((page, index));
        }
        let expected_items = match model {
            "D40" => 1,
            "D45" => 0,
            _ => contacts.len(),
        };
        assert_eq!(items.len(), expected_items, "{name}");

        // 5. A stranger learns nothing: a changed token, another phone's
        //    token or the config under a token path all give the same 404.
        let forged = blf_url.replace(token, &"0".repeat(32));
        assert_eq!(
            fetch(address, &forged, model, false).await.status(),
            StatusCode::NOT_FOUND
        );
        let config_by_token = blf_url.replace("-blf.xml", ".cfg");
        assert_eq!(
            fetch(address, &config_by_token, model, false).await.status(),
            StatusCode::NOT_FOUND
        );
        if let Some(other) = tokens.first().filter(|_| tokens.len() > 1) {
            let swapped = blf_url.replace(token, other);
            assert_eq!(
                fetch(address, &swapped, model, false).await.status(),
                StatusCode::NOT_FOUND
            );
        }

        // 6. SUBSCRIBE to every watched contact with the primary account.
        let account = accounts[0];
        let mut phone = SipClient::new_at(
            address,
            server.sip,
            account.get("authname"),
            account.get("password"),
        );
        for (n, entry) in entries.iter().take(max).enumerate() {
            subscribe(&mut phone, entry.get("subscribe_to"), model, n as u32);
            subscriptions += 1;
        }
    }
    assert_eq!(subscriptions, 2 + 1 + 4 + 1 + 1 + 9 + 45 + 11);

    // The tokens are credentials: none reaches the log, nor a line secret.
    let log = server.log();
    assert!(log.contains("path=/p/…/"), "token paths are logged redacted");
    for token in &tokens {
        assert!(
            !log.contains(token.as_str()),
            "a document token leaked into the log"
        );
    }
    assert!(!log.contains("vp-secret-"), "a line secret leaked into the log");
}

/// SUBSCRIBE to `uri` as a Digium phone: 401, then with digest → 200 and an
/// active NOTIFY carrying the digium-presence tuple.
fn subscribe(phone: &mut SipClient, uri: &str, model: &str, n: u32) {
    let target: SocketAddr = uri
        .rsplit('@')
        .next()
        .and_then(|host| host.parse().ok())
        .unwrap_or_else(|| panic!("{uri} names no address"));
    assert_eq!(target, phone.server, "subscribe_to reaches this server");
    let (local, user) = (phone.local(), phone.user.clone());
    let request = |cseq: u32, authorization: Option<&str>| {
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKvp{n}x{cseq};rport\r\n\
             From: <sip:{user}@127.0.0.1>;tag=vp{n}\r\nTo: <{uri}>\r\nCall-ID: vp-{n}-{user}@virtual\r\n\
             CSeq: {cseq} SUBSCRIBE\r\nContact: <sip:{user}@{local}>\r\nUser-Agent: Digium {model} 2_9_27\r\n\
             Event: presence\r\nAccept: application/pidf+xml\r\nExpires: 600\r\n{authorization}Content-Length: 0\r\n\r\n"
        )
    };
    phone.send(&request(1, None));
    let challenge = phone.response(Duration::from_secs(5));
    assert_eq!(challenge.code, 401, "{uri}");
    let authorization = phone.authorization(&challenge, "SUBSCRIBE", uri);
    phone.send(&request(2, Some(&authorization)));
    // The 200 and the first NOTIFY, in whatever order they arrive.
    let (mut accepted, mut notified) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(accepted && notified) && Instant::now() < deadline {
        match phone.receive(Duration::from_millis(200)) {
            Some(Message::Response(response)) => {
                assert_eq!(response.code, 200, "{uri}");
                accepted = true;
            }
            Some(Message::Request(notify)) => {
                assert_eq!(notify.method.as_str(), "NOTIFY");
                phone.answer(&notify, 200);
                let state = notify.headers.get("Subscription-State").unwrap_or("");
                assert!(state.starts_with("active"), "{uri}: {state}");
                let body = String::from_utf8_lossy(&notify.body);
                assert!(
                    body.contains("<tuple id=\"digium-presence\">") && body.contains("<digium_presence"),
                    "{uri}: {body}"
                );
                notified = true;
            }
            None => {}
        }
    }
    assert!(accepted && notified, "{uri}: 200 {accepted}, NOTIFY {notified}");
}
