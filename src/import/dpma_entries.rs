//! One DPMA section's entries: which are written for it (`own_entries`),
//! each mapped by its option table or noted with why not (`mapped_or_noted`,
//! `note`: file, line, section, option and reason).

use super::asterisk_conf::{Entry, Section};
use super::dpma_options::{Row, by_hand, no_xml_form, row, write_mapped};
use super::dpma_profiles::ProfilePlan;

/// Notes that `entry` of `section` was not carried over, and `what` of it.
pub fn note(notes: &mut Vec<String>, section: &Section, entry: &Entry, what: &str) {
    notes.push(format!(
        "{}: [{}] {} = {}: {what}",
        entry.at(),
        section.name,
        entry.key,
        entry.value
    ));
}

/// Maps `entry` by `table`, or notes why not: no XML form (with the
/// reason), a value that does not fit, or an option opendpma does not know.
pub fn mapped_or_noted(
    table: &[Row],
    section: &Section,
    entry: &Entry,
    out: &mut String,
    notes: &mut Vec<String>,
) {
    match write_mapped(table, entry, out) {
        Ok(true) => {}
        Ok(false) => match (no_xml_form(&entry.key), by_hand(&entry.key)) {
            (Some(reason), _) => note(
                notes,
                section,
                entry,
                &format!("no XML form: {reason}; not imported"),
            ),
            (None, Some(what)) => note(
                notes,
                section,
                entry,
                &format!("set by hand: {what}; not imported"),
            ),
            (None, None) => note(notes, section, entry, "not supported; not imported"),
        },
        Err(why) => note(notes, section, entry, &why),
    }
}

/// The entries of `section` that are written for it: not `type`, not what
/// its profile holds, and of a single-valued option (one with a row in
/// `table`) only the last, which is the one Asterisk uses.
pub fn own_entries<'s>(section: &'s Section, table: &[Row], plan: &ProfilePlan) -> Vec<&'s Entry> {
    let entries = &section.entries;
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.key.eq_ignore_ascii_case("type") && !plan.in_profile(e))
        .filter(|(i, e)| {
            row(table, &e.key).is_none()
                || !entries[i + 1..]
                    .iter()
                    .any(|later| later.key.eq_ignore_ascii_case(&e.key) && !plan.in_profile(later))
        })
        .map(|(_, e)| e)
        .collect()
}
