//! The monthly meeting cycle per partner (`003` §6, issue 7): the agenda mail on the agenda day,
//! the invitation when the meeting takes place, the updated agenda and invitation when a
//! partner's request calls a skipped meeting, the cancellation when a called meeting is dropped.
//!
//! ## Design
//! The job runs every 15 minutes. Each pass looks, per partner, at the month whose agenda is due
//! (`MeetingCalendar::month`), recomposes that partner's agenda from the store and compares it
//! with the `meetings` row of (partner, month):
//!
//! | row | agenda now | before | sends | row becomes |
//! | --- | --- | --- | --- | --- |
//! | none | anything | meeting start | the agenda (+ invitation, SEQUENCE 0, when not skipped) | skipped / called |
//! | skipped or cancelled | something to discuss | answer deadline | updated agenda + invitation, SEQUENCE + 1 | called |
//! | called | nothing to discuss | meeting start | the cancellation (`METHOD:CANCEL`), SEQUENCE + 1 | cancelled |
//!
//! A partner's `discussion_request` (handled by `case::apply`) notes a concern on the case; the
//! next pass sees the case to discuss and calls the meeting. That keeps the mail pipeline free of
//! calendar work and makes "calling" idempotent: the row and the mail commit in one transaction,
//! dedupe key `agenda:<partner>:<month>:<sequence>`, so each version goes out exactly once, also
//! across restarts. A daemon down on the agenda day sends the agenda on its first pass after,
//! once, saying it is late; after the meeting started nothing is sent for that month.
//!
//! Never talks SMTP: it queues through the outbox. Only `partner`'s cases are ever read for
//! `partner`'s agenda ([`CaseFilter::partner`]) and `calendar::agenda::compose` refuses any other.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::calendar::agenda::OverdueMilestone;
use crate::calendar::agenda::{self, Agenda, AgendaCase, Escalation, NextMilestone, OpenConcern};
use crate::calendar::ics::{self, Invitation};
use crate::calendar::{meeting_mode, MeetingCalendar, MeetingMode, Month, MonthSchedule};
use crate::case::model::{Case, Cause, Status};
use crate::case::Role;
use crate::config::{Config, Partner};
use crate::context::Context;
use crate::outbox::{CalendarPart, Notice, Outbox, OutgoingMail};
use crate::store::cases::CaseFilter;
use crate::store::meetings::{Meeting, MeetingState};
use crate::store::outbox::QueueOutcome;
use crate::store::Store;

/// A pass that finds the agenda this much after its time says it is late.
const LATE_AFTER_MINUTES: i64 = 10;

/// What one pass does for one partner and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The first agenda of the month (skipped or with an invitation).
    Agenda,
    /// A skipped (or cancelled) meeting is called: updated agenda + invitation.
    Call,
    /// A called meeting is dropped: cancellation.
    Cancel,
}

/// The mail one pass queues for one partner and month, and the meeting row it leaves.
#[derive(Debug, Clone)]
pub struct Planned {
    pub action: Action,
    pub agenda: Agenda,
    pub notice: Notice,
    pub calendar: Option<CalendarPart>,
    pub meeting: Meeting,
}

