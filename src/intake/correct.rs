//! Corrections: staff steer `doorstroom` by answering its notices ("dossier VD-2026-0008",
//! "soort: zorg", "nieuw dossier", "negeren", "sa: …", "vrijgeven"), and admins do the same
//! from the command line (`mails move`, `mails redecide`).
//!
//! A correction decides the mail again as staff asked ([`crate::understand::answer::steer`]) and
//! applies that decision in the same transaction, exactly as intake would have
//! ([`super::commit::commit_decision`]): the case changes and the notices the corrected
//! decision calls for. First, what the wrong decision did inside the cases is undone
//! ([`crate::case::undo`], from what `store::undo` kept): fields, plan, concerns and documents
//! go back where nothing changed them since, a case it opened is withdrawn; its mails not sent
//! yet are cancelled, mails already sent stay sent, and the confirmation names both. Every correction is a case event naming the staff member (or the admin
//! command) and the mail, and a row of `mails corrections`.
//!
//! Only verified staff steer: the From must be staff and our trust anchor must have verified it
//! ([`StaffSender`]). Anyone else's mail with the same words is decided as any mail is; a forged
//! staff address is a spoof and never gets here. The same answer applies once: a second copy
//! is a duplicate for triage, and the corrections table keeps one row per answer and mail.

use chrono::Utc;
use serde_json::json;

use super::commit::{commit_decision, Handled, IntakeError};
pub use super::staff::{Refusal, StaffSender};
use crate::case::{admin, CaseEvent, Cause};
use crate::config::Config;
use crate::context::Loaded;
use crate::outbox::queue::queue_notices;
use crate::outbox::{Answering, Notice};
use crate::store::mails::MailOutcome;
use crate::store::{CaseCache, MailRecord, MailState, NewCorrection, StoreError, Tx};
use crate::understand::answer::{self, Answer, Command};
use crate::understand::thread::Tags;
use crate::understand::{self, Decision, MailKind};

/// The mail kind recorded for a staff member's answer to a notice: not a [`MailKind`] (triage
/// never decides it), the name intake files the mail under once it steered something.
pub const STAFF_ANSWER: &str = "staff_answer";

/// The notices to staff about one mail that an answer can correct: each ends with the list of
/// answers (`mail-templates/_answers.*.j2`). An answer to any other mail of ours (a
/// confirmation, a dossier asked for) corrects nothing.
pub const NOTICES_ABOUT_A_MAIL: &[&str] = &[
    "unplaced_mail",
    "forwarded_mail",
    "unknown_sender_notice",
    "referral_notice",
    "contact_change_notice",
    "concern_notice",
    "urgent_alert",
    "final_report_notice",
    "cross_partner_notice",
    "handover_notice",
];

/// A correction failed: refused (nothing was changed), or intake's own trouble.
#[derive(Debug, thiserror::Error)]
pub enum CorrectError {
    #[error(transparent)]
    Refused(Refusal),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl From<StoreError> for CorrectError {
    fn from(e: StoreError) -> Self {
        CorrectError::Intake(IntakeError::Store(e))
    }
}

impl From<Refusal> for CorrectError {
    fn from(r: Refusal) -> Self {
        CorrectError::Refused(r)
    }
}

/// One correction to apply to one mail.
#[derive(Debug, Clone)]
pub struct Steering<'a> {
    /// The mail corrected (row id).
    pub mail_id: i64,
    pub commands: &'a [Command],
    /// The staff member's address, or `admin`.
    pub by: &'a str,
    /// What the case events name as cause: [`Cause::Staff`] or [`Cause::Admin`].
    pub cause: Cause,
    /// The staff answer (its row id and Message-ID), none for an admin.
    pub answer: Option<(i64, &'a str)>,
    /// The words as written (answer lines or the command typed).
    pub words: &'a str,
}

/// What a correction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// In Dutch, one per change: "mail #42 is nu een zorg in dossier VD-2026-0008".
    pub lines: Vec<String>,
    pub original_kind: Option<String>,
    pub original_case: Option<String>,
    pub corrected_kind: Option<String>,
    pub corrected_case: Option<String>,
}

