//! Which side wins, per presence provider, when the AMI connection is
//! (re)established. Decided in docs/DECISIONS.md ("Asterisk resync"):
//!
//! 1. Equal values: nothing to do.
//! 2. Changed here while Asterisk was out of reach (`dirty`): ours is the
//!    later choice, push it.
//! 3. Asterisk has nothing (`not_set`: a fresh astdb, a first deployment):
//!    push ours; opendpma's store is durable and holds the phones' choices.
//! 4. Otherwise Asterisk changed it while we were away (dialplan, another
//!    application): take Asterisk's.

use std::collections::{BTreeMap, BTreeSet};

use super::presence_codec::held_by_asterisk;
use crate::presence::{PresenceState, PresenceValue};

/// What to write to Asterisk and what to take from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResyncPlan {
    pub push: Vec<(String, PresenceValue)>,
    pub pull: Vec<(String, PresenceValue)>,
}

/// Plans the resync of opendpma's providers (`local`, `not_set` ones
/// included or not) against Asterisk's list.
pub fn plan(
    local: &[(String, PresenceValue)],
    asterisk: &BTreeMap<String, PresenceValue>,
    dirty: &BTreeSet<String>,
) -> ResyncPlan {
    let ours: BTreeMap<&str, &PresenceValue> = local
        .iter()
        .filter(|(_, value)| value.state != PresenceState::NotSet)
        .map(|(provider, value)| (provider.as_str(), value))
        .collect();
    let theirs: BTreeMap<&str, &PresenceValue> = asterisk
        .iter()
        .filter(|(provider, value)| value.state != PresenceState::NotSet && is_custom_presence(provider))
        .map(|(provider, value)| (provider.as_str(), value))
        .collect();
    let not_set = PresenceValue::not_set();
    let names: BTreeSet<&str> = ours.keys().chain(theirs.keys()).copied().collect();
    let mut plan = ResyncPlan::default();
    for name in names {
        let mine = ours.get(name).copied().unwrap_or(&not_set);
        let asterisks = theirs.get(name).copied().unwrap_or(&not_set);
        // A long value of ours that Asterisk holds cut is not a change
        // made in Asterisk (taking it would cut ours at every reconnect).
        if held_by_asterisk(mine).same_as(asterisks) {
            continue;
        }
        if dirty.contains(name) || asterisks.state == PresenceState::NotSet {
            plan.push.push((name.to_owned(), mine.clone()));
        } else {
            plan.pull.push((name.to_owned(), asterisks.clone()));
        }
    }
    plan
}

/// Only `CustomPresence:` providers are ours to mirror (Asterisk has
/// others, e.g. from XMPP).
pub fn is_custom_presence(provider: &str) -> bool {
    provider
        .get(..15)
        .is_some_and(|head| head.eq_ignore_ascii_case("CustomPresence:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(state: PresenceState, message: &str) -> PresenceValue {
        PresenceValue::for_test(state, message)
    }

    fn named(entries: &[(&str, PresenceValue)]) -> Vec<(String, PresenceValue)> {
        entries
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn each_rule_in_turn() {
        let away = value(PresenceState::Away, "lunch");
        let dnd = value(PresenceState::Dnd, "meeting");
        let local = named(&[
            ("CustomPresence:same", away.clone()),
            ("CustomPresence:dirty", away.clone()),
            ("CustomPresence:lost", dnd.clone()),
            ("CustomPresence:theirs", away.clone()),
            ("CustomPresence:unset", PresenceValue::not_set()),
        ]);
        let asterisk: BTreeMap<String, PresenceValue> = named(&[
            ("CustomPresence:same", away.clone()),
            ("CustomPresence:dirty", dnd.clone()),
            ("CustomPresence:lost", PresenceValue::not_set()),
            ("CustomPresence:theirs", dnd.clone()),
            ("CustomPresence:new", value(PresenceState::Unavailable, "")),
            ("XMPP:someone", dnd.clone()),
        ])
        .into_iter()
        .collect();
        let dirty = BTreeSet::from(["CustomPresence:dirty".to_owned()]);
        let plan = plan(&local, &asterisk, &dirty);
        assert_eq!(
            plan.push,
            named(&[
                ("CustomPresence:dirty", away.clone()),
                ("CustomPresence:lost", dnd.clone())
            ])
        );
        assert_eq!(
            plan.pull,
            named(&[
                ("CustomPresence:new", value(PresenceState::Unavailable, "")),
                ("CustomPresence:theirs", dnd.clone()),
            ])
        );
    }

    #[test]
    fn cleared_here_while_away_clears_asterisk() {
        let asterisk = BTreeMap::from([("CustomPresence:a".to_owned(), value(PresenceState::Xa, ""))]);
        let dirty = BTreeSet::from(["CustomPresence:a".to_owned()]);
        let plan = plan(&[], &asterisk, &dirty);
        assert_eq!(
            plan.push,
            named(&[("CustomPresence:a", PresenceValue::not_set())])
        );
        assert!(plan.pull.is_empty());
    }

    /// Asterisk keeps 255 bytes of a long message we wrote: that is not a
    /// change made in Asterisk, and ours stays whole.
    #[test]
    fn a_long_value_asterisk_holds_cut_is_not_taken() {
        let long = value(PresenceState::Away, &"m".repeat(1000));
        let local = named(&[("CustomPresence:a", long)]);
        let asterisk = BTreeMap::from([(
            "CustomPresence:a".to_owned(),
            value(PresenceState::Away, &"m".repeat(255)),
        )]);
        assert_eq!(plan(&local, &asterisk, &BTreeSet::new()), ResyncPlan::default());
    }
}
