//! Cron schedules for recurring scans: five fields (minute hour day month weekday), or six with
//! a leading seconds field.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

use super::ScanError;

/// Parses and checks a schedule; the error names the `schedule` field.
pub fn parse(text: &str) -> Result<Cron, ScanError> {
    let text = text.trim();
    let fields = text.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(ScanError::invalid(
            "schedule",
            "must be a cron expression with five fields (minute hour day month weekday) \
             or six (seconds first)",
        ));
    }
    // croner's default parser takes an optional leading seconds field.
    Cron::from_str(text).map_err(|e| ScanError::invalid("schedule", e))
}

/// The first time the schedule fires strictly after `after`.
pub fn next_after(cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after, false).ok()
}

/// Whether a scheduled scan whose last run started at `last_start` (or was created then) is due.
pub fn is_due(cron: &Cron, last_start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    next_after(cron, last_start).is_some_and(|next| next <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_field_expressions_parse_and_others_name_the_field() {
        assert!(parse("*/5 * * * *").is_ok());
        assert!(parse("0 3 * * MON").is_ok());
        assert!(parse("*/2 * * * * *").is_ok(), "six fields: seconds first");
        for bad in [
            "",
            "* * *",
            "61 * * * *",
            "not a cron at all x",
            "* * * * * * *",
        ] {
            match parse(bad) {
                Err(ScanError::Invalid { field, .. }) => assert_eq!(field, "schedule"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn due_when_the_next_fire_time_has_passed() {
        let cron = parse("0 * * * *").unwrap();
        let start: DateTime<Utc> = "2026-01-01T10:05:00Z".parse().unwrap();
        assert!(!is_due(
            &cron,
            start,
            "2026-01-01T10:59:00Z".parse().unwrap()
        ));
        assert!(is_due(
            &cron,
            start,
            "2026-01-01T11:00:00Z".parse().unwrap()
        ));
        assert_eq!(
            next_after(&cron, start),
            Some("2026-01-01T11:00:00Z".parse().unwrap())
        );
    }
}
