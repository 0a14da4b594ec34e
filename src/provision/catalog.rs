//! `Catalog`: every phone's documents, rendered once per config snapshot.
//!
//! Rendering happens when a config is loaded, not per request: a request is
//! a hash lookup and a cheap `Bytes` clone, and an error in a template shows
//! up at reload time instead of in front of a phone.

use std::collections::HashMap;
use std::sync::Arc;

use super::render::{PhoneDocuments, RenderError, render_phone};
use crate::config::{Config, MacAddress};

/// Rendered documents by MAC.
#[derive(Debug, Default)]
pub struct Catalog {
    phones: HashMap<MacAddress, Arc<PhoneDocuments>>,
}

impl Catalog {
    /// Renders every phone of `config`.
    pub fn build(config: &Config) -> Result<Self, RenderError> {
        // `check` prints these; a running server says them once per load.
        for warning in &config.warnings {
            tracing::warn!("{}: {warning}", config.source.display());
        }
        let mut phones = HashMap::with_capacity(config.phones.len());
        for phone in &config.phones {
            let documents = render_phone(config, phone)?;
            phones.insert(phone.mac.clone(), Arc::new(documents));
        }
        Ok(Self { phones })
    }

    /// A phone's documents.
    pub fn phone(&self, mac: &MacAddress) -> Option<&Arc<PhoneDocuments>> {
        self.phones.get(mac)
    }

    /// The phones any of whose documents (on any network) differ between
    /// `self` and `newer` (or that are new), by MAC: these need a
    /// check-sync after a reload.
    pub fn changed_since<'a>(&'a self, newer: &'a Self) -> impl Iterator<Item = &'a MacAddress> + 'a {
        newer.phones.iter().filter_map(move |(mac, documents)| {
            let unchanged = self
                .phones
                .get(mac)
                .is_some_and(|old| old.etags() == documents.etags());
            (!unchanged).then_some(mac)
        })
    }
}
