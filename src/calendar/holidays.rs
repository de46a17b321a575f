//! Belgian public holidays (wettelijke feestdagen), the landlord's closing days, and what a
//! working day is.
//!
//! Every holiday is computed from the year: the fixed ones are dates, the moving ones count from
//! Easter Sunday (anonymous Gregorian algorithm). There is no list of dates to keep up to date.
//! Pure: no clock, no I/O.

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// The ten Belgian public holidays (Wet van 4 januari 1974 betreffende de feestdagen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holiday {
    NewYear,
    EasterMonday,
    LabourDay,
    Ascension,
    WhitMonday,
    NationalDay,
    Assumption,
    AllSaints,
    Armistice,
    Christmas,
}

impl Holiday {
    /// The Dutch (Flemish) name, as it appears in mails.
    pub fn dutch(self) -> &'static str {
        match self {
            Holiday::NewYear => "Nieuwjaar",
            Holiday::EasterMonday => "Paasmaandag",
            Holiday::LabourDay => "Dag van de Arbeid",
            Holiday::Ascension => "Onze-Lieve-Heer-Hemelvaart",
            Holiday::WhitMonday => "Pinkstermaandag",
            Holiday::NationalDay => "Nationale feestdag",
            Holiday::Assumption => "Onze-Lieve-Vrouw-Hemelvaart",
            Holiday::AllSaints => "Allerheiligen",
            Holiday::Armistice => "Wapenstilstand",
            Holiday::Christmas => "Kerstmis",
        }
    }

    /// The English name, for logs and the admin command line.
    pub fn english(self) -> &'static str {
        match self {
            Holiday::NewYear => "New Year's Day",
            Holiday::EasterMonday => "Easter Monday",
            Holiday::LabourDay => "Labour Day",
            Holiday::Ascension => "Ascension Day",
            Holiday::WhitMonday => "Whit Monday",
            Holiday::NationalDay => "Belgian National Day",
            Holiday::Assumption => "Assumption Day",
            Holiday::AllSaints => "All Saints' Day",
            Holiday::Armistice => "Armistice Day",
            Holiday::Christmas => "Christmas Day",
        }
    }
}

/// Easter Sunday of a Gregorian year (the "anonymous Gregorian algorithm", Meeus/Jones/Butcher).
///
/// `None` before the Gregorian calendar (1583) or past what chrono can represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    // The algorithm is defined for positive years; negative years are not ours to plan.
    if year < 1583 {
        return None;
    }
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// All Belgian public holidays of a year, in date order. Empty for a year before 1583.
pub fn belgian_holidays(year: i32) -> Vec<(NaiveDate, Holiday)> {
    let Some(easter) = easter_sunday(year) else {
        return Vec::new();
    };
    let fixed =
        |month, day, holiday| NaiveDate::from_ymd_opt(year, month, day).map(|d| (d, holiday));
    let mut days: Vec<(NaiveDate, Holiday)> = [
        fixed(1, 1, Holiday::NewYear),
        Some((easter + Duration::days(1), Holiday::EasterMonday)),
        fixed(5, 1, Holiday::LabourDay),
        Some((easter + Duration::days(39), Holiday::Ascension)),
        Some((easter + Duration::days(50), Holiday::WhitMonday)),
        fixed(7, 21, Holiday::NationalDay),
        fixed(8, 15, Holiday::Assumption),
        fixed(11, 1, Holiday::AllSaints),
        fixed(11, 11, Holiday::Armistice),
        fixed(12, 25, Holiday::Christmas),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Ascension can fall on 1 May (2008): both stay listed, order by date.
    days.sort_by_key(|(d, _)| *d);
    days
}

/// The Belgian public holiday on this date, if any.
pub fn belgian_holiday(date: NaiveDate) -> Option<Holiday> {
    belgian_holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, h)| h)
}

/// Why a date is not a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayOff {
    Weekend {
        weekday: Weekday,
    },
    Holiday {
        holiday: Holiday,
    },
    /// One of the landlord's own closing days, with the configured range it belongs to.
    ClosingDay {
        from: NaiveDate,
        to: NaiveDate,
    },
}

