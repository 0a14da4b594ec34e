//! `[firmware.NAME]` (DPMA `type=firmware`, "DPMA Configuration"): one firmware
//! image per model — its version and its file in `[general] files_dir`.
//! A phone gets the entry for its model, or the one it names with
//! `firmware = "NAME"` (a staged rollout: a profile names the new one).
//!
//! The phone compares `version` with its own and flashes when they differ
//! (`<firmwares>` in Sangoma's "Phones - XML Configuration"). File names
//! default to Digium's `<version>_<MODEL>_firmware.eff` (the names on
//! dphone.dl.digium.com, which Wazo's Digium plugin also writes).

use serde::Deserialize;
use toml::Spanned;

use super::entry::Entry;
use super::phone_model::PhoneModel;
use super::problem::{Problem, path_segment};

/// `[firmware.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareEntry {
    pub model: Option<PhoneModel>,
    /// e.g. `2_9_27` or `1_4_2_0_63880`.
    pub version: Option<Spanned<String>>,
    /// File name inside `files_dir`; default `<version>_<MODEL>_firmware.eff`.
    pub file: Option<Spanned<String>>,
}

/// A validated firmware image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    pub name: String,
    pub model: PhoneModel,
    pub version: String,
    /// A plain file name (no folders) inside `files_dir`.
    pub file: String,
    /// Where `file` (or the entry, when defaulted) is written, for
    /// "file not found" problems found at load.
    pub line: usize,
    pub column: usize,
}

/// Whether `name` is a plain file name: served under `/files/NAME`, so no
/// folders, no `..`, nothing a URL would need to escape.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub fn firmware(
    source: &str,
    entries: &[Entry<FirmwareEntry>],
    problems: &mut Vec<Problem>,
) -> Vec<Firmware> {
    let mut images = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("firmware.{}", path_segment(name.get_ref()));
        let (Some(model), Some(version)) = (value.model, &value.version) else {
            super::references::missing_keys(source, entry, &path, &["model", "version"], problems);
            continue;
        };
        if !is_plain_file_name(version.get_ref()) {
            problems.push(Problem::at(
                source,
                version.span(),
                format!("{path}.version"),
                "a version is letters, digits, `_`, `.` and `-` (e.g. 2_9_27)",
            ));
            continue;
        }
        let (file, span) = match &value.file {
            Some(file) => (file.get_ref().clone(), file.span()),
            None => (format!("{}_{model}_firmware.eff", version.get_ref()), name.span()),
        };
        if !is_plain_file_name(&file) {
            problems.push(Problem::at(
                source,
                span,
                format!("{path}.file"),
                format!("{file:?} must be a plain file name inside [general] files_dir"),
            ));
            continue;
        }
        let at = Problem::at(source, span, "", "");
        images.push(Firmware {
            name: name.get_ref().clone(),
            model,
            version: version.get_ref().clone(),
            file,
            line: at.line,
            column: at.column,
        });
    }
    images
}

/// The firmware a phone of `model` gets: the entry it names, else the one
/// entry for its model. Problems: a named entry that does not exist or is
/// for another model, or several entries for the model and none named.
pub fn for_phone(
    source: &str,
    path: &str,
    model: Option<PhoneModel>,
    named: Option<&Spanned<String>>,
    phone_span: std::ops::Range<usize>,
    images: &[Firmware],
    problems: &mut Vec<Problem>,
) -> Option<String> {
    if let Some(named) = named {
        match images.iter().find(|image| &image.name == named.get_ref()) {
            Some(image) => match model {
                Some(model) if image.model != model => problems.push(Problem::at(
                    source,
                    named.span(),
                    format!("{path}.firmware"),
                    format!(
                        "firmware {:?} is for a {}, this phone is a {model}",
                        image.name, image.model
                    ),
                )),
                _ => return Some(image.name.clone()),
            },
            None => problems.push(Problem::at(
                source,
                named.span(),
                format!("{path}.firmware"),
                format!("{:?} is not a [firmware] entry", named.get_ref()),
            )),
        }
        return None;
    }
    // Without a model: the entry of the model it turns out to be (render).
    let model = model?;
    let candidates: Vec<&str> = images
        .iter()
        .filter(|image| image.model == model)
        .map(|image| image.name.as_str())
        .collect();
    match candidates[..] {
        [] => None,
        [only] => Some(only.to_owned()),
        _ => {
            problems.push(Problem::at(
                source,
                phone_span,
                path.to_owned(),
                format!(
                    "several [firmware] entries are for a {model} ({}): name one with `firmware =`",
                    candidates.join(", ")
                ),
            ));
            None
        }
    }
}
