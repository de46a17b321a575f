//! Calendar rules of the monthly meeting cycle: "nth-to-last weekday of the month", Belgian public
//! holidays, the landlord's closing days, all in the landlord's time zone.
//!
//! Pure: dates in, dates out. The `cron` crate cannot say "second-to-last Thursday", so the rule is
//! written here and table-tested.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The `n`th-to-last `weekday` of a month: `n = 1` is the last Thursday, `n = 2` the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NthLastWeekday {
    pub n: u32,
    pub weekday: Weekday,
}

impl NthLastWeekday {
    /// The date of this rule in the given month; `None` only for an invalid month or `n` beyond
    /// the number of such weekdays (never for n ≤ 4).
    pub fn in_month(self, year: i32, month: u32) -> Option<NaiveDate> {
        let last = last_day_of_month(year, month)?;
        let back =
            (7 + last.weekday().num_days_from_monday() - self.weekday.num_days_from_monday()) % 7;
        let date = last
            - Duration::days(i64::from(back))
            - Duration::weeks(i64::from(self.n.checked_sub(1)?));
        (date.month() == month).then_some(date)
    }
}

/// The last day of a month (31 January, 28 or 29 February, …).
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn last_and_second_to_last_thursday() {
        let last = NthLastWeekday {
            n: 1,
            weekday: Weekday::Thu,
        };
        let second = NthLastWeekday {
            n: 2,
            weekday: Weekday::Thu,
        };
        // November 2026 has four Thursdays (5, 12, 19, 26).
        assert_eq!(last.in_month(2026, 11), Some(d(2026, 11, 26)));
        assert_eq!(second.in_month(2026, 11), Some(d(2026, 11, 19)));
        // December 2026 has five Thursdays (3 … 31): the meeting would land on 31 December.
        assert_eq!(last.in_month(2026, 12), Some(d(2026, 12, 31)));
        assert_eq!(second.in_month(2026, 12), Some(d(2026, 12, 24)));
        // A month ending on a Thursday.
        assert_eq!(last.in_month(2026, 4), Some(d(2026, 4, 30)));
    }
}
