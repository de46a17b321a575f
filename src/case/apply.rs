//! Applying one triage [`Decision`] to the case register: the single place where a mail changes
//! cases.
//!
//! [`apply`] is pure: the caller loads the cases the decision names (and, for a referral,
//! reserves the next reference and counts the partner's referrals this month), calls it, and
//! commits the returned [`Effects`] — case rows, events, documents, milestones, concerns and the
//! notices of `notes/notices.md` — in one store transaction together with the mail's decision.
//! Nothing is ever confirmed to a sender the decision does not allow (`must_auto_reply`).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::json;

use super::model::{
    Case, CaseError, CaseEvent, Cause, Concern, Counsellor, Document, Status, Transition,
};
use super::plan;
use super::quota::{self, Month, QuotaCheck};
use super::{DocumentKind, Role};
use crate::config::{Config, Programme};
use crate::outbox::Notice;
use crate::understand::{Conclusion, Decision, MailKind};

/// What [`apply`] needs besides the decision.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub config: &'a Config,
    pub decision: &'a Decision,
    /// Row id of the mail in `mails`: the cause of every event.
    pub mail_id: i64,
    pub received_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The stored cases the decision names (its `case_ref` and the keys of its conclusions),
    /// by reference.
    pub cases: &'a BTreeMap<String, Case>,
    /// For a referral: the reference reserved for the new case.
    pub new_reference: Option<String>,
    /// For a referral: this partner's referrals already counted in the month of the mail.
    pub referrals_this_month: u32,
}

/// One case after the mail: new rows are those without an id (documents, milestones,
/// concerns); the store inserts those and updates the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    pub case: Case,
    pub created: bool,
    pub events: Vec<CaseEvent>,
    /// The counsellor changed: the store closes the old history row and opens a new one.
    pub counsellor_changed: bool,
}

/// Everything a mail changes, committed together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub changes: Vec<CaseChange>,
    /// Mails to queue, per `notes/notices.md`.
    pub notices: Vec<Notice>,
    pub quota: Option<QuotaCheck>,
    /// The case the mail is filed under (its `mails.case_ref`).
    pub case_ref: Option<String>,
}

impl Effects {
    pub fn change(&self, case_ref: &str) -> Option<&CaseChange> {
        self.changes.iter().find(|c| c.case.case_ref == case_ref)
    }
}

/// Apply one decision. Errors are permanent: the mail goes to quarantine with the message.
pub fn apply(input: &Input<'_>) -> Result<Effects, CaseError> {
    let d = input.decision;
    let mut fx = Effects::default();
    match d.kind {
        MailKind::Referral | MailKind::ReferralIncomplete => match known_case(input) {
            Some(case) => reply(input, case.clone(), &mut fx)?,
            None => referral(input, &mut fx)?,
        },
        MailKind::ReplyToCase => reply(input, required_case(input)?.clone(), &mut fx)?,
        MailKind::ContactChange => contact_change(input, &mut fx)?,
        MailKind::Concern | MailKind::UrgentConcern => concern(input, &mut fx)?,
        MailKind::FinalReport => final_report(input, &mut fx)?,
        MailKind::LeaseStart => lease_start(input, &mut fx)?,
        MailKind::MeetingConclusions => conclusions(input, &mut fx)?,
        MailKind::DiscussionRequest => discussion_request(input, &mut fx)?,
        MailKind::CrossPartner => fx.notices.push(notice(
            input,
            "cross_partner_notice",
            None,
            vec![Role::Coordinator],
            json!({
                "sender": d.facts.sender.clone().unwrap_or_default(),
                "sender_partner": d.partner.clone().unwrap_or_default(),
                "subject": d.facts.subject,
            }),
        )),
        MailKind::UnknownSender => fx.notices.push(notice(
            input,
            "unknown_sender_notice",
            None,
            vec![Role::Coordinator],
            json!({
                "sender": d.facts.sender.clone().unwrap_or_default(),
                "subject": d.facts.subject,
                "reason": d.reasons.join("; "),
            }),
        )),
        MailKind::Bounce => fx.notices.push(notice(
            input,
            "bounce_notice",
            None,
            vec![Role::Coordinator],
            json!({
                "recipient": bounced_recipient(input).unwrap_or_default(),
                "subject": d.facts.subject,
                "error": d.reasons.join("; "),
            }),
        )),
        MailKind::AutoReply
        | MailKind::Bulk
        | MailKind::CalendarResponse
        | MailKind::SpamOrSpoof
        | MailKind::Malformed
        | MailKind::Duplicate => {}
    }
    if fx.case_ref.is_none() {
        fx.case_ref = fx.changes.first().map(|c| c.case.case_ref.clone());
    }
    Ok(fx)
}