/// Apply `s` in `tx`: validate everything first, then undo what the wrong decision did, decide
/// the mail again and write what follows, the events and the correction row. A refusal
/// changes nothing: what was written before it is rolled back (to a savepoint of its own).
pub async fn apply(
    tx: &mut Tx,
    open: &mut CaseCache,
    loaded: &Loaded,
    s: &Steering<'_>,
) -> Result<Applied, CorrectError> {
    const SAVEPOINT: &str = "correction";
    let mark = tx.savepoint(SAVEPOINT).await?;
    match apply_within(tx, open, loaded, s).await {
        Ok(applied) => {
            tx.release_named(SAVEPOINT).await?;
            Ok(applied)
        }
        Err(e) => {
            tx.rollback_to_named(SAVEPOINT, mark).await?;
            // The cache may hold what was rolled back.
            open.forget();
            match e {
                // The corrected decision cannot be applied as it stands (a reply without a
                // case, …): nothing changed, the staff member is told why.
                CorrectError::Intake(IntakeError::Apply(e)) if !e.is_transient() => {
                    Err(Refusal::Cannot(s.mail_id, e.to_string()).into())
                }
                e => Err(e),
            }
        }
    }
}

async fn apply_within(
    tx: &mut Tx,
    open: &mut CaseCache,
    loaded: &Loaded,
    s: &Steering<'_>,
) -> Result<Applied, CorrectError> {
    let config = &loaded.config;
    let now = Utc::now();
    if let Some((_, key)) = s.answer {
        if tx.answer_applied(key).await? {
            return Err(Refusal::AlreadyApplied.into());
        }
    }
    let target = match tx.mail(s.mail_id).await {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return Err(Refusal::UnknownMail(s.mail_id).into()),
        Err(e) => return Err(e.into()),
    };
    if target.state == MailState::Stored {
        return Err(Refusal::NotDecided(target.id).into());
    }
    let read = Answer {
        commands: s.commands.to_vec(),
        unknown: Vec::new(),
    };
    if let Some(why) = read.conflict() {
        return Err(Refusal::Conflict(why).into());
    }
    let release = s.commands.contains(&Command::Release);
    if release && target.state != MailState::Quarantined {
        return Err(Refusal::NotQuarantined(target.id).into());
    }
    let mut place_partner = None;
    for c in s.commands {
        match c {
            Command::Place(case_ref) => match tx.case_cached(case_ref, open).await? {
                // A partner's mail never goes into another partner's case (its data would
                // reach the wrong organisation).
                Some(case) if target.partner.as_ref().is_some_and(|p| *p != case.partner) => {
                    return Err(Refusal::OtherPartner(case_ref.clone()).into())
                }
                Some(case) => place_partner = Some(case.partner.clone()),
                None => return Err(Refusal::UnknownCase(case_ref.clone()).into()),
            },
            Command::SocialAssistant(address) if !config.is_staff(address) => {
                return Err(Refusal::NotStaff(address.clone()).into())
            }
            _ => {}
        }
    }
    let names_case = s.commands.iter().any(|c| {
        matches!(
            c,
            Command::Place(_) | Command::NewCase | Command::Kind(MailKind::Referral)
        )
    });
    let assigns = s
        .commands
        .iter()
        .any(|c| matches!(c, Command::SocialAssistant(_)));
    if assigns && !names_case && target.case_ref.is_none() {
        return Err(Refusal::NoCase(target.id).into());
    }
    let redecide = s.commands.iter().any(|c| {
        matches!(
            c,
            Command::Place(_)
                | Command::Kind(_)
                | Command::NewCase
                | Command::Release
                | Command::Handover { .. }
        )
    });
    let mut applied = Applied {
        lines: Vec::new(),
        original_kind: target.kind.clone(),
        original_case: target.case_ref.clone(),
        corrected_kind: target.kind.clone(),
        corrected_case: target.case_ref.clone(),
    };

    // Filing the mail, or deciding it again, first undoes what its decision did: inside the
    // cases (their fields, plan, concerns, documents; a case it opened is withdrawn) and in the
    // outbox (what was not sent yet is never sent; what was sent is named).
    let mut withdrawn = Vec::new();
    let mut undo_lines = Vec::new();
    let mut documents_removed = std::collections::BTreeMap::new();
    if redecide || s.commands.contains(&Command::Ignore) {
        for undone in tx.undo_mail(target.id, s.by, &s.cause, now).await? {
            open.changed(&undone.case);
            if undone.withdrawn {
                withdrawn.push(undone.case.case_ref.clone());
            }
            documents_removed.insert(undone.case.case_ref.clone(), undone.removed_documents.len());
            undo_lines.extend(undone.line());
        }
        let why = format!(
            "cancelled: the decision about mail {} was corrected by {}",
            target.id, s.by
        );
        let (cancelled, sent) = tx.cancel_mail_outbox(target.id, &why).await?;
        if !cancelled.is_empty() {
            undo_lines.push(format!(
                "nog niet verstuurd, dus niet meer verstuurd: {}",
                sent_list(&cancelled)
            ));
        }
        if !sent.is_empty() {
            undo_lines.push(format!("al verstuurd, dat blijft zo: {}", sent_list(&sent)));
        }
    }

    if redecide {
        let raw = tx
            .blob(&target.sha256)
            .await?
            .ok_or(Refusal::Purged(target.id))?;
        let mut parsed = understand::parse::parse_within(&raw, &config.limits);
        parsed.hash_attachments();
        let mut scope = super::commit::scope_of(&parsed, config);
        scope.copies_of = target.message_id.clone().map(|id| (id, target.id));
        // The case named is read too (it may be one triage would not look at).
        for c in s.commands {
            if let Command::Place(r) = c {
                scope.case_refs.push(r.clone());
            }
        }
        let register = tx
            .register_scoped(&scope, open)
            .await
            .map_err(IntakeError::from)?;
        let mut decision = if release {
            understand::classify::decide_vouched(parsed, &register, config, s.by)
        } else {
            understand::classify::decide(parsed, &register, config)
        };
        // The case the mail is in now stays, unless staff name another: it may be where an
        // earlier correction put it, which triage alone would not find again.
        // A case the wrong decision opened was withdrawn above: the mail is not put back in it.
        if place_partner.is_none() {
            if let Some(current) = &target.case_ref {
                if withdrawn.contains(current) {
                    if decision.case_ref.as_ref() == Some(current) {
                        decision.case_ref = None;
                    }
                } else {
                    decision.case_ref = Some(current.clone());
                }
            }
        }
        for c in s.commands {
            answer::steer(&mut decision, c, place_partner.as_deref(), s.by);
        }
        if s.commands.contains(&Command::NewCase) && decision.partner.is_none() {
            return Err(Refusal::NoPartner.into());
        }
        // The wrong case gives back what this mail put on it, and says where the mail went.
        if let Some(old) = target
            .case_ref
            .as_deref()
            .filter(|old| decision.case_ref.as_deref() != Some(*old))
        {
            let removed = documents_removed.get(old).copied().unwrap_or_default();
            if let Some(id) = tx.case_id(old).await? {
                let event = CaseEvent {
                    at: now,
                    kind: "mail_moved".into(),
                    detail: json!({
                        "mail": target.id,
                        "to": decision.case_ref,
                        "documents_removed": removed,
                    }),
                    cause: s.cause.clone(),
                };
                tx.add_events(id, &[event]).await?;
            }
        }
        tx.reopen_mail(target.id).await?;
        let mut again = target.clone();
        again.state = MailState::Stored;
        let handled = commit_decision(tx, open, loaded, &again, decision, &raw, false).await?;
        let kind = handled.decision.as_ref().map(|d| d.kind);
        applied.corrected_kind = kind.map(|k| k.as_str().to_string());
        applied.corrected_case = handled.case_ref.clone();
        let what = kind.map_or("mail".to_string(), |k| {
            crate::case::apply::dutch_kind(k).to_string()
        });
        applied
            .lines
            .push(match (&handled.case_ref, handled.state) {
                (_, MailState::Quarantined) => format!(
                    "mail #{} blijft in quarantaine: {}",
                    target.id,
                    handled.reason.clone().unwrap_or_default()
                ),
                (Some(case_ref), _) => {
                    format!("mail #{} is nu \"{what}\" in dossier {case_ref}", target.id)
                }
                (None, _) => format!("mail #{} is nu \"{what}\", bij geen dossier", target.id),
            });
    } else if s.commands.contains(&Command::Ignore) {
        if target.state == MailState::Quarantined {
            tx.reopen_mail(target.id).await?;
            let decision = target.decision.clone().unwrap_or_else(|| json!({}));
            let reason = format!("filed by {} (negeren)", s.by);
            tx.finish_mail(
                &target,
                &MailOutcome {
                    state: MailState::Processed,
                    kind: target.kind.as_deref().unwrap_or("malformed"),
                    partner: target.partner.as_deref(),
                    case_ref: target.case_ref.as_deref(),
                    body_hash: target.body_hash.as_deref(),
                    decision: &decision,
                    reason: Some(&reason),
                    at: now,
                },
            );
        }
        applied.lines.push(format!(
            "mail #{} is geklasseerd, zonder verdere actie",
            target.id
        ));
    }
    applied.lines.extend(undo_lines);

    for c in s.commands {
        if let Command::SocialAssistant(address) = c {
            let case_ref = applied
                .corrected_case
                .clone()
                .ok_or(Refusal::NoCase(target.id))?;
            let Some(mut case) = tx.case_cached(&case_ref, open).await? else {
                return Err(Refusal::UnknownCase(case_ref).into());
            };
            let today = now
                .with_timezone(&config.organisation.time_zone)
                .date_naive();
            let action = admin::AdminAction::SetSocialAssistant(address.clone());
            let events = admin::apply(&mut case, &action, config, today, now, &s.cause)
                .map_err(|e| IntakeError::Apply(crate::store::ApplyError::Case(e)))?;
            let id = tx.save_case(&mut case, false, now).await?;
            tx.add_events(id, &events).await?;
            open.changed(&case);
            applied.lines.push(format!(
                "de sociaal assistent van dossier {case_ref} is nu {address}"
            ));
        }
    }

    let actions: Vec<&str> = s.commands.iter().map(Command::action).collect();
    let action = actions.join("+");
    let written = tx
        .record_correction(&NewCorrection {
            mail_id: target.id,
            answer_mail_id: s.answer.map(|(id, _)| id),
            answer_key: s.answer.map(|(_, key)| key),
            by: s.by,
            action: &action,
            original_kind: applied.original_kind.as_deref(),
            original_case: applied.original_case.as_deref(),
            corrected_kind: applied.corrected_kind.as_deref(),
            corrected_case: applied.corrected_case.as_deref(),
            detail: s.words,
            at: now,
        })
        .await?;
    if !written {
        // Another process applied this very answer meanwhile: undo ours, try again later.
        return Err(IntakeError::Store(StoreError::Conflict(format!(
            "the answer about mail {} was applied meanwhile",
            target.id
        )))
        .into());
    }
    let event_case = applied
        .corrected_case
        .clone()
        .or_else(|| applied.original_case.clone());
    if let Some(case_ref) = event_case {
        if let Some(id) = tx.case_id(&case_ref).await? {
            let event = CaseEvent {
                at: now,
                kind: "correction".into(),
                detail: json!({
                    "mail": target.id,
                    "by": s.by,
                    "action": action,
                    "from": {"kind": applied.original_kind, "case": applied.original_case},
                    "to": {"kind": applied.corrected_kind, "case": applied.corrected_case},
                    "words": s.words,
                }),
                cause: s.cause.clone(),
            };
            tx.add_events(id, &[event]).await?;
        }
    }
    Ok(applied)
}

