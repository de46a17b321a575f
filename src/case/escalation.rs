//! What is due today across the register: escalation steps of missed milestones, reminders for
//! a final report (eindverslag) that did not come, and leases that started.
//!
//! Pure: cases and `today` in, a list of due work out. The escalation job turns it into notices
//! and records the steps sent (`escalation_step` on the milestone), so each step goes out once;
//! a milestone recorded as done drops out of the list at once.

use chrono::NaiveDate;
use serde::Serialize;

use super::model::{Case, Status};
use super::notice::Notice;
use super::{MilestoneKind, Role};
use crate::config::{Config, EscalationStep, Programme};

/// One escalation step to send for one missed milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueEscalation {
    pub case_ref: String,
    pub milestone_id: Option<i64>,
    pub kind: MilestoneKind,
    pub milestone: String,
    pub due_on: NaiveDate,
    pub days_overdue: i64,
    /// 1-based step of the ladder.
    pub step: u32,
    pub role: Role,
}

impl DueEscalation {
    pub fn notice(&self) -> Notice {
        Notice {
            template: "escalation".into(),
            case_ref: Some(self.case_ref.clone()),
            to: vec![self.role],
            to_sender: false,
            urgent: false,
            data: serde_json::json!({
                "milestone": self.milestone,
                "due": self.due_on.to_string(),
                "days_overdue": self.days_overdue,
                "step": self.step,
            }),
            dedupe: format!(
                "escalation:{}:{}:{}",
                self.case_ref,
                self.milestone_id.map_or_else(
                    || format!("{}@{}", self.kind.as_str(), self.due_on),
                    |id| id.to_string()
                ),
                self.step
            ),
        }
    }
}

/// A final report that is late: the counsellor is reminded once a week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportReminder {
    pub case_ref: String,
    pub report_due: NaiveDate,
    pub days_late: i64,
}

impl ReportReminder {
    pub fn notice(&self) -> Notice {
        Notice {
            template: "final_report_reminder".into(),
            case_ref: Some(self.case_ref.clone()),
            to: vec![Role::Counsellor],
            to_sender: false,
            urgent: false,
            data: serde_json::json!({
                "report_due": self.report_due.to_string(),
                "days_late": self.days_late,
            }),
            // Day 1, 8, 15, ... after the due date: once a week at most.
            dedupe: format!(
                "final_report_reminder:{}:{}:{}",
                self.case_ref,
                self.report_due,
                (self.days_late - 1) / 7
            ),
        }
    }
}

/// A request for guidance the partner has not answered in time (preventive guidance, `002`
/// §4.3): the staff member who asked is reminded once a week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerReminder {
    pub case_ref: String,
    pub asked_on: NaiveDate,
    pub days_waiting: i64,
    /// Days past the configured answer time.
    pub days_late: i64,
}

impl AnswerReminder {
    pub fn notice(&self) -> Notice {
        Notice {
            template: "preventive_answer_reminder".into(),
            case_ref: Some(self.case_ref.clone()),
            to: vec![Role::SocialAssistant],
            to_sender: false,
            urgent: false,
            data: serde_json::json!({
                "asked_on": self.asked_on.to_string(),
                "days_waiting": self.days_waiting,
            }),
            dedupe: format!(
                "preventive_answer_reminder:{}:{}",
                self.case_ref,
                self.days_late / 7
            ),
        }
    }
}

/// A milestone that must not lapse (`remind_weeks_before` on its spec, e.g. the WoningNet
/// renewal): the counsellor is reminded once, ahead of the due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvanceReminder {
    pub case_ref: String,
    pub milestone_id: Option<i64>,
    pub milestone: String,
    pub due_on: NaiveDate,
    pub days_left: i64,
}

impl AdvanceReminder {
    pub fn notice(&self) -> Notice {
        Notice {
            template: "milestone_reminder".into(),
            case_ref: Some(self.case_ref.clone()),
            to: vec![Role::Counsellor],
            to_sender: false,
            urgent: false,
            data: serde_json::json!({
                "milestone": self.milestone,
                "due": self.due_on.to_string(),
                "days_left": self.days_left,
            }),
            dedupe: format!(
                "milestone_reminder:{}:{}",
                self.case_ref,
                self.milestone_id.map_or_else(
                    || format!("{}@{}", self.milestone, self.due_on),
                    |id| id.to_string()
                )
            ),
        }
    }
}

/// Everything due on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DueWork {
    pub escalations: Vec<DueEscalation>,
    pub reminders: Vec<ReportReminder>,
    /// Preventive requests without an answer in time (only from [`due_in`]).
    pub answer_reminders: Vec<AnswerReminder>,
    /// Reminders ahead of milestones that must not lapse (only from [`due_in`]).
    pub advance_reminders: Vec<AdvanceReminder>,
    /// Allocated cases whose lease started: `StartGuidance` is due.
    pub guidance_starts: Vec<String>,
    /// Cases whose handover is due (its date came, or its organisation is in the config now),
    /// see [`super::handover::due`] (only from [`due_in`]).
    pub handovers: Vec<String>,
}