fn cause(input: &Input<'_>) -> Cause {
    Cause::Mail { id: input.mail_id }
}

fn today(input: &Input<'_>) -> NaiveDate {
    input
        .received_at
        .with_timezone(&input.config.organisation.time_zone)
        .date_naive()
}

fn notice(
    input: &Input<'_>,
    template: &str,
    case_ref: Option<&str>,
    to: Vec<Role>,
    data: serde_json::Value,
) -> Notice {
    Notice {
        template: template.into(),
        case_ref: case_ref.map(str::to_string),
        to,
        to_sender: false,
        urgent: false,
        data,
        dedupe: format!(
            "mail:{}:{template}:{}",
            input.mail_id,
            case_ref.unwrap_or("-")
        ),
    }
}

/// An acknowledgement to the sender, only when the decision allows answering.
fn ack(
    input: &Input<'_>,
    template: &str,
    case_ref: &str,
    data: serde_json::Value,
) -> Option<Notice> {
    input.decision.must_auto_reply.then(|| Notice {
        to_sender: true,
        ..notice(input, template, Some(case_ref), Vec::new(), data)
    })
}

fn known_case<'a>(input: &'a Input<'_>) -> Option<&'a Case> {
    let r = input.decision.case_ref.as_deref()?;
    lookup(input, r)
}

fn lookup<'a>(input: &'a Input<'_>, case_ref: &str) -> Option<&'a Case> {
    input.cases.get(case_ref).or_else(|| {
        input
            .cases
            .values()
            .find(|c| c.case_ref.eq_ignore_ascii_case(case_ref))
    })
}

/// The case the decision names; it must be in the register and, unless staff wrote, belong to
/// the sender's partner.
fn required_case<'a>(input: &'a Input<'_>) -> Result<&'a Case, CaseError> {
    let d = input.decision;
    let r = d.case_ref.as_deref().ok_or(CaseError::Missing("case"))?;
    let case = lookup(input, r).ok_or_else(|| CaseError::UnknownCase(r.into()))?;
    if let Some(p) = d.partner.as_deref() {
        if !d.facts.from_staff && p != case.partner {
            return Err(CaseError::WrongPartner {
                case_ref: case.case_ref.clone(),
                sender_partner: p.into(),
            });
        }
    }
    Ok(case)
}

fn programme<'a>(input: &'a Input<'_>, case: &Case) -> Result<&'a Programme, CaseError> {
    input
        .config
        .programme(&case.programme)
        .ok_or_else(|| CaseError::UnknownProgramme(case.programme.clone()))
}

fn dutch_names(kinds: &[DocumentKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.dutch()).collect()
}

/// Attachments of the mail as documents on the case; returns the kinds that are usable.
fn add_documents(
    input: &Input<'_>,
    case: &mut Case,
    events: &mut Vec<CaseEvent>,
) -> Vec<DocumentKind> {
    let d = input.decision;
    let mut received = Vec::new();
    for a in &d.facts.attachments {
        case.documents.push(Document {
            id: None,
            kind: a.kind,
            filename: a.filename.clone(),
            sha256: None,
            size: a.size as u64,
            mail_id: Some(input.mail_id),
            sender: d.facts.sender.clone(),
            received_at: input.received_at,
            usable: !a.unusable,
            note: a.note.clone(),
            bytes: a.bytes.clone(),
        });
        events.push(case.event(
            input.now,
            "document",
            json!({"kind": a.kind, "filename": a.filename, "usable": !a.unusable, "note": a.note}),
            &cause(input),
        ));
        if !a.unusable {
            received.push(a.kind);
        }
    }
    // Triage may name documents it did not hand over as attachments (e.g. a link); they count.
    received.extend(d.documents.iter().copied());
    received.sort();
    received.dedup();
    received
}

