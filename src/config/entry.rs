//! `Entry<T>`: one named entry of a `[kind.NAME]` table as read — its
//! name with its span, the keys it had and the values that were valid.
//! Every section type's reader and checker shares it.

use toml::Spanned;

/// One named entry as read: its name (with span), the keys it had in the
/// source (so a rejected value is not also reported as missing) and the
/// values that were valid.
#[derive(Debug)]
pub struct Entry<T> {
    pub name: Spanned<String>,
    pub keys: Vec<String>,
    pub value: T,
}

impl<T> Entry<T> {
    /// Whether the source had `key`, valid or not.
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}
