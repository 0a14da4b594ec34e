//! `log_safe`: how a user name a client sent may appear in a log line.

/// A user name as it may appear in a log line: printable, short, no spaces
/// (so a crafted name cannot forge a second log line or fool fail2ban).
pub fn log_safe(user: &str) -> String {
    let cleaned: String = user
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if cleaned.is_empty() {
        "-".to_owned()
    } else {
        cleaned
    }
}
