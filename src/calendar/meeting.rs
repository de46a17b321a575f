//! [`MeetingCalendar`]: for one month, when the agenda mail goes out, when the structured meeting
//! (structureel overleg) takes place, and until when a partner may still ask to discuss a case.
//!
//! The rule dates come from config ("last Thursday", "second-to-last Thursday"). A meeting that
//! falls on a weekend, a Belgian public holiday or a closing day of the landlord moves as
//! configured and says why; the agenda then keeps its usual lead time in working days. Dates
//! become instants in the organisation's time zone here, once, with daylight-saving gaps and
//! folds resolved the way RFC 5545 resolves them, so the invitation and the scheduler agree.
//!
//! Pure: no clock (callers pass `now`), no I/O.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset as _,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use super::holidays::{self, DayOff};
use super::{Month, NthLastWeekday};
use crate::config::{ClosedDayShift, MeetingRule, Partner};

/// A calendar that cannot produce a month: every case is a configuration problem (permanent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    #[error("{month} has no {rule}")]
    NoSuchDay { month: Month, rule: String },
    #[error("no working day within a year of {from}: check meeting.closing_days")]
    NoWorkingDay { from: NaiveDate },
    #[error(
        "in {month} the agenda rule ({agenda}) does not fall before the meeting rule ({meeting}): \
         check meeting.agenda_nth_last and meeting.meeting_nth_last"
    )]
    AgendaNotBeforeMeeting {
        month: Month,
        agenda: NaiveDate,
        meeting: NaiveDate,
    },
    #[error(
        "partner `{partner}` meets online but has no Teams link: set teams_link on the partner or \
         in [meeting]"
    )]
    NoTeamsLink { partner: String },
    #[error(
        "partner `{partner}` meets at the office but no address is known: set \
         organisation.office_address or the partner's meeting_place"
    )]
    NoMeetingPlace { partner: String },
}

/// A day of the cycle: the date the rule gives, and the date it actually is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledDay {
    /// The date the rule gives ("last Thursday of December 2026" → 31 December).
    pub rule_date: NaiveDate,
    /// The date it takes place.
    pub date: NaiveDate,
    /// Why and from where it moved; `None` when `date == rule_date`.
    pub moved: Option<Move>,
}

/// Why a day of the cycle is not on its rule date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Move {
    /// The rule date is not a working day.
    DayOff { reason: DayOff },
    /// The meeting moved, and the agenda moved with it to keep its lead time.
    KeepsLeadTime { working_days: u32 },
}

impl std::fmt::Display for Move {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Move::DayOff { reason } => write!(f, "the rule date is {reason}"),
            Move::KeepsLeadTime { working_days } => write!(
                f,
                "the meeting moved; the agenda keeps its lead of {working_days} working days"
            ),
        }
    }
}

impl Move {
    /// Dutch, for mails: "verplaatst: feestdag (Kerstmis)".
    pub fn dutch(&self) -> String {
        match self {
            Move::DayOff { reason } => format!("verplaatst: {}", reason.dutch()),
            Move::KeepsLeadTime { working_days } => {
                format!("verplaatst samen met het overleg ({working_days} werkdagen op voorhand)")
            }
        }
    }
}

/// How a local time that does not exist once was turned into an instant (RFC 5545 §3.3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LocalTimeFix {
    /// The time falls in the spring-forward gap: read with the offset before the gap, so 02:30
    /// becomes 03:30 summer time.
    Gap { requested: NaiveDateTime },
    /// The time occurs twice (autumn fold): the first occurrence is taken.
    Ambiguous { requested: NaiveDateTime },
}