/// Outgoing mails as a staff member knows them: what, to whom.
fn sent_list(rows: &[crate::store::outbox::OutboxRow]) -> String {
    rows.iter()
        .map(|r| format!("\"{}\" aan {}", r.subject, r.recipients.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The mail a staff member's mail answers: the one our notice was about, found by the
/// notice's Message-ID in `In-Reply-To`/`References` (newest first), else by the case tag of
/// the subject (the newest mail of that case a notice to this staff member was about).
async fn answered_mail(
    tx: &mut Tx,
    config: &Config,
    decision: &Decision,
    sender: &str,
) -> Result<Option<i64>, StoreError> {
    let facts = &decision.facts;
    let ids = facts
        .in_reply_to
        .iter()
        .chain(facts.references.iter().rev());
    for id in ids {
        if !config.is_own_message_id(id.as_str()) {
            continue;
        }
        if let Some(mail) = tx.mail_of_notice(id.as_str(), NOTICES_ABOUT_A_MAIL).await? {
            return Ok(Some(mail));
        }
    }
    // `Tags` is per thread: dropped before the next await.
    let found = Tags::cached(&config.organisation.case_reference).find(&facts.subject);
    let reply = answer_subject(&facts.subject);
    match (reply, found.as_slice()) {
        (true, [tag]) => {
            tx.last_noticed_mail(tag, sender, NOTICES_ABOUT_A_MAIL)
                .await
        }
        _ => Ok(None),
    }
}

/// Is this subject an answer ("Re: …", "Antw: …")?
fn answer_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_ascii_lowercase();
    ["re:", "aw:", "antw:", "antwoord:"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// A staff member's mail that steers: an answer to one of our notices with at least one
/// command in it. Applies it (or refuses, naming why), records the staff mail as
/// [`STAFF_ANSWER`] and queues the one-line confirmation to its sender. `None` for every
/// other mail, which intake decides as ever.
pub(super) async fn staff_mail(
    tx: &mut Tx,
    open: &mut CaseCache,
    loaded: &Loaded,
    mail: &MailRecord,
    decision: &Decision,
    staff: &StaffSender,
) -> Result<Option<Handled>, IntakeError> {
    let config = &loaded.config;
    let steerable = decision.facts.from_staff
        && decision.facts.sender.as_deref() == Some(staff.address.as_str())
        && !decision.kind.is_automated()
        && !decision.kind.is_quarantined()
        && !matches!(decision.kind, MailKind::Duplicate | MailKind::SpamOrSpoof);
    if !steerable {
        return Ok(None);
    }
    let Some(target) = answered_mail(tx, config, decision, &staff.address).await? else {
        // Not an answer to a notice: maybe a question (`dossier …`, `overzicht`, …).
        return super::question::staff_question(tx, loaded, mail, decision, staff).await;
    };
    let new_text = understand::text::split_body(&decision.facts.body_text).new;
    let read = answer::parse_answer(
        &new_text,
        &Tags::cached(&config.organisation.case_reference),
    );
    if read.commands.is_empty() {
        // An ordinary answer (a remark, a question to a colleague): decided as ever.
        return Ok(None);
    }
    let words: Vec<String> = new_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let words = words.join("\n");
    let key = mail
        .message_id
        .clone()
        .unwrap_or_else(|| format!("mail:{}", mail.id));
    let outcome = if staff.verified {
        let steering = Steering {
            mail_id: target,
            commands: &read.commands,
            by: &staff.address,
            cause: Cause::Staff {
                by: staff.address.clone(),
                mail: target,
            },
            answer: Some((mail.id, &key)),
            words: &words,
        };
        apply(tx, open, loaded, &steering).await
    } else {
        Err(CorrectError::Refused(Refusal::NotVerified))
    };
    let (ok, lines, case_ref) = match outcome {
        Ok(applied) => (true, applied.lines, applied.corrected_case),
        Err(CorrectError::Refused(refusal)) => {
            tracing::info!(
                mail = mail.id,
                about = target,
                by = %staff.address,
                verdict = %staff.verdict,
                "staff answer refused: {refusal}"
            );
            (false, vec![refusal.to_string()], None)
        }
        Err(CorrectError::Intake(e)) => return Err(e),
    };
    let now = Utc::now();
    let notice = Notice {
        template: "staff_answer".into(),
        case_ref: None,
        to: Vec::new(),
        to_sender: true,
        urgent: false,
        data: json!({
            "applied": ok,
            "mail_id": target,
            "lines": lines,
            "unknown": read.unknown,
            "ack_slot": format!("staff:{}", mail.id),
        }),
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
    done.insert(
        0,
        format!(
            "staff answer about mail #{target} {}",
            if ok { "applied" } else { "refused" }
        ),
    );
    let mut json = serde_json::to_value(decision)
        .map_err(|e| IntakeError::Io(format!("decision to JSON: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        object.insert(
            "staff_answer".into(),
            json!({"about": target, "applied": ok}),
        );
    }
    Ok(Some(super::staff::finish_staff_mail(
        tx,
        mail,
        STAFF_ANSWER,
        decision,
        &json,
        case_ref,
        done,
        now,
    )))
}
