//! A flat view of an XML document for tests that check provisioning
//! documents as a phone would read them: every element with its path from
//! the root and its (unescaped) attributes.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element of a document: where it sits and its attributes.
#[derive(Debug)]
pub struct Element {
    /// Names from the root, joined by `/`, e.g. `config/accounts/account`.
    pub path: String,
    pub attributes: BTreeMap<String, String>,
}

impl Element {
    pub fn get(&self, key: &str) -> &str {
        self.attributes.get(key).map_or_else(
            || panic!("{} has no {key}: {:?}", self.path, self.attributes),
            String::as_str,
        )
    }
}

/// Every element of `xml`, which must be well-formed.
pub fn elements(xml: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(xml);
    let (mut stack, mut found) = (Vec::<String>::new(), Vec::new());
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML: {e}\n{xml}"));
        let (element, empty) = match event {
            Event::Start(element) => (element, false),
            Event::Empty(element) => (element, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        stack.push(element.name().as_ref().to_owned());
        let attributes = element
            .attributes()
            .map(|attribute| {
                let attribute = attribute.expect("well-formed attribute");
                (
                    attribute.key.as_ref().to_owned(),
                    attribute
                        .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .expect("valid escapes")
                        .into_owned(),
                )
            })
            .collect();
        found.push(Element {
            path: stack.join("/"),
            attributes,
        });
        if empty {
            stack.pop();
        }
    }
    assert!(stack.is_empty(), "unbalanced XML:\n{xml}");
    found
}

pub fn all<'a>(elements: &'a [Element], path: &str) -> Vec<&'a Element> {
    elements.iter().filter(|e| e.path == path).collect()
}