/// What is due on `today`. `steps` are the config's escalation ladder (sorted by `after_days`).
pub fn due(cases: &[Case], steps: &[EscalationStep], today: NaiveDate) -> DueWork {
    let mut work = DueWork::default();
    for case in cases {
        due_for_case(case, steps, today, &mut work);
    }
    work
}

impl DueWork {
    /// Every mail this work sends, in a stable order (the escalation job queues these).
    pub fn notices(&self) -> Vec<Notice> {
        self.escalations
            .iter()
            .map(DueEscalation::notice)
            .chain(self.reminders.iter().map(ReportReminder::notice))
            .chain(self.answer_reminders.iter().map(AnswerReminder::notice))
            .chain(self.advance_reminders.iter().map(AdvanceReminder::notice))
            .collect()
    }
}

/// [`due`] plus what the programmes configure: reminders for unanswered requests
/// (`answer_within_days`) and ahead of milestones that must not lapse (`remind_weeks_before`).
/// The escalation job calls this one.
pub fn due_in(cases: &[Case], config: &Config, today: NaiveDate) -> DueWork {
    let mut work = DueWork::default();
    for case in cases {
        due_for_case(case, &config.escalation, today, &mut work);
        if super::handover::due(case, config, today).is_some() {
            work.handovers.push(case.case_ref.clone());
        }
        if let Some(programme) = config.programme(&case.programme) {
            programme_due(case, programme, today, &mut work);
        }
    }
    work
}

/// The programme-driven part of [`due_in`] for one case.
pub fn programme_due(case: &Case, programme: &Programme, today: NaiveDate, work: &mut DueWork) {
    let awaiting = matches!(
        case.status,
        Status::ReferredIncomplete | Status::ReferredComplete
    );
    if let (true, Some(days)) = (awaiting, programme.answer_within_days) {
        let asked_on = case.referred_at.date_naive();
        let waiting = (today - asked_on).num_days();
        if waiting > i64::from(days) {
            work.answer_reminders.push(AnswerReminder {
                case_ref: case.case_ref.clone(),
                asked_on,
                days_waiting: waiting,
                days_late: waiting - i64::from(days) - 1,
            });
        }
    }
    if !case.status.is_open() {
        return;
    }
    for m in case.milestones.iter().filter(|m| m.is_pending()) {
        let Some(weeks) = programme
            .spec_of(m.kind, &m.name)
            .and_then(|s| s.remind_weeks_before)
        else {
            continue;
        };
        let days_left = (m.due_on - today).num_days();
        if days_left >= 0 && days_left <= i64::from(weeks) * 7 {
            work.advance_reminders.push(AdvanceReminder {
                case_ref: case.case_ref.clone(),
                milestone_id: m.id,
                milestone: m.name.clone(),
                due_on: m.due_on,
                days_left,
            });
        }
    }
}

