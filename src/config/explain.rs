//! `opendpma render <mac> --explain`: every key set for a phone and its
//! lines, with the value and where it was set — the entry itself or the
//! profile it was inherited from — as `FILE:LINE`. Keys not listed take
//! their documented defaults.

use std::fmt::Write;

use super::model::{Config, Phone};
use super::problem::path_segment;

impl Config {
    /// The origin report for `phone` (secrets masked).
    pub fn explain(&self, phone: &Phone) -> String {
        let mut out = String::new();
        let file = self.source.display();
        let paths = std::iter::once(format!("phones.{}", path_segment(&phone.name))).chain(
            phone
                .lines
                .iter()
                .map(|line| format!("lines.{}", path_segment(line))),
        );
        for path in paths {
            let _ = writeln!(out, "[{path}]");
            let origins = self.origins.get(&path).map_or(&[][..], Vec::as_slice);
            let width = origins
                .iter()
                .map(|o| o.key.len() + o.value.len())
                .max()
                .unwrap_or(0);
            for origin in origins {
                let assignment = format!("{} = {}", origin.key, origin.value);
                let from = match &origin.profile {
                    Some(profile) => format!("profiles.{}", path_segment(profile)),
                    None => path.clone(),
                };
                let _ = writeln!(
                    out,
                    "  {assignment:<pad$}  # {from} at {file}:{}:{}",
                    origin.line,
                    origin.column,
                    pad = width + 3
                );
            }
        }
        out.push_str("# keys not listed take their defaults\n");
        out
    }
}
