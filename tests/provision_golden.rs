//! Provisioning output for one phone of each model, compared byte for byte
//! with tests/golden/ (regenerate with `UPDATE_GOLDEN=1 cargo test`), and
//! every document parsed with quick-xml so that escaping bugs cannot hide.

use std::path::Path;

use opendpma::config::{Config, PhoneModel};
use opendpma::provision::{DocumentKind, render_phone};
use quick_xml::Reader;
use quick_xml::events::Event;
use support::xml_elements::{all, elements};

mod support;

fn golden_config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden-phones.toml");
    Config::load(&path).expect("golden config is valid")
}

/// Parses `xml` fully; returns (element names, attribute values) seen.
fn parse(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = Reader::from_str(xml);
    let (mut names, mut values) = (Vec::new(), Vec::new());
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML: {e}\n{xml}"))
        {
            Event::Start(element) | Event::Empty(element) => {
                names.push(element.name().as_ref().to_owned());
                for attribute in element.attributes() {
                    let attribute = attribute.expect("well-formed attribute");
                    values.push(
                        attribute
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .expect("valid escapes")
                            .into_owned(),
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (names, values)
}

#[test]
fn every_model_matches_its_golden_files() {
    let config = golden_config();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut compared = 0;
    for model in PhoneModel::ALL {
        let phone = config
            .phones
            .iter()
            .find(|p| p.model == Some(model))
            .expect("a phone per model");
        let documents = render_phone(&config, phone).expect("renders");
        for (kind, suffix) in [
            (DocumentKind::Config, ".cfg"),
            (DocumentKind::Contacts, "-contacts.xml"),
            (DocumentKind::Blf, "-blf.xml"),
        ] {
            let path = folder.join(format!("{}{suffix}", model.as_str().to_lowercase()));
            let body = std::str::from_utf8(&documents.get(kind).body).expect("UTF-8");
            parse(body);
            if update {
                std::fs::write(&path, body).expect("write golden");
            }
            let golden =
                std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
            assert_eq!(body, golden, "{} differs from its golden file", path.display());
            compared += 1;
        }
        // A phone without `network =` has one config per network.
        for (network, document) in &documents.config_by_network {
            let path = folder.join(format!("{}-{network}.cfg", model.as_str().to_lowercase()));
            let body = std::str::from_utf8(&document.body).expect("UTF-8");
            parse(body);
            if update {
                std::fs::write(&path, body).expect("write golden");
            }
            let golden =
                std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
            assert_eq!(body, golden, "{} differs from its golden file", path.display());
            compared += 1;
        }
    }
    // 8 models × 3 documents, and the office variant of the 7 without `network =`.
    assert_eq!(compared, 24 + 7);
}

#[test]
fn user_values_survive_escaping_exactly() {
    let config = golden_config();
    let d50 = config.phone("d50").unwrap();
    let documents = render_phone(&config, d50).unwrap();
    let (names, values) = parse(std::str::from_utf8(&documents.config.body).unwrap());
    assert_eq!(
        names.iter().filter(|n| *n == "account").count(),
        2,
        "one account per line"
    );
    assert!(
        values.contains(&"s&<>\"'".to_owned()),
        "secret with metacharacters round-trips"
    );
    assert!(values.contains(&"7&9".to_owned()), "login_password round-trips");
    let (_, values) = parse(std::str::from_utf8(&documents.contacts.body).unwrap());
    // Line 100 is the D40's primary line: its full_name names the contact.
    assert!(values.contains(&"Bob".to_owned()) && values.contains(&"<The> Builder".to_owned()));
    assert!(values.contains(&"Alice's desk".to_owned()));
    assert!(values.contains(&"sip:100@pbx.example.com".to_owned()));
}

#[test]
fn accounts_follow_line_order_and_network_settings() {
    let config = golden_config();
    let d70 = config.phone("d70").unwrap();
    let body = String::from_utf8(render_phone(&config, d70).unwrap().config.body.to_vec()).unwrap();
    let first = body.find("username=\"106\"").expect("primary line");
    let second = body.find("username=\"107\"").expect("second line");
    assert!(first < second);
    assert!(body.contains("<account index=\"0\" status=\"1\" register=\"1\" account_id=\"106\""));
    assert!(body.contains("<host_primary server=\"registrar.example.com\" port=\"5061\" transport=\"tcp\""));
    assert!(body.contains("<setting id=\"ntp_server\" value=\"ntp.example.com\"/>"));
    let token = render_phone(&config, d70).unwrap().token;
    assert!(body.contains(&format!(
        "<contacts url=\"http://pbx.example.com:8088/p/{}/001915000070-contacts.xml\"",
        token.as_str()
    )));
    assert!(
        !body.contains("login_password"),
        "no admin password unless configured"
    );
}

#[test]
fn blf_items_are_laid_out_per_model() {
    let config = golden_config();
    // (location, index, paging, contact_id) of every item.
    let items = |name: &str| {
        let phone = config.phone(name).unwrap();
        let body = String::from_utf8(render_phone(&config, phone).unwrap().blf.body.to_vec()).unwrap();
        all(&elements(&body), "config/smart_blf/blf_items/blf_item")
            .iter()
            .map(|item| {
                let [location, index, paging, contact] =
                    ["location", "index", "paging", "contact_id"].map(|key| item.get(key));
                format!("{location} {index} {paging} {contact}")
            })
            .collect::<Vec<_>>()
    };
    // One line on a 2-key D40: one key left, after the account.
    assert_eq!(items("d40"), ["main 1 1 101"]);
    assert_eq!(items("d60"), Vec::<String>::new(), "no contacts");
    // The D50 watches its "Building" group (blf_contact_group), not its lines.
    assert_eq!(items("d50"), ["side 0 1 door", "side 1 1 gate"]);
    // Two lines and an external line on a D65: three accounts, so keys
    // 3..5 on page 1, then again on page 2.
    assert_eq!(
        items("d65"),
        [
            "main 3 1 100",
            "main 4 1 101",
            "main 5 1 102",
            "main 3 2 104",
            "main 4 2 106",
            "main 5 2 107"
        ]
    );
    assert_eq!(items("d80")[0], "main 1 1 100", "after the D80's one account");
    assert_eq!(items("d80").len(), 7);
}

/// `opendpma render --from IP` prints what the server serves to a phone
/// asking from that address: the network whose cidr holds it, else none.
#[test]
fn render_from_an_address_picks_the_network_by_cidr() {
    let render = |from: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_opendpma"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "render",
                "00:19:15:00:00:65",
                "--from",
                from,
                "-c",
                "tests/fixtures/golden-phones.toml",
            ])
            .output()
            .expect("run opendpma");
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let golden =
        |name: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
    assert_eq!(render("10.20.30.40"), golden("tests/golden/d65-office.cfg"));
    assert_eq!(render("192.0.2.1"), golden("tests/golden/d65.cfg"));
}
