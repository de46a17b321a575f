//! Undoing what one mail's decision changed in a case, when staff correct that decision
//! (issue 24): "effects the wrong decision caused are undone where they were internal".
//!
//! Pure: the case as it is now, as it was before the mail and just after it (the store keeps
//! both, `case_undo`) in; the case to write back and the events saying so out. A field goes
//! back only when the mail changed it and nothing changed it since: a later change by another
//! mail, a job or a person is kept and named. A case the mail opened is withdrawn (closed, with
//! the correction as cause), never deleted: its timeline stays. Never does I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::model::{Case, CaseEvent, Cause, Transition};

/// A case after undoing one mail's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Undone {
    pub case: Case,
    /// The audit trail of the undo, caused by the correction.
    pub events: Vec<CaseEvent>,
    /// The counsellor went back: the store closes the current period and opens one.
    pub counsellor_changed: bool,
    /// Concerns the mail raised (row ids): removed, so that they count no more.
    pub removed_concerns: Vec<i64>,
    /// Documents the mail put on the case (row ids): the store deletes them.
    pub removed_documents: Vec<i64>,
    /// The mail had opened this case: it is withdrawn.
    pub withdrawn: bool,
    /// In Dutch, what was undone: "status terug naar \"aangemeld\"", "1 zorg", …
    pub undone: Vec<String>,
    /// In Dutch, what the mail changed but something else changed since: left as it is.
    pub kept: Vec<String>,
}

impl Undone {
    /// One Dutch line for the staff member's confirmation.
    pub fn line(&self) -> Option<String> {
        let r = &self.case.case_ref;
        let mut line = if self.withdrawn {
            format!(
                "dossier {r}, geopend door de verkeerde beslissing, is ingetrokken (afgesloten)"
            )
        } else if self.undone.is_empty() {
            String::new()
        } else {
            format!(
                "in dossier {r} ongedaan gemaakt: {}",
                self.undone.join(", ")
            )
        };
        if !self.kept.is_empty() {
            if !line.is_empty() {
                line.push_str("; ");
            }
            line.push_str(&format!(
                "in dossier {r} niet teruggezet want intussen nog gewijzigd: {}",
                self.kept.join(", ")
            ));
        }
        (!line.is_empty()).then_some(line)
    }
}