/// What the store's cases tell the agenda of `month`, as of `today`. `requests` holds the mail
/// ids of the partner's discussion requests: the concerns they noted are shown as asked by the
/// partner, not as concerns.
pub fn agenda_cases(
    config: &Config,
    cases: &[Case],
    requests: &BTreeSet<i64>,
    month: Month,
    today: NaiveDate,
) -> Vec<AgendaCase> {
    let month_text = month.to_string();
    cases
        .iter()
        .map(|case| {
            let pending: Vec<_> = case.milestones.iter().filter(|m| m.is_pending()).collect();
            let open: Vec<_> = case
                .concerns
                .iter()
                .filter(|c| c.resolved_at.is_none())
                .collect();
            let requested = |c: &&crate::case::model::Concern| {
                c.mail_id.is_some_and(|id| requests.contains(&id))
            };
            let this_meeting = |m: &&&crate::case::model::Milestone| {
                m.meeting_month.as_deref() == Some(month_text.as_str())
            };
            AgendaCase {
                partner_id: case.partner.clone(),
                case_ref: case.case_ref.clone(),
                candidate: case.candidate.clone(),
                lease_start: case.lease_start,
                next_milestone: pending
                    .iter()
                    .filter(|m| m.due_on >= today)
                    .min_by_key(|m| m.due_on)
                    .map(|m| NextMilestone {
                        name: m.name.clone(),
                        due: m.due_on,
                    }),
                open_concerns: open
                    .iter()
                    .filter(|c| !requested(c))
                    .map(|c| OpenConcern {
                        raised_on: c
                            .raised_at
                            .with_timezone(&config.organisation.time_zone)
                            .date_naive(),
                        urgent: c.urgent,
                        statement: c.statement.clone(),
                    })
                    .collect(),
                overdue: pending
                    .iter()
                    .filter(|m| m.due_on < today && !this_meeting(m))
                    .map(|m| OverdueMilestone {
                        name: m.name.clone(),
                        due: m.due_on,
                        escalation: m
                            .escalation_step
                            .checked_sub(1)
                            .and_then(|i| config.escalation.get(i as usize))
                            .map(Escalation::from),
                    })
                    .collect(),
                evaluations_this_meeting: pending
                    .iter()
                    .filter(this_meeting)
                    .map(|m| m.name.clone())
                    .collect(),
                extended: case.status == Status::Extended,
                other_guidance: case.other_guidance,
                requested_by_partner: {
                    let asked: Vec<&str> = open
                        .iter()
                        .filter(|c| requested(c))
                        .map(|c| c.statement.as_str())
                        .collect();
                    (!asked.is_empty()).then(|| asked.join("; "))
                },
            }
        })
        .collect()
}

/// Decide what to send for `partner`'s meeting of `schedule.month`, given the agenda as it is
/// now and the row of what was sent before. `None`: nothing to send now. Pure.
pub fn plan(
    config: &Config,
    partner: &Partner,
    schedule: &MonthSchedule,
    agenda: Agenda,
    existing: Option<&Meeting>,
    now: DateTime<Utc>,
) -> Option<Planned> {
    let agenda_at = schedule.agenda_at.with_timezone(&Utc);
    let meeting_start = schedule.meeting_start.with_timezone(&Utc);
    let deadline = schedule.answer_deadline.with_timezone(&Utc);
    if now >= meeting_start {
        return None;
    }
    let (action, state, sequence) = match existing {
        None => {
            let state = if agenda.skipped {
                MeetingState::Skipped
            } else {
                MeetingState::Called
            };
            (Action::Agenda, state, 0)
        }
        Some(m) => match m.state {
            MeetingState::Skipped | MeetingState::Cancelled
                if !agenda.skipped && now < deadline =>
            {
                (Action::Call, MeetingState::Called, m.sequence + 1)
            }
            MeetingState::Called if agenda.skipped => {
                (Action::Cancel, MeetingState::Cancelled, m.sequence + 1)
            }
            _ => return None,
        },
    };
    let late =
        action == Action::Agenda && now - agenda_at > chrono::Duration::minutes(LATE_AFTER_MINUTES);
    let calendar = (state != MeetingState::Skipped).then(|| {
        let invitation = Invitation::for_meeting(
            &config.organisation,
            partner,
            schedule,
            &agenda.mode,
            sequence,
            now,
        );
        match action {
            Action::Cancel => CalendarPart {
                method: "CANCEL",
                ics: ics::cancel(&invitation),
            },
            _ => CalendarPart {
                method: "REQUEST",
                ics: ics::request(&invitation),
            },
        }
    });
    // The coordinators are attendees of every invitation: they get it (and its update or
    // cancellation) in their own calendar too. An agenda without a meeting is the partner's.
    let to = if calendar.is_some() {
        vec![Role::Partner, Role::Coordinator]
    } else {
        vec![Role::Partner]
    };
    let notice = Notice {
        template: "agenda".into(),
        case_ref: None,
        to,
        to_sender: false,
        urgent: false,
        data: template_data(&agenda, action, late),
        dedupe: format!("agenda:{}:{}:{}", partner.id, schedule.month, sequence),
    };
    let meeting = Meeting {
        partner: partner.id.clone(),
        month: schedule.month.to_string(),
        state,
        sequence,
        agenda_message_id: None,
        called_for: agenda
            .to_discuss
            .iter()
            .chain(&agenda.other_guidance)
            .map(|d| d.case_ref.clone())
            .collect(),
        responses: existing.map(|m| m.responses.clone()).unwrap_or_default(),
        reminded_at: existing.and_then(|m| m.reminded_at),
        created_at: existing.map_or(now, |m| m.created_at),
        updated_at: now,
    };
    Some(Planned {
        action,
        agenda,
        notice,
        calendar,
        meeting,
    })
}