/// Something an admin should see about a month, although nothing is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// The agenda or meeting is on 24 or 31 December and those are working days here: many
    /// people are off, so the admin probably wants them in `meeting.closing_days`.
    YearEndWorkingDay { what: &'static str, date: NaiveDate },
    /// Moving off days off took the meeting into another month.
    OtherMonth { what: &'static str, date: NaiveDate },
    /// A configured time did not exist or existed twice that day.
    LocalTime {
        what: &'static str,
        fix: LocalTimeFix,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::YearEndWorkingDay { what, date } => write!(
                f,
                "the {what} is on {date}, a working day by config although many are off; add it to \
                 meeting.closing_days if the office is closed"
            ),
            Note::OtherMonth { what, date } => {
                write!(f, "the {what} moved into another month ({date})")
            }
            Note::LocalTime {
                what,
                fix: LocalTimeFix::Gap { requested },
            } => write!(
                f,
                "the {what} time {requested} does not exist (clocks go forward); it is read as \
                 the hour after"
            ),
            Note::LocalTime {
                what,
                fix: LocalTimeFix::Ambiguous { requested },
            } => write!(
                f,
                "the {what} time {requested} occurs twice (clocks go back); the first is taken"
            ),
        }
    }
}

/// One month of the cycle, for every partner alike (partners differ only in where they meet).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthSchedule {
    pub month: Month,
    /// The day the agenda mail goes out.
    pub agenda_day: ScheduledDay,
    /// The day of the structured meeting.
    pub meeting_day: ScheduledDay,
    /// When the agenda mail is due (the configured agenda time that day).
    #[serde(serialize_with = "rfc3339")]
    pub agenda_at: DateTime<Tz>,
    #[serde(serialize_with = "rfc3339")]
    pub meeting_start: DateTime<Tz>,
    #[serde(serialize_with = "rfc3339")]
    pub meeting_end: DateTime<Tz>,
    /// A partner's request to discuss a case counts for this month when it arrives before this
    /// instant: the start of the meeting day ("uiterlijk voor de laatste donderdag").
    #[serde(serialize_with = "rfc3339")]
    pub answer_deadline: DateTime<Tz>,
    pub notes: Vec<Note>,
}

impl MonthSchedule {
    /// Does a request received at `at` still count for this month's meeting?
    pub fn accepts_request(&self, at: DateTime<Utc>) -> bool {
        at < self.answer_deadline
    }
}

fn rfc3339<S: Serializer>(t: &DateTime<Tz>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339())
}

/// Where a partner's meeting takes place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeetingMode {
    /// Online, by this Teams link.
    Online { link: String },
    /// On site, at this address.
    OnSite { place: String },
}

impl std::fmt::Display for MeetingMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeetingMode::Online { link } => write!(f, "online (Teams: {link})"),
            MeetingMode::OnSite { place } => write!(f, "on site at {place}"),
        }
    }
}

/// Where `partner` meets: its own `meeting_place` first ("meet at this place instead of
/// online"), otherwise online by the partner's or the general Teams link, or at the office when
/// `[meeting] online = false`.
pub fn meeting_mode(
    rule: &MeetingRule,
    partner: &Partner,
    office_address: Option<&str>,
) -> Result<MeetingMode, CalendarError> {
    if let Some(place) = partner
        .meeting_place
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        return Ok(MeetingMode::OnSite {
            place: place.to_string(),
        });
    }
    if rule.online {
        partner
            .teams_link
            .as_deref()
            .or(rule.teams_link.as_deref())
            .filter(|l| !l.trim().is_empty())
            .map(|link| MeetingMode::Online {
                link: link.to_string(),
            })
            .ok_or_else(|| CalendarError::NoTeamsLink {
                partner: partner.id.clone(),
            })
    } else {
        office_address
            .filter(|a| !a.trim().is_empty())
            .map(|place| MeetingMode::OnSite {
                place: place.to_string(),
            })
            .ok_or_else(|| CalendarError::NoMeetingPlace {
                partner: partner.id.clone(),
            })
    }
}

/// The meeting rule of one landlord, in its time zone.
#[derive(Debug, Clone)]
pub struct MeetingCalendar {
    rule: MeetingRule,
    time_zone: Tz,
}

