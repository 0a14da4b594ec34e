//! What a model's keys allow a phone (docs/DECISIONS.md §15): more lines
//! than line keys cannot be shown, so that is a problem; more contacts than
//! BLF keys still fill the phonebook and are still watched, so that is a
//! warning.

use super::phone_model::PhoneModel;

/// A limit a phone entry runs into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLimit {
    /// Refused: the model cannot carry this many lines.
    TooManyLines { model: PhoneModel, lines: usize },
    /// Warned: contacts after the `capacity`th get no key.
    ContactsBeyondKeys {
        model: PhoneModel,
        lines: usize,
        capacity: usize,
    },
}

impl KeyLimit {
    /// The first limit `lines` lines and `contacts` contacts on `model` hit.
    pub fn check(model: PhoneModel, lines: usize, contacts: usize) -> Option<Self> {
        if lines > model.line_keys() {
            return Some(Self::TooManyLines { model, lines });
        }
        let capacity = model.key_layout().capacity(lines);
        (contacts > capacity).then_some(Self::ContactsBeyondKeys {
            model,
            lines,
            capacity,
        })
    }

    /// In words an admin can act on.
    pub fn message(&self) -> String {
        match *self {
            Self::TooManyLines { model, lines } => format!(
                "a {model} has {keys} line keys, so it can carry at most {keys} lines (got {lines})",
                keys = model.line_keys()
            ),
            Self::ContactsBeyondKeys {
                model,
                lines,
                capacity: 0,
            } => format!(
                "a {model} with {lines} line(s) has no key left for BLF; its contacts are in the \
                 phonebook only (no key)"
            ),
            Self::ContactsBeyondKeys {
                model,
                lines,
                capacity,
            } => format!(
                "a {model} with {lines} line(s) has {capacity} BLF keys; contacts after the \
                 {capacity}{} are in the phonebook only (no key)",
                ordinal_suffix(capacity)
            ),
        }
    }
}

/// "st", "nd", "rd" or "th" after `n`.
fn ordinal_suffix(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_refused_and_contacts_warned_per_model() {
        assert_eq!(
            KeyLimit::check(PhoneModel::D40, 3, 0),
            Some(KeyLimit::TooManyLines {
                model: PhoneModel::D40,
                lines: 3
            })
        );
        assert_eq!(KeyLimit::check(PhoneModel::D40, 2, 0), None);
        assert_eq!(KeyLimit::check(PhoneModel::D50, 4, 10), None);
        let crowded = KeyLimit::check(PhoneModel::D50, 1, 11).expect("warned");
        assert_eq!(
            crowded.message(),
            "a D50 with 1 line(s) has 10 BLF keys; contacts after the 10th are in the phonebook only (no key)"
        );
        let full = KeyLimit::check(PhoneModel::D62, 2, 1).expect("warned");
        assert!(full.message().contains("has no key left for BLF"));
        assert_eq!(
            KeyLimit::check(PhoneModel::D65, 7, 0).map(|l| l.message()),
            Some("a D65 has 6 line keys, so it can carry at most 6 lines (got 7)".to_owned())
        );
        assert_eq!(
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal_suffix),
            ["st", "nd", "rd", "th", "th", "th", "th", "st", "nd", "st"]
        );
    }
}
