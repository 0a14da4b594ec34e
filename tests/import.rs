//! `opendpma import-dpma`: a realistic res_digium_phone.conf (templates,
//! #include, several phones and lines, unsupported options) plus pjsip.conf
//! becomes a phones.toml that passes `check`, and every option left behind
//! is listed with its file and line.

use std::path::Path;
use std::process::Command;

use opendpma::config::{Config, PhoneModel};
use opendpma::provision::{DocumentKind, render_phone};

fn import(extra: &[&str]) -> (String, String, Option<i32>) {
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["import-dpma", "tests/fixtures/dpma/res_digium_phone.conf"])
        .args(extra)
        .output()
        .expect("run");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.code(),
    )
}

#[test]
fn a_dpma_setup_converts_to_a_valid_phones_toml() {
    let (toml, notes, code) = import(&["--pjsip", "tests/fixtures/dpma/pjsip.conf", "--model", "d70"]);
    assert_eq!(code, Some(0), "{notes}");
    let config =
        Config::parse(&toml, Path::new("/tmp/imported.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(
        config.general.server_address, "pbx.example.com",
        "from the first network"
    );
    // #include was followed.
    let office = config.network("office").expect("network from the included file");
    assert_eq!(
        office.network_vlan_id.map(|v| v.get()),
        Some(20),
        "VLAN is mapped now"
    );
    assert_eq!(office.registration_address.as_deref(), Some("pbx.example.com"));
    assert_eq!(office.transport.as_str(), "udp");
    // Secrets: from pjsip.conf (endpoint → auth, and auth by name), or inline.
    assert_eq!(config.line("2000").unwrap().secret.expose(), "pjsip-secret-2000");
    assert_eq!(config.line("2001").unwrap().secret.expose(), "pjsip-secret-2001");
    assert_eq!(
        config.line("2002").unwrap().secret.expose(),
        "recep;tion-secret",
        "\\; is a literal semicolon"
    );
    assert_eq!(config.line("2002").unwrap().authname, "reception");
    assert_eq!(config.line("2001").unwrap().label, "Alice & Co");
    // Phones: template values inherited, repeated `line =` kept in order.
    let bob = config.phone("bob-desk").unwrap();
    assert_eq!(bob.lines, ["2000", "2002"]);
    assert_eq!(bob.timezone.as_deref(), Some("America/Chicago"));
    assert_eq!(bob.network.as_deref(), Some("office"));
    assert_eq!(bob.model.map(|m| m.as_str()), Some("D70"));
    assert_eq!(bob.mac.as_str(), "0019159c1a2b");
    assert_eq!(
        bob.device.web_ui_enabled,
        Some(false),
        "web_ui_enabled = no from the template"
    );
    assert_eq!(
        config.phone("alice-desk").unwrap().lines,
        ["2001"],
        "the unknown line is left out"
    );
    assert!(config.phone("lobby").is_none(), "no MAC: not importable");
    // What was left behind is reported, each with file and line.
    for expected in [
        "res_digium_phone.conf:21: [bob-desk] send_to_vm = yes: no XML form: DPMA's Send-VM softkey comes \
         over DPMA's channel; use contact_actions = [\"voicemail\"]; not imported",
        "res_digium_phone.conf:13: [2000] context = from-internal: no XML form: a dialplan context is the \
         PBX endpoint's, not the phone's; not imported",
        "[alice-desk] line = 9999: no type=line section of that name; left out",
        "res_digium_phone.conf:56: [lobby] has no mac (DPMA PIN login); phones.toml needs one; phone not imported",
        "res_digium_phone.conf:62: [status-away] type=application: DPMA applications run over DPMA's \
         channel (docs/DECISIONS.md §16); section not imported",
        "[general] globalpin = 1234: [general] options have no phones.toml equivalent",
        "[bob-desk] model set to D70 (DPMA configs do not say); check it",
        "res_digium_phone.conf:44: [bob-desk] pin: DPMA's profile-claim PIN; opendpma finds phones by MAC; not imported",
    ] {
        assert!(notes.contains(expected), "missing note {expected:?} in:\n{notes}");
    }
    assert!(
        !toml.contains("4321") && !notes.contains("4321"),
        "the PIN is neither kept nor printed"
    );
    // And the output passes `opendpma check` itself.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("phones.toml");
    std::fs::write(&path, &toml).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn without_pjsip_missing_secrets_are_flagged_and_the_file_still_checks() {
    let (toml, notes, code) = import(&["--server-address", "10.0.0.5"]);
    assert_eq!(code, Some(0));
    assert!(
        notes.contains("[2000] has no secret here or in pjsip.conf; set one"),
        "{notes}"
    );
    let config = Config::parse(&toml, Path::new("/tmp/imported.toml")).unwrap();
    assert_eq!(config.general.server_address, "10.0.0.5");
    assert_eq!(config.line("2000").unwrap().secret.expose(), "");
}

#[test]
fn unreadable_input_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .args(["import-dpma", "/nonexistent/res_digium_phone.conf"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/res_digium_phone.conf")
    );
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("bad.conf");
    std::fs::write(&path, "[a](nosuchtemplate)\ntype=line\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("import-dpma")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("bad.conf:1: section [a] uses unknown template (nosuchtemplate)")
    );
}

/// A DPMA phone listing several networks gets the one whose cidr holds its
/// address; opendpma does that when `network` is left out, so the import
/// leaves it out and says why.
#[test]
fn several_networks_on_a_phone_leave_the_choice_to_the_cidr() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("res_digium_phone.conf");
    std::fs::write(
        &path,
        "[a]\ntype=network\ncidr=10.0.0.0/8\nregistration_address=pbx-a\n\
         [b]\ntype=network\ncidr=192.168.0.0/16\nregistration_address=pbx-b\n\
         [2000]\ntype=line\nsecret=s\n\
         [desk]\ntype=phone\nmac=001915000001\nline=2000\nnetwork=a\nnetwork=b\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("import-dpma")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let toml = String::from_utf8(output.stdout).unwrap();
    let notes = String::from_utf8(output.stderr).unwrap();
    let config =
        Config::parse(&toml, Path::new("/tmp/imported.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let desk = config.phone("desk").unwrap();
    assert_eq!(desk.network, None, "{toml}");
    let peer = |ip: &str| config.network_for(desk, ip.parse().unwrap());
    assert_eq!((peer("10.1.2.3"), peer("192.168.1.9")), (Some("a"), Some("b")));
    assert!(
        notes.contains("[desk] network = a, b: several networks"),
        "{notes}"
    );
}

/// A FreePBX-style setup (one include per part, every DPMA section type):
/// everything with an XML form lands in phones.toml, and each note is an
/// option that has none (or a file to copy), with its file and line.
#[test]
fn a_freepbx_setup_with_every_section_type_maps_all_that_has_an_xml_form() {
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "import-dpma",
            "tests/fixtures/dpma/freepbx/res_digium_phone.conf",
            "--pjsip",
            "tests/fixtures/dpma/pjsip.conf",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let toml = String::from_utf8(output.stdout).unwrap();
    let notes = String::from_utf8(output.stderr).unwrap();
    let config =
        Config::parse(&toml, Path::new("/tmp/imported.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let hq = config.network("hq").unwrap();
    assert_eq!(hq.alternate_registration_address.as_deref(), Some("192.168.10.3"));
    assert_eq!(
        (hq.sip_dscp.map(|v| v.get()), hq.pc_vlan_id.map(|v| v.get())),
        (Some(24), Some(200))
    );
    assert_eq!(hq.syslog_server.as_deref(), Some("192.168.10.9"));
    let line = config.line("201").unwrap();
    assert_eq!(line.sip.digit_map.as_deref(), Some("[0-8]xx|9xxxxxxx.T3"));
    assert_eq!(line.sip.plar_number.as_deref(), Some("100"));
    assert_eq!(line.sip.outbound_proxy, Some(("192.168.10.4".to_owned(), 5060)));
    let anna = config.phone("anna").unwrap();
    assert_eq!(anna.external_lines, ["trunk-1"]);
    assert_eq!(anna.model, None, "no --model: the phone's User-Agent decides");
    assert_eq!(anna.firmware, None, "the entry of the model it turns out to be");
    assert_eq!(anna.device.codecs.len(), 3);
    assert_eq!(anna.device.lock_preferences, Some(true));
    let trunk = config.external_line("trunk-1").unwrap();
    assert_eq!(
        trunk.secondary.as_ref().map(|h| h.address.as_str()),
        Some("sip2.provider.example")
    );
    assert_eq!(config.firmware.len(), 2);
    assert_eq!(anna.alerts, ["alert-ring-answer"]);
    assert_eq!(anna.active_ringtone.as_ref().map(|t| t.as_str()), Some("Digium"));
    // Ringtones, paging groups and the wallpaper have their XML form now.
    let bells = config.ringtone("bells").expect("[ringtones.bells]");
    assert_eq!(
        (bells.alias.as_str(), bells.file.as_str()),
        ("Bells", "user_ringtone_1.raw")
    );
    assert_eq!(anna.ringtones, ["bells"]);
    let page = config.paging_group("all-phones").expect("[paging.all-phones]");
    assert_eq!(
        (
            page.address.to_string(),
            page.port,
            page.priority.get(),
            page.interrupt
        ),
        ("239.1.1.1".to_owned(), 5000, 1, true)
    );
    assert_eq!(anna.paging, ["all-phones"]);
    assert_eq!(
        anna.wallpaper_file.as_ref().map(|w| w.file.as_str()),
        Some("anna-wallpaper.png")
    );
    let alert = config.alert("alert-ring-answer").unwrap();
    assert_eq!(
        (alert.alert_info.as_str(), alert.ring_type.as_str()),
        ("ring-answer", "answer")
    );
    // Every note is one of: no XML form (with a reason), a DPMA-only
    // section, a [general] option, a missing secret, the model guess, or a
    // file to copy. Nothing is merely "not supported".
    let lines: Vec<&str> = notes.lines().collect();
    assert!(lines.len() > 20, "{notes}");
    for line in &lines {
        assert!(
            line.contains("no XML form")
                || line.contains("run over DPMA's channel")
                || line.contains("[general] options have no phones.toml equivalent")
                || line.contains("has no secret here or in pjsip.conf")
                || line.contains("copy the firmware file")
                || line.contains("copy the tone, as a 16 kHz mono WAV")
                || line.contains("copy the wallpaper (a PNG)")
                || line.contains("set by hand: DPMA names a logo per model"),
            "unexplained note: {line}"
        );
        assert!(line.contains(".conf:"), "no file:line: {line}");
    }
    for expected in [
        "res_digium_phone_devices.conf:41: [201] first_name = Anna: no XML form",
        "res_digium_phone_applications.conf:21: [parking] type=application: DPMA applications run over DPMA's channel",
        "res_digium_phone_firmware.conf:1: [fw-d65] copy the firmware file",
        "res_digium_phone_devices.conf:119: [anna] wallpaper_file = anna-wallpaper.png: copy the wallpaper (a PNG)",
    ] {
        assert!(notes.contains(expected), "missing {expected:?} in:\n{notes}");
    }
    assert!(!notes.contains("trunk-secret"), "secrets are not printed");
}

/// DPMA templates become profiles (not copies in every section), and a
/// phone's documents are the same as from the same setup written without
/// templates: profiles change where a value is written, never what a
/// phone gets. A section's own value overrides its template's.
#[test]
fn templates_become_profiles_that_render_like_the_flattened_setup() {
    let (toml, notes, code) = import(&["--pjsip", "tests/fixtures/dpma/pjsip.conf"]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(
        toml.contains("[profiles.desk-phone]\ntimezone = \"America/Chicago\"\nweb_ui_enabled = false\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[profiles.line-defaults]\ntransport = \"udp\"\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[phones.bob-desk]\nprofile = \"desk-phone\"\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[lines.2000]\nprofile = \"line-defaults\"\n"),
        "{toml}"
    );
    let flat = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "import-dpma",
            "tests/fixtures/dpma/res_digium_phone_flat.conf",
            "--pjsip",
            "tests/fixtures/dpma/pjsip.conf",
        ])
        .output()
        .expect("run");
    let flat = String::from_utf8(flat.stdout).unwrap();
    assert!(!flat.contains("[profiles."), "{flat}");
    let with_profiles =
        Config::parse(&toml, Path::new("/tmp/a.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let flattened = Config::parse(&flat, Path::new("/tmp/b.toml")).unwrap_or_else(|e| panic!("{e}\n{flat}"));
    assert_eq!(with_profiles.phones.len(), 2);
    assert_eq!(
        with_profiles.phone("alice-desk").unwrap().timezone.as_deref(),
        Some("Europe/Berlin"),
        "the phone's own value wins over its profile's"
    );
    for phone in &with_profiles.phones {
        let other = flattened.phone(&phone.name).expect("same phones");
        let (a, b) = (
            render_phone(&with_profiles, phone).unwrap(),
            render_phone(&flattened, other).unwrap(),
        );
        for model in PhoneModel::ALL {
            let (a, b) = (
                a.for_model(Some(model)).unwrap(),
                b.for_model(Some(model)).unwrap(),
            );
            for kind in [DocumentKind::Config, DocumentKind::Contacts, DocumentKind::Blf] {
                assert_eq!(
                    a.get(kind).body,
                    b.get(kind).body,
                    "{} {model} {kind:?}",
                    phone.name
                );
            }
        }
    }
}

/// The phonebook files a phone names (`contact =`) become `[contacts]`
/// entries in their groups, and contacts that are PBX lines become the
/// phone's `contacts`; what cannot be converted is reported with its file
/// and line. Digium's `<phonebooks>` and FreePBX's bare `<contacts>` both.
#[test]
fn phonebook_files_become_contacts_and_groups() {
    let (toml, notes, code) = import(&["--pjsip", "tests/fixtures/dpma/pjsip.conf"]);
    assert_eq!(code, Some(0), "{notes}");
    let config = Config::parse(&toml, Path::new("/tmp/a.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let bob = config.phone("bob-desk").unwrap();
    assert_eq!(bob.contacts, ["2001"], "auto_hint_2001 is line 2001");
    assert_eq!(bob.contact_groups, ["External", "Suppliers"]);
    let acme = config.contacts.iter().find(|c| c.name == "acme").expect("acme");
    assert_eq!(
        (
            acme.group.as_str(),
            acme.organization.as_deref(),
            acme.email.as_deref()
        ),
        ("Suppliers", Some("Acme & Co"), Some("wile@acme.example"))
    );
    assert_eq!(acme.numbers.len(), 2);
    let door = config
        .contacts
        .iter()
        .find(|c| c.name == "lobby-door")
        .expect("door");
    assert_eq!(
        (door.group.as_str(), door.subscribe_to.as_deref()),
        ("External", Some("sip:199@pbx.example.com")),
        "outside contacts of DPMA's Internal group get a group of their own"
    );
    for expected in [
        "internal.xml:20: contact \"nameless\": has no first_name, last_name or organization to show; not imported",
        "internal.xml:23: contact \"mute\": has no number and no email; not imported",
    ] {
        assert!(notes.contains(expected), "missing {expected:?} in:\n{notes}");
    }
    // FreePBX's bare <contacts> root.
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["import-dpma", "tests/fixtures/dpma/freepbx/res_digium_phone.conf"])
        .output()
        .expect("run");
    let toml = String::from_utf8(output.stdout).unwrap();
    let config = Config::parse(&toml, Path::new("/tmp/c.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let anna = config.phone("anna").unwrap();
    assert_eq!(anna.contacts, ["202"]);
    assert_eq!(anna.contact_groups, ["Company"]);
    assert_eq!(config.contacts_in("Company").count(), 1);
}

/// A paging group without the priority a listener needs is still imported
/// (so the phone keeps naming it) and the note says what to set.
#[test]
fn a_paging_group_without_priority_is_flagged() {
    let folder = tempfile::tempdir().unwrap();
    let conf = folder.path().join("res_digium_phone.conf");
    std::fs::write(
        &conf,
        "[all]\ntype = multicastpage\naddress = 239.1.1.1\nport = 5000\n\n\
         [100]\ntype = line\nsecret = s\n\n[desk]\ntype = phone\nmac = 001915000001\nline = 100\nmulticastpage = all\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("import-dpma")
        .arg(&conf)
        .output()
        .expect("run");
    let (toml, notes) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    assert!(
        notes.contains(
            "res_digium_phone.conf:1: [all] has no priority, which a phone's paging listener needs; set it"
        ),
        "{notes}"
    );
    assert!(
        toml.contains("[paging.all]\naddress = \"239.1.1.1\"\nport = 5000\n"),
        "{toml}"
    );
    assert!(toml.contains("paging = [\"all\"]"), "{toml}");
    let error = Config::parse(&toml, Path::new("/tmp/p.toml")).expect_err("priority is required");
    assert!(
        error.to_string().contains("paging.all: missing key `priority`"),
        "{error}"
    );
}

/// A phonebook file that is missing or not well-formed XML is reported
/// (with its line for the latter) and the rest still imports.
#[test]
fn broken_or_missing_phonebook_files_are_reported() {
    let folder = tempfile::tempdir().unwrap();
    let conf = folder.path().join("res_digium_phone.conf");
    std::fs::write(
        &conf,
        "[100]\ntype = line\nsecret = s\n\n[desk]\ntype = phone\nmac = 001915000001\nline = 100\n\
         contact = broken.xml\ncontact = missing.xml\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("broken.xml"),
        "<phonebooks>\n<contacts group_name=\"Vendors\">\n<contact id=\"a\" organization=\"A\">\
         <numbers><number dial=\"1\" label=\"Work\"/></numbers></contact>\n<contact id=\"b\"></oops>\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_opendpma"))
        .arg("import-dpma")
        .arg(&conf)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let (toml, notes) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    assert!(notes.contains("broken.xml:4: not well-formed XML"), "{notes}");
    assert!(
        notes.contains("missing.xml: cannot read this phonebook file"),
        "{notes}"
    );
    let config = Config::parse(&toml, Path::new("/tmp/q.toml")).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(
        config.phone("desk").unwrap().contact_groups,
        ["Vendors"],
        "what came before the error"
    );
}