/// The `agenda` template's data (see `mail-templates/README.md`).
pub fn template_data(agenda: &Agenda, action: Action, late: bool) -> serde_json::Value {
    let s = &agenda.schedule;
    json!({
        "partner_name": agenda.partner_name,
        "month": agenda.month,
        "meeting_date": s.meeting_day.date.to_string(),
        "meeting_time": s.meeting_start.format("%H:%M").to_string(),
        "answer_deadline": s.answer_deadline.date_naive().to_string(),
        "moved": s.meeting_day.moved.as_ref().map(|m| {
            let why = match m {
                crate::calendar::Move::DayOff { reason } => reason.dutch(),
                other => other.dutch(),
            };
            format!(
                "het overleg is verplaatst van {} naar {} wegens {why}",
                s.meeting_day.rule_date.format("%d/%m/%Y"),
                s.meeting_day.date.format("%d/%m/%Y")
            )
        }),
        "mode": agenda.mode,
        "overview": agenda.overview,
        "to_discuss": agenda.to_discuss,
        "other_guidance": agenda.other_guidance,
        "skipped": agenda.skipped && action != Action::Cancel,
        "update": action == Action::Call,
        "cancelled": action == Action::Cancel,
        "late": late,
    })
}

/// Compose `partner`'s agenda of `month` from the store, as of `now`.
pub async fn compose_from_store(
    store: &Store,
    config: &Config,
    partner: &Partner,
    month: Month,
    now: DateTime<Utc>,
) -> anyhow::Result<(MonthSchedule, Agenda)> {
    let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let schedule = calendar.month(month)?;
    let mode: MeetingMode = meeting_mode(
        &config.meeting,
        partner,
        config.organisation.office_address.as_deref(),
    )?;
    let cases = store
        .cases(&CaseFilter {
            partner: Some(partner.id.clone()),
            open_only: true,
            details: true,
            ..CaseFilter::default()
        })
        .await?;
    let mut requests = BTreeSet::new();
    for case in &cases {
        let Some(id) = case.id else { continue };
        for event in store.case_events(id).await? {
            if let (true, Cause::Mail { id }) = (event.kind == "discussion_request", &event.cause) {
                requests.insert(*id);
            }
        }
    }
    let today = now
        .with_timezone(&config.organisation.time_zone)
        .date_naive();
    let summaries = agenda_cases(config, &cases, &requests, month, today);
    let agenda = agenda::compose(
        partner,
        &schedule,
        &mode,
        config.meeting.candidate_display,
        &summaries,
    )?;
    Ok((schedule, agenda))
}

/// Render a planned mail without queueing it (the `--dry-run` of `doorstroom agenda`).
pub fn prepare(
    config: &Config,
    outbox: &Outbox,
    partner: &Partner,
    planned: &Planned,
    now: DateTime<Utc>,
) -> anyhow::Result<OutgoingMail> {
    Ok(outbox.prepare_with_calendar(
        config,
        &planned.notice,
        None,
        Some(&partner.id),
        None,
        planned.calendar.as_ref(),
        now,
    )?)
}