impl MeetingCalendar {
    pub fn new(rule: &MeetingRule, time_zone: Tz) -> MeetingCalendar {
        MeetingCalendar {
            rule: rule.clone(),
            time_zone,
        }
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn rule(&self) -> &MeetingRule {
        &self.rule
    }

    /// Why `date` is not a working day for this landlord, if it is not.
    pub fn day_off(&self, date: NaiveDate) -> Option<DayOff> {
        holidays::day_off(date, &self.rule.closing_days)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_off(date).is_none()
    }

    /// The `n`th working day after `date`: "no conclusions 3 working days after the meeting".
    pub fn working_days_after(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        holidays::working_days_after(date, n, &self.rule.closing_days)
    }

    /// When the conclusions reminder is due for a meeting held on `meeting_date`: the start of
    /// the day `conclusions_reminder_working_days` working days later, local time.
    pub fn conclusions_reminder_at(&self, meeting_date: NaiveDate) -> Option<DateTime<Tz>> {
        let day =
            self.working_days_after(meeting_date, self.rule.conclusions_reminder_working_days)?;
        Some(self.zoned(day.and_time(NaiveTime::MIN)).0)
    }

    /// The agenda and meeting of `month`.
    pub fn month(&self, month: Month) -> Result<MonthSchedule, CalendarError> {
        let closing = &self.rule.closing_days;
        let rule_day = |r: NthLastWeekday| {
            r.in_month(month.year(), month.month())
                .ok_or_else(|| CalendarError::NoSuchDay {
                    month,
                    rule: describe(r),
                })
        };
        let meeting_rule = rule_day(self.rule.meeting)?;
        let agenda_rule = rule_day(self.rule.agenda)?;
        if agenda_rule >= meeting_rule {
            return Err(CalendarError::AgendaNotBeforeMeeting {
                month,
                agenda: agenda_rule,
                meeting: meeting_rule,
            });
        }

        let direction = match self.rule.on_closing_day {
            ClosedDayShift::PreviousWorkingDay => -1,
            ClosedDayShift::NextWorkingDay => 1,
        };
        let meeting_day = self.shift_off_days_off(meeting_rule, direction)?;

        // The agenda goes out on its rule date (earlier if that is a day off). When the meeting
        // moved, the agenda also moves to keep its usual number of working days before the
        // meeting: a partner never gets less time to answer than usual.
        let mut agenda_day = self.shift_off_days_off(agenda_rule, -1)?;
        if meeting_day.moved.is_some() {
            let lead = weekdays_between(agenda_rule, meeting_rule);
            let kept = holidays::working_days_before(meeting_day.date, lead, closing).ok_or(
                CalendarError::NoWorkingDay {
                    from: meeting_day.date,
                },
            )?;
            if kept < agenda_day.date {
                agenda_day = ScheduledDay {
                    rule_date: agenda_rule,
                    date: kept,
                    moved: Some(Move::KeepsLeadTime { working_days: lead }),
                };
            }
        }

        let mut notes = Vec::new();
        for (what, day) in [("agenda", &agenda_day), ("meeting", &meeting_day)] {
            if day.date.month() == 12 && matches!(day.date.day(), 24 | 31) {
                notes.push(Note::YearEndWorkingDay {
                    what,
                    date: day.date,
                });
            }
            if Month::of(day.date) != month {
                notes.push(Note::OtherMonth {
                    what,
                    date: day.date,
                });
            }
        }

        let (agenda_at, fix) = self.zoned(agenda_day.date.and_time(self.rule.agenda_time));
        notes.extend(fix.map(|fix| Note::LocalTime {
            what: "agenda",
            fix,
        }));
        let (meeting_start, fix) = self.zoned(meeting_day.date.and_time(self.rule.meeting_time));
        notes.extend(fix.map(|fix| Note::LocalTime {
            what: "meeting",
            fix,
        }));
        // Duration in elapsed time: a 90-minute meeting lasts 90 minutes even across a change.
        let meeting_end = meeting_start + Duration::minutes(i64::from(self.rule.duration_minutes));
        let (answer_deadline, _) = self.zoned(meeting_day.date.and_time(NaiveTime::MIN));

        Ok(MonthSchedule {
            month,
            agenda_day,
            meeting_day,
            agenda_at,
            meeting_start,
            meeting_end,
            answer_deadline,
            notes,
        })
    }

    /// The schedules of `count` months from the month of `now` on, skipping the current month
    /// once its meeting has ended. A month that cannot be computed yields its error in place.
    pub fn coming(
        &self,
        now: DateTime<Utc>,
        count: u32,
    ) -> Vec<(Month, Result<MonthSchedule, CalendarError>)> {
        let mut month = Month::of(now.with_timezone(&self.time_zone).date_naive());
        let mut out = Vec::new();
        if let Ok(s) = self.month(month) {
            if s.meeting_end <= now {
                month = month.next();
            }
        }
        for _ in 0..count {
            out.push((month, self.month(month)));
            month = month.next();
        }
        out
    }

    /// `date` itself when it is a working day, else the nearest one in `direction`, with why.
    fn shift_off_days_off(
        &self,
        date: NaiveDate,
        direction: i64,
    ) -> Result<ScheduledDay, CalendarError> {
        match self.day_off(date) {
            None => Ok(ScheduledDay {
                rule_date: date,
                date,
                moved: None,
            }),
            Some(reason) => {
                let moved_to =
                    holidays::nearest_working_day(date, &self.rule.closing_days, direction)
                        .ok_or(CalendarError::NoWorkingDay { from: date })?;
                Ok(ScheduledDay {
                    rule_date: date,
                    date: moved_to,
                    moved: Some(Move::DayOff { reason }),
                })
            }
        }
    }

    /// A local date-time as an instant in the organisation's time zone. A time in the spring
    /// gap is read with the offset before the gap, a time in the autumn fold as its first
    /// occurrence: exactly what RFC 5545 §3.3.5 prescribes for `DTSTART;TZID=…`, so calendar
    /// clients and the scheduler agree.
    pub fn zoned(&self, local: NaiveDateTime) -> (DateTime<Tz>, Option<LocalTimeFix>) {
        let tz = self.time_zone;
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => (t, None),
            LocalResult::Ambiguous(first, _) => {
                (first, Some(LocalTimeFix::Ambiguous { requested: local }))
            }
            LocalResult::None => {
                // The offset in force shortly before the gap (gaps last hours, not half a day).
                let before = tz
                    .offset_from_utc_datetime(&(local - Duration::hours(12)))
                    .fix();
                let instant = (local - Duration::seconds(i64::from(before.local_minus_utc())))
                    .and_utc()
                    .with_timezone(&tz);
                (instant, Some(LocalTimeFix::Gap { requested: local }))
            }
        }
    }
}

