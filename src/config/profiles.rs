//! `[profiles.NAME]`: shared settings (DPMA's `[name](!)` templates).
//!
//! A phone, a line or another profile names `profile = "NAME"` and gets
//! every key of that profile it does not set itself; profiles chain, and a
//! cycle is refused. Inheritance happens on the spanned TOML tree, before
//! serde reads an entry: an inherited key keeps the span it has in its
//! profile, so a bad value is reported at the profile's own `line:column`,
//! wherever it was inherited from. The same spans give `render --explain`
//! the origin of every resolved value.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::problem::{LineStarts, Problem, path_segment};

/// The key that names a profile.
pub const PROFILE_KEY: &str = "profile";

/// Keys whose values are never shown by `--explain`.
const SECRET_KEYS: &[&str] = &["secret", "login_password", "password"];

/// Where one resolved key of an entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOrigin {
    pub key: String,
    /// The value as written (secrets replaced by `********`).
    pub value: String,
    /// `None`: set in the entry itself; else the profile it came from.
    pub profile: Option<String>,
    pub line: usize,
    pub column: usize,
}

/// Every `[profiles.NAME]` table as written.
#[derive(Default)]
pub struct Profiles<'s> {
    tables: HashMap<String, (Range<usize>, DeTable<'s>)>,
    /// Keys a profile may hold; others are reported once, by `read`, and
    /// not inherited (so not reported again by every user).
    known: Vec<String>,
}

/// An entry's table after inheritance, and which keys came from where.
pub struct Expanded<'s> {
    pub table: DeTable<'s>,
    /// Inherited key → the profile that set it.
    pub inherited: HashMap<String, String>,
    pub origins: Vec<KeyOrigin>,
}

impl<'s> Profiles<'s> {
    /// Reads the `[profiles]` section; `known` are the keys a profile may
    /// hold (every phone and line key), checked here so that a typo in a
    /// profile nobody uses yet is found too.
    pub fn read(
        source: &str,
        value: Spanned<DeValue<'s>>,
        known: &[&str],
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut profiles = Self {
            known: known.iter().map(|k| (*k).to_owned()).collect(),
            ..Self::default()
        };
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            problems.push(Problem::at(
                source,
                span,
                "profiles",
                "[profiles] must be a table of named entries",
            ));
            return profiles;
        };
        for (name, entry) in table {
            let path = format!("profiles.{}", path_segment(name.get_ref()));
            let entry_span = entry.span();
            let DeValue::Table(entry) = entry.into_inner() else {
                problems.push(Problem::at(source, entry_span, path, "must be a table"));
                continue;
            };
            for key in entry.keys() {
                let key_name = key.get_ref().as_ref();
                if key_name != PROFILE_KEY && !known.contains(&key_name) {
                    let hint = match super::problem::nearest_key(key_name, known) {
                        Some(candidate) => format!(" (did you mean `{candidate}`?)"),
                        None => " (a profile holds phone and line keys)".to_owned(),
                    };
                    problems.push(Problem::at(
                        source,
                        key.span(),
                        format!("{path}.{}", path_segment(key_name)),
                        format!("unknown key `{key_name}`{hint}"),
                    ));
                }
            }
            profiles
                .tables
                .insert(name.get_ref().to_string(), (name.span(), entry));
        }
        profiles
    }

    /// Applies `table`'s profile chain to it. A missing profile or a cycle
    /// is reported at the `profile` key that names it; the keys found up to
    /// that point still apply, so other problems are still found.
    pub fn expand(
        &self,
        source: &str,
        line_starts: &LineStarts,
        path: &str,
        mut table: DeTable<'s>,
        problems: &mut Vec<Problem>,
    ) -> Expanded<'s> {
        let mut origins: Vec<KeyOrigin> = table
            .iter()
            .filter(|(key, _)| key.get_ref() != PROFILE_KEY)
            .map(|(key, value)| origin(source, line_starts, key.get_ref(), value, None))
            .collect();
        let mut inherited = HashMap::new();
        let mut next = table.remove(PROFILE_KEY);
        let mut chain: Vec<String> = Vec::new();
        let mut referrer = path.to_owned();
        while let Some(reference) = next.take() {
            let span = reference.span();
            let Some(name) = reference.get_ref().as_str().map(str::to_owned) else {
                problems.push(Problem::at(
                    source,
                    span,
                    format!("{referrer}.{PROFILE_KEY}"),
                    "must be a string: the name of a [profiles] entry",
                ));
                break;
            };
            if chain.contains(&name) {
                chain.push(name.clone());
                problems.push(Problem::at(
                    source,
                    span,
                    format!("{referrer}.{PROFILE_KEY}"),
                    format!("profile cycle: {}", chain.join(" → ")),
                ));
                break;
            }
            let Some((_, profile)) = self.tables.get(&name) else {
                problems.push(Problem::at(
                    source,
                    span,
                    format!("{referrer}.{PROFILE_KEY}"),
                    format!("{name:?} is not a [profiles] entry"),
                ));
                break;
            };
            for (key, value) in profile {
                let key_name = key.get_ref().as_ref();
                if key_name == PROFILE_KEY {
                    next = Some(value.clone());
                } else if !table.contains_key(key_name) && self.known.iter().any(|k| k == key_name) {
                    origins.push(origin(source, line_starts, key_name, value, Some(&name)));
                    inherited.insert(key_name.to_owned(), name.clone());
                    table.insert(key.clone(), value.clone());
                }
            }
            referrer = format!("profiles.{}", path_segment(&name));
            chain.push(name);
        }
        origins.sort_by_key(|o| (o.line, o.column));
        Expanded {
            table,
            inherited,
            origins,
        }
    }
}