/// One partner and month: compose, decide, and queue the mail with its meeting row in one
/// transaction. `force` sends the first agenda before its time (`doorstroom agenda` without
/// `--dry-run`). Returns a line saying what was done, or `None` when nothing was due.
pub async fn pass_partner(
    ctx: &Context,
    partner: &Partner,
    month: Month,
    now: DateTime<Utc>,
    force: bool,
) -> anyhow::Result<Option<String>> {
    let config = ctx.config();
    let outbox = ctx.outbox();
    let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let schedule = calendar.month(month)?;
    if !force && now < schedule.agenda_at.with_timezone(&Utc) {
        return Ok(None);
    }
    let (schedule, agenda) = compose_from_store(&ctx.store, &config, partner, month, now).await?;
    let mut tx = ctx.store.begin().await?;
    let existing = tx.meeting(&partner.id, &month.to_string()).await?;
    if existing.is_none()
        && !force
        && installed_after(ctx, schedule.agenda_at.with_timezone(&Utc)).await?
    {
        // doorstroom was installed after this month's agenda day: there was no agenda to miss,
        // and partners should not get a "late" agenda on the day a landlord starts using it.
        tx.rollback().await?;
        tracing::info!(partner = %partner.id, %month, "installed after this month's agenda day; the first agenda is next month's");
        return Ok(None);
    }
    let Some(mut planned) = plan(&config, partner, &schedule, agenda, existing.as_ref(), now)
    else {
        tx.rollback().await?;
        if existing.is_none() && now >= schedule.meeting_start.with_timezone(&Utc) {
            tracing::warn!(partner = %partner.id, %month, "the meeting started before any agenda was sent; none is sent now");
        }
        return Ok(None);
    };
    let mail = prepare(&config, &outbox, partner, &planned, now)?;
    let outcome = tx.queue(&mail, now).await?;
    planned.meeting.agenda_message_id = Some(mail.message_id.clone());
    tx.save_meeting(&planned.meeting, now).await?;
    tx.commit().await?;
    let what = match (planned.action, planned.meeting.state) {
        (Action::Agenda, MeetingState::Skipped) => "agenda (meeting skipped)",
        (Action::Agenda, _) => "agenda with invitation",
        (Action::Call, _) => "updated agenda and invitation (meeting called)",
        (Action::Cancel, _) => "cancellation",
    };
    let queued = match outcome {
        QueueOutcome::Queued(_) => "queued",
        QueueOutcome::Duplicate | QueueOutcome::AckLimit => "was queued before",
    };
    Ok(Some(format!(
        "{}: {month} {what}, SEQUENCE {}, {queued} for {}",
        partner.id,
        planned.meeting.sequence,
        mail.recipients.join(", ")
    )))
}

/// Did the scheduler of this organisation first run well after `agenda_at` (a fresh install in
/// the middle of a month's cycle)?
async fn installed_after(ctx: &Context, agenda_at: DateTime<Utc>) -> anyhow::Result<bool> {
    Ok(ctx
        .store
        .first_job_run_at()
        .await?
        .is_some_and(|first| first - agenda_at > chrono::Duration::minutes(LATE_AFTER_MINUTES)))
}

