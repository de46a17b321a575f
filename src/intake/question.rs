//! Questions by mail from verified staff to the shared mailbox (see
//! [`crate::understand::answer::Question`]): `dossier VD-2026-0008`, a candidate's name or CIR
//! → the dossier (status, partner, counsellor, social assistant, milestones, the last 10
//! events, documents); `overzicht [partner]` → the open cases per partner with their next
//! milestone; `quarantaine` → the mails waiting for a person.
//!
//! The answer goes to the sender only, and only when the sender is staff verified by our trust
//! anchor (the privacy guard checks it again); anyone else's mail with these words is decided
//! as any mail is, and an unverified staff address hears that nothing was sent.

use chrono::Utc;
use serde_json::{json, Value};

use super::commit::{Handled, IntakeError};
use super::staff::{Refusal, StaffSender};
use crate::case::{Case, CaseEvent};
use crate::config::Config;
use crate::context::Loaded;
use crate::outbox::queue::queue_notices;
use crate::outbox::{Answering, Notice};
use crate::store::{CaseFilter, MailRecord, Tx};
use crate::understand::answer::{self, Question};
use crate::understand::thread::{folded, Tags};
use crate::understand::Decision;

/// The mail kind recorded for a staff member's question.
pub const STAFF_QUESTION: &str = "staff_question";

/// How many events of a case the dossier mail shows (the newest).
const LAST_EVENTS: usize = 10;
/// How many matching cases a name may find before the answer asks to be more precise.
const MAX_CHOICES: usize = 20;

/// Answer `decision`'s mail when it is a question from staff; `None` for any other mail.
pub(super) async fn staff_question(
    tx: &mut Tx,
    loaded: &Loaded,
    mail: &MailRecord,
    decision: &Decision,
    staff: &StaffSender,
) -> Result<Option<Handled>, IntakeError> {
    let config = &loaded.config;
    let new_text = crate::understand::text::split_body(&decision.facts.body_text).new;
    let Some(question) = answer::parse_question(&decision.facts.subject, &new_text) else {
        return Ok(None);
    };
    let (data, case_ref) = if staff.verified {
        reply(tx, config, &question).await?
    } else {
        (
            json!({"kind": "refused", "reason": Refusal::NotVerified.to_string()}),
            None,
        )
    };
    let now = Utc::now();
    let mut data = data;
    data["ack_slot"] = json!(format!("question:{}", mail.id));
    let notice = Notice {
        template: "question_answer".into(),
        case_ref: case_ref.clone(),
        to: Vec::new(),
        to_sender: true,
        urgent: false,
        data,
        dedupe: format!("mail:{}", mail.id),
    };
    let answering = Answering::of(decision);
    let mut done = queue_notices(
        tx,
        config,
        &loaded.outbox,
        &[notice],
        &[],
        answering.as_ref(),
        now,
    )
    .await?;
    done.insert(0, format!("staff question answered ({question:?})"));
    let json = serde_json::to_value(decision)
        .map_err(|e| IntakeError::Io(format!("decision to JSON: {e}")))?;
    Ok(Some(super::staff::finish_staff_mail(
        tx,
        mail,
        STAFF_QUESTION,
        decision,
        &json,
        case_ref,
        done,
        now,
    )))
}