fn missing_after(case: &Case, programme: &Programme, extra: &[DocumentKind]) -> Vec<DocumentKind> {
    case.missing_documents(programme)
        .into_iter()
        .filter(|k| !extra.contains(k))
        .collect()
}

fn referral(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let partner_id = d.partner.as_deref().ok_or(CaseError::Missing("partner"))?;
    let partner = input
        .config
        .partner(partner_id)
        .ok_or_else(|| CaseError::UnknownPartner(partner_id.into()))?;
    let reference = input
        .new_reference
        .clone()
        .ok_or(CaseError::Missing("new case reference"))?;
    let candidate = d
        .candidate
        .clone()
        .unwrap_or_else(|| "(naam onbekend)".into());
    let mut case = Case::new(
        reference.clone(),
        &partner.id,
        &partner.programme,
        &candidate,
        input.received_at,
    );
    let programme = programme(input, &case)?;
    case.cir = d.cir.clone();
    if !d.facts.from_staff {
        case.counsellor.email = d.facts.sender.clone();
    }
    let mut events = vec![case.event(
        input.now,
        "created",
        json!({"partner": partner.id, "programme": programme.id, "candidate": candidate, "cir": d.cir}),
        &cause(input),
    )];
    let received = add_documents(input, &mut case, &mut events);
    let missing = missing_after(&case, programme, &received);
    if missing.is_empty() {
        events.push(case.transition(Transition::Complete, input.now, &cause(input))?);
    }
    let month = Month::of(today(input));
    let q = quota::check(partner, month, input.referrals_this_month);
    let data = json!({"received": dutch_names(&received), "missing": dutch_names(&missing)});
    fx.notices
        .extend(ack(input, "referral_ack", &reference, data));
    fx.notices.push(notice(
        input,
        "referral_notice",
        Some(&reference),
        vec![Role::Coordinator],
        json!({
            "received": dutch_names(&received),
            "missing": dutch_names(&missing),
            "over_quota": q.over,
            "quota": q.quota,
            "count_this_month": q.count,
        }),
    ));
    if q.over {
        events.push(case.event(
            input.now,
            "over_quota",
            json!({"month": month.to_string(), "count": q.count, "quota": q.quota}),
            &cause(input),
        ));
    }
    fx.notices.extend(q.notice(&reference));
    fx.quota = Some(q);
    fx.changes.push(CaseChange {
        case,
        created: true,
        events,
        counsellor_changed: true,
    });
    Ok(())
}

fn reply(input: &Input<'_>, mut case: Case, fx: &mut Effects) -> Result<(), CaseError> {
    let programme = programme(input, &case)?.clone();
    let mut events = Vec::new();
    let received = add_documents(input, &mut case, &mut events);
    let missing = missing_after(&case, &programme, &received);
    if case.status == Status::ReferredIncomplete && missing.is_empty() {
        events.push(case.transition(Transition::Complete, input.now, &cause(input))?);
    }
    if received.contains(&DocumentKind::FinalReport) && case.report_due.take().is_some() {
        events.push(case.event(input.now, "final_report_received", json!({}), &cause(input)));
    }
    let data = json!({
        "received": dutch_names(&received),
        "missing": dutch_names(&missing),
        "complete": missing.is_empty(),
    });
    fx.notices
        .extend(ack(input, "reply_ack", &case.case_ref, data));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

fn contact_change(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let mut case = required_case(input)?.clone();
    let new = d
        .new_contact
        .as_ref()
        .ok_or(CaseError::Missing("new contact details"))?;
    let old = case.counsellor.clone();
    let merged = Counsellor {
        name: new.name.clone().or(old.name.clone()),
        email: new
            .email
            .clone()
            .map(|e| e.to_ascii_lowercase())
            .or(old.email.clone()),
        phone: new.phone.clone().or(old.phone.clone()),
    };
    let mut events = Vec::new();
    add_documents(input, &mut case, &mut events);
    // A counsellor of another configured partner takes over: the case moves to that partner.
    if let Some(to) = merged
        .email
        .as_deref()
        .and_then(|e| input.config.partner_of_address(e))
        .filter(|p| p.id != case.partner)
    {
        events.push(case.event(
            input.now,
            "transfer",
            json!({"from_partner": case.partner, "to_partner": to.id, "old_counsellor": old.to_json()}),
            &cause(input),
        ));
        case.partner = to.id.clone();
    }
    events.push(case.event(
        input.now,
        "counsellor",
        json!({"old": old.to_json(), "new": merged.to_json()}),
        &cause(input),
    ));
    case.counsellor = merged.clone();
    fx.notices.push(notice(
        input,
        "contact_change_notice",
        Some(&case.case_ref),
        vec![Role::SocialAssistant],
        json!({"old": old.to_json(), "new": merged.to_json()}),
    ));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: true,
    });
    Ok(())
}

