//! `Snapshot`: one loaded config plus everything derived from it, swapped
//! as a whole on reload. Readers take an `Arc` and keep a consistent view
//! for as long as they hold it, so a request that straddles a reload still
//! gets a complete old-or-new answer.

use std::sync::Arc;

use crate::config::Config;
use crate::provision::{Catalog, RenderError};

/// A config and its rendered provisioning documents.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    /// Counts reloads, starting at 1 for the config loaded at start.
    pub generation: u64,
}

impl Snapshot {
    /// Renders everything `config` implies.
    pub fn build(config: Config, generation: u64) -> Result<Self, RenderError> {
        let catalog = Catalog::build(&config)?;
        Ok(Self {
            config: Arc::new(config),
            catalog,
            generation,
        })
    }
}
