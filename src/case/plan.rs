//! Milestone plans: the dates of a programme's milestones counted from the lease start, and the
//! monthly meeting where each is discussed.
//!
//! Calendar-month arithmetic as people count it: 31 January + 1 month is the last day of
//! February. Plans are recomputed when the lease start or an extension changes, keeping every
//! milestone that already happened. Pure: no clock, no I/O.

use chrono::{Datelike, Duration, NaiveDate};

use super::model::{Case, CaseError, Milestone};
use super::MilestoneKind;
use crate::calendar::{last_day_of_month, NthLastWeekday};
use crate::config::{Offset, Programme};

/// `date` plus `months` calendar months, clamped to the last day of the target month.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() as i64 * 12 + date.month0() as i64 + months as i64;
    let (year, month) = ((total / 12) as i32, (total % 12) as u32 + 1);
    match last_day_of_month(year, month) {
        Some(last) => {
            NaiveDate::from_ymd_opt(year, month, date.day().min(last.day())).unwrap_or(last)
        }
        // Beyond chrono's range (year 262143): stay put rather than panic.
        None => date,
    }
}

/// `YYYY-MM` of a date: the meeting month a milestone on that date is discussed in.
pub fn month_key(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The meeting date of the month `YYYY-MM` under a rule (before holiday moves, which the
/// calendar module applies).
pub fn meeting_date(rule: NthLastWeekday, month: &str) -> Option<NaiveDate> {
    let (y, m) = month.split_once('-')?;
    rule.in_month(y.parse().ok()?, m.parse().ok()?)
}

/// The first meeting strictly after `date` (the meeting of `date`'s month if it is still to
/// come, else next month's).
pub fn next_meeting_after(rule: NthLastWeekday, date: NaiveDate) -> Option<NaiveDate> {
    let this = rule.in_month(date.year(), date.month())?;
    if this > date {
        return Some(this);
    }
    let next = add_months(NaiveDate::from_ymd_opt(date.year(), date.month(), 1)?, 1);
    rule.in_month(next.year(), next.month())
}

/// Kinds whose date moves with extensions: the end of guidance and its final evaluation.
fn moves_with_extension(kind: MilestoneKind) -> bool {
    matches!(
        kind,
        MilestoneKind::FinalEvaluation | MilestoneKind::GuidanceEnd
    )
}

fn offset_date(lease_start: NaiveDate, offset: Offset, extra_months: u32) -> NaiveDate {
    match offset {
        Offset::Months(m) => add_months(lease_start, m + extra_months),
        Offset::Days(d) => add_months(lease_start + Duration::days(i64::from(d)), extra_months),
    }
}

/// The full plan of a programme from a lease start, with `extension_months` of verlenging added
/// to the final evaluation and the end of guidance. Repeating milestones (`every_months`) repeat
/// until the end of guidance.
pub fn plan(
    programme: &Programme,
    lease_start: NaiveDate,
    extension_months: u32,
) -> Vec<Milestone> {
    let end = guidance_end(programme, lease_start, extension_months);
    let mut out = Vec::new();
    for spec in &programme.milestones {
        let extra = if moves_with_extension(spec.kind) {
            extension_months
        } else {
            0
        };
        let first = offset_date(lease_start, spec.after, extra);
        let mut due = first;
        let mut n = 0u32;
        loop {
            out.push(Milestone {
                id: None,
                kind: spec.kind,
                name: spec.name.clone(),
                due_on: due,
                meeting_month: spec.discuss_at_meeting.then(|| month_key(due)),
                done_on: None,
                escalation_step: 0,
                superseded: false,
                counsellor_attends: spec.counsellor_attends,
                discuss_at_meeting: spec.discuss_at_meeting,
            });
            let Some(every) = spec.every_months.filter(|e| *e > 0) else {
                break;
            };
            n += 1;
            due = add_months(first, every * n);
            if due > end || n > 1200 {
                break;
            }
        }
    }
    out.sort_by_key(|m| (m.due_on, m.kind));
    out
}

/// Planned end of guidance: lease start + the programme's months + extensions.
pub fn guidance_end(
    programme: &Programme,
    lease_start: NaiveDate,
    extension_months: u32,
) -> NaiveDate {
    add_months(lease_start, programme.guidance_months + extension_months)
}

/// Recompute a case's plan (after a lease start change or an extension), keeping what already
/// happened: done milestones stay as they are; a pending milestone that is still in the plan
/// keeps its row and gets the new date (its escalation restarts when the date moved); pending
/// milestones no longer in the plan are superseded. A done final evaluation stays done and a new
/// one is planned when an extension moved it.
pub fn replan(existing: &[Milestone], fresh: Vec<Milestone>) -> Vec<Milestone> {
    let mut out: Vec<Milestone> = existing.to_vec();
    let mut used = vec![false; out.len()];
    for new in fresh {
        let same = |m: &Milestone| m.kind == new.kind && m.name == new.name;
        // Already happened: keep it, unless an extension moved a final evaluation past it.
        let done = out.iter().enumerate().find(|(_, m)| {
            same(m)
                && m.done_on.is_some()
                && !(moves_with_extension(m.kind) && m.due_on < new.due_on)
        });
        if let Some((i, _)) = done {
            used[i] = true;
            continue;
        }
        let pending = out
            .iter()
            .enumerate()
            .position(|(i, m)| !used[i] && same(m) && m.is_pending());
        match pending {
            Some(i) => {
                used[i] = true;
                let m = &mut out[i];
                if m.due_on != new.due_on {
                    m.due_on = new.due_on;
                    m.meeting_month = new.meeting_month;
                    m.escalation_step = 0;
                }
            }
            None => {
                out.push(new);
                used.push(true);
            }
        }
    }
    for (m, used) in out.iter_mut().zip(used) {
        if !used && m.is_pending() {
            m.superseded = true;
        }
    }
    out.sort_by_key(|m| (m.due_on, m.kind));
    out
}

/// Set or change the lease start of a case: recompute its plan keeping what happened, and move
/// the planned end of guidance.
pub fn set_lease_start(case: &mut Case, programme: &Programme, lease_start: NaiveDate) {
    case.lease_start = Some(lease_start);
    let fresh = plan(programme, lease_start, case.extension_months);
    case.milestones = replan(&case.milestones, fresh);
    case.guidance_end = Some(guidance_end(programme, lease_start, case.extension_months));
}

/// verlenging: add `months` (a positive multiple of the programme's step) and move the final
/// evaluation and the end of guidance.
pub fn extend(case: &mut Case, programme: &Programme, months: u32) -> Result<NaiveDate, CaseError> {
    let step = programme.extension_step_months.max(1);
    if months == 0 || !months.is_multiple_of(step) {
        return Err(CaseError::BadExtension { months, step });
    }
    let lease_start = case.lease_start.ok_or_else(|| CaseError::NoLeaseStart {
        case_ref: case.case_ref.clone(),
    })?;
    case.extension_months += months;
    let fresh = plan(programme, lease_start, case.extension_months);
    case.milestones = replan(&case.milestones, fresh);
    let end = guidance_end(programme, lease_start, case.extension_months);
    case.guidance_end = Some(end);
    Ok(end)
}

/// Serious defects found at the final visit keep guidance running at least to the next meeting
/// (`003` §7): the end of guidance moves to that meeting when it was earlier, and a follow-up
/// evaluation is planned at it. Returns the meeting date.
pub fn keep_running_after_defects(
    case: &mut Case,
    rule: NthLastWeekday,
    visit: NaiveDate,
) -> Option<NaiveDate> {
    let meeting = next_meeting_after(rule, visit)?;
    if case.guidance_end.is_none_or(|end| end < meeting) {
        case.guidance_end = Some(meeting);
    }
    case.milestones.push(Milestone {
        id: None,
        kind: MilestoneKind::Evaluation,
        name: "evaluatie na gebreken bij de eindevaluatie".into(),
        due_on: meeting,
        meeting_month: Some(month_key(meeting)),
        done_on: None,
        escalation_step: 0,
        superseded: false,
        counsellor_attends: false,
        discuss_at_meeting: true,
    });
    Some(meeting)
}

/// Record a milestone of this kind as done on `date`: the earliest pending one.
pub fn mark_done(
    case: &mut Case,
    kind: MilestoneKind,
    date: NaiveDate,
) -> Result<&Milestone, CaseError> {
    let case_ref = case.case_ref.clone();
    case.milestones
        .iter_mut()
        .filter(|m| m.kind == kind && m.is_pending())
        .min_by_key(|m| m.due_on)
        .map(|m| {
            m.done_on = Some(date);
            &*m
        })
        .ok_or(CaseError::NoSuchMilestone {
            case_ref,
            kind: kind.as_str().into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MilestoneSpec;
    use chrono::{TimeZone, Utc, Weekday};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const LAST_THURSDAY: NthLastWeekday = NthLastWeekday {
        n: 1,
        weekday: Weekday::Thu,
    };

    fn spec(kind: MilestoneKind, name: &str, after: Offset, meeting: bool) -> MilestoneSpec {
        MilestoneSpec {
            kind,
            name: name.into(),
            after,
            every_months: None,
            remind_weeks_before: None,
            counsellor_attends: false,
            discuss_at_meeting: meeting,
        }
    }

    /// The `003` (Vivendo) programme of the example config.
    pub(crate) fn vivendo() -> Programme {
        use MilestoneKind::*;
        Programme {
            id: "vivendo".into(),
            name: "12 maanden".into(),
            required_documents: vec![
                crate::case::DocumentKind::Addendum,
                crate::case::DocumentKind::SocialReport,
            ],
            guidance_months: 12,
            extension_step_months: 3,
            final_report_within_days: 30,
            opened_by: None,
            other_guidance: false,
            answer_within_days: None,
            reopen_within_months: None,
            referral_checklist: Vec::new(),
            milestones: vec![
                spec(Evaluation, "evaluatie na 1 maand", Offset::Months(1), true),
                spec(
                    HomeVisit,
                    "huisbezoek na 3 maanden",
                    Offset::Months(3),
                    false,
                ),
                spec(
                    Evaluation,
                    "evaluatie na 4 maanden",
                    Offset::Months(4),
                    true,
                ),
                spec(
                    Evaluation,
                    "evaluatie na 10 maanden",
                    Offset::Months(10),
                    true,
                ),
                spec(FinalEvaluation, "eindevaluatie", Offset::Months(12), false),
            ],
        }
    }

    /// The `000` (Woonhaven) programme of the example config.
    pub(crate) fn woonhaven() -> Programme {
        Programme {
            id: "woonhaven".into(),
            name: "18 maanden".into(),
            required_documents: vec![crate::case::DocumentKind::Addendum],
            guidance_months: 18,
            extension_step_months: 3,
            final_report_within_days: 30,
            opened_by: None,
            other_guidance: false,
            answer_within_days: None,
            reopen_within_months: None,
            referral_checklist: Vec::new(),
            milestones: vec![
                spec(
                    MilestoneKind::Talk,
                    "gesprek na toewijzing",
                    Offset::Days(0),
                    false,
                ),
                spec(
                    MilestoneKind::GuidanceEnd,
                    "einde begeleiding",
                    Offset::Months(18),
                    false,
                ),
            ],
        }
    }

    fn case_with_lease(p: &Programme, lease: NaiveDate) -> Case {
        let mut c = Case::new(
            "VD-2026-0001".into(),
            "caw",
            &p.id,
            "Jan",
            Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
        );
        set_lease_start(&mut c, p, lease);
        c
    }

    fn find<'a>(c: &'a Case, name: &str) -> &'a Milestone {
        c.milestones
            .iter()
            .find(|m| m.name == name && !m.superseded && m.done_on.is_none())
            .unwrap_or_else(|| panic!("no pending {name}"))
    }

    #[test]
    fn month_arithmetic_clamps_to_the_end_of_the_month() {
        let table = [
            (d(2026, 1, 31), 1, d(2026, 2, 28)),
            (d(2028, 1, 31), 1, d(2028, 2, 29)),
            (d(2026, 1, 31), 3, d(2026, 4, 30)),
            (d(2026, 8, 31), 4, d(2026, 12, 31)),
            (d(2026, 11, 30), 3, d(2027, 2, 28)),
            (d(2026, 12, 1), 12, d(2027, 12, 1)),
            (d(2026, 3, 15), 0, d(2026, 3, 15)),
        ];
        for (from, months, want) in table {
            assert_eq!(add_months(from, months), want, "{from} + {months} months");
        }
    }

    #[test]
    fn lease_starts_31_january_home_visit_30_april_4_month_meeting_in_may() {
        let c = case_with_lease(&vivendo(), d(2026, 1, 31));
        assert_eq!(find(&c, "evaluatie na 1 maand").due_on, d(2026, 2, 28));
        assert_eq!(find(&c, "huisbezoek na 3 maanden").due_on, d(2026, 4, 30));
        let four = find(&c, "evaluatie na 4 maanden");
        assert_eq!(four.due_on, d(2026, 5, 31));
        assert_eq!(four.meeting_month.as_deref(), Some("2026-05"));
        // The meeting of May 2026 is on its last Thursday.
        assert_eq!(meeting_date(LAST_THURSDAY, "2026-05"), Some(d(2026, 5, 28)));
        assert_eq!(find(&c, "eindevaluatie").due_on, d(2027, 1, 31));
        assert_eq!(c.guidance_end, Some(d(2027, 1, 31)));
    }

    #[test]
    fn lease_starts_1_december_meetings_in_january_april_and_october() {
        let c = case_with_lease(&vivendo(), d(2026, 12, 1));
        let months: Vec<_> = c
            .milestones
            .iter()
            .filter_map(|m| m.meeting_month.clone())
            .collect();
        assert_eq!(months, ["2027-01", "2027-04", "2027-10"]);
        assert_eq!(find(&c, "eindevaluatie").due_on, d(2027, 12, 1));
    }

    #[test]
    fn woonhaven_talk_on_the_lease_start_and_end_after_18_months() {
        let c = case_with_lease(&woonhaven(), d(2026, 8, 31));
        assert_eq!(find(&c, "gesprek na toewijzing").due_on, d(2026, 8, 31));
        assert_eq!(find(&c, "einde begeleiding").due_on, d(2028, 2, 29));
    }

    #[test]
    fn an_extension_of_6_months_moves_the_final_evaluation_and_keeps_what_happened() {
        let p = vivendo();
        let mut c = case_with_lease(&p, d(2026, 1, 15));
        mark_done(&mut c, MilestoneKind::Evaluation, d(2026, 2, 26)).unwrap();
        mark_done(&mut c, MilestoneKind::HomeVisit, d(2026, 4, 20)).unwrap();
        mark_done(&mut c, MilestoneKind::FinalEvaluation, d(2027, 1, 14)).unwrap();
        let end = extend(&mut c, &p, 6).unwrap();
        assert_eq!(end, d(2027, 7, 15));
        assert_eq!(find(&c, "eindevaluatie").due_on, d(2027, 7, 15));
        let done: Vec<_> = c
            .milestones
            .iter()
            .filter(|m| m.done_on.is_some())
            .collect();
        assert_eq!(done.len(), 3, "what happened stays");
        // A second extension moves the new final evaluation again, without a duplicate.
        extend(&mut c, &p, 3).unwrap();
        let pending_finals = c
            .milestones
            .iter()
            .filter(|m| m.kind == MilestoneKind::FinalEvaluation && m.is_pending())
            .count();
        assert_eq!(pending_finals, 1);
        assert_eq!(find(&c, "eindevaluatie").due_on, d(2027, 10, 15));
    }

    #[test]
    fn an_extension_of_4_months_is_refused() {
        let p = vivendo();
        let mut c = case_with_lease(&p, d(2026, 1, 15));
        assert_eq!(
            extend(&mut c, &p, 4),
            Err(CaseError::BadExtension { months: 4, step: 3 })
        );
        assert_eq!(c.extension_months, 0);
    }

    #[test]
    fn a_later_lease_start_moves_pending_milestones_and_keeps_done_ones() {
        let p = vivendo();
        let mut c = case_with_lease(&p, d(2026, 11, 1));
        mark_done(&mut c, MilestoneKind::Evaluation, d(2026, 12, 3)).unwrap();
        c.milestones[1].escalation_step = 2;
        set_lease_start(&mut c, &p, d(2026, 12, 1));
        let one = c
            .milestones
            .iter()
            .find(|m| m.name == "evaluatie na 1 maand")
            .unwrap();
        assert_eq!(one.due_on, d(2026, 12, 1), "done stays as it was");
        assert_eq!(find(&c, "huisbezoek na 3 maanden").due_on, d(2027, 3, 1));
        assert!(c
            .milestones
            .iter()
            .all(|m| m.escalation_step == 0 || m.done_on.is_some()));
        assert_eq!(c.milestones.len(), 5);
    }

    #[test]
    fn defects_at_the_final_visit_keep_guidance_running_to_the_next_meeting() {
        let p = vivendo();
        let mut c = case_with_lease(&p, d(2026, 1, 31));
        // Final visit on 31 January 2027, after that month's last Thursday (28 January).
        let meeting = keep_running_after_defects(&mut c, LAST_THURSDAY, d(2027, 1, 31)).unwrap();
        assert_eq!(meeting, d(2027, 2, 25));
        assert_eq!(c.guidance_end, Some(d(2027, 2, 25)));
        assert_eq!(
            find(&c, "evaluatie na gebreken bij de eindevaluatie")
                .meeting_month
                .as_deref(),
            Some("2027-02")
        );
    }

    proptest! {
        #[test]
        fn adding_months_lands_in_the_right_month_and_never_overshoots(
            y in 1990i32..2100, m in 1u32..=12, day in 1u32..=31, n in 0u32..400
        ) {
            let Some(start) = NaiveDate::from_ymd_opt(y, m, day) else { return Ok(()); };
            let got = add_months(start, n);
            let months = (got.year() - y) * 12 + got.month() as i32 - m as i32;
            prop_assert_eq!(months, n as i32);
            prop_assert!(got.day() <= start.day());
            if got.day() < start.day() {
                prop_assert_eq!(Some(got), last_day_of_month(got.year(), got.month()));
            }
        }

        #[test]
        fn adding_months_is_monotonic(y in 2000i32..2060, m in 1u32..=12, day in 1u32..=28, a in 0u32..100, b in 0u32..100) {
            let start = NaiveDate::from_ymd_opt(y, m, day).unwrap();
            prop_assert_eq!(add_months(add_months(start, a), b), add_months(start, a + b));
            if a <= b { prop_assert!(add_months(start, a) <= add_months(start, b)); }
        }
    }
}