/// The months whose cycle may need a mail at `now`: this month and the next (an agenda day moved
/// forward over closing days could fall in the month before its meeting).
fn months_at(config: &Config, now: DateTime<Utc>) -> [Month; 2] {
    let this = Month::of(
        now.with_timezone(&config.organisation.time_zone)
            .date_naive(),
    );
    [this, this.next()]
}

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let config = ctx.config();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for partner in &config.partners {
        for month in months_at(&config, now) {
            match pass_partner(ctx, partner, month, now, false).await {
                Ok(Some(line)) => done.push(line),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(partner = %partner.id, %month, "agenda not sent: {e:#}");
                    failed.push(format!("{}: {month}: {e:#}", partner.id));
                }
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("{} agenda(s) failed: {}", failed.len(), failed.join("; "));
    }
    Ok(if done.is_empty() {
        "nothing due".to_string()
    } else {
        done.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::outbox::testing::config;

    fn utc(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap()
    }

    fn case(concern: Option<&str>) -> AgendaCase {
        AgendaCase {
            partner_id: "caw-antwerpen".into(),
            case_ref: "VD-2026-0001".into(),
            candidate: "Jan Peeters".into(),
            lease_start: None,
            next_milestone: None,
            open_concerns: concern
                .into_iter()
                .map(|c| OpenConcern {
                    raised_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                    urgent: false,
                    statement: c.to_string(),
                })
                .collect(),
            overdue: Vec::new(),
            evaluations_this_meeting: Vec::new(),
            extended: false,
            other_guidance: false,
            requested_by_partner: None,
        }
    }

    fn row(state: MeetingState, sequence: u32) -> Meeting {
        Meeting {
            partner: "caw-antwerpen".into(),
            month: "2026-12".into(),
            state,
            sequence,
            agenda_message_id: None,
            called_for: Vec::new(),
            responses: Vec::new(),
            reminded_at: None,
            created_at: utc(12, 16, 8, 0),
            updated_at: utc(12, 16, 8, 0),
        }
    }

    /// (what, row before, something to discuss, now, expected (action, state, sequence, method)).
    type Row = (
        &'static str,
        Option<Meeting>,
        bool,
        DateTime<Utc>,
        Option<(Action, MeetingState, u32, Option<&'static str>)>,
    );

    /// December 2026, example config: agenda Wed 16/12 09:00, requests until Wed 23/12 00:00,
    /// meeting Wed 23/12 10:00 (Brussels, UTC+1).
    #[test]
    fn what_a_pass_sends_follows_the_row_the_agenda_and_the_clock() {
        use MeetingState::*;
        let config = config();
        let partner = config.partner("caw-antwerpen").unwrap();
        let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
        let schedule = calendar.month("2026-12".parse().unwrap()).unwrap();
        let mode = meeting_mode(&config.meeting, partner, None).unwrap();
        // (what, row before, something to discuss, now) → (action, state, sequence, calendar method)
        let table: Vec<Row> = vec![
            (
                "first agenda, nothing to discuss",
                None,
                false,
                utc(12, 16, 8, 1),
                Some((Action::Agenda, Skipped, 0, None)),
            ),
            (
                "first agenda with cases",
                None,
                true,
                utc(12, 16, 8, 1),
                Some((Action::Agenda, Called, 0, Some("REQUEST"))),
            ),
            (
                "a late first agenda still goes out",
                None,
                true,
                utc(12, 22, 12, 0),
                Some((Action::Agenda, Called, 0, Some("REQUEST"))),
            ),
            (
                "nothing once the meeting started",
                None,
                true,
                utc(12, 23, 9, 0),
                None,
            ),
            (
                "skipped, a case named in time",
                Some(row(Skipped, 0)),
                true,
                utc(12, 22, 22, 59),
                Some((Action::Call, Called, 1, Some("REQUEST"))),
            ),
            (
                "skipped, named after the deadline",
                Some(row(Skipped, 0)),
                true,
                utc(12, 22, 23, 0),
                None,
            ),
            (
                "skipped and still nothing",
                Some(row(Skipped, 0)),
                false,
                utc(12, 17, 9, 0),
                None,
            ),
            (
                "called and still something",
                Some(row(Called, 1)),
                true,
                utc(12, 17, 9, 0),
                None,
            ),
            (
                "called, everything resolved",
                Some(row(Called, 1)),
                false,
                utc(12, 22, 23, 30),
                Some((Action::Cancel, Cancelled, 2, Some("CANCEL"))),
            ),
            (
                "cancelled, named again in time",
                Some(row(Cancelled, 2)),
                true,
                utc(12, 18, 9, 0),
                Some((Action::Call, Called, 3, Some("REQUEST"))),
            ),
        ];
        for (what, existing, discuss, now, expected) in table {
            let cases = [case(discuss.then_some("huurachterstal"))];
            let agenda =
                agenda::compose(partner, &schedule, &mode, Default::default(), &cases).unwrap();
            let planned = plan(&config, partner, &schedule, agenda, existing.as_ref(), now);
            let got = planned.as_ref().map(|p| {
                (
                    p.action,
                    p.meeting.state,
                    p.meeting.sequence,
                    p.calendar.as_ref().map(|c| c.method),
                )
            });
            assert_eq!(got, expected, "{what}");
            if let Some(p) = planned {
                assert_eq!(
                    p.notice.dedupe,
                    format!("agenda:caw-antwerpen:2026-12:{}", p.meeting.sequence),
                    "{what}"
                );
                // The invitation (request or cancel) reaches the coordinators, an attendee too;
                // an agenda without a meeting only the partner.
                let to: &[Role] = if p.calendar.is_some() {
                    &[Role::Partner, Role::Coordinator]
                } else {
                    &[Role::Partner]
                };
                assert_eq!(p.notice.to, to, "{what}");
                if let Some(cal) = &p.calendar {
                    assert!(
                        cal.ics
                            .contains(&format!("SEQUENCE:{}\r\n", p.meeting.sequence)),
                        "{what}"
                    );
                    assert!(
                        cal.ics.contains(&format!("METHOD:{}\r\n", cal.method)),
                        "{what}"
                    );
                }
                assert_eq!(
                    p.notice.data["moved"],
                    "het overleg is verplaatst van 31/12/2026 naar 23/12/2026 wegens sluitingsdagen (24/12/2026 – 01/01/2027)",
                    "{what}"
                );
                let late = p.notice.data["late"].as_bool().unwrap();
                assert_eq!(late, what.contains("late"), "{what}");
            }
        }
    }

    #[test]
    fn store_cases_become_agenda_cases_as_of_the_agenda_day() {
        use crate::case::model::{Concern, Milestone};
        use crate::case::MilestoneKind;
        let config = config();
        let at = utc(12, 1, 9, 0);
        let mut c = Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            at,
        );
        c.status = Status::Extended;
        let milestone =
            |name: &str, due: NaiveDate, meeting: Option<&str>, step: u32, done: bool| Milestone {
                id: None,
                kind: MilestoneKind::Evaluation,
                name: name.into(),
                due_on: due,
                meeting_month: meeting.map(str::to_string),
                done_on: done.then_some(due),
                escalation_step: step,
                superseded: false,
                counsellor_attends: false,
                discuss_at_meeting: meeting.is_some(),
            };
        let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        c.milestones = vec![
            milestone("huisbezoek na 3 maanden", d(11, 1), None, 1, false),
            milestone(
                "evaluatie na 4 maanden",
                d(12, 23),
                Some("2026-12"),
                0,
                false,
            ),
            milestone("gesprek na 1 maand", d(9, 1), None, 0, true),
            milestone("huisbezoek na 6 maanden", d(12, 30), None, 0, false),
        ];
        c.concerns = vec![
            Concern {
                id: None,
                statement: "open".into(),
                urgent: false,
                raised_at: at,
                mail_id: None,
                resolved_at: None,
            },
            Concern {
                id: None,
                statement: "resolved".into(),
                urgent: false,
                raised_at: at,
                mail_id: None,
                resolved_at: Some(at),
            },
            Concern {
                id: None,
                statement: "graag bespreken: weigert huisbezoek".into(),
                urgent: false,
                raised_at: at,
                mail_id: Some(42),
                resolved_at: None,
            },
        ];
        let got = agenda_cases(
            &config,
            &[c],
            &BTreeSet::from([42]),
            "2026-12".parse().unwrap(),
            d(12, 16),
        );
        let a = &got[0];
        assert_eq!(a.open_concerns.len(), 1);
        assert_eq!(a.open_concerns[0].statement, "open");
        assert_eq!(
            a.requested_by_partner.as_deref(),
            Some("graag bespreken: weigert huisbezoek"),
            "a concern noted from the partner's discussion request (mail 42)"
        );
        assert_eq!(a.overdue.len(), 1);
        assert_eq!(a.overdue[0].name, "huisbezoek na 3 maanden");
        assert_eq!(a.overdue[0].escalation.map(|e| e.after_days), Some(7));
        assert_eq!(a.evaluations_this_meeting, ["evaluatie na 4 maanden"]);
        assert_eq!(a.next_milestone.as_ref().map(|m| m.due), Some(d(12, 23)));
        assert!(a.extended);
    }
}