fn origin(
    source: &str,
    line_starts: &LineStarts,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    profile: Option<&str>,
) -> KeyOrigin {
    let span = value.span();
    let problem = line_starts.problem(source, span.clone(), "", "");
    let text = if SECRET_KEYS.contains(&key) {
        "\"********\"".to_owned()
    } else {
        source.get(span).unwrap_or("").to_owned()
    };
    KeyOrigin {
        key: key.to_owned(),
        value: text,
        profile: profile.map(str::to_owned),
        line: problem.line,
        column: problem.column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(source: &str, entry: &str) -> (Vec<KeyOrigin>, Vec<Problem>) {
        let (root, errors) = DeTable::parse_recoverable(source);
        assert!(errors.is_empty());
        let mut root = root.into_inner();
        let mut problems = Vec::new();
        let profiles = Profiles::read(
            source,
            root.remove("profiles").expect("profiles"),
            &["model", "timezone"],
            &mut problems,
        );
        let phones = root.remove("phones").expect("phones").into_inner();
        let DeValue::Table(mut phones) = phones else {
            panic!()
        };
        let DeValue::Table(table) = phones.remove(entry).expect("entry").into_inner() else {
            panic!()
        };
        let expanded = profiles.expand(source, &LineStarts::new(source), "phones.x", table, &mut problems);
        (expanded.origins, problems)
    }

    #[test]
    fn chains_override_and_keep_the_profiles_lines() {
        let source = "[profiles.base]\nmodel = \"D65\"\ntimezone = \"UTC\"\n\
                      [profiles.desk]\nprofile = \"base\"\ntimezone = \"Europe/Paris\"\n\
                      [phones.x]\nprofile = \"desk\"\n";
        let (origins, problems) = expand(source, "x");
        assert!(problems.is_empty(), "{problems:?}");
        let found: Vec<(&str, &str, Option<&str>, usize)> = origins
            .iter()
            .map(|o| (o.key.as_str(), o.value.as_str(), o.profile.as_deref(), o.line))
            .collect();
        assert_eq!(
            found,
            [
                ("model", "\"D65\"", Some("base"), 2),
                ("timezone", "\"Europe/Paris\"", Some("desk"), 6)
            ]
        );
    }

    #[test]
    fn a_cycle_is_reported_where_it_closes() {
        let source =
            "[profiles.a]\nprofile = \"b\"\n[profiles.b]\nprofile = \"a\"\n[phones.x]\nprofile = \"a\"\n";
        let (_, problems) = expand(source, "x");
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages, ["4:11: profiles.b.profile: profile cycle: a → b → a"]);
    }
}