/// Monday-to-Friday days from `from` (exclusive) to `to` (inclusive): the usual lead time
/// between agenda and meeting, holidays not counted against it.
fn weekdays_between(from: NaiveDate, to: NaiveDate) -> u32 {
    from.iter_days()
        .skip(1)
        .take_while(|d| *d <= to)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .count()
        .try_into()
        .unwrap_or(u32::MAX)
}

fn describe(r: NthLastWeekday) -> String {
    match r.n {
        1 => format!("last {}", r.weekday),
        n => format!("{n}th-to-last {}", r.weekday),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Holiday;
    use chrono::{Timelike, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn month(y: i32, m: u32) -> Month {
        Month::new(y, m).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// The example config's rule: meeting last Thursday 10:00 (90 min), agenda second-to-last
    /// Thursday 09:00, closed 24 Dec 2026 – 1 Jan 2027, previous working day.
    fn example_rule() -> MeetingRule {
        MeetingRule {
            meeting: NthLastWeekday {
                n: 1,
                weekday: Weekday::Thu,
            },
            agenda: NthLastWeekday {
                n: 2,
                weekday: Weekday::Thu,
            },
            agenda_time: hm(9, 0),
            meeting_time: hm(10, 0),
            duration_minutes: 90,
            online: true,
            teams_link: Some("https://teams.example/l/meetup-join/general".into()),
            closing_days: vec![(d(2026, 12, 24), d(2027, 1, 1))],
            on_closing_day: ClosedDayShift::PreviousWorkingDay,
            conclusions_reminder_working_days: 3,
            candidate_display: crate::calendar::agenda::CandidateDisplay::Initials,
        }
    }

    fn brussels(rule: &MeetingRule) -> MeetingCalendar {
        MeetingCalendar::new(rule, chrono_tz::Europe::Brussels)
    }

    #[test]
    fn ordinary_months_keep_their_rule_dates_across_years() {
        let cal = brussels(&example_rule());
        // (month, agenda, meeting): 4- and 5-Thursday months, several years.
        let table = [
            (month(2026, 11), d(2026, 11, 19), d(2026, 11, 26)),
            (month(2027, 2), d(2027, 2, 18), d(2027, 2, 25)),
            (month(2027, 9), d(2027, 9, 23), d(2027, 9, 30)),
            (month(2028, 6), d(2028, 6, 22), d(2028, 6, 29)),
            (month(2029, 1), d(2029, 1, 18), d(2029, 1, 25)),
            (month(2030, 10), d(2030, 10, 24), d(2030, 10, 31)),
        ];
        for (m, agenda, meeting) in table {
            let s = cal.month(m).unwrap();
            assert_eq!(s.agenda_day.date, agenda, "{m}");
            assert_eq!(s.meeting_day.date, meeting, "{m}");
            assert_eq!(s.agenda_day.moved, None, "{m}");
            assert_eq!(s.meeting_day.moved, None, "{m}");
            assert!(s.notes.is_empty(), "{m}: {:?}", s.notes);
        }
    }

    #[test]
    fn december_2026_meeting_moves_off_the_christmas_closing_to_23_december() {
        let s = brussels(&example_rule()).month(month(2026, 12)).unwrap();
        // Rule: Thursday 31 December, inside the closing 24 Dec – 1 Jan → previous working day
        // Wednesday 23 December.
        assert_eq!(s.meeting_day.rule_date, d(2026, 12, 31));
        assert_eq!(s.meeting_day.date, d(2026, 12, 23));
        assert_eq!(
            s.meeting_day.moved,
            Some(Move::DayOff {
                reason: DayOff::ClosingDay {
                    from: d(2026, 12, 24),
                    to: d(2027, 1, 1)
                }
            })
        );
        // Agenda rule: Thursday 24 December (closed too). Keeping the usual 5 working days before
        // the moved meeting → Wednesday 16 December.
        assert_eq!(s.agenda_day.rule_date, d(2026, 12, 24));
        assert_eq!(s.agenda_day.date, d(2026, 12, 16));
        assert_eq!(
            s.agenda_day.moved,
            Some(Move::KeepsLeadTime { working_days: 5 })
        );
        assert_eq!(s.meeting_start.to_rfc3339(), "2026-12-23T10:00:00+01:00");
        assert_eq!(s.agenda_at.to_rfc3339(), "2026-12-16T09:00:00+01:00");
        assert_eq!(s.answer_deadline.to_rfc3339(), "2026-12-23T00:00:00+01:00");
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn december_without_closing_days_is_flagged_not_silent() {
        let mut rule = example_rule();
        rule.closing_days.clear();
        let s = brussels(&rule).month(month(2026, 12)).unwrap();
        // 24 and 31 December are working days in Belgium: dates stay, but the admin is told.
        assert_eq!(s.meeting_day.date, d(2026, 12, 31));
        assert_eq!(s.agenda_day.date, d(2026, 12, 24));
        assert_eq!(
            s.notes,
            vec![
                Note::YearEndWorkingDay {
                    what: "agenda",
                    date: d(2026, 12, 24)
                },
                Note::YearEndWorkingDay {
                    what: "meeting",
                    date: d(2026, 12, 31)
                },
            ]
        );
    }

    #[test]
    fn december_closing_with_next_working_day_lands_in_january_and_says_so() {
        let mut rule = example_rule();
        rule.on_closing_day = ClosedDayShift::NextWorkingDay;
        let s = brussels(&rule).month(month(2026, 12)).unwrap();
        assert_eq!(s.meeting_day.date, d(2027, 1, 4));
        // The agenda keeps 5 working days before 4 January: 24 Dec – 1 Jan are closed, so
        // 23, 22, 21, 18, 17 December → Thursday 17 December.
        assert_eq!(s.agenda_day.date, d(2026, 12, 17));
        assert_eq!(
            s.agenda_day.moved,
            Some(Move::KeepsLeadTime { working_days: 5 })
        );
        assert!(s.notes.contains(&Note::OtherMonth {
            what: "meeting",
            date: d(2027, 1, 4)
        }));
    }

    #[test]
    fn ascension_on_the_last_thursday_of_may_moves_the_meeting_to_wednesday() {
        // Found by computing every year 2024–2040 (holiday == last Thursday of its month):
        // Ascension in May 2025, 2028, 2030, 2033; Christmas in 2025, 2031, 2036. Armistice
        // never: 11 November is at most the second Thursday (it is one in 2027, 2032, 2038).
        let cal = brussels(&example_rule());
        // (month, Ascension = rule date, moved meeting, agenda keeping 5 working days)
        let table = [
            (
                month(2025, 5),
                d(2025, 5, 29),
                d(2025, 5, 28),
                d(2025, 5, 21),
            ),
            (
                month(2028, 5),
                d(2028, 5, 25),
                d(2028, 5, 24),
                d(2028, 5, 17),
            ),
            (
                month(2030, 5),
                d(2030, 5, 30),
                d(2030, 5, 29),
                d(2030, 5, 22),
            ),
            (
                month(2033, 5),
                d(2033, 5, 26),
                d(2033, 5, 25),
                d(2033, 5, 18),
            ),
        ];
        for (m, ascension, meeting, agenda) in table {
            assert_eq!(
                crate::calendar::belgian_holiday(ascension),
                Some(Holiday::Ascension)
            );
            let s = cal.month(m).unwrap();
            assert_eq!(s.meeting_day.rule_date, ascension, "{m}");
            assert_eq!(s.meeting_day.date, meeting, "{m}");
            assert_eq!(
                s.meeting_day.moved,
                Some(Move::DayOff {
                    reason: DayOff::Holiday {
                        holiday: Holiday::Ascension
                    }
                }),
                "{m}"
            );
            assert_eq!(s.agenda_day.date, agenda, "{m}");
            assert_eq!(
                s.agenda_day.moved,
                Some(Move::KeepsLeadTime { working_days: 5 })
            );
        }
    }

    #[test]
    fn ascension_on_the_agenda_thursday_2031_sends_the_agenda_a_day_earlier() {
        // May 2031: Thursdays 1, 8, 15, 22, 29; Ascension is the 22nd (Easter 13 April + 39).
        let s = brussels(&example_rule()).month(month(2031, 5)).unwrap();
        assert_eq!(s.agenda_day.rule_date, d(2031, 5, 22));
        assert_eq!(s.agenda_day.date, d(2031, 5, 21));
        assert_eq!(
            s.agenda_day.moved,
            Some(Move::DayOff {
                reason: DayOff::Holiday {
                    holiday: Holiday::Ascension
                }
            })
        );
        assert_eq!(s.meeting_day.date, d(2031, 5, 29));
        assert_eq!(s.meeting_day.moved, None);
    }

    #[test]
    fn armistice_on_a_thursday_in_2027_leaves_the_november_cycle_alone() {
        let s = brussels(&example_rule()).month(month(2027, 11)).unwrap();
        assert_eq!(s.agenda_day.date, d(2027, 11, 18));
        assert_eq!(s.meeting_day.date, d(2027, 11, 25));
        assert_eq!(s.meeting_day.moved, None);
    }

    #[test]
    fn christmas_on_the_last_thursday_2031_moves_the_meeting_even_without_closing_days() {
        let mut rule = example_rule();
        rule.closing_days.clear();
        let s = brussels(&rule).month(month(2031, 12)).unwrap();
        assert_eq!(s.meeting_day.rule_date, d(2031, 12, 25));
        assert_eq!(s.meeting_day.date, d(2031, 12, 24));
        // 24 December is a working day by config: moved there, and flagged.
        assert!(s.notes.contains(&Note::YearEndWorkingDay {
            what: "meeting",
            date: d(2031, 12, 24)
        }));
        assert_eq!(s.agenda_day.date, d(2031, 12, 17));
    }

    #[test]
    fn meetings_keep_10_00_local_time_across_dst_changes() {
        let cal = brussels(&example_rule());
        // March 2026: clocks go forward on Sunday 29 March; meeting Thursday 26 March (winter).
        // October 2026: clocks go back on Sunday 25 October; meeting Thursday 29 October (winter).
        // April 2026: summer time.
        let table = [
            (
                month(2026, 3),
                "2026-03-26T10:00:00+01:00",
                "2026-03-19T09:00:00+01:00",
            ),
            (
                month(2026, 4),
                "2026-04-30T10:00:00+02:00",
                "2026-04-23T09:00:00+02:00",
            ),
            (
                month(2026, 10),
                "2026-10-29T10:00:00+01:00",
                "2026-10-22T09:00:00+02:00",
            ),
            (
                month(2027, 3),
                "2027-03-25T10:00:00+01:00",
                "2027-03-18T09:00:00+01:00",
            ),
            (
                month(2027, 10),
                "2027-10-28T10:00:00+02:00",
                "2027-10-21T09:00:00+02:00",
            ),
        ];
        for (m, meeting, agenda) in table {
            let s = cal.month(m).unwrap();
            assert_eq!(s.meeting_start.to_rfc3339(), meeting, "{m}");
            assert_eq!(s.agenda_at.to_rfc3339(), agenda, "{m}");
            assert_eq!((s.meeting_end - s.meeting_start).num_minutes(), 90);
        }
    }

    #[test]
    fn a_sunday_rule_at_a_nonexistent_or_doubled_hour_is_resolved_as_rfc_5545_says() {
        let mut rule = example_rule();
        rule.meeting = NthLastWeekday {
            n: 1,
            weekday: Weekday::Sun,
        };
        rule.agenda = NthLastWeekday {
            n: 2,
            weekday: Weekday::Sun,
        };
        rule.meeting_time = hm(2, 30);
        rule.closing_days.clear();
        let cal = brussels(&rule);
        // zoned() directly: 29 March 2026 02:30 does not exist → 03:30 CEST (01:30 UTC).
        let (t, fix) = cal.zoned(d(2026, 3, 29).and_time(hm(2, 30)));
        assert_eq!(t.to_rfc3339(), "2026-03-29T03:30:00+02:00");
        assert!(matches!(fix, Some(LocalTimeFix::Gap { .. })));
        // 25 October 2026 02:30 occurs twice → the first, 02:30 CEST (00:30 UTC).
        let (t, fix) = cal.zoned(d(2026, 10, 25).and_time(hm(2, 30)));
        assert_eq!(t.to_rfc3339(), "2026-10-25T02:30:00+02:00");
        assert!(matches!(fix, Some(LocalTimeFix::Ambiguous { .. })));
        // A Sunday rule is a weekend day, so the meeting itself moves to Friday 27 March, where
        // 02:30 exists: no note.
        let s = cal.month(month(2026, 3)).unwrap();
        assert_eq!(s.meeting_day.date, d(2026, 3, 27));
        assert_eq!(s.meeting_start.hour(), 2);
        assert!(s.notes.is_empty());
    }

    #[test]
    fn a_request_counts_until_the_meeting_day_begins() {
        let s = brussels(&example_rule()).month(month(2026, 11)).unwrap();
        let before = d(2026, 11, 25).and_hms_opt(22, 59, 59).unwrap().and_utc();
        let on_the_day = d(2026, 11, 25).and_hms_opt(23, 0, 0).unwrap().and_utc();
        assert!(s.accepts_request(before));
        assert!(
            !s.accepts_request(on_the_day),
            "midnight Brussels = 23:00 UTC"
        );
    }

    #[test]
    fn coming_months_start_after_this_months_meeting_has_ended() {
        let cal = brussels(&example_rule());
        let during = d(2026, 11, 26).and_hms_opt(9, 0, 0).unwrap().and_utc();
        let after = d(2026, 11, 26).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let first = |now| cal.coming(now, 3)[0].0;
        assert_eq!(first(during), month(2026, 11));
        assert_eq!(first(after), month(2026, 12));
        assert_eq!(cal.coming(after, 12).len(), 12);
    }

    #[test]
    fn conclusions_reminder_three_working_days_after_the_meeting() {
        let cal = brussels(&example_rule());
        let at = cal.conclusions_reminder_at(d(2026, 11, 26)).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T00:00:00+01:00");
        // December 2026's meeting on the 23rd: the closing pushes it to Wednesday 6 January.
        assert_eq!(
            cal.working_days_after(d(2026, 12, 23), 3),
            Some(d(2027, 1, 6))
        );
    }

    #[test]
    fn an_agenda_rule_after_the_meeting_rule_is_a_config_error() {
        let mut rule = example_rule();
        rule.agenda = NthLastWeekday {
            n: 1,
            weekday: Weekday::Fri,
        };
        let err = brussels(&rule).month(month(2026, 11)).unwrap_err();
        assert!(matches!(err, CalendarError::AgendaNotBeforeMeeting { .. }));
    }

    #[test]
    fn meeting_mode_prefers_the_partner_place_then_online_link_then_office() {
        let rule = example_rule();
        let mut partner = Partner {
            id: "caw-antwerpen".into(),
            name: "CAW Antwerpen".into(),
            domains: vec!["caw-antwerpen.example".into()],
            addresses: vec![],
            agenda_to: vec![],
            monthly_quota: None,
            programme: "vivendo".into(),
            teams_link: Some("https://teams.example/caw".into()),
            meeting_place: None,
        };
        assert_eq!(
            meeting_mode(&rule, &partner, Some("Kantoor")),
            Ok(MeetingMode::Online {
                link: "https://teams.example/caw".into()
            })
        );
        partner.teams_link = None;
        assert_eq!(
            meeting_mode(&rule, &partner, None),
            Ok(MeetingMode::Online {
                link: "https://teams.example/l/meetup-join/general".into()
            })
        );
        let mut offline = rule.clone();
        offline.online = false;
        assert_eq!(
            meeting_mode(&offline, &partner, Some("Kantoor")),
            Ok(MeetingMode::OnSite {
                place: "Kantoor".into()
            })
        );
        assert!(matches!(
            meeting_mode(&offline, &partner, None),
            Err(CalendarError::NoMeetingPlace { .. })
        ));
        partner.meeting_place = Some("Vergaderzaal 2".into());
        assert_eq!(
            meeting_mode(&rule, &partner, None),
            Ok(MeetingMode::OnSite {
                place: "Vergaderzaal 2".into()
            })
        );
    }
}