/// Undo in `current` what mail `mail_id` changed, from `before` (None: the mail opened the
/// case) to `after`.
pub fn undo(
    current: &Case,
    before: Option<&Case>,
    after: &Case,
    mail_id: i64,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Undone {
    let mut case = current.clone();
    let mut events = Vec::new();
    let mut undone = Vec::new();
    let mut kept = Vec::new();
    let mut fields = BTreeMap::new();
    let mut counsellor_changed = false;
    let mut withdrawn = false;

    let removed_documents: Vec<i64> = case
        .documents
        .iter()
        .filter(|d| d.mail_id == Some(mail_id))
        .filter_map(|d| d.id)
        .collect();
    case.documents.retain(|d| d.mail_id != Some(mail_id));
    if !removed_documents.is_empty() {
        undone.push(count(removed_documents.len(), "document", "documenten"));
    }
    let was_concern = |id: Option<i64>| {
        before.is_some_and(|b| b.concerns.iter().any(|c| c.id.is_some() && c.id == id))
    };
    let removed_concerns: Vec<i64> = case
        .concerns
        .iter()
        .filter(|c| c.mail_id == Some(mail_id) && !was_concern(c.id))
        .filter_map(|c| c.id)
        .collect();
    case.concerns
        .retain(|c| c.mail_id != Some(mail_id) || was_concern(c.id));
    if !removed_concerns.is_empty() {
        undone.push(count(removed_concerns.len(), "zorg", "zorgen"));
    }

    match before {
        None => {
            // Opened by the wrong decision: withdrawn, its timeline kept.
            if case.status.is_open() {
                if let Ok(event) = case.transition(Transition::CloseNegative, at, cause) {
                    events.push(event);
                }
            }
            withdrawn = true;
            events.push(case.event(
                at,
                "withdrawn",
                json!({"mail": mail_id, "why": "opened by a decision staff corrected"}),
                cause,
            ));
        }
        Some(b) => {
            macro_rules! restore {
                ($($field:ident => $dutch:literal),* $(,)?) => {$(
                    if after.$field != b.$field {
                        if case.$field == after.$field {
                            fields.insert(
                                stringify!($field),
                                json!({"from": case.$field, "to": b.$field}),
                            );
                            case.$field = b.$field.clone();
                            undone.push($dutch.to_string());
                        } else {
                            kept.push($dutch.to_string());
                        }
                    }
                )*};
            }
            let status_then = case.status;
            restore!(
                status => "status",
                partner => "partner",
                programme => "programma",
                candidate => "naam kandidaat",
                cir => "CIR-nummer",
                social_assistant => "sociaal assistent",
                counsellor => "woonbegeleider",
                lease_start => "ingang huurovereenkomst",
                guidance_end => "einde begeleiding",
                extension_months => "verlenging",
                stopped_on => "stopzetting",
                report_due => "termijn eindverslag",
                closed_at => "afsluiting",
                goals_met => "doelen bereikt",
                eviction_avoided => "uithuiszetting vermeden",
                other_guidance => "andere begeleiding",
                previous_case => "vorig dossier",
            );
            counsellor_changed = fields.contains_key("counsellor");
            if let Some(status) = undone.iter_mut().find(|u| *u == "status") {
                *status = format!("status terug naar \"{}\"", case.status.dutch());
            }
            if case.status != status_then {
                events.push(case.event(
                    at,
                    "status",
                    json!({"from": status_then, "to": case.status, "undo": mail_id}),
                    cause,
                ));
            }
            let (mut withdrawn_steps, mut restored_steps) = (0, 0);
            for m in case.milestones.iter_mut() {
                let Some(id) = m.id else { continue };
                let was = b.milestones.iter().find(|x| x.id == Some(id));
                let then = after.milestones.iter().find(|x| x.id == Some(id));
                match (was, then) {
                    // Planned by the mail: replaced, as a recomputed plan replaces a step.
                    (None, Some(t)) if *m == *t && !m.superseded => {
                        m.superseded = true;
                        withdrawn_steps += 1;
                    }
                    (Some(w), Some(t)) if w != t && *m == *t => {
                        *m = w.clone();
                        restored_steps += 1;
                    }
                    (None, Some(t)) | (Some(_), Some(t)) if *m != *t => {
                        kept.push(format!("mijlpaal {}", m.name));
                    }
                    _ => {}
                }
            }
            if withdrawn_steps + restored_steps > 0 {
                undone.push(format!(
                    "planning ({} teruggezet)",
                    count(withdrawn_steps + restored_steps, "mijlpaal", "mijlpalen")
                ));
            }
            for c in case.concerns.iter_mut() {
                let was = b.concerns.iter().find(|x| x.id.is_some() && x.id == c.id);
                let then = after
                    .concerns
                    .iter()
                    .find(|x| x.id.is_some() && x.id == c.id);
                if let (Some(w), Some(t)) = (was, then) {
                    if w.resolved_at != t.resolved_at {
                        if c.resolved_at == t.resolved_at {
                            c.resolved_at = w.resolved_at;
                            undone.push("afgehandelde zorg weer open".into());
                        } else {
                            kept.push("zorg".into());
                        }
                    }
                }
            }
            fields.insert(
                "milestones",
                json!({"withdrawn": withdrawn_steps, "restored": restored_steps}),
            );
        }
    }
    events.push(case.event(
        at,
        "undone",
        json!({
            "mail": mail_id,
            "fields": fields,
            "documents_removed": removed_documents.len(),
            "concerns_removed": removed_concerns.len(),
            "withdrawn": withdrawn,
            "kept": kept,
        }),
        cause,
    ));
    Undone {
        case,
        events,
        counsellor_changed,
        removed_concerns,
        removed_documents,
        withdrawn,
        undone,
        kept,
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Concern, Counsellor, Milestone, Status};
    use crate::case::MilestoneKind;
    use chrono::NaiveDate;

    fn at() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn stored(mut case: Case) -> Case {
        case.id = Some(7);
        case
    }

    fn base() -> Case {
        let mut c = stored(Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "versnelde-doorstroom",
            "Jan Peeters",
            at(),
        ));
        c.status = Status::Allocated;
        c.counsellor = Counsellor {
            name: Some("Els".into()),
            email: Some("els@caw.example".into()),
            phone: None,
        };
        c.milestones.push(Milestone {
            id: Some(1),
            kind: MilestoneKind::HomeVisit,
            name: "huisbezoek".into(),
            due_on: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            meeting_month: None,
            done_on: None,
            escalation_step: 0,
            superseded: false,
            counsellor_attends: true,
            discuss_at_meeting: false,
        });
        c
    }

    fn cause() -> Cause {
        Cause::Staff {
            by: "an@woonhaven.example".into(),
            mail: 42,
        }
    }

    #[test]
    fn what_a_wrong_lease_start_changed_goes_back_and_later_changes_stay() {
        let before = base();
        let mut after = before.clone();
        after.status = Status::InGuidance;
        after.lease_start = NaiveDate::from_ymd_opt(2026, 11, 1);
        after.milestones[0].superseded = true;
        let mut planned = after.milestones[0].clone();
        planned.id = Some(2);
        planned.superseded = false;
        after.milestones.push(planned);
        after.concerns.push(Concern {
            id: Some(5),
            statement: "x".into(),
            urgent: false,
            raised_at: at(),
            mail_id: Some(42),
            resolved_at: None,
        });
        // Since then, a person assigned the social assistant: that stays.
        let mut now = after.clone();
        now.social_assistant = Some("bram@woonhaven.example".into());
        let u = undo(&now, Some(&before), &after, 42, at(), &cause());
        assert_eq!(u.case.status, Status::Allocated);
        assert_eq!(u.case.lease_start, None);
        assert_eq!(
            u.case.social_assistant.as_deref(),
            Some("bram@woonhaven.example")
        );
        assert!(!u.case.milestones[0].superseded, "the old plan is back");
        assert!(
            u.case.milestones[1].superseded,
            "the mail's plan is replaced"
        );
        assert_eq!(u.removed_concerns, [5]);
        assert!(u.case.concerns.is_empty());
        assert!(!u.counsellor_changed);
        let kinds: Vec<&str> = u.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["status", "undone"]);
        assert!(u.events.iter().all(|e| e.cause == cause()));
        let line = u.line().unwrap();
        assert!(line.contains("status terug naar \"toegewezen\""), "{line}");
        assert!(line.contains("1 zorg"), "{line}");
    }

    #[test]
    fn a_field_changed_since_by_something_else_is_kept_and_named() {
        let before = base();
        let mut after = before.clone();
        after.counsellor.email = Some("new@caw.example".into());
        let mut now = after.clone();
        now.counsellor.email = Some("newer@caw.example".into());
        let u = undo(&now, Some(&before), &after, 42, at(), &cause());
        assert_eq!(
            u.case.counsellor.email.as_deref(),
            Some("newer@caw.example")
        );
        assert_eq!(u.kept, ["woonbegeleider"]);
        assert!(u.line().unwrap().contains("niet teruggezet"));
        // Unchanged since: it goes back, and a new counsellor period is opened.
        let u = undo(&after, Some(&before), &after, 42, at(), &cause());
        assert_eq!(u.case.counsellor, before.counsellor);
        assert!(u.counsellor_changed);
    }

    #[test]
    fn a_case_the_wrong_decision_opened_is_withdrawn_with_its_timeline_kept() {
        let mut opened = base();
        opened.status = Status::ReferredIncomplete;
        let u = undo(&opened, None, &opened, 42, at(), &cause());
        assert!(u.withdrawn);
        assert_eq!(u.case.status, Status::ClosedNegative);
        assert!(u.case.closed_at.is_some());
        let kinds: Vec<&str> = u.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["status", "withdrawn", "undone"]);
        assert!(u.line().unwrap().contains("ingetrokken"));
    }

    #[test]
    fn a_mail_that_changed_nothing_of_the_case_row_undoes_only_its_documents() {
        let before = base();
        let after = before.clone();
        let u = undo(&after, Some(&before), &after, 42, at(), &cause());
        assert_eq!(u.case, after);
        assert_eq!(u.line(), None);
    }
}
