//! Calendar rules of the monthly meeting cycle: "nth-to-last weekday of the month", Belgian public
//! holidays, the landlord's closing days, all in the landlord's time zone; and the two pure
//! products built on them: the calendar invitation ([`ics`]) and the agenda of one partner
//! ([`agenda`]).
//!
//! Pure: dates in, dates out. Nothing here reads a clock (callers pass `now`), a file or the
//! database, and nothing here sends mail. The `cron` crate cannot say "second-to-last Thursday",
//! so the rule is written here and table-tested.
//!
//! | module | owns |
//! | --- | --- |
//! | [`holidays`] | Belgian public holidays (computed from Easter), closing days, working days |
//! | [`meeting`] | [`MeetingCalendar`]: a month's agenda and meeting, moved off days off, DST-safe |
//! | [`ics`] | iCalendar REQUEST / CANCEL text (RFC 5545, RFC 5546) for one meeting |
//! | [`agenda`] | the agenda of one partner for one month, from that partner's case summaries |
//! | [`reply`] | reading an attendee's calendar reply (which meeting, what was answered) |
//! | [`working_hours`] | the admins' working hours: is it working time, how much lies between two instants |

pub mod agenda;
pub mod holidays;
pub mod ics;
pub mod meeting;
pub mod reply;
pub mod working_hours;

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Serialize, Serializer};

pub use holidays::{
    belgian_holiday, belgian_holidays, day_off, easter_sunday, is_working_day, working_days_after,
    DayOff, Holiday,
};
pub use meeting::{
    meeting_mode, CalendarError, LocalTimeFix, MeetingCalendar, MeetingMode, MonthSchedule, Move,
    Note, ScheduledDay,
};

pub use crate::config::vocabulary::NthLastWeekday;

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

/// A calendar month ("2026-12"): the unit of the meeting cycle, of agenda and invitation
/// deduplication, and of `--month` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// `None` for a month outside 1..=12 or a year chrono cannot represent.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| Month { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 = January.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The following month (December → January of the next year).
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        // Checked in `new`/`of`; the fallback is never taken.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn last_day(self) -> NaiveDate {
        last_day_of_month(self.year, self.month).unwrap_or_default()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `YYYY-MM`, as typed after `--month`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a month; write it as YYYY-MM, e.g. 2026-12")]
pub struct BadMonth(pub String);

impl FromStr for Month {
    type Err = BadMonth;

    fn from_str(s: &str) -> Result<Month, BadMonth> {
        let bad = || BadMonth(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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

/// Dutch month names, for dates in mails ("1 december 2026").
pub const DUTCH_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// "1 december 2026".
pub fn dutch_date(d: NaiveDate) -> String {
    format!(
        "{} {} {}",
        d.day(),
        DUTCH_MONTHS[d.month0() as usize],
        d.year()
    )
}

/// "december 2026".
pub fn dutch_month(year: i32, month: u32) -> String {
    let name = DUTCH_MONTHS
        .get((month as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("?");
    format!("{name} {year}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

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

    #[test]
    fn months_with_four_and_five_thursdays() {
        let last = NthLastWeekday {
            n: 1,
            weekday: Weekday::Thu,
        };
        let fourth = NthLastWeekday {
            n: 4,
            weekday: Weekday::Thu,
        };
        let fifth = NthLastWeekday {
            n: 5,
            weekday: Weekday::Thu,
        };
        // (year, month, number of Thursdays, last Thursday)
        let table = [
            (2026, 1, 5, 29),
            (2026, 2, 4, 26),
            (2026, 10, 5, 29),
            (2027, 2, 4, 25),
            (2027, 9, 5, 30),
            (2028, 2, 4, 24),
            (2028, 6, 5, 29),
        ];
        for (y, m, count, last_day) in table {
            assert_eq!(last.in_month(y, m), Some(d(y, m, last_day)), "{y}-{m}");
            // The fourth-to-last Thursday always exists; the fifth only in five-Thursday months.
            assert!(fourth.in_month(y, m).is_some());
            assert_eq!(fifth.in_month(y, m).is_some(), count == 5, "{y}-{m}");
            if count == 5 {
                assert_eq!(fifth.in_month(y, m).map(|d| d.day()), Some(last_day - 28));
            }
        }
    }

    #[test]
    fn month_parses_prints_and_rolls_over() {
        let dec: Month = "2026-12".parse().unwrap();
        assert_eq!(dec.to_string(), "2026-12");
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.last_day(), d(2026, 12, 31));
        assert_eq!(Month::of(d(2027, 2, 14)).last_day(), d(2027, 2, 28));
        for bad in ["2026-13", "2026-1", "26-12", "december", "2026-00", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }
}
