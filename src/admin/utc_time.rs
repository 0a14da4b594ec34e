//! Unix milliseconds as a UTC date and time, for people: the CLI's
//! tables and the dashboard show "changed at" this way. No time zone
//! database: UTC is what the server logs too.

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SSZ` (UTC), or `-`.
pub fn format_time(millis: Option<u64>) -> String {
    let Some(millis) = millis else {
        return "-".to_owned();
    };
    let seconds = millis / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_unix_millis_as_utc() {
        assert_eq!(format_time(Some(0)), "1970-01-01 00:00:00Z");
        assert_eq!(format_time(Some(1_795_998_538_455)), "2026-11-30 00:28:58Z");
        assert_eq!(format_time(Some(951_782_400_000)), "2000-02-29 00:00:00Z");
        assert_eq!(format_time(None), "-");
    }
}
