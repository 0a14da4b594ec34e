//! Answers of the admin API as aligned text tables for the terminal (the
//! CLI's `presence list`, `hints`, …).

use std::fmt::Write;

use serde_json::Value;

use super::utc_time::format_time;

/// Renders rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(text, "{cell:<width$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The string at `key` as a cell: empty when absent or not a string, a
/// line break shown as `\n` so that a row stays one line.
pub fn cell(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace('\n', "\\n")
}

/// An API answer that is a JSON array as rows, one per element.
pub fn rows(list: &Value, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    list.as_array().into_iter().flatten().map(row).collect()
}

/// One presence JSON object as a table row.
pub fn presence_row(value: &Value) -> Vec<String> {
    vec![
        cell(value, "provider"),
        cell(value, "state"),
        cell(value, "subtype"),
        cell(value, "message"),
        format_time(value.get("changed_at").and_then(Value::as_u64)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_under_their_header() {
        let rendered = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(rendered, "A    BB\nxyz  1\n");
    }

    #[test]
    fn a_cell_is_empty_for_a_missing_or_non_string_value_and_one_line_for_text() {
        let value = serde_json::json!({ "text": "a\nb", "number": 7 });
        assert_eq!(cell(&value, "text"), "a\\nb");
        assert_eq!(cell(&value, "number"), "");
        assert_eq!(cell(&value, "missing"), "");
    }

    #[test]
    fn rows_come_one_per_array_element_and_none_from_anything_else() {
        let first = |v: &Value| vec![cell(v, "a")];
        assert_eq!(
            rows(&serde_json::json!([{ "a": "x" }, { "a": "y" }]), first),
            [["x"], ["y"]]
        );
        assert!(rows(&serde_json::json!({ "a": "x" }), first).is_empty());
    }

    #[test]
    fn a_presence_row_escapes_line_breaks_and_formats_the_time() {
        let row = presence_row(&serde_json::json!({
            "provider": "CustomPresence:2000", "state": "away", "subtype": "",
            "message": "back\nsoon", "changed_at": 0
        }));
        assert_eq!(
            row,
            [
                "CustomPresence:2000",
                "away",
                "",
                "back\\nsoon",
                "1970-01-01 00:00:00Z"
            ]
        );
    }
}
