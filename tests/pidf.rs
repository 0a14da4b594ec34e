//! PIDF bodies: golden files for every extension state × presence state,
//! for a Digium watcher and for a plain one; every body parses as
//! XML; and PUBLISH bodies from Digium phones, baresip and linphone read
//! back to the right state. Regenerate goldens with `UPDATE_GOLDEN=1`.

use std::path::Path;

use opendpma::presence::{
    ExtensionState, HintState, PidfError, PidfView, PresenceState, PresenceValue, PublishedPresence,
    XmlProblem, read_pidf, render_pidf,
};
use quick_xml::Reader;
use quick_xml::events::Event;

const EXTENSION_STATES: [(ExtensionState, &str); 7] = [
    (ExtensionState::Idle, "idle"),
    (ExtensionState::InUse, "in_use"),
    (ExtensionState::Busy, "busy"),
    (ExtensionState::Unavailable, "unavailable"),
    (ExtensionState::Ringing, "ringing"),
    (ExtensionState::InUseRinging, "in_use_ringing"),
    (ExtensionState::OnHold, "on_hold"),
];

fn presence(state: PresenceState) -> PresenceValue {
    match state {
        PresenceState::NotSet => PresenceValue::not_set(),
        PresenceState::Away => PresenceValue {
            state,
            subtype: "lunch".into(),
            message: "Back at 2 & bringing <cake>".into(),
            changed_at: Some(1),
        },
        _ => PresenceValue {
            state,
            subtype: String::new(),
            message: if state == PresenceState::Dnd {
                "in a meeting\nuntil 3".into()
            } else {
                String::new()
            },
            changed_at: Some(1),
        },
    }
}

fn check_well_formed(xml: &str) {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!("malformed PIDF: {error}\n{xml}"),
        }
    }
}

#[test]
fn bodies_match_their_golden_files() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pidf");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let presences = [
        PresenceState::NotSet,
        PresenceState::Available,
        PresenceState::Away,
        PresenceState::Xa,
        PresenceState::Chat,
        PresenceState::Dnd,
    ];
    let mut cases = Vec::new();
    // Both person variants in full: Asterisk's for Digium watchers, ours
    // (presence as RPID and dm:note) for the rest.
    for digium in [true, false] {
        for (extension_state, extension_name) in EXTENSION_STATES {
            for presence_state in presences {
                cases.push((extension_state, extension_name, presence_state, digium));
            }
        }
    }
    for (extension_state, extension_name, presence_state, digium) in cases {
        let state = HintState {
            exten: "2001".parse().unwrap(),
            extension_state,
            presence: presence(presence_state),
        };
        let body = render_pidf(&PidfView {
            entity: "sip:2001@pbx.example.com:5060",
            watcher: "sip:2000@pbx.example.com",
            state: &state,
            digium,
        });
        check_well_formed(&body);
        let watcher = if digium { "digium" } else { "plain" };
        let path = folder.join(format!(
            "{watcher}-{extension_name}-{}.xml",
            presence_state.as_str()
        ));
        if update {
            std::fs::write(&path, &body).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        assert_eq!(body, golden, "{}", path.display());
    }
}

fn read(body: &str) -> PublishedPresence {
    read_pidf(body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

#[test]
fn digium_bodies_give_type_subtype_and_message() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence entity="sip:2001@pbx" xmlns="urn:ietf:params:xml:ns:pidf">
 <note>Ready</note>
 <tuple id="digium-presence"><status><digium_presence type="dnd" subtype="meeting">Im B&#252;ro &amp; busy</digium_presence></status></tuple>
</presence>"#;
    assert_eq!(
        read(body),
        PublishedPresence {
            state: "dnd".into(),
            subtype: "meeting".into(),
            message: "Im Büro & busy".into()
        }
    );
    let empty = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><note>lunch</note><tuple id="d"><status><digium_presence type="away" /></status></tuple></presence>"#;
    assert_eq!(
        read(empty),
        PublishedPresence {
            state: "away".into(),
            subtype: String::new(),
            message: "lunch".into()
        }
    );
    // Our own NOTIFY body reads back to what it says.
    let state = HintState {
        exten: "2001".parse().unwrap(),
        extension_state: ExtensionState::Idle,
        presence: presence(PresenceState::Away),
    };
    let ours = render_pidf(&PidfView {
        entity: "sip:2001@x",
        watcher: "sip:2000@x",
        state: &state,
        digium: true,
    });
    assert_eq!(
        read(&ours),
        PublishedPresence {
            state: "away".into(),
            subtype: "lunch".into(),
            message: "Back at 2 & bringing <cake>".into()
        }
    );
}

/// Bodies as baresip 1.0.0 and linphonec 5.1.65 send them
/// (reference/real-clients.md).
#[test]
fn softphone_bodies_map_through_basic_and_rpid() {
    let baresip = |basic: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="sip:2001@127.0.0.1:5070">
  <dm:person id="p4159"><rpid:activities/></dm:person>
  <tuple id="t4109">
    <status>
      <basic>{basic}</basic>
    </status>
    <contact>sip:2001@127.0.0.1:5070</contact>
  </tuple>
</presence>"#
        )
    };
    assert_eq!(read(&baresip("open")).state, "available");
    assert_eq!(read(&baresip("closed")).state, "away");
    let linphone = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
          xmlns:pidfonline="http://www.linphone.org/xsds/pidfonline.xsd"
          entity="sip:2002@127.0.0.1" xmlns="urn:ietf:params:xml:ns:pidf">
 <tuple id="ponreq">
  <status>
   <basic>open</basic>
   <pidfonline:online/>
  </status>
  <contact priority="0.8">sip:2002@127.0.0.1</contact>
  <timestamp>2026-11-29T23:29:12Z</timestamp>
 </tuple>
</presence>"#;
    assert_eq!(read(linphone).state, "available");
    let rpid = |activity: &str| {
        format!(
            r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><p:tuple id="t"><p:status><p:basic>open</p:basic></p:status></p:tuple><d:person id="p"><r:activities><r:{activity}/></r:activities><d:note>gone fishing</d:note></d:person></p:presence>"#
        )
    };
    for (activity, state) in [
        ("away", "away"),
        ("busy", "dnd"),
        ("on-the-phone", "dnd"),
        ("vacation", "xa"),
        ("permanent-absence", "xa"),
        ("meal", "available"),
    ] {
        let published = read(&rpid(activity));
        assert_eq!(published.state, state, "{activity}");
        assert_eq!(published.message, "gone fishing");
    }
}

#[test]
fn broken_or_foreign_bodies_are_refused_with_a_reason() {
    assert!(read_pidf("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple>").is_err());
    assert!(
        read_pidf("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><note>x</nope></presence>")
            .unwrap_err()
            .to_string()
            .starts_with("malformed XML")
    );
    assert_eq!(
        read_pidf("<presence><basic>open</basic></presence>")
            .unwrap_err()
            .to_string(),
        "not a PIDF document (root must be presence in urn:ietf:params:xml:ns:pidf)"
    );
    assert_eq!(
        read_pidf("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"/>")
            .unwrap_err()
            .to_string(),
        "the document says nothing about presence (no digium_presence, RPID activity or basic status)"
    );
    assert!(read_pidf("").is_err());
    assert!(matches!(
        read_pidf("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">&bogus;</presence>"),
        Err(PidfError::Xml(XmlProblem::UnknownEntity(name))) if name == "bogus"
    ));
    assert_eq!(
        read_pidf("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple>")
            .unwrap_err()
            .to_string(),
        "malformed XML: the document ends inside <tuple>"
    );
}