impl DayOff {
    /// Dutch, for mails: "feestdag (Kerstmis)", "sluitingsdag (24/12/2026 – 01/01/2027)".
    pub fn dutch(&self) -> String {
        match self {
            DayOff::Weekend { .. } => "weekend".to_string(),
            DayOff::Holiday { holiday } => format!("feestdag ({})", holiday.dutch()),
            DayOff::ClosingDay { from, to } if from == to => {
                format!("sluitingsdag ({})", from.format("%d/%m/%Y"))
            }
            DayOff::ClosingDay { from, to } => format!(
                "sluitingsdagen ({} – {})",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            ),
        }
    }
}

impl fmt::Display for DayOff {
    /// English, for the admin command line and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayOff::Weekend { weekday } => write!(f, "a {weekday} (weekend)"),
            DayOff::Holiday { holiday } => write!(f, "a public holiday ({})", holiday.english()),
            DayOff::ClosingDay { from, to } if from == to => {
                write!(f, "a closing day of the landlord ({from})")
            }
            DayOff::ClosingDay { from, to } => {
                write!(f, "a closing day of the landlord ({from} .. {to})")
            }
        }
    }
}

/// Why `date` is not a working day, or `None` when it is one.
///
/// A weekend wins over a holiday, and a holiday over a closing day: the most general reason is
/// the one people recognise.
pub fn day_off(date: NaiveDate, closing_days: &[(NaiveDate, NaiveDate)]) -> Option<DayOff> {
    let weekday = date.weekday();
    if matches!(weekday, Weekday::Sat | Weekday::Sun) {
        return Some(DayOff::Weekend { weekday });
    }
    if let Some(holiday) = belgian_holiday(date) {
        return Some(DayOff::Holiday { holiday });
    }
    closing_days
        .iter()
        .find(|(from, to)| (*from..=*to).contains(&date))
        .map(|&(from, to)| DayOff::ClosingDay { from, to })
}

/// Monday to Friday, not a Belgian public holiday and not one of the landlord's closing days.
pub fn is_working_day(date: NaiveDate, closing_days: &[(NaiveDate, NaiveDate)]) -> bool {
    day_off(date, closing_days).is_none()
}

/// The `n`th working day after `date` (`n = 0` is `date` itself, whatever it is).
///
/// Used for "no conclusions 3 working days after the meeting". `None` only past chrono's range or
/// when no working day exists for a whole year (a closing range that long is a config mistake).
pub fn working_days_after(
    date: NaiveDate,
    n: u32,
    closing_days: &[(NaiveDate, NaiveDate)],
) -> Option<NaiveDate> {
    step_working_days(date, n, closing_days, 1)
}

/// The `n`th working day before `date` (`n = 0` is `date` itself).
pub fn working_days_before(
    date: NaiveDate,
    n: u32,
    closing_days: &[(NaiveDate, NaiveDate)],
) -> Option<NaiveDate> {
    step_working_days(date, n, closing_days, -1)
}

/// The nearest working day from `date` on (`direction` 1) or back (−1), `date` included; within a
/// year, because no landlord closes longer.
pub fn nearest_working_day(
    date: NaiveDate,
    closing_days: &[(NaiveDate, NaiveDate)],
    direction: i64,
) -> Option<NaiveDate> {
    let mut day = date;
    for _ in 0..=366 {
        if is_working_day(day, closing_days) {
            return Some(day);
        }
        day = day.checked_add_signed(Duration::days(direction))?;
    }
    None
}

