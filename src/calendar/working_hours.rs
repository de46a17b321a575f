//! The admins' working hours: whether a moment falls in them, and how much of the time between
//! two moments lies on working days. The health check alerts only in working hours and counts
//! silence on working days only, so that a quiet weekend is not an outage
//! (`intake_silent_after = "1d"` alerted every Saturday): a mail on Friday at 17:00 and none
//! since is a day of silence on Monday at 17:00.
//!
//! Pure: instants in the organisation's time zone, the configured days and span; a Belgian
//! public holiday or one of the landlord's closing days is never working time.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::WorkingHours;

use super::holidays::belgian_holiday;

/// Is `date` one of the working days (weekday listed, no holiday, no closing day)?
fn works_on(
    hours: &WorkingHours,
    closing_days: &[(NaiveDate, NaiveDate)],
    date: NaiveDate,
) -> bool {
    hours.days.contains(&date.weekday())
        && belgian_holiday(date).is_none()
        && !closing_days
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&date))
}

/// The working span of `date` as instants, or `None` on a day off. A start or end that a DST
/// change skips is taken at the first instant after it.
fn span(
    hours: &WorkingHours,
    closing_days: &[(NaiveDate, NaiveDate)],
    tz: Tz,
    date: NaiveDate,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if !works_on(hours, closing_days, date) {
        return None;
    }
    let at = |t| {
        let local = date.and_time(t);
        tz.from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
    };
    Some((at(hours.start)?, at(hours.end)?))
}

/// Is `at` within working hours?
pub fn is_working_time(
    hours: &WorkingHours,
    closing_days: &[(NaiveDate, NaiveDate)],
    tz: Tz,
    at: DateTime<Utc>,
) -> bool {
    let date = at.with_timezone(&tz).date_naive();
    span(hours, closing_days, tz, date).is_some_and(|(start, end)| start <= at && at < end)
}

/// The time between `from` and `to` that lies on working days, whole days (midnight to
/// midnight, local) whatever the hours; zero when `to` is not after `from`.
pub fn working_days_time_between(
    hours: &WorkingHours,
    closing_days: &[(NaiveDate, NaiveDate)],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Duration {
    let mut total = Duration::zero();
    if to <= from {
        return total;
    }
    let last = to.with_timezone(&tz).date_naive();
    let mut date = from.with_timezone(&tz).date_naive();
    let midnight = |date: NaiveDate| {
        tz.from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    while date <= last {
        let next = date.succ_opt();
        let day = match (works_on(hours, closing_days, date), next) {
            (true, Some(next)) => midnight(date).zip(midnight(next)),
            _ => None,
        };
        if let Some((start, end)) = day {
            let (a, b) = (start.max(from), end.min(to));
            if a < b {
                total += b - a;
            }
        }
        let Some(next) = next else { break };
        date = next;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Europe::Brussels;

    /// `2026-12-04 17:00` in Brussels.
    fn local(text: &str) -> DateTime<Utc> {
        let t = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        TZ.from_local_datetime(&t).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn working_time_is_monday_to_friday_8_to_18_in_brussels_by_default() {
        let h = WorkingHours::default();
        // 2026-12-04 is a Friday, 2026-12-05 a Saturday.
        for (at, working) in [
            ("2026-12-04 07:59", false),
            ("2026-12-04 08:00", true),
            ("2026-12-04 17:59", true),
            ("2026-12-04 18:00", false),
            ("2026-12-05 10:00", false),
            ("2026-12-06 10:00", false),
            ("2026-12-07 09:00", true),
            // Christmas (a Friday) and New Year (a Friday) are holidays.
            ("2026-12-25 10:00", false),
            ("2027-01-01 10:00", false),
            // Summer time: 08:00 in Brussels is 06:00 UTC.
            ("2026-07-01 08:30", true),
        ] {
            assert_eq!(is_working_time(&h, &[], TZ, local(at)), working, "{at}");
        }
    }

    #[test]
    fn silence_counts_only_on_working_days() {
        let h = WorkingHours::default();
        let d = |text| local(text);
        let closed = [(
            NaiveDate::from_ymd_opt(2026, 12, 28).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        )];
        for (from, to, closing, hours) in [
            // A mail on Friday at 17:00, Monday at 08:00: 15 hours, not 63.
            ("2026-12-04 17:00", "2026-12-07 08:00", &[][..], 15),
            // ... Monday at 17:00: a day.
            ("2026-12-04 17:00", "2026-12-07 17:00", &[], 24),
            // A whole working week.
            ("2026-11-30 00:00", "2026-12-05 00:00", &[], 120),
            // Over a weeknight: every hour counts.
            ("2026-12-03 18:30", "2026-12-04 07:30", &[], 13),
            // Christmas week with the landlord closed from the 28th to the 31st: the 24th and
            // the Monday after New Year's weekend until 08:00.
            ("2026-12-24 00:00", "2027-01-04 08:00", &closed[..], 32),
            // The clock going back on Sunday 25 October 2026 falls outside the working days.
            ("2026-10-23 18:00", "2026-10-26 18:00", &[], 24),
            // Backwards: nothing.
            ("2026-12-07 17:00", "2026-12-04 17:00", &[], 0),
        ] {
            assert_eq!(
                working_days_time_between(&h, closing, TZ, d(from), d(to)),
                Duration::hours(hours),
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn configured_days_and_hours_replace_the_default() {
        let h = WorkingHours {
            days: vec![chrono::Weekday::Sat],
            start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(12, 30, 0).unwrap(),
        };
        assert!(is_working_time(&h, &[], TZ, local("2026-12-05 12:00")));
        assert!(!is_working_time(&h, &[], TZ, local("2026-12-04 10:00")));
        assert_eq!(
            working_days_time_between(
                &h,
                &[],
                TZ,
                local("2026-12-01 00:00"),
                local("2026-12-15 00:00")
            ),
            Duration::hours(2 * 24)
        );
    }
}