/// The template data answering `question`, and the case it is about (for the guard).
async fn reply(
    tx: &mut Tx,
    config: &Config,
    question: &Question,
) -> Result<(Value, Option<String>), IntakeError> {
    let partner_name = |id: &str| {
        config
            .partner(id)
            .map_or(id.to_string(), |p| p.name.clone())
    };
    match question {
        Question::Dossier(asked) => {
            let tag = Tags::cached(&config.organisation.case_reference)
                .find(asked)
                .into_iter()
                .next();
            let found: Vec<Case> = match tag {
                Some(tag) => tx.case(&tag).await?.into_iter().collect(),
                None => tx
                    .cases(&CaseFilter {
                        details: true,
                        ..CaseFilter::default()
                    })
                    .await?
                    .into_iter()
                    .filter(|c| crate::case::search::matches(c, asked))
                    .collect(),
            };
            match found.as_slice() {
                [] => Ok((json!({"kind": "not_found", "asked": asked}), None)),
                [case] => {
                    let events = match case.id {
                        Some(id) => tx.case_events(id).await?,
                        None => Vec::new(),
                    };
                    let dossier = dossier(config, case, &events);
                    Ok((
                        json!({"kind": "dossier", "dossier": dossier}),
                        Some(case.case_ref.clone()),
                    ))
                }
                many => {
                    let choices: Vec<Value> = many
                        .iter()
                        .take(MAX_CHOICES)
                        .map(|c| {
                            json!({"case_ref": c.case_ref, "candidate": c.candidate,
                                   "partner": partner_name(&c.partner), "status": c.status.dutch()})
                        })
                        .collect();
                    Ok((
                        json!({"kind": "choose", "asked": asked, "choices": choices,
                               "more": many.len().saturating_sub(MAX_CHOICES)}),
                        None,
                    ))
                }
            }
        }
        Question::Overview(partner) => {
            let wanted: Vec<&crate::config::Partner> = config
                .partners
                .iter()
                .filter(|p| {
                    partner.as_deref().is_none_or(|q| {
                        let q = folded(q);
                        folded(&p.name).contains(&q) || folded(&p.id).contains(&q)
                    })
                })
                .collect();
            if wanted.is_empty() {
                return Ok((
                    json!({"kind": "not_found", "asked": partner.clone().unwrap_or_default()}),
                    None,
                ));
            }
            let cases = tx
                .cases(&CaseFilter {
                    open_only: true,
                    ..CaseFilter::default()
                })
                .await?;
            let partners: Vec<Value> = wanted
                .iter()
                .map(|p| {
                    let rows: Vec<Value> = cases
                        .iter()
                        .filter(|c| c.partner == p.id)
                        .map(|c| {
                            let next = c
                                .milestones
                                .iter()
                                .filter(|m| m.is_pending())
                                .min_by_key(|m| m.due_on);
                            json!({
                                "case_ref": c.case_ref,
                                "candidate": c.candidate,
                                "status": c.status.dutch(),
                                "next": next.map(|m| json!({"name": m.name, "due": m.due_on.format("%d/%m/%Y").to_string()})),
                            })
                        })
                        .collect();
                    json!({"name": p.name, "cases": rows})
                })
                .collect();
            Ok((json!({"kind": "overview", "partners": partners}), None))
        }
        Question::Quarantine => {
            let mails: Vec<Value> = tx
                .quarantined_mails(50)
                .await?
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id,
                        "received": m.received_at
                            .with_timezone(&config.organisation.time_zone)
                            .format("%d/%m/%Y %H:%M")
                            .to_string(),
                        "kind": m.kind.clone().unwrap_or_default(),
                        "reason": m.reason.clone().unwrap_or_default(),
                    })
                })
                .collect();
            Ok((json!({"kind": "quarantine", "mails": mails}), None))
        }
    }
}

/// The dossier of one case as the template shows it.
fn dossier(config: &Config, case: &Case, events: &[CaseEvent]) -> Value {
    let tz = config.organisation.time_zone;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%d/%m/%Y").to_string());
    let milestones: Vec<Value> = case
        .milestones
        .iter()
        .map(|m| {
            let state = match (m.done_on, m.superseded) {
                (Some(d), _) => format!("gedaan op {}", d.format("%d/%m/%Y")),
                (None, true) => "vervangen".into(),
                (None, false) => "gepland".into(),
            };
            json!({"due": m.due_on.format("%d/%m/%Y").to_string(), "name": m.name, "state": state})
        })
        .collect();
    let events: Vec<Value> = events
        .iter()
        .rev()
        .take(LAST_EVENTS)
        .map(|e| {
            let mut detail = e.detail.to_string();
            if detail.chars().count() > 120 {
                detail = detail.chars().take(120).collect::<String>() + "…";
            }
            json!({
                "at": e.at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
                "kind": e.kind,
                "detail": detail,
                "cause": e.cause.to_string(),
            })
        })
        .collect();
    let documents: Vec<Value> = case
        .documents
        .iter()
        .map(|d| {
            json!({
                "received": d.received_at.with_timezone(&tz).format("%d/%m/%Y").to_string(),
                "kind": d.kind.dutch(),
                "filename": d.filename,
                "usable": d.usable,
            })
        })
        .collect();
    json!({
        "case_ref": case.case_ref,
        "candidate": case.candidate,
        "status": case.status.dutch(),
        "partner": config.partner(&case.partner).map_or(case.partner.clone(), |p| p.name.clone()),
        "cir": case.cir,
        "social_assistant": case.social_assistant,
        "counsellor": {
            "name": case.counsellor.name,
            "email": case.counsellor.email,
            "phone": case.counsellor.phone,
        },
        "lease_start": date(case.lease_start),
        "milestones": milestones,
        "events": events,
        "documents": documents,
    })
}
