//! One copy of the texts many subscriptions hold alike: the presentity
//! URI (every watcher of a line), our Contact (every watcher on one
//! transport and line) and the User-Agent (every phone of one model and
//! firmware). Held per subscription they were ~170 bytes each of 100,000
//! (three `String`s and their heap blocks); shared, a subscription keeps
//! three pointers.
//!
//! Texts no subscription holds any more are dropped once the set has
//! grown well past the number of subscriptions, so that watchers sending
//! a new User-Agent each time cannot grow it without bound.

use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default)]
pub(super) struct SharedTexts(HashSet<Arc<str>>);

impl SharedTexts {
    /// The shared copy of `text`, made on first use.
    pub(super) fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }

    /// Forgets the texts only this set still holds, when it has grown
    /// past twice `live` (the subscriptions) plus some slack.
    pub(super) fn prune(&mut self, live: usize) {
        if self.0.len() > 2 * live + 1024 {
            self.0.retain(|text| Arc::strong_count(text) > 1);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_text_and_unheld_ones_go_once_the_set_outgrows_the_subscriptions() {
        let mut texts = SharedTexts::default();
        let first = texts.get("Digium D65 2_9_27");
        let second = texts.get("Digium D65 2_9_27");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(texts.len(), 1);
        let held: Vec<Arc<str>> = (0..2000).map(|i| texts.get(&format!("ua {i}"))).collect();
        drop(held);
        texts.prune(1000);
        assert_eq!(texts.len(), 2001, "not yet past 2 × 1000 + 1024");
        texts.prune(10);
        assert_eq!(texts.len(), 1, "only the text still held stays");
        assert!(Arc::ptr_eq(&texts.get("Digium D65 2_9_27"), &first));
    }
}