fn statement(input: &Input<'_>) -> String {
    let d = input.decision;
    d.facts
        .statement
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| Some(d.facts.subject.trim().to_string()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "(geen omschrijving)".into())
}

fn concern(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let urgent = input.decision.kind == MailKind::UrgentConcern;
    let mut case = required_case(input)?.clone();
    let statement = statement(input);
    let mut events = Vec::new();
    add_documents(input, &mut case, &mut events);
    case.concerns.push(Concern {
        id: None,
        statement: statement.clone(),
        urgent,
        raised_at: input.received_at,
        mail_id: Some(input.mail_id),
        resolved_at: None,
    });
    events.push(case.event(
        input.now,
        "concern",
        json!({"statement": statement, "urgent": urgent}),
        &cause(input),
    ));
    let to = vec![Role::SocialAssistant, Role::Coordinator];
    let data = json!({"statement": statement});
    if urgent {
        fx.notices.push(Notice {
            urgent: true,
            ..notice(
                input,
                "urgent_alert",
                Some(&case.case_ref),
                to,
                data.clone(),
            )
        });
    } else {
        fx.notices.push(notice(
            input,
            "concern_notice",
            Some(&case.case_ref),
            to,
            data.clone(),
        ));
    }
    fx.notices
        .extend(ack(input, "concern_ack", &case.case_ref, data));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

fn final_report(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let mut case = required_case(input)?.clone();
    let programme = programme(input, &case)?.clone();
    let mut events = Vec::new();
    let received = add_documents(input, &mut case, &mut events);
    let stop_date = input
        .decision
        .facts
        .stop_date
        .unwrap_or_else(|| today(input));
    if matches!(
        case.status,
        Status::Allocated | Status::InGuidance | Status::Extended
    ) {
        events.push(case.transition(Transition::Stop, input.now, &cause(input))?);
        case.stopped_on = Some(stop_date);
    }
    let report_received = received.contains(&DocumentKind::FinalReport) || case.has_final_report();
    if report_received {
        case.report_due = None;
    } else if case.report_due.is_none() {
        let base = case.stopped_on.unwrap_or(stop_date);
        case.report_due =
            Some(base + chrono::Duration::days(i64::from(programme.final_report_within_days)));
    }
    events.push(case.event(
        input.now,
        "final_report",
        json!({"stop_date": case.stopped_on, "report_received": report_received, "report_due": case.report_due}),
        &cause(input),
    ));
    fx.notices.push(notice(
        input,
        "final_report_notice",
        Some(&case.case_ref),
        vec![Role::SocialAssistant, Role::Coordinator],
        json!({
            "stop_date": case.stopped_on.map(|d| d.to_string()),
            "report_received": report_received,
            "report_due": case.report_due.map(|d| d.to_string()),
        }),
    ));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

/// Set (or change) the lease start: allocate, start guidance once the date has come, and
/// (re)compute the plan keeping what happened. Shared by mail and `case REF set lease-start`.
pub fn set_lease_start(
    case: &mut Case,
    programme: &Programme,
    lease_start: NaiveDate,
    today: NaiveDate,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Result<Vec<CaseEvent>, CaseError> {
    let mut events = Vec::new();
    if matches!(
        case.status,
        Status::ReferredIncomplete | Status::ReferredComplete
    ) {
        events.push(case.transition(Transition::Allocate, at, cause)?);
    }
    if case.status == Status::Allocated && lease_start <= today {
        events.push(case.transition(Transition::StartGuidance, at, cause)?);
    }
    if !matches!(
        case.status,
        Status::Allocated | Status::InGuidance | Status::Extended
    ) {
        // A closed case gets no new plan: say so with the graph's own message.
        case.status
            .apply(Transition::StartGuidance)
            .map_err(|source| CaseError::Illegal {
                case_ref: case.case_ref.clone(),
                source,
            })?;
    }
    let old = case.lease_start;
    plan::set_lease_start(case, programme, lease_start);
    events.push(case.event(
        at,
        "lease_start",
        json!({"old": old, "new": lease_start, "guidance_end": case.guidance_end}),
        cause,
    ));
    Ok(events)
}

fn lease_start(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let lease = input
        .decision
        .lease_start
        .ok_or(CaseError::Missing("lease start date"))?;
    let mut case = required_case(input)?.clone();
    let programme = programme(input, &case)?.clone();
    let mut events = Vec::new();
    add_documents(input, &mut case, &mut events);
    events.extend(set_lease_start(
        &mut case,
        &programme,
        lease,
        today(input),
        input.now,
        &cause(input),
    )?);
    let milestones: Vec<_> = case
        .milestones
        .iter()
        .filter(|m| m.is_pending())
        .map(|m| json!({"name": m.name, "due": m.due_on.to_string(), "meeting_month": m.meeting_month}))
        .collect();
    fx.notices.push(notice(
        input,
        "lease_start_notice",
        Some(&case.case_ref),
        vec![Role::SocialAssistant],
        json!({"lease_start": lease.to_string(), "milestones": milestones}),
    ));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

/// The decision text of a `Decision::conclusions` value, for decisions that came without the
/// structured facts.
pub fn parse_conclusion(text: &str) -> Option<Conclusion> {
    match text {
        "close_positive" => Some(Conclusion::ClosePositive),
        "discuss_again" => Some(Conclusion::DiscussAgain),
        "closed" => Some(Conclusion::Closed),
        _ => {
            let months = text
                .strip_prefix("extend_")?
                .strip_suffix("_months")?
                .parse()
                .ok()?;
            Some(Conclusion::Extend { months })
        }
    }
}

const MONTHS: [&str; 12] = [
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

/// "1 december 2026": for decision texts built here (templates have their own `datum` filter).
pub fn dutch_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// The latest meeting on or before `date`.
fn meeting_on_or_before(config: &Config, date: NaiveDate) -> Option<NaiveDate> {
    let rule = config.meeting.meeting;
    let this = rule.in_month(date.year(), date.month())?;
    if this <= date {
        return Some(this);
    }
    let prev = date.with_day(1)?.pred_opt()?;
    rule.in_month(prev.year(), prev.month())
}

fn conclusions(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let mut decided: BTreeMap<String, Conclusion> = d.facts.conclusions.clone();
    for (r, text) in &d.conclusions {
        if !decided.contains_key(r) {
            let c = parse_conclusion(text).ok_or(CaseError::Missing("decision of a conclusion"))?;
            decided.insert(r.clone(), c);
        }
    }
    if decided.is_empty() {
        return Err(CaseError::Missing("case in the conclusions"));
    }
    // partner → [(case_ref, Dutch decision text)]
    let mut per_partner: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut first_case: BTreeMap<String, String> = BTreeMap::new();
    for (r, conclusion) in decided {
        let mut case = lookup(input, &r)
            .ok_or_else(|| CaseError::UnknownCase(r.clone()))?
            .clone();
        let programme = programme(input, &case)?.clone();
        let c = cause(input);
        let mut events = vec![case.event(
            input.now,
            "conclusion",
            json!({"decision": conclusion.as_text()}),
            &c,
        )];
        let text = match conclusion {
            Conclusion::ClosePositive => {
                events.push(case.transition(Transition::ClosePositive, input.now, &c)?);
                "positief afsluiten".to_string()
            }
            Conclusion::Closed => {
                events.push(case.transition(Transition::CloseNegative, input.now, &c)?);
                "afgesloten".to_string()
            }
            Conclusion::DiscussAgain => {
                case.concerns.push(Concern {
                    id: None,
                    statement: "Opnieuw bespreken op het volgende overleg (conclusies)".into(),
                    urgent: false,
                    raised_at: input.received_at,
                    mail_id: Some(input.mail_id),
                    resolved_at: None,
                });
                "opnieuw bespreken op het volgende overleg".to_string()
            }
            Conclusion::Extend { months } => {
                events.push(case.transition(Transition::Extend, input.now, &c)?);
                let end = plan::extend(&mut case, &programme, months)?;
                events.push(case.event(
                    input.now,
                    "extension",
                    json!({"months": months, "guidance_end": end}),
                    &c,
                ));
                format!(
                    "verlengen met {months} maanden, nieuwe eindevaluatie op {}",
                    dutch_date(end)
                )
            }
        };
        per_partner
            .entry(case.partner.clone())
            .or_default()
            .push(json!({"case_ref": case.case_ref, "decision": text}));
        first_case
            .entry(case.partner.clone())
            .or_insert(case.case_ref.clone());
        fx.changes.push(CaseChange {
            case,
            created: false,
            events,
            counsellor_changed: false,
        });
    }
    // Sent only to the shared mailbox: the partner gets them from doorstroom for confirmation.
    if d.notify.contains(&Role::Partner) {
        let meeting = meeting_on_or_before(input.config, today(input));
        for (partner, list) in per_partner {
            let case_ref = first_case.get(&partner).cloned();
            fx.notices.push(Notice {
                dedupe: format!("mail:{}:conclusions_confirmation:{partner}", input.mail_id),
                ..notice(
                    input,
                    "conclusions_confirmation",
                    case_ref.as_deref(),
                    vec![Role::Partner],
                    json!({"meeting_date": meeting.map(|m| m.to_string()), "conclusions": list}),
                )
            });
        }
    }
    Ok(())
}

/// A partner asks to discuss a case: noted as a concern for the agenda, and the partner is told
/// which meeting it goes to. Holiday moves of the meeting are the calendar's; this uses the
/// plain rule.
fn discussion_request(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let mut case = required_case(input)?.clone();
    let statement = statement(input);
    let today = today(input);
    let rule = input.config.meeting.meeting;
    let this = rule.in_month(today.year(), today.month());
    let too_late = this.is_none_or(|m| today >= m);
    let next = plan::next_meeting_after(rule, today);
    let mut events = Vec::new();
    add_documents(input, &mut case, &mut events);
    case.concerns.push(Concern {
        id: None,
        statement: statement.clone(),
        urgent: false,
        raised_at: input.received_at,
        mail_id: Some(input.mail_id),
        resolved_at: None,
    });
    events.push(case.event(
        input.now,
        "discussion_request",
        json!({"statement": statement, "too_late": too_late}),
        &cause(input),
    ));
    let data = json!({
        "meeting_date": if too_late { next } else { this }.map(|d| d.to_string()),
        "too_late": too_late,
        "next_meeting_date": if too_late { next.map(|d| d.to_string()) } else { None },
    });
    fx.notices
        .extend(ack(input, "discussion_request_ack", &case.case_ref, data));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

/// The address a bounce says could not be reached: the first address in the report's text that
/// is not the landlord's own.
fn bounced_recipient(input: &Input<'_>) -> Option<String> {
    let own = &input.config.organisation.shared_mailbox;
    input
        .decision
        .facts
        .body_text
        .split(|c: char| c.is_whitespace() || "<>;,:()\"'".contains(c))
        .filter(|w| w.contains('@') && w.contains('.'))
        .map(|w| w.trim_matches('.').to_ascii_lowercase())
        .find(|w| w != own && !input.config.is_staff(w))
}
