//! Reading Asterisk `.conf` files the way Asterisk does: `[section]`
//! headers, `key = value` and `key => value` lines, `;` comments (`\;` is a
//! literal semicolon), `#include` (relative to the including file),
//! templates (`[name](!)`) and inheritance (`[name](tmpl1,tmpl2)`), and
//! `(+)` to add to an earlier section.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One `key = value` with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
    /// The template (`[name](!)`) it was written in, when inherited.
    pub template: Option<String>,
}

/// A section after template expansion (inherited entries first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub entries: Vec<Entry>,
    /// The templates it names itself (`[name](tmpl1,tmpl2)`).
    pub parents: Vec<String>,
    /// Every template it inherits from, nearest first, each with the
    /// templates that one names (so chains can become profiles).
    pub templates: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// `FILE:LINE`: where a note about this entry points.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

impl Section {
    /// `FILE:LINE: [NAME]`: how a note about this section starts.
    pub fn at(&self) -> String {
        format!("{}:{}: [{}]", self.file.display(), self.line, self.name)
    }

    /// The last value of `key` (later lines override inherited ones).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| e.value.as_str())
    }

    /// Every value of a key that may repeat (`line=`, `network=`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| e.value.as_str())
            .collect()
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: #include nested deeper than 10 levels (a loop?)", file.display())]
    IncludeDepth { file: PathBuf },
}

struct RawSection {
    name: String,
    file: PathBuf,
    line: usize,
    template: bool,
    parents: Vec<String>,
    entries: Vec<Entry>,
}

/// Reads `path` (and its includes); returns the non-template sections in
/// file order, templates applied.
pub fn read(path: &Path) -> Result<Vec<Section>, ConfError> {
    let mut raw: Vec<RawSection> = Vec::new();
    read_into(path, &mut raw, 0)?;
    let templates: HashMap<String, usize> = raw
        .iter()
        .enumerate()
        .filter(|(_, s)| s.template)
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let mut sections = Vec::new();
    for section in raw.iter().filter(|s| !s.template) {
        let mut entries = Vec::new();
        let mut chain = Vec::new();
        for parent in &section.parents {
            let Some(&index) = templates.get(parent) else {
                return Err(ConfError::Syntax {
                    file: section.file.clone(),
                    line: section.line,
                    message: format!("section [{}] uses unknown template ({parent})", section.name),
                });
            };
            inherit(&raw, &templates, index, &mut entries, &mut chain, 0);
        }
        entries.extend(section.entries.iter().cloned());
        // Nearest first: the direct parents were pushed after their own.
        chain.reverse();
        sections.push(Section {
            name: section.name.clone(),
            file: section.file.clone(),
            line: section.line,
            entries,
            parents: section.parents.clone(),
            templates: chain,
        });
    }
    Ok(sections)
}

/// Templates may themselves inherit; depth-limited against loops.
fn inherit(
    raw: &[RawSection],
    templates: &HashMap<String, usize>,
    index: usize,
    out: &mut Vec<Entry>,
    chain: &mut Vec<(String, Vec<String>)>,
    depth: usize,
) {
    if depth > 10 {
        return;
    }
    let template = &raw[index];
    for parent in &template.parents {
        if let Some(&parent) = templates.get(parent) {
            inherit(raw, templates, parent, out, chain, depth + 1);
        }
    }
    if !chain.iter().any(|(name, _)| *name == template.name) {
        chain.push((template.name.clone(), template.parents.clone()));
    }
    out.extend(template.entries.iter().cloned().map(|entry| Entry {
        template: Some(template.name.clone()),
        ..entry
    }));
}

fn read_into(path: &Path, raw: &mut Vec<RawSection>, depth: usize) -> Result<(), ConfError> {
    if depth > 10 {
        return Err(ConfError::IncludeDepth {
            file: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let syntax = |message: &str| ConfError::Syntax {
            file: path.to_path_buf(),
            line: number,
            message: message.to_owned(),
        };
        let line = strip_comment(line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(include) = line.strip_prefix("#include") {
            let target = include.trim().trim_matches(|c| c == '"' || c == '<' || c == '>');
            let target = path.parent().unwrap_or(Path::new(".")).join(target);
            read_into(&target, raw, depth + 1)?;
            continue;
        }
        if line.starts_with('#') {
            continue; // #exec and friends: not supported, not content
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (name, after) = rest.split_once(']').ok_or_else(|| syntax("unclosed [section]"))?;
            let options = after.trim();
            let options = options
                .strip_prefix('(')
                .and_then(|o| o.strip_suffix(')'))
                .unwrap_or("");
            let mut template = false;
            let mut append = false;
            let mut parents = Vec::new();
            for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match option {
                    "!" => template = true,
                    "+" => append = true,
                    parent => parents.push(parent.to_owned()),
                }
            }
            if append && let Some(existing) = raw.iter().rposition(|s| s.name == name) {
                let section = raw.remove(existing);
                raw.push(section);
                continue;
            }
            raw.push(RawSection {
                name: name.trim().to_owned(),
                file: path.to_path_buf(),
                line: number,
                template,
                parents,
                entries: Vec::new(),
            });
            continue;
        }
        let (key, value) = match line.split_once("=>").or_else(|| line.split_once('=')) {
            Some((key, value)) => (key.trim(), value.trim()),
            None => return Err(syntax("expected key = value")),
        };
        let section = raw
            .last_mut()
            .ok_or_else(|| syntax("key = value before any [section]"))?;
        section.entries.push(Entry {
            key: key.to_owned(),
            value: value.replace("\\;", ";"),
            file: path.to_path_buf(),
            line: number,
            template: None,
        });
    }
    Ok(())
}

/// Drops a `;` comment, keeping `\;`.
fn strip_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                out.push_str("\\;");
                chars.next();
            }
            ';' => break,
            c => out.push(c),
        }
    }
    out
}
