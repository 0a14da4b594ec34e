//! What converting one phone needs from the caller and from the rest of
//! the file: `ImportOptions` (what DPMA does not say) and `Context`
//! (profiles, section names, lines, the phonebook folder).

use std::collections::HashMap;
use std::path::PathBuf;

use super::dpma_profiles::ProfilePlan;
use crate::config::PhoneModel;

/// What to fill in that DPMA does not know.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub server_address: Option<String>,
    /// `None`: phones get no `model`; the server reads it from each
    /// phone's User-Agent.
    pub model: Option<PhoneModel>,
}

/// What converting a phone needs to know about the rest of the file.
pub struct Context<'a> {
    pub options: &'a ImportOptions,
    pub plan: ProfilePlan,
    /// Section names per `type=` (lower case), in file order.
    pub names: HashMap<String, Vec<&'a str>>,
    /// Each imported line's name and extension → its name.
    pub lines: HashMap<String, String>,
    /// Where `contact =` files are: `[general] file_directory`, if set.
    pub file_directory: Option<PathBuf>,
}

impl Context<'_> {
    pub fn has(&self, kind: &str, name: &str) -> bool {
        self.names.get(kind).is_some_and(|names| names.contains(&name))
    }
}
