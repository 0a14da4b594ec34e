//! Reading a PUBLISH body (PIDF with Digium, RPID or plain tuples) into
//! the state a phone asked for. Namespace-aware (quick-xml `NsReader`):
//! prefixes are whatever the client chose; what counts is the namespace.
//!
//! Precedence, most specific first (the Digium element is what D-series
//! phones publish; RPID activities are RFC 4480's; `<basic>` is all plain
//! RFC 3863 clients have): a `digium_presence` element's `type`,
//! `subtype` and text; else RPID activities (away → away, busy and
//! on-the-phone → dnd, vacation and permanent-absence → xa); else the
//! first tuple's `<basic>` (open → available, closed → away). The message
//! is the Digium text, else the first `<note>`.

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const PIDF: &str = "urn:ietf:params:xml:ns:pidf";
const RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
const DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";

/// What a PUBLISH body asks for, before it is checked against the five
/// selectable states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPresence {
    /// A state name (`dnd`, `away`, …) — possibly one we refuse.
    pub state: String,
    pub subtype: String,
    pub message: String,
}

/// Why a body could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PidfError {
    #[error("malformed XML: {0}")]
    Xml(#[from] XmlProblem),
    #[error("not a PIDF document (root must be presence in {PIDF})")]
    NotPidf,
    #[error("the document says nothing about presence (no digium_presence, RPID activity or basic status)")]
    NoState,
}

/// What is wrong with a body's XML.
#[derive(Debug, Clone, thiserror::Error)]
pub enum XmlProblem {
    #[error(transparent)]
    Syntax(#[from] quick_xml::Error),
    #[error(transparent)]
    Attribute(#[from] quick_xml::events::attributes::AttrError),
    /// Only the five predefined entities exist without a DTD (XML 1.0 §4.6).
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("the document ends inside <{0}>")]
    Unclosed(String),
}

/// The namespaces whose elements count; any other is `Other`. Kept per
/// open element instead of its URI (no copy of the text per element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Namespace {
    Pidf,
    Rpid,
    DataModel,
    #[default]
    Other,
}

impl Namespace {
    fn of(resolved: &ResolveResult<'_>) -> Self {
        match resolved {
            ResolveResult::Bound(namespace) => match namespace.as_ref() {
                PIDF => Self::Pidf,
                RPID => Self::Rpid,
                DATA_MODEL => Self::DataModel,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

#[derive(Default)]
struct Found {
    digium: Option<(String, String, String)>,
    activity: Option<&'static str>,
    basic: Option<String>,
    note: Option<String>,
}

/// Reads a PIDF body.
pub fn read(body: &str) -> Result<PublishedPresence, PidfError> {
    let mut reader = NsReader::from_str(body);
    let mut found = Found::default();
    let mut stack: Vec<(String, Namespace)> = Vec::new();
    let mut text = String::new();
    let mut digium_attributes: Option<(String, String)> = None;
    let mut saw_root = false;
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(XmlProblem::from)?;
        let namespace = Namespace::of(&namespace);
        match event {
            Event::Start(ref element) | Event::Empty(ref element) => {
                let name = element.local_name().as_ref().to_owned();
                if !saw_root {
                    if name != "presence" || namespace != Namespace::Pidf {
                        return Err(PidfError::NotPidf);
                    }
                    saw_root = true;
                }
                if name == "digium_presence" && found.digium.is_none() {
                    let mut kind = String::new();
                    let mut subtype = String::new();
                    for attribute in element.attributes() {
                        let attribute = attribute.map_err(XmlProblem::from)?;
                        let value = attribute
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map_err(XmlProblem::from)?
                            .into_owned();
                        match attribute.key.local_name().as_ref() {
                            "type" => kind = value,
                            "subtype" => subtype = value,
                            _ => {}
                        }
                    }
                    digium_attributes = Some((kind, subtype));
                }
                if namespace == Namespace::Rpid
                    && found.activity.is_none()
                    && stack.last().is_some_and(|(parent, _)| parent == "activities")
                {
                    found.activity = match name.as_str() {
                        "away" => Some("away"),
                        "busy" | "on-the-phone" => Some("dnd"),
                        "vacation" | "permanent-absence" => Some("xa"),
                        _ => None,
                    };
                }
                if matches!(event, Event::Empty(_)) {
                    if name == "digium_presence" && found.digium.is_none() {
                        let (kind, subtype) = digium_attributes.take().unwrap_or_default();
                        found.digium = Some((kind, subtype, String::new()));
                    }
                } else {
                    stack.push((name, namespace));
                    text.clear();
                }
            }
            Event::Text(content) => text.push_str(&content.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(content) => text.push_str(&content.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.xml_content(XmlVersion::Implicit1_0);
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlProblem::UnknownEntity(name.to_string()))?
                            .to_owned()
                    }
                    Err(e) => return Err(XmlProblem::from(e).into()),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let (name, namespace) = stack.pop().unwrap_or_default();
                let value = || text.trim().to_owned();
                match name.as_str() {
                    "digium_presence" if found.digium.is_none() => {
                        let (kind, subtype) = digium_attributes.take().unwrap_or_default();
                        found.digium = Some((kind, subtype, value()));
                    }
                    "basic" if namespace == Namespace::Pidf && found.basic.is_none() => {
                        found.basic = Some(value())
                    }
                    "note"
                        if matches!(namespace, Namespace::Pidf | Namespace::DataModel)
                            && found.note.is_none() =>
                    {
                        found.note = Some(value())
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof if !stack.is_empty() => {
                return Err(XmlProblem::Unclosed(stack[stack.len() - 1].0.clone()).into());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(PidfError::NotPidf);
    }
    let note = found.note.unwrap_or_default();
    if let Some((state, subtype, message)) = found.digium {
        let message = if message.is_empty() { note } else { message };
        return Ok(PublishedPresence {
            state,
            subtype,
            message,
        });
    }
    let state = match (found.activity, found.basic.as_deref()) {
        (Some(activity), _) => activity.to_owned(),
        (None, Some("open")) => "available".to_owned(),
        (None, Some("closed")) => "away".to_owned(),
        (None, _) => return Err(PidfError::NoState),
    };
    Ok(PublishedPresence {
        state,
        subtype: String::new(),
        message: note,
    })
}
