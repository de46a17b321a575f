//! Applying one triage [`Decision`] to the case register: the single place where a mail changes
//! cases.
//!
//! [`apply`] is pure: the caller loads the cases the decision names (and, for a referral,
//! reserves the next reference and counts the partner's referrals this month), calls it, and
//! commits the returned [`Effects`] — case rows, events, documents, milestones, concerns and the
//! notices of `notes/notices.md` — in one store transaction together with the mail's decision.
//! Nothing is ever confirmed to a sender the decision does not allow (`must_auto_reply`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::model::{
    Case, CaseError, CaseEvent, Cause, Concern, Counsellor, Document, Status, Transition,
};
use super::notice::Notice;
use super::plan;
use super::quota::{self, Month, QuotaCheck};
use super::{DocumentKind, Role};
use crate::config::{Config, Partner, Programme};
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

/// The rules a programme adds to applying a mail, beyond what every case gets here: how a case
/// in it is opened, and how mails about its cases are read. One implementation per programme
/// kind, listed in [`super::programmes::RULES`]; which configured programme it is comes from the
/// config (`opened_by`), never from an id written in code.
pub trait ProgrammeRules: Sync {
    /// The mail kind that opens a case in this programme (`opened_by` in the config).
    fn opened_by(&self) -> MailKind;

    /// The configured programme these rules are for, if the config has one.
    fn programme<'c>(&self, config: &'c Config) -> Option<&'c Programme> {
        config
            .programmes
            .iter()
            .find(|p| p.opened_by == Some(self.opened_by()))
    }

    /// Is this case in that programme?
    fn owns(&self, config: &Config, case: &Case) -> bool {
        self.programme(config)
            .is_some_and(|p| p.id == case.programme)
    }

    /// A mail of kind [`Self::opened_by`]: open (or add to) a case.
    fn open(&self, input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError>;

    /// A mail about one of this programme's cases. Returns false when it is none of the mails
    /// these rules read, so that it is handled as for any case.
    fn case_mail(&self, input: &Input<'_>, case: Case, fx: &mut Effects)
        -> Result<bool, CaseError>;
}

/// Apply one decision as for a case of any programme (the entry point, [`super::apply()`],
/// first gives a programme's own rules their turn). Errors are permanent: the mail goes to
/// quarantine with the message.
pub(super) fn general(input: &Input<'_>, mut fx: Effects) -> Result<Effects, CaseError> {
    let d = input.decision;
    match d.kind {
        MailKind::Referral | MailKind::ReferralIncomplete => match known_case(input) {
            // A referral threaded to a known case adds to it (same partner only).
            Some(_) => reply(input, required_case(input)?.clone(), &mut fx)?,
            None => referral(input, &mut fx)?,
        },
        MailKind::ReplyToCase => reply(input, required_case(input)?.clone(), &mut fx)?,
        MailKind::ContactChange => contact_change(input, &mut fx)?,
        MailKind::Handover => handover_mail(input, &mut fx)?,
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
                // The partner's name, as the coordinator knows it (not its config id).
                "sender_partner": d.partner.as_deref().map_or_else(String::new, |id| input
                    .config
                    .partner(id)
                    .map_or_else(|| id.to_string(), |p| p.name.clone())),
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
                "reason": crate::understand::reasons::dutch_reasons(d.reasons.iter().map(String::as_str)),
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
                "error": crate::understand::reasons::dutch_reasons(d.reasons.iter().map(String::as_str)),
            }),
        )),
        // Opens a case only in a programme with rules of its own (they had their turn).
        MailKind::PreventiveRequest
        | MailKind::AutoReply
        | MailKind::Bulk
        | MailKind::CalendarResponse
        | MailKind::SpamOrSpoof
        | MailKind::Malformed
        | MailKind::Duplicate
        | MailKind::OwnCopy => {}
    }
    Ok(fx)
}

/// A decision below the `[triage]` confidence threshold: what was safe is done, and the mail
/// itself goes to the coordinator to confirm or correct (never guessed silently). Mail without a
/// case that is unsure already goes to the coordinator (unplaced, unknown sender, quarantine).
pub(super) fn confirm_if_unsure(input: &Input<'_>, fx: &mut Effects) {
    let d = input.decision;
    if d.confidence >= input.config.triage.confidence_threshold
        || d.kind.is_automated()
        || d.kind.is_quarantined()
        || d.kind == MailKind::Duplicate
    {
        return;
    }
    let Some(case_ref) = fx.case_ref.clone() else {
        return;
    };
    let doubts =
        crate::understand::reasons::dutch_doubts(d.confidence_reasons.iter().map(String::as_str));
    let why = if doubts.is_empty() {
        format!(
            "de beslissing is onzeker (zekerheid {:.0} %); bevestig ze of corrigeer ze",
            d.confidence * 100.0
        )
    } else {
        format!(
            "de beslissing is onzeker (zekerheid {:.0} %: {}); bevestig ze of corrigeer ze",
            d.confidence * 100.0,
            doubts.join("; ")
        )
    };
    match fx
        .notices
        .iter_mut()
        .find(|n| n.template == "forwarded_mail" && n.case_ref.as_deref() == Some(&case_ref))
    {
        Some(n) => {
            n.to.push(Role::Coordinator);
            n.data["why"] = json!(why);
        }
        None => fx.notices.push(Notice {
            to: vec![Role::Coordinator],
            ..forward(input, &case_ref, &why)
        }),
    }
}

