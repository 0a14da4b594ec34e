//! The two checks every named section shares: required keys an entry lacks
//! (reported once, at the entry's name, unless the key was there with a bad
//! value, already reported where it is) and names a phone lists that are
//! not entries of the section they refer to.

use std::collections::HashSet;

use toml::Spanned;

use super::entry::Entry;
use super::problem::Problem;

/// A "missing key" problem at the entry's name for each of `keys` the
/// source does not have at all.
pub fn missing_keys<T>(
    source: &str,
    entry: &Entry<T>,
    path: &str,
    keys: &[&str],
    problems: &mut Vec<Problem>,
) {
    for key in keys {
        if !entry.has(key) {
            problems.push(Problem::at(
                source,
                entry.name.span(),
                path.to_owned(),
                format!("missing key `{key}`"),
            ));
        }
    }
}

/// A problem for each of a phone's `references` (its key of the same name
/// as the section) that is not an entry of `[section]` (valid or not: a
/// broken entry is reported once, where it is).
pub fn unknown_references(
    source: &str,
    path: &str,
    section: &str,
    references: &[Spanned<String>],
    known: &HashSet<&str>,
    problems: &mut Vec<Problem>,
) {
    for reference in references {
        if !known.contains(reference.get_ref().as_str()) {
            let article = if section.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            problems.push(Problem::at(
                source,
                reference.span(),
                format!("{path}.{section}"),
                format!("{:?} is not {article} [{section}] entry", reference.get_ref()),
            ));
        }
    }
}
