//! PIDF bodies rendered once per state and variant, shared by every
//! watcher of a line, so a change fanned out to thousands of watchers is
//! rendered once per variant rather than once per watcher.
//!
//! A variant is what makes bodies differ apart from the watcher: the
//! entity (from each SUBSCRIBE's Request-URI) and whether the watcher is a
//! Digium/Sangoma phone. Only the current state of a line is kept: the
//! first NOTIFY of a new state replaces the line's renderings, so the cache
//! holds at most `MAX_VARIANTS` per line that has watchers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::presence::{HintState, PidfParts};

/// Renderings kept per line. Watchers of one line normally share one or
/// two entities (UDP, TCP) and two variants; more is unusual and only
/// costs a re-render.
const MAX_VARIANTS: usize = 8;

struct Rendering {
    state: HintState,
    entity: String,
    digium: bool,
    parts: Arc<PidfParts>,
}

/// Renderings of each line's current state.
#[derive(Default)]
pub(super) struct BodyCache {
    by_exten: HashMap<String, Vec<Rendering>>,
    /// Bodies rendered so far (`PresenceServer::pidf_renders`).
    pub(super) renders: u64,
}

impl BodyCache {
    /// The shared parts for `state` as seen through `entity` by a Digium
    /// watcher or not; rendered only if no watcher needed them yet.
    pub(super) fn parts(&mut self, entity: &str, state: &HintState, digium: bool) -> Arc<PidfParts> {
        // Looked up by `&str` first: this runs once per NOTIFY, and the
        // line's key is only allocated for its first rendering.
        if !self.by_exten.contains_key(state.exten.as_str()) {
            self.by_exten.insert(state.exten.to_string(), Vec::new());
        }
        let renderings = self
            .by_exten
            .get_mut(state.exten.as_str())
            .expect("inserted just above");
        // A body shows no timestamps: `same_as` is exactly "same bytes".
        renderings.retain(|r| r.state.same_as(state));
        if let Some(rendering) = renderings
            .iter()
            .find(|r| r.digium == digium && r.entity == entity)
        {
            return Arc::clone(&rendering.parts);
        }
        self.renders += 1;
        let parts = Arc::new(PidfParts::new(entity, state, digium));
        if renderings.len() >= MAX_VARIANTS {
            renderings.remove(0);
        }
        renderings.push(Rendering {
            state: state.clone(),
            entity: entity.to_owned(),
            digium,
            parts: Arc::clone(&parts),
        });
        parts
    }

    /// The line is gone: so are its renderings.
    pub(super) fn forget(&mut self, exten: &str) {
        self.by_exten.remove(exten);
    }
}