pub(super) fn cause(input: &Input<'_>) -> Cause {
    Cause::Mail { id: input.mail_id }
}

pub(super) fn today(input: &Input<'_>) -> NaiveDate {
    input
        .received_at
        .with_timezone(&input.config.organisation.time_zone)
        .date_naive()
}

pub(super) fn notice(
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

/// How a coordinator calls each kind of mail (in notices about a mail).
pub fn dutch_kind(kind: MailKind) -> &'static str {
    use MailKind::*;
    match kind {
        Referral | ReferralIncomplete => "aanmelding",
        ContactChange => "wijziging contactgegevens",
        Handover => "overdracht van de begeleiding",
        Concern => "zorg over de begeleiding",
        UrgentConcern => "dringende zorg (veiligheid)",
        FinalReport => "stopzetting of eindverslag",
        DiscussionRequest => "vraag om een dossier te bespreken",
        LeaseStart => "ingang huurovereenkomst",
        MeetingConclusions => "conclusies van het overleg",
        ReplyToCase => "antwoord in een dossier",
        PreventiveRequest => "vraag tot preventieve woonbegeleiding",
        CrossPartner => "vraag over een dossier van een andere partner",
        Malformed => "onleesbare mail",
        _ => "mail",
    }
}

/// The longest stretch of a mail's text a forward carries (the whole mail stays in the store).
const FORWARD_TEXT_CHARS: usize = 4000;

/// The mail itself (sender, subject, text) forwarded to whoever owns `case_ref`: its social
/// assistant, else the coordinators (the guard's fallback for the role). `why` says, in Dutch,
/// why a person must read it.
pub(super) fn forward(input: &Input<'_>, case_ref: &str, why: &str) -> Notice {
    let d = input.decision;
    let mut text: String = d.facts.body_text.chars().take(FORWARD_TEXT_CHARS).collect();
    if d.facts.body_text.chars().count() > FORWARD_TEXT_CHARS {
        // Cut after the last whole word (the text goes on in the store), never inside one.
        if let Some(end) = text.rfind(char::is_whitespace).filter(|e| *e > 0) {
            text.truncate(end);
        }
        text.truncate(text.trim_end().len());
        text.push_str(" […]");
    }
    notice(
        input,
        "forwarded_mail",
        Some(case_ref),
        vec![Role::SocialAssistant],
        json!({
            "sender": d.facts.sender.clone().unwrap_or_default(),
            "sender_name": d.facts.sender_name,
            "kind": dutch_kind(d.kind),
            "subject": d.facts.subject,
            "text": text.trim(),
            "why": why,
        }),
    )
}