/// [`due`] for one case, appending to `work` (the job may stream cases).
pub fn due_for_case(case: &Case, steps: &[EscalationStep], today: NaiveDate, work: &mut DueWork) {
    let escalating = matches!(
        case.status,
        Status::Allocated | Status::InGuidance | Status::Extended
    );
    if escalating {
        for m in case
            .milestones
            .iter()
            .filter(|m| m.is_pending() && m.due_on < today)
        {
            let overdue = (today - m.due_on).num_days();
            for (i, step) in steps.iter().enumerate() {
                let number = i as u32 + 1;
                if number > m.escalation_step && overdue >= i64::from(step.after_days) {
                    work.escalations.push(DueEscalation {
                        case_ref: case.case_ref.clone(),
                        milestone_id: m.id,
                        kind: m.kind,
                        milestone: m.name.clone(),
                        due_on: m.due_on,
                        days_overdue: overdue,
                        step: number,
                        role: step.notify,
                    });
                }
            }
        }
    }
    if case.status == Status::Allocated && case.lease_start.is_some_and(|l| l <= today) {
        work.guidance_starts.push(case.case_ref.clone());
    }
    if let Some(report_due) = case.report_due {
        let waiting = matches!(
            case.status,
            Status::Stopped | Status::ClosedNegative | Status::ClosedPositive | Status::Transferred
        );
        if waiting && report_due < today && !case.has_final_report() {
            work.reminders.push(ReportReminder {
                case_ref: case.case_ref.clone(),
                report_due,
                days_late: (today - report_due).num_days(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Document, Milestone};
    use crate::case::DocumentKind;
    use chrono::{TimeZone, Utc};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ladder() -> Vec<EscalationStep> {
        vec![
            EscalationStep {
                after_days: 7,
                notify: Role::Counsellor,
            },
            EscalationStep {
                after_days: 14,
                notify: Role::SocialAssistant,
            },
            EscalationStep {
                after_days: 21,
                notify: Role::Coordinator,
            },
        ]
    }

    fn case_with_home_visit_due(due: NaiveDate, sent: u32) -> Case {
        let mut c = Case::new(
            "VD-2026-0003".into(),
            "caw",
            "vivendo",
            "Jan",
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        );
        c.status = Status::InGuidance;
        c.lease_start = Some(d(2026, 1, 1));
        c.milestones.push(Milestone {
            id: Some(42),
            kind: MilestoneKind::HomeVisit,
            name: "huisbezoek na 3 maanden".into(),
            due_on: due,
            meeting_month: None,
            done_on: None,
            escalation_step: sent,
            superseded: false,
            counsellor_attends: true,
            discuss_at_meeting: false,
        });
        c
    }

    fn roles(w: &DueWork) -> Vec<(u32, Role)> {
        w.escalations.iter().map(|e| (e.step, e.role)).collect()
    }

    #[test]
    fn home_visit_missed_by_6_days_escalates_nothing_yet() {
        let c = case_with_home_visit_due(d(2026, 4, 1), 0);
        assert!(due(&[c], &ladder(), d(2026, 4, 7)).escalations.is_empty());
    }

    #[test]
    fn home_visit_missed_by_7_days_reminds_the_counsellor() {
        let c = case_with_home_visit_due(d(2026, 4, 1), 0);
        let w = due(&[c], &ladder(), d(2026, 4, 8));
        assert_eq!(roles(&w), [(1, Role::Counsellor)]);
        let n = w.escalations[0].notice();
        assert_eq!(n.dedupe, "escalation:VD-2026-0003:42:1");
        assert_eq!(n.data["days_overdue"], 7);
    }

    #[test]
    fn a_step_already_sent_is_not_sent_again() {
        let c = case_with_home_visit_due(d(2026, 4, 1), 1);
        assert!(due(std::slice::from_ref(&c), &ladder(), d(2026, 4, 10))
            .escalations
            .is_empty());
        let w = due(&[c], &ladder(), d(2026, 4, 15));
        assert_eq!(roles(&w), [(2, Role::SocialAssistant)]);
    }

    #[test]
    fn a_daemon_down_for_three_weeks_sends_each_missing_step_once() {
        let c = case_with_home_visit_due(d(2026, 4, 1), 0);
        let w = due(&[c], &ladder(), d(2026, 4, 30));
        assert_eq!(
            roles(&w),
            [
                (1, Role::Counsellor),
                (2, Role::SocialAssistant),
                (3, Role::Coordinator)
            ]
        );
    }

    #[test]
    fn a_milestone_recorded_as_done_stops_the_ladder() {
        let mut c = case_with_home_visit_due(d(2026, 4, 1), 1);
        c.milestones[0].done_on = Some(d(2026, 4, 12));
        assert!(due(&[c], &ladder(), d(2026, 4, 30)).escalations.is_empty());
    }

    #[test]
    fn a_closed_case_does_not_escalate() {
        let mut c = case_with_home_visit_due(d(2026, 4, 1), 0);
        c.status = Status::ClosedNegative;
        assert!(due(&[c], &ladder(), d(2026, 4, 30)).escalations.is_empty());
    }

    #[test]
    fn a_stop_without_eindverslag_reminds_the_counsellor_after_the_due_date_weekly() {
        let mut c = case_with_home_visit_due(d(2026, 4, 1), 0);
        c.status = Status::Stopped;
        c.report_due = Some(d(2026, 5, 1));
        assert!(due(std::slice::from_ref(&c), &ladder(), d(2026, 5, 1))
            .reminders
            .is_empty());
        let w1 = due(std::slice::from_ref(&c), &ladder(), d(2026, 5, 2));
        let w2 = due(std::slice::from_ref(&c), &ladder(), d(2026, 5, 8));
        let w3 = due(std::slice::from_ref(&c), &ladder(), d(2026, 5, 9));
        assert_eq!(w1.reminders[0].days_late, 1);
        assert_eq!(
            w1.reminders[0].notice().dedupe,
            w2.reminders[0].notice().dedupe
        );
        assert_ne!(
            w1.reminders[0].notice().dedupe,
            w3.reminders[0].notice().dedupe
        );
        c.documents.push(Document {
            id: None,
            kind: DocumentKind::FinalReport,
            filename: "eindverslag.pdf".into(),
            sha256: None,
            size: 10,
            mail_id: None,
            sender: None,
            received_at: Utc.with_ymd_and_hms(2026, 5, 3, 0, 0, 0).unwrap(),
            usable: true,
            note: None,
            bytes: Default::default(),
        });
        assert!(due(&[c], &ladder(), d(2026, 5, 9)).reminders.is_empty());
    }

    #[test]
    fn an_allocated_case_whose_lease_started_is_due_to_start_guidance() {
        let mut c = case_with_home_visit_due(d(2026, 4, 1), 0);
        c.status = Status::Allocated;
        c.lease_start = Some(d(2026, 12, 1));
        assert!(due(std::slice::from_ref(&c), &ladder(), d(2026, 11, 30))
            .guidance_starts
            .is_empty());
        assert_eq!(
            due(&[c], &ladder(), d(2026, 12, 1)).guidance_starts,
            ["VD-2026-0003"]
        );
    }
}
