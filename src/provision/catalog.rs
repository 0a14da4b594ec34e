//! `Catalog`: every phone's documents, rendered once per config snapshot.
//!
//! Rendering happens when a config is loaded, not per request: a request is
//! a hash lookup and a cheap `Bytes` clone, and an error in a template shows
//! up at reload time instead of in front of a phone.

use std::collections::HashMap;
use std::sync::Arc;

use super::render::{DocumentKind, PhoneDocuments, RenderError, render_phone};
use crate::config::{Config, MacAddress};

/// Rendered documents by MAC.
#[derive(Debug, Default)]
pub struct Catalog {
    phones: HashMap<MacAddress, Arc<PhoneDocuments>>,
}

impl Catalog {
    /// Renders every phone of `config`.
    pub fn build(config: &Config) -> Result<Self, RenderError> {
        let mut phones = HashMap::with_capacity(config.phones.len());
        for phone in &config.phones {
            let documents = render_phone(config, phone)?;
            // Models without BLF keys show contacts on spare line keys instead;
            // only a model that has keys and runs out of them is worth a warning.
            if documents.blf_overflow > 0 && phone.model.key_layout().capacity() > 0 {
                tracing::warn!(
                    phone = %phone.name,
                    model = %phone.model,
                    left_off = documents.blf_overflow,
                    "more contacts than BLF keys; the last ones are only in the phonebook"
                );
            }
            phones.insert(phone.mac.clone(), Arc::new(documents));
        }
        Ok(Self { phones })
    }

    /// A phone's documents.
    pub fn phone(&self, mac: &MacAddress) -> Option<&Arc<PhoneDocuments>> {
        self.phones.get(mac)
    }

    /// The phones whose `kind` document differs between `self` and `newer`
    /// (or that are new), by MAC: these need a check-sync after a reload.
    pub fn changed_since<'a>(&'a self, newer: &'a Self) -> impl Iterator<Item = &'a MacAddress> + 'a {
        newer.phones.iter().filter_map(move |(mac, documents)| {
            let unchanged = self.phones.get(mac).is_some_and(|old| {
                [DocumentKind::Config, DocumentKind::Contacts, DocumentKind::Blf]
                    .iter()
                    .all(|kind| old.get(*kind).etag == documents.get(*kind).etag)
            });
            (!unchanged).then_some(mac)
        })
    }
}