/// An acknowledgement to the sender, only when the decision allows answering.
pub(super) fn ack(
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

pub(super) fn known_case<'a>(input: &'a Input<'_>) -> Option<&'a Case> {
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

pub(super) fn programme<'a>(input: &'a Input<'_>, case: &Case) -> Result<&'a Programme, CaseError> {
    input
        .config
        .programme(&case.programme)
        .ok_or_else(|| CaseError::UnknownProgramme(case.programme.clone()))
}

fn dutch_names(kinds: &[DocumentKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.dutch()).collect()
}

/// Attachments of the mail as documents on the case; returns the kinds that are usable.
pub(super) fn add_documents(
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
            // An empty attachment is noted, not stored.
            sha256: Some(a.sha256.clone()).filter(|s| !s.is_empty() && !a.bytes.is_empty()),
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

/// The programme's referral checklist (e.g. the Dutch priority scheme of `001`) split into the
/// items the referral text confirms (written in it, whole words, case-insensitive) and the rest.
pub fn checklist(programme: &Programme, body: &str) -> (Vec<String>, Vec<String>) {
    let text = crate::understand::text::normalise(body);
    programme
        .referral_checklist
        .iter()
        .cloned()
        .partition(|item| {
            let item = crate::understand::text::normalise(item);
            !crate::understand::text::matches(&text, std::slice::from_ref(&item), false).is_empty()
        })
}

/// The case a mail opens: for the decision's partner, under the reference reserved for it, with
/// the candidate (a placeholder when the mail names none) and CIR number the mail gave, in
/// `programme` (the partner's own when `None`). Returns the partner too.
pub(super) fn new_case<'a>(
    input: &Input<'a>,
    programme: Option<&str>,
) -> Result<(Case, &'a Partner), CaseError> {
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
    let candidate = d.candidate.as_deref().unwrap_or("(naam onbekend)");
    let programme = programme.unwrap_or(&partner.programme);
    let mut case = Case::new(
        reference,
        &partner.id,
        programme,
        candidate,
        input.received_at,
    );
    case.cir = d.cir.clone();
    Ok((case, partner))
}

fn referral(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let (mut case, partner) = new_case(input, None)?;
    let (reference, candidate) = (case.case_ref.clone(), case.candidate.clone());
    let programme = programme(input, &case)?;
    if !d.facts.from_staff {
        // The partner's referring counsellor guides the candidate unless the mail names another.
        case.counsellor.email = d.facts.sender.clone();
        case.counsellor.name = d.facts.sender_name.clone();
        case.counsellor.phone = d.facts.sender_phone.clone();
    }
    let mut events = vec![case.event(
        input.now,
        "created",
        json!({"partner": partner.id, "programme": programme.id, "candidate": candidate, "cir": d.cir}),
        &cause(input),
    )];
    let received = add_documents(input, &mut case, &mut events);
    if !programme.referral_checklist.is_empty() {
        let (confirmed, unconfirmed) = checklist(programme, &d.facts.body_text);
        events.push(case.event(
            input.now,
            "checklist",
            json!({"confirmed": confirmed, "unconfirmed": unconfirmed}),
            &cause(input),
        ));
    }
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
    fx.notices.extend(q.notice());
    fx.quota = Some(q);
    fx.changes.push(CaseChange {
        case,
        created: true,
        events,
        counsellor_changed: true,
    });
    Ok(())
}

pub(super) fn reply(input: &Input<'_>, mut case: Case, fx: &mut Effects) -> Result<(), CaseError> {
    let programme = programme(input, &case)?.clone();
    let mut events = Vec::new();
    let received = add_documents(input, &mut case, &mut events);
    let missing = missing_after(&case, &programme, &received);
    let completed = case.status == Status::ReferredIncomplete && missing.is_empty();
    if completed {
        events.push(case.transition(Transition::Complete, input.now, &cause(input))?);
    }
    if received.contains(&DocumentKind::FinalReport) && case.report_due.take().is_some() {
        events.push(case.event(input.now, "final_report_received", json!({}), &cause(input)));
    }
    let data = json!({
        "received": dutch_names(&received),
        "missing": dutch_names(&missing),
        "complete": missing.is_empty(),
        "completed": completed,
    });
    fx.notices
        .extend(ack(input, "reply_ack", &case.case_ref, data));
    let good_news = &input.decision.facts.good_news;
    if !good_news.is_empty() {
        // Good news about the case: in its history, and the mail itself to whoever owns it.
        events.push(case.event(
            input.now,
            "good_news",
            json!({
                "words": good_news,
                "statement": input.decision.facts.statement,
                "sender": input.decision.facts.sender,
            }),
            &cause(input),
        ));
        fx.notices.push(forward(
            input,
            &case.case_ref,
            "goed nieuws over de begeleiding (geen nieuwe zorg)",
        ));
    } else if events.is_empty() {
        // Nothing specific recognised (no document, no step): the acknowledgement alone may be
        // skipped (one per sender per case per day), so the mail itself goes to whoever owns
        // the case and stays in its history.
        events.push(case.event(
            input.now,
            "mail",
            json!({
                "subject": input.decision.facts.subject,
                "sender": input.decision.facts.sender,
                "forwarded": true,
            }),
            &cause(input),
        ));
        fx.notices.push(forward(
            input,
            &case.case_ref,
            "niets specifieks herkend in de mail",
        ));
    }
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

/// A handover of the guidance (`003` §4). The case's own partner (or staff) moves it; the new
/// organisation writing first, or a mail that does not say who takes over, moves nothing: the
/// coordinator confirms with the answer `overdracht: PARTNER vanaf DATUM`, and the writer gets
/// no case data.
fn handover_mail(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    use super::handover::{self, Outcome};
    use super::model::{HandoverState, PlannedHandover};
    let d = input.decision;
    let fact = d.handover.as_ref().ok_or(CaseError::Missing(
        "organisation that takes over the guidance",
    ))?;
    let to = fact.to_partner.clone().or_else(|| {
        fact.organisation
            .as_deref()
            .map(|n| handover::proposed_id(n, fact.domain.as_deref()))
    });
    let by_owner = d.facts.from_staff || fact.announced_by != "new_partner";
    let case = match (by_owner, to.as_ref()) {
        // Staff set it (`overdracht:`): about the mail's case, whoever wrote the mail.
        (true, Some(_)) if fact.announced_by == "staff" => {
            let r = d.case_ref.as_deref().ok_or(CaseError::Missing("case"))?;
            lookup(input, r)
                .ok_or_else(|| CaseError::UnknownCase(r.into()))?
                .clone()
        }
        (true, Some(_)) => required_case(input)?.clone(),
        _ => {
            // Not applied: told to the coordinator, who confirms.
            let r = d.case_ref.as_deref().ok_or(CaseError::Missing("case"))?;
            let case = lookup(input, r).ok_or_else(|| CaseError::UnknownCase(r.into()))?;
            let from = fact.from.unwrap_or_else(|| today(input));
            let event = case.event(
                input.now,
                "handover_announced",
                json!({"to_partner": to, "organisation": fact.organisation, "from": from, "announced_by": fact.announced_by, "sender": d.facts.sender}),
                &cause(input),
            );
            let to_name = to
                .as_deref()
                .map(|id| {
                    input
                        .config
                        .partner(id)
                        .map_or(id.to_string(), |p| p.name.clone())
                })
                .or(fact.organisation.clone())
                .unwrap_or_default();
            fx.notices.push(notice(
                input,
                "handover_notice",
                Some(&case.case_ref),
                vec![Role::Coordinator],
                json!({
                    "state": "confirm",
                    "from_partner": input.config.partner(&case.partner).map_or(case.partner.clone(), |p| p.name.clone()),
                    "to_partner": to_name,
                    "to_partner_id": to.clone().unwrap_or_else(|| "PARTNER".into()),
                    "from": from.to_string(),
                    "counsellor": fact.counsellor.clone().map(|c| json!({"name": c.name, "email": c.email, "phone": c.phone})),
                    "sender": d.facts.sender,
                    "config_block": null,
                }),
            ));
            fx.changes.push(CaseChange {
                case: case.clone(),
                created: false,
                events: vec![event],
                counsellor_changed: false,
            });
            return Ok(());
        }
    };
    let mut case = case;
    let mut events = Vec::new();
    add_documents(input, &mut case, &mut events);
    let to = to.unwrap_or_default();
    let counsellor = fact.counsellor.clone().unwrap_or_default();
    let wanted = PlannedHandover {
        name: fact.organisation.clone().unwrap_or_else(|| to.clone()),
        to,
        domain: fact.domain.clone(),
        from: fact.from.unwrap_or_else(|| today(input)),
        counsellor: Counsellor {
            name: counsellor.name,
            email: counsellor.email.map(|e| e.to_ascii_lowercase()),
            phone: counsellor.phone,
        },
        state: HandoverState::Planned,
        announced_by: if d.facts.from_staff {
            "staff".into()
        } else {
            fact.announced_by.clone()
        },
    };
    let old = case.partner.clone();
    let (outcome, more) = handover::request(
        &mut case,
        input.config,
        wanted.clone(),
        today(input),
        input.now,
        &cause(input),
    )?;
    events.extend(more);
    let planned = case.handover.clone().unwrap_or(wanted);
    fx.notices.extend(handover::notices(
        &case,
        input.config,
        outcome,
        &old,
        &planned,
        &format!("mail:{}", input.mail_id),
    ));
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: outcome == Outcome::Done,
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
    // An urgent concern is always answered, at once: its acknowledgement is urgent too, which
    // gives it the outbox's priority lane and an acknowledgement slot of its own.
    fx.notices
        .extend(ack(input, "concern_ack", &case.case_ref, data).map(|n| Notice { urgent, ..n }));
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

/// "1 december 2026": for decision texts built here (templates have their own `datum` filter).
pub fn dutch_date(d: NaiveDate) -> String {
    crate::calendar::dutch_date(d)
}

/// The latest meeting on or before `date`, as the calendar holds it (moved off holidays and
/// closing days).
fn meeting_on_or_before(config: &Config, date: NaiveDate) -> Option<NaiveDate> {
    let calendar =
        crate::calendar::MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let month = crate::calendar::Month::of(date);
    let this = calendar.month(month).ok()?.meeting_day.date;
    if this <= date {
        return Some(this);
    }
    let previous = crate::calendar::Month::of(month.first_day().pred_opt()?);
    Some(calendar.month(previous).ok()?.meeting_day.date)
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
/// which meeting it goes to. The meeting dates are the calendar's (holidays and closing days
/// moved, `calendar::MeetingCalendar`): a request counts for this month until the start of this
/// month's meeting day, later ones go to next month's meeting. Calling a skipped meeting is the
/// agenda job's (`jobs::agenda`): it sees the open concern on its next pass.
fn discussion_request(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let mut case = required_case(input)?.clone();
    let statement = statement(input);
    let calendar = crate::calendar::MeetingCalendar::new(
        &input.config.meeting,
        input.config.organisation.time_zone,
    );
    let month = crate::calendar::Month::of(today(input));
    let this_month = calendar.month(month).ok();
    let too_late = this_month
        .as_ref()
        .is_none_or(|s| !s.accepts_request(input.received_at));
    let this = this_month.as_ref().map(|s| s.meeting_day.date);
    let next = calendar
        .month(month.next())
        .ok()
        .map(|s| s.meeting_day.date);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::apply;
    use crate::understand::{Attachment, Contact, Facts};
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .expect("example config")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn decision(kind: MailKind, case_ref: Option<&str>) -> Decision {
        Decision {
            file: String::new(),
            kind,
            partner: Some("caw-antwerpen".into()),
            case_ref: case_ref.map(str::to_string),
            candidate: Some("Jan Peeters".into()),
            cir: None,
            documents: Vec::new(),
            missing: Vec::new(),
            must_auto_reply: true,
            notify: vec![Role::Coordinator],
            lease_start: None,
            conclusions: BTreeMap::new(),
            new_contact: None,
            handover: None,
            duplicate_of: None,
            confidence: 1.0,
            confidence_reasons: Vec::new(),
            reasons: vec!["test".into()],
            facts: Facts {
                sender: Some("lies@caw-antwerpen.example".into()),
                subject: "Zorgen over Jan".into(),
                ..Facts::default()
            },
        }
    }

    fn guided_case(reference: &str) -> Case {
        let config = config();
        let p = config.programme("vivendo").unwrap();
        let mut c = Case::new(
            reference.into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
        );
        c.status = Status::InGuidance;
        plan::set_lease_start(&mut c, p, d(2026, 1, 31));
        c
    }

    fn run(d: &Decision, cases: &[Case], earlier: u32) -> Result<Effects, CaseError> {
        let config = config();
        let cases: BTreeMap<String, Case> = cases
            .iter()
            .map(|c| (c.case_ref.clone(), c.clone()))
            .collect();
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        apply(&Input {
            config: &config,
            decision: d,
            mail_id: 7,
            received_at: at,
            now: at,
            cases: &cases,
            new_reference: Some("VD-2026-0100".into()),
            referrals_this_month: earlier,
        })
    }

    fn templates(fx: &Effects) -> Vec<&str> {
        fx.notices.iter().map(|n| n.template.as_str()).collect()
    }

    #[test]
    fn a_referral_without_the_addendum_makes_an_incomplete_case_and_one_mail_naming_what_is_missing(
    ) {
        let mut dec = decision(MailKind::ReferralIncomplete, None);
        dec.facts.attachments = vec![Attachment {
            filename: "verslag.pdf".into(),
            content_type: "application/pdf".into(),
            kind: DocumentKind::SocialReport,
            size: 3,
            note: None,
            unusable: false,
            sha256: crate::store::sha256_hex(&[1, 2, 3]),
            bytes: std::sync::Arc::new(vec![1, 2, 3]),
        }];
        let fx = run(&dec, &[], 0).unwrap();
        let case = &fx.changes[0].case;
        assert_eq!(case.status, Status::ReferredIncomplete);
        assert_eq!(case.case_ref, "VD-2026-0100");
        assert_eq!(templates(&fx), ["referral_ack", "referral_notice"]);
        assert_eq!(
            fx.notices[0].data["missing"],
            json!(["ondertekend addendum"])
        );
        assert_eq!(
            fx.notices[0].data["received"],
            json!(["uitgebreid sociaal verslag"])
        );
        assert_eq!(fx.notices[1].to, [Role::Coordinator]);
    }

    #[test]
    fn a_complete_referral_over_quota_is_accepted_and_flagged() {
        let mut dec = decision(MailKind::Referral, None);
        dec.documents = vec![DocumentKind::Addendum, DocumentKind::SocialReport];
        let fx = run(&dec, &[], 2).unwrap();
        assert_eq!(fx.changes[0].case.status, Status::ReferredComplete);
        assert_eq!(
            templates(&fx),
            ["referral_ack", "referral_notice", "quota_exceeded"]
        );
        assert_eq!(fx.notices[1].data["over_quota"], true);
        assert_eq!(fx.notices[2].dedupe, "quota:caw-antwerpen:2026-12");
    }

    #[test]
    fn an_urgent_concern_alerts_the_social_assistant_and_coordinator_at_once() {
        let mut dec = decision(MailKind::UrgentConcern, Some("VD-2026-0001"));
        dec.facts.statement = Some("Agressie tegen de buren".into());
        let fx = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap();
        let alert = &fx.notices[0];
        assert_eq!(alert.template, "urgent_alert");
        assert!(alert.urgent);
        assert_eq!(alert.to, [Role::SocialAssistant, Role::Coordinator]);
        assert_eq!(
            fx.changes[0].case.concerns[0].statement,
            "Agressie tegen de buren"
        );
        assert!(fx.changes[0].case.concerns[0].urgent);
    }

    #[test]
    fn a_concern_is_noted_for_the_meeting_with_its_statement() {
        let dec = decision(MailKind::Concern, Some("VD-2026-0001"));
        let fx = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap();
        assert_eq!(templates(&fx), ["concern_notice", "concern_ack"]);
        assert_eq!(fx.notices[0].data["statement"], "Zorgen over Jan");
        assert!(!fx.notices[0].urgent);
    }

    #[test]
    fn a_stop_without_eindverslag_expects_the_report_within_30_days() {
        let mut dec = decision(MailKind::FinalReport, Some("VD-2026-0001"));
        dec.facts.stop_date = Some(d(2026, 11, 30));
        let fx = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap();
        let case = &fx.changes[0].case;
        assert_eq!(case.status, Status::Stopped);
        assert_eq!(case.report_due, Some(d(2026, 12, 30)));
        assert_eq!(fx.notices[0].data["report_received"], false);
        assert_eq!(fx.notices[0].data["report_due"], "2026-12-30");
    }

    #[test]
    fn a_lease_start_on_a_complete_referral_allocates_starts_guidance_and_plans() {
        let mut c = guided_case("VD-2026-0001");
        c.status = Status::ReferredComplete;
        c.milestones.clear();
        c.lease_start = None;
        let mut dec = decision(MailKind::LeaseStart, Some("VD-2026-0001"));
        dec.lease_start = Some(d(2026, 12, 1));
        let fx = run(&dec, &[c], 0).unwrap();
        let case = &fx.changes[0].case;
        assert_eq!(case.status, Status::InGuidance);
        let kinds: Vec<_> = fx.changes[0]
            .events
            .iter()
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(kinds, ["status", "status", "lease_start"]);
        let milestones = &fx.notices[0].data["milestones"];
        assert_eq!(milestones[0]["due"], "2027-01-01");
        assert_eq!(milestones[0]["meeting_month"], "2027-01");
    }

    #[test]
    fn a_lease_start_for_a_closed_case_is_refused_with_a_clear_message() {
        let mut c = guided_case("VD-2026-0001");
        c.status = Status::ClosedPositive;
        let mut dec = decision(MailKind::LeaseStart, Some("VD-2026-0001"));
        dec.lease_start = Some(d(2026, 12, 1));
        let err = run(&dec, &[c], 0).unwrap_err();
        assert!(err.to_string().contains("closed_positive"), "{err}");
    }

    #[test]
    fn conclusions_sent_only_to_the_shared_mailbox_go_to_the_partner_for_confirmation() {
        let mut dec = decision(MailKind::MeetingConclusions, None);
        dec.partner = None;
        dec.facts.from_staff = true;
        dec.notify = vec![Role::Partner];
        dec.conclusions
            .insert("VD-2026-0001".into(), "extend_6_months".into());
        dec.conclusions
            .insert("VD-2026-0002".into(), "close_positive".into());
        dec.conclusions
            .insert("VD-2026-0003".into(), "discuss_again".into());
        let cases = [
            guided_case("VD-2026-0001"),
            guided_case("VD-2026-0002"),
            guided_case("VD-2026-0003"),
        ];
        let fx = run(&dec, &cases, 0).unwrap();
        let extended = &fx.change("VD-2026-0001").unwrap().case;
        assert_eq!(extended.status, Status::Extended);
        assert_eq!(extended.guidance_end, Some(d(2027, 7, 31)));
        assert_eq!(
            fx.change("VD-2026-0002").unwrap().case.status,
            Status::ClosedPositive
        );
        assert_eq!(fx.change("VD-2026-0003").unwrap().case.concerns.len(), 1);
        assert_eq!(templates(&fx), ["conclusions_confirmation"]);
        let n = &fx.notices[0];
        assert_eq!(n.to, [Role::Partner]);
        // The meeting before 3 December 2026 was on the last Thursday of November.
        assert_eq!(n.data["meeting_date"], "2026-11-26");
        assert_eq!(
            n.data["conclusions"][0]["decision"],
            "verlengen met 6 maanden, nieuwe eindevaluatie op 31 juli 2027"
        );
    }

    #[test]
    fn conclusions_of_a_meeting_moved_off_the_closing_days_name_the_day_it_was_held() {
        let mut dec = decision(MailKind::MeetingConclusions, None);
        dec.partner = None;
        dec.facts.from_staff = true;
        dec.notify = vec![Role::Partner];
        dec.conclusions
            .insert("VD-2026-0001".into(), "discuss_again".into());
        let config = config();
        let cases: BTreeMap<String, Case> =
            [("VD-2026-0001".to_string(), guided_case("VD-2026-0001"))].into();
        // December's meeting moved from Thursday 31 to Wednesday 23 December; the plain rule
        // would name 26 November.
        let at = Utc.with_ymd_and_hms(2026, 12, 23, 14, 0, 0).unwrap();
        let fx = apply(&Input {
            config: &config,
            decision: &dec,
            mail_id: 7,
            received_at: at,
            now: at,
            cases: &cases,
            new_reference: None,
            referrals_this_month: 0,
        })
        .unwrap();
        assert_eq!(fx.notices[0].data["meeting_date"], "2026-12-23");
    }

    #[test]
    fn conclusions_the_partner_already_received_are_not_sent_again() {
        let mut dec = decision(MailKind::MeetingConclusions, None);
        dec.facts.from_staff = true;
        dec.conclusions
            .insert("VD-2026-0001".into(), "closed".into());
        let fx = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap();
        assert!(fx.notices.is_empty());
        assert_eq!(fx.changes[0].case.status, Status::ClosedNegative);
    }

    #[test]
    fn an_extension_that_is_no_multiple_of_3_months_is_refused() {
        let mut dec = decision(MailKind::MeetingConclusions, None);
        dec.facts.from_staff = true;
        dec.conclusions
            .insert("VD-2026-0001".into(), "extend_4_months".into());
        let err = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap_err();
        assert_eq!(err, CaseError::BadExtension { months: 4, step: 3 });
    }

    #[test]
    fn cross_partner_unknown_sender_and_bounce_only_tell_the_coordinator() {
        for kind in [
            MailKind::CrossPartner,
            MailKind::UnknownSender,
            MailKind::Bounce,
        ] {
            let mut dec = decision(kind, Some("VD-2026-0001"));
            dec.facts.body_text = "Delivery to jan@gone.example failed".into();
            let fx = run(&dec, &[guided_case("VD-2026-0001")], 0).unwrap();
            assert!(fx.changes.is_empty(), "{kind:?}");
            assert_eq!(fx.notices.len(), 1);
            let n = &fx.notices[0];
            assert_eq!(n.to, [Role::Coordinator]);
            assert!(!n.to_sender);
            assert_eq!(n.case_ref, None, "no case data for {kind:?}");
            if kind == MailKind::CrossPartner {
                let partner = dec.partner.as_deref().unwrap();
                let name = config().partner(partner).unwrap().name.clone();
                assert_eq!(
                    n.data["sender_partner"],
                    name.as_str(),
                    "its name, not its id"
                );
            }
        }
        let mut bounce = decision(MailKind::Bounce, None);
        bounce.facts.body_text = "<jan@gone.example>: mailbox unavailable".into();
        let fx = run(&bounce, &[], 0).unwrap();
        assert_eq!(fx.notices[0].data["recipient"], "jan@gone.example");
    }

    #[test]
    fn a_counsellor_of_another_partner_takes_over_and_the_old_one_stays_in_history() {
        let mut dec = decision(MailKind::ContactChange, Some("VD-2026-0001"));
        dec.new_contact = Some(Contact {
            name: Some("Els".into()),
            email: Some("els@ocmw-antwerpen.example".into()),
            phone: None,
        });
        let mut c = guided_case("VD-2026-0001");
        c.counsellor.email = Some("lies@caw-antwerpen.example".into());
        let fx = run(&dec, &[c], 0).unwrap();
        let change = &fx.changes[0];
        assert_eq!(change.case.partner, "ocmw-antwerpen");
        assert!(change.counsellor_changed);
        assert_eq!(change.events[0].kind, "transfer");
        assert_eq!(
            change.events[0].detail["old_counsellor"]["email"],
            "lies@caw-antwerpen.example"
        );
        assert_eq!(fx.notices[0].template, "contact_change_notice");
    }

    #[test]
    fn a_discussion_request_after_the_meeting_goes_to_next_month() {
        let dec = decision(MailKind::DiscussionRequest, Some("VD-2026-0001"));
        let config = config();
        let cases: BTreeMap<String, Case> =
            [("VD-2026-0001".to_string(), guided_case("VD-2026-0001"))].into();
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let fx = apply(&Input {
            config: &config,
            decision: &dec,
            mail_id: 1,
            received_at: at,
            now: at,
            cases: &cases,
            new_reference: None,
            referrals_this_month: 0,
        })
        .unwrap();
        let data = &fx.notices[0].data;
        assert_eq!(data["too_late"], true);
        // The rule says Thursday 31 December; the example landlord is closed from 24 December,
        // so the calendar moves the meeting to Wednesday 23 December.
        assert_eq!(data["next_meeting_date"], "2026-12-23");
    }

    #[test]
    fn a_discussion_request_counts_until_the_start_of_the_meeting_day() {
        let dec = decision(MailKind::DiscussionRequest, Some("VD-2026-0001"));
        let config = config();
        let cases: BTreeMap<String, Case> =
            [("VD-2026-0001".to_string(), guided_case("VD-2026-0001"))].into();
        // (received, too late, meeting date told): the December meeting is on Wednesday 23
        // December (moved off the closing days); requests count until 00:00 that day, Brussels.
        let table = [
            ((2026, 12, 22, 22, 59), false, "2026-12-23"),
            ((2026, 12, 22, 23, 0), true, "2027-01-28"),
            ((2026, 11, 25, 12, 0), false, "2026-11-26"),
        ];
        for ((y, m, d, h, min), too_late, told) in table {
            let at = Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
            let fx = apply(&Input {
                config: &config,
                decision: &dec,
                mail_id: 1,
                received_at: at,
                now: at,
                cases: &cases,
                new_reference: None,
                referrals_this_month: 0,
            })
            .unwrap();
            let data = &fx.notices[0].data;
            assert_eq!(data["too_late"], too_late, "{at}");
            assert_eq!(data["meeting_date"], told, "{at}");
        }
    }

    #[test]
    fn automated_mail_changes_nothing() {
        for kind in [
            MailKind::AutoReply,
            MailKind::Bulk,
            MailKind::Duplicate,
            MailKind::SpamOrSpoof,
        ] {
            let fx = run(
                &decision(kind, Some("VD-2026-0001")),
                &[guided_case("VD-2026-0001")],
                0,
            )
            .unwrap();
            assert_eq!(fx, Effects::default(), "{kind:?}");
        }
    }

    #[test]
    fn a_reply_in_which_nothing_is_recognised_is_forwarded_to_the_case_owner() {
        let fx = run(
            &decision(MailKind::ReplyToCase, Some("VD-2026-0001")),
            &[guided_case("VD-2026-0001")],
            0,
        )
        .unwrap();
        assert_eq!(templates(&fx), ["reply_ack", "forwarded_mail"]);
        assert_eq!(fx.notices[1].to, [Role::SocialAssistant]);
        assert_eq!(fx.changes[0].events[0].kind, "mail");
    }

    #[test]
    fn a_long_forwarded_mail_is_cut_between_words() {
        let mut d = decision(MailKind::ReplyToCase, Some("VD-2026-0001"));
        d.facts.body_text = "huurachterstand ".repeat(400);
        let fx = run(&d, &[guided_case("VD-2026-0001")], 0).unwrap();
        let text = fx.notices[1].data["text"].as_str().unwrap();
        assert!(
            text.ends_with("huurachterstand […]"),
            "{}",
            &text[text.len() - 40..]
        );
        assert!(text.chars().count() <= FORWARD_TEXT_CHARS + 4);
    }

    #[test]
    fn an_unsure_decision_is_done_and_put_before_the_coordinator_to_confirm() {
        let mut unsure = decision(MailKind::Concern, Some("VD-2026-0001"));
        unsure.confidence = 0.45;
        unsure.confidence_reasons = vec!["case VD-2026-0001 found by its counsellor only".into()];
        let fx = run(&unsure, &[guided_case("VD-2026-0001")], 0).unwrap();
        assert_eq!(
            templates(&fx),
            ["concern_notice", "concern_ack", "forwarded_mail"]
        );
        let confirm = &fx.notices[2];
        assert_eq!(confirm.to, [Role::Coordinator]);
        assert!(
            confirm.data["why"]
                .as_str()
                .unwrap()
                .contains("45 %: dossier VD-2026-0001 alleen gevonden via de woonbegeleider"),
            "why it is unsure, in Dutch: {}",
            confirm.data
        );
        let sure = run(
            &decision(MailKind::Concern, Some("VD-2026-0001")),
            &[guided_case("VD-2026-0001")],
            0,
        )
        .unwrap();
        assert_eq!(templates(&sure), ["concern_notice", "concern_ack"]);
    }

    #[test]
    fn a_reply_naming_an_unknown_case_is_a_permanent_error() {
        let err = run(
            &decision(MailKind::ReplyToCase, Some("VD-2026-0999")),
            &[],
            0,
        )
        .unwrap_err();
        assert_eq!(err, CaseError::UnknownCase("VD-2026-0999".into()));
    }
}
