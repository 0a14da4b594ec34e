//! `Catalog`: every phone's documents, rendered once per config snapshot.
//!
//! Rendering happens when a config is loaded, not per request: a request is
//! a hash lookup and a cheap `Bytes` clone, and an error in a template shows
//! up at reload time instead of in front of a phone.

use std::collections::HashMap;
use std::sync::Arc;

use super::render::{PhoneDocuments, RenderError, render_phone};
use crate::config::{Config, MacAddress};

/// Warnings logged per load; the rest are counted.
const WARNINGS_LOGGED: usize = 20;

/// Rendered documents by MAC.
#[derive(Debug, Default)]
pub struct Catalog {
    phones: HashMap<MacAddress, Arc<PhoneDocuments>>,
}

impl Catalog {
    /// Renders every phone of `config`.
    pub fn build(config: &Config) -> Result<Self, RenderError> {
        // `check` prints them all; a running server says the first few once
        // per load (a site with thousands of crowded phones would flood it).
        for warning in config.warnings.iter().take(WARNINGS_LOGGED) {
            tracing::warn!("{}: {warning}", config.source.display());
        }
        if config.warnings.len() > WARNINGS_LOGGED {
            tracing::warn!(
                more = config.warnings.len() - WARNINGS_LOGGED,
                "more configuration warnings; `opendpma check` lists them all"
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn catalog(registrar: &str) -> Catalog {
        let text = format!(
            "[general]\nserver_address = \"pbx\"\n\
             [networks.lab]\ncidr = \"10.0.0.0/8\"\nregistration_address = \"{registrar}\"\n\
             [lines.2000]\nsecret = \"a\"\n[lines.2001]\nsecret = \"b\"\n\
             [phones.roaming]\nmac = \"001915000001\"\nmodel = \"D65\"\nlines = [\"2000\"]\n\
             [phones.fixed]\nmac = \"001915000002\"\nmodel = \"D65\"\nlines = [\"2001\"]\nnetwork = \"lab\"\n"
        );
        Catalog::build(&Config::parse(&text, Path::new("phones.toml")).expect("valid")).expect("renders")
    }

    /// A phone placed by cidr has one config per network: a change to any
    /// of them is a change to the phone (it needs a check-sync).
    #[test]
    fn a_change_on_any_network_counts() {
        let (old, new) = (catalog("pbx-1"), catalog("pbx-2"));
        let mut changed: Vec<&str> = old.changed_since(&new).map(MacAddress::as_str).collect();
        changed.sort_unstable();
        assert_eq!(changed, ["001915000001", "001915000002"]);
        assert_eq!(old.changed_since(&catalog("pbx-1")).count(), 0);
        let roaming = new.phone(&"001915000001".parse().expect("MAC")).expect("phone");
        assert_eq!(roaming.config_by_network.len(), 1);
        let on_lab = std::str::from_utf8(
            &roaming
                .get_on(crate::provision::DocumentKind::Config, Some("lab"))
                .body,
        )
        .expect("UTF-8")
        .to_owned();
        assert!(on_lab.contains("server=\"pbx-2\""), "{on_lab}");
        assert!(
            std::str::from_utf8(&roaming.config.body)
                .expect("UTF-8")
                .contains("server=\"pbx\"")
        );
    }
}
