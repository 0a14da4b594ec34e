//! How names and values are spelled in the phones.toml the import writes:
//! a string is a TOML basic string; a table key is bare where TOML allows
//! it (letters, digits, `-`, `_`), else quoted.

/// `value` as a TOML string, escapes included.
pub fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// A section name as a TOML key.
pub fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_owned() } else { quoted(name) }
}