fn step_working_days(
    date: NaiveDate,
    n: u32,
    closing_days: &[(NaiveDate, NaiveDate)],
    direction: i64,
) -> Option<NaiveDate> {
    let mut day = date;
    for _ in 0..n {
        let next = day.checked_add_signed(Duration::days(direction))?;
        day = nearest_working_day(next, closing_days, direction)?;
    }
    Some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_sundays_2024_to_2030_match_the_published_dates() {
        let table = [
            (2024, d(2024, 3, 31)),
            (2025, d(2025, 4, 20)),
            (2026, d(2026, 4, 5)),
            (2027, d(2027, 3, 28)),
            (2028, d(2028, 4, 16)),
            (2029, d(2029, 4, 1)),
            (2030, d(2030, 4, 21)),
            // Edge years of the algorithm: earliest and latest possible Easter.
            (1818, d(1818, 3, 22)),
            (2038, d(2038, 4, 25)),
        ];
        for (year, expected) in table {
            assert_eq!(easter_sunday(year), Some(expected), "Easter {year}");
            assert_eq!(expected.weekday(), Weekday::Sun);
        }
    }

    #[test]
    fn moving_holidays_follow_easter() {
        // 2026: Easter 5 April → Easter Monday 6 April, Ascension 14 May, Whit Monday 25 May.
        // 2027: Easter 28 March → Easter Monday 29 March, Ascension 6 May, Whit Monday 17 May.
        let table = [
            (d(2026, 4, 6), Holiday::EasterMonday),
            (d(2026, 5, 14), Holiday::Ascension),
            (d(2026, 5, 25), Holiday::WhitMonday),
            (d(2027, 3, 29), Holiday::EasterMonday),
            (d(2027, 5, 6), Holiday::Ascension),
            (d(2027, 5, 17), Holiday::WhitMonday),
            (d(2030, 5, 30), Holiday::Ascension),
        ];
        for (date, holiday) in table {
            assert_eq!(belgian_holiday(date), Some(holiday), "{date}");
        }
        for year in 2024..=2030 {
            for (date, holiday) in belgian_holidays(year) {
                match holiday {
                    Holiday::EasterMonday | Holiday::WhitMonday => {
                        assert_eq!(date.weekday(), Weekday::Mon, "{holiday:?} {year}")
                    }
                    Holiday::Ascension => {
                        assert_eq!(date.weekday(), Weekday::Thu, "{holiday:?} {year}")
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn ten_holidays_every_year_fixed_ones_on_their_dates() {
        for year in 2024..=2030 {
            let days = belgian_holidays(year);
            assert_eq!(days.len(), 10, "{year}");
            for (m, day, h) in [
                (1, 1, Holiday::NewYear),
                (5, 1, Holiday::LabourDay),
                (7, 21, Holiday::NationalDay),
                (8, 15, Holiday::Assumption),
                (11, 1, Holiday::AllSaints),
                (11, 11, Holiday::Armistice),
                (12, 25, Holiday::Christmas),
            ] {
                assert!(days.contains(&(d(year, m, day), h)), "{h:?} {year}");
            }
        }
    }

    #[test]
    fn working_days_exclude_weekends_holidays_and_closing_days() {
        let closing = [(d(2026, 12, 24), d(2027, 1, 1))];
        let table = [
            (d(2026, 11, 26), None),
            (
                d(2026, 11, 28),
                Some(DayOff::Weekend {
                    weekday: Weekday::Sat,
                }),
            ),
            (
                d(2026, 11, 11),
                Some(DayOff::Holiday {
                    holiday: Holiday::Armistice,
                }),
            ),
            // A holiday inside the closing range is reported as the holiday.
            (
                d(2026, 12, 25),
                Some(DayOff::Holiday {
                    holiday: Holiday::Christmas,
                }),
            ),
            (
                d(2026, 12, 31),
                Some(DayOff::ClosingDay {
                    from: d(2026, 12, 24),
                    to: d(2027, 1, 1),
                }),
            ),
            (d(2026, 12, 23), None),
            (d(2027, 1, 4), None),
        ];
        for (date, expected) in table {
            assert_eq!(day_off(date, &closing), expected, "{date}");
            assert_eq!(is_working_day(date, &closing), expected.is_none());
        }
        // Without closing days, 31 December is an ordinary working day in Belgium.
        assert!(is_working_day(d(2026, 12, 31), &[]));
    }

    #[test]
    fn working_days_after_skip_weekends_holidays_and_closing_days() {
        let closing = [(d(2026, 12, 24), d(2027, 1, 1))];
        let table = [
            // Meeting Thursday 26 Nov 2026 + 3 working days → Tuesday 1 Dec.
            (d(2026, 11, 26), 3, d(2026, 12, 1)),
            // Across Armistice (Wed 11 Nov 2026): Tue 10 Nov + 1 → Thu 12 Nov.
            (d(2026, 11, 10), 1, d(2026, 11, 12)),
            // Across the Christmas closing: Wed 23 Dec + 1 → Mon 4 Jan 2027.
            (d(2026, 12, 23), 1, d(2027, 1, 4)),
            // Across Easter Monday 2027 (29 March): Thu 25 March + 2 → Tue 30 March.
            (d(2027, 3, 25), 2, d(2027, 3, 30)),
            (d(2026, 11, 26), 0, d(2026, 11, 26)),
        ];
        for (from, n, expected) in table {
            assert_eq!(
                working_days_after(from, n, &closing),
                Some(expected),
                "{from} + {n}"
            );
        }
        assert_eq!(
            working_days_before(d(2026, 12, 23), 5, &closing),
            Some(d(2026, 12, 16))
        );
    }
}
