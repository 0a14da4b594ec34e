//! Line secrets from pjsip.conf, for DPMA lines that do not carry their
//! own `secret`.

use std::collections::HashMap;

use super::asterisk_conf::Section;

/// Line secrets from pjsip.conf: the auth named by an endpoint's `auth=`,
/// else an auth section named after the line, else one whose `username`
/// is the line name.
pub fn pjsip_secrets(sections: &[Section]) -> HashMap<String, String> {
    let auths: HashMap<&str, &Section> = sections
        .iter()
        .filter(|s| s.get("type").is_some_and(|t| t.eq_ignore_ascii_case("auth")))
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut secrets = HashMap::new();
    for section in sections {
        let kind = section.get("type").unwrap_or("");
        if kind.eq_ignore_ascii_case("endpoint")
            && let Some(password) = section
                .get("auth")
                .and_then(|a| auths.get(a))
                .and_then(|a| a.get("password"))
        {
            secrets.insert(section.name.clone(), password.to_owned());
        }
        if kind.eq_ignore_ascii_case("auth")
            && let Some(password) = section.get("password")
        {
            secrets
                .entry(section.name.clone())
                .or_insert_with(|| password.to_owned());
            if let Some(user) = section.get("username") {
                secrets
                    .entry(user.to_owned())
                    .or_insert_with(|| password.to_owned());
            }
        }
    }
    secrets
}
