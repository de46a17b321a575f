//! Writing one decided mail: its decision, its case effects and the mails they cause, in the
//! transaction of its batch ([`commit_decision`]), and what intake's steps share ([`Handled`],
//! [`IntakeError`], the register a mail needs, [`scope_of`]). Below both the intake pipeline
//! ([`super::pipeline`]), which decides mails, and the corrections staff make
//! ([`super::correct`]), which decide a mail again, so that neither imports the other.

use chrono::Utc;
use serde::Serialize;

use crate::config::Config;
use crate::context::Loaded;
use crate::outbox::queue::queue_notices;
use crate::outbox::{Answering, Notice};
use crate::store::mails::MailOutcome;
use crate::store::{CaseCache, MailRecord, MailState, RegisterScope, StoreError, Tx};
use crate::understand::parse::Parsed;
use crate::understand::thread::Tags;
use crate::understand::{self, Decision};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// The database failed; the mail stays in the inbox untouched and is tried again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Applying the decision failed for a reason that retrying can fix.
    #[error(transparent)]
    Apply(crate::store::ApplyError),
    /// Reading or moving the mail failed.
    #[error("{0}")]
    Io(String),
    /// The mail could not be read at all (the parser gave up on it); it is left for a person.
    #[error("cannot read the mail: {0}")]
    Unreadable(String),
}

impl IntakeError {
    pub fn is_transient(&self) -> bool {
        match self {
            IntakeError::Store(e) => e.is_transient(),
            IntakeError::Apply(e) => e.is_transient(),
            IntakeError::Io(_) => true,
            IntakeError::Unreadable(_) => false,
        }
    }
}

/// What intake did with one mail.
#[derive(Debug, Clone, Serialize)]
pub struct Handled {
    pub mail_id: i64,
    /// False when the mail had been decided before (a restart after a crash): it was only moved.
    pub new: bool,
    pub state: MailState,
    pub decision: Option<Decision>,
    /// The case the mail is filed under (a new referral's case too).
    pub case_ref: Option<String>,
    /// What was done: "case VD-2026-0001 created", "2 mails queued", …
    pub done: Vec<String>,
    pub reason: Option<String>,
}

/// Every register lookup triage (`understand::classify`) can make for `parsed`, over-approximated:
/// - candidate names are matched among the open cases of the sender's partner, or among all open
///   cases when the mail comes from staff (staff may write or forward about any partner's
///   candidate; a partner forwards only its own colleagues' mail, so a partner's mail stays its
///   partner's); other senders' mail is never matched by name;
/// - cases are looked up by every reference tag in the subject and text of the mail and of any
///   mail forwarded inside it (also with quote markers removed, as triage reads quoted text);
/// - threads are looked up by every In-Reply-To, References and returned Message-ID, of the
///   mail and of the mails inside it; the cases they lead to are added by the store.
pub fn scope_of(parsed: &Parsed, config: &Config) -> RegisterScope {
    let mut scope = RegisterScope::default();
    if let Some(from) = &parsed.from {
        if config.is_staff(&from.address) {
            scope.all_open = true;
        } else if let Some(partner) = config.partner_of_address(&from.address) {
            scope.partners.push(partner.id.clone());
        }
    }
    let tags = Tags::cached(&config.organisation.case_reference);
    let mut part = Some(parsed);
    let mut outer = true;
    while let Some(p) = part {
        let unquoted: String = p
            .text
            .lines()
            .map(|l| l.trim_start_matches(|c: char| c == '>' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join("\n");
        for text in [&p.subject, &p.text, &unquoted] {
            scope
                .case_refs
                .extend(tags.find_at_most(text, config.limits.case_tags).0);
        }
        // The mail's own Message-ID threads nothing; an inner mail's may (a bounce returns ours).
        let own = if outer { None } else { p.message_id.as_ref() };
        scope.message_ids.extend(
            own.into_iter()
                .chain(&p.in_reply_to)
                .chain(&p.references)
                .chain(&p.returned_ids)
                .map(|id| id.bare().to_string()),
        );
        part = p.inner.as_deref();
        outer = false;
    }
    scope.case_refs.sort();
    scope.case_refs.dedup();
    scope.message_ids.sort();
    scope.message_ids.dedup();
    scope
}

/// Write a decided mail's decision, its case effects and the mails they cause in `tx` (see
/// `pipeline::decide`); also how a correction applies the decision staff asked for
/// (`intake::correct`), exactly as the daemon would have applied it.
pub(super) async fn commit_decision(
    tx: &mut Tx,
    open: &mut CaseCache,
    loaded: &Loaded,
    mail: &MailRecord,
    decision: Decision,
    raw: &[u8],
    careful: bool,
) -> Result<Handled, IntakeError> {
    let config = &loaded.config;
    let now = Utc::now();

    // A bounce of one of our mails: that row is marked failed in the same transaction.
    let mut bounced = Vec::new();
    if decision.kind == understand::MailKind::Bounce {
        for id in &decision.facts.bounced {
            bounced.extend(tx.outbox_by_message_id(id.as_str()).await?);
        }
    }

    // The decision, the case changes and the mails they cause commit together, or not at all.
    let applied = tx
        .apply_decision(config, &decision, mail.id, mail.received_at, now, open)
        .await;
    let (effects, failure) = match applied {
        Ok(effects) => (Some(effects), None),
        Err(e) if e.is_transient() || !careful => return Err(IntakeError::Apply(e)),
        Err(e) => {
            // Permanent (an illegal transition, a contradiction): nothing of it is kept; the
            // mail goes to quarantine with the reason, for a person.
            tx.rollback_to_savepoint().await?;
            (None, Some(format!("cannot apply the decision: {e}")))
        }
    };
    let quarantined = decision.kind.is_quarantined() || failure.is_some();
    let state = if quarantined {
        MailState::Quarantined
    } else {
        MailState::Processed
    };
    let reason = failure.or_else(|| quarantined.then(|| decision.reasons.join("; ")));
    let case_ref = effects
        .as_ref()
        .and_then(|fx| fx.case_ref.clone())
        .or_else(|| decision.case_ref.clone());
    let mut json = serde_json::to_value(&decision)
        .map_err(|e| IntakeError::Io(format!("decision to JSON: {e}")))?;
    // Kept beside the printed contract for the digest's count of spoof attempts per partner.
    if let (Some(claimed), Some(object)) = (&decision.facts.claimed_partner, json.as_object_mut()) {
        object.insert("claimed_partner".into(), claimed.clone().into());
    }
    let mut done = Vec::new();
    let unplaced = unplaced_notice(
        config,
        &decision,
        mail.id,
        reason.as_deref(),
        effects.is_none(),
    );
    if let Some(notice) = unplaced {
        done.extend(queue_notices(tx, config, &loaded.outbox, &[notice], &[], None, now).await?);
    }
    // Marked here, before the case's notices: a bounce of a mail we know is told to the
    // coordinators by the outbox, once per outgoing mail (recipient, subject, case), so the
    // case code's generic bounce notice is left out, also for a second copy of the bounce.
    for row in &bounced {
        let error = format!("bounced: {}", decision.facts.subject);
        let marked =
            crate::outbox::send::record_bounce_in(tx, config, &loaded.outbox, row, &error, now)
                .await?;
        if marked {
            done.push(format!("outgoing mail #{} marked bounced", row.id));
        }
    }
    if let Some(effects) = &effects {
        for change in &effects.changes {
            let verb = if change.created { "created" } else { "updated" };
            done.push(format!("case {} {verb}", change.case.case_ref));
        }
        let changed: Vec<&crate::case::model::Case> =
            effects.changes.iter().map(|c| &c.case).collect();
        let answering = Answering::of(&decision);
        let notices: Vec<Notice> = effects
            .notices
            .iter()
            .filter(|n| bounced.is_empty() || n.template != "bounce_notice")
            .cloned()
            .collect();
        done.extend(
            queue_notices(
                tx,
                config,
                &loaded.outbox,
                &notices,
                &changed,
                answering.as_ref(),
                now,
            )
            .await?,
        );
    }
    if decision.kind == crate::understand::MailKind::CalendarResponse {
        let (line, recorded) = tx
            .record_calendar_reply(
                config,
                decision.partner.as_deref(),
                raw,
                mail.id,
                mail.received_at,
            )
            .await?;
        done.push(line);
        if let Some(notice) = recorded
            .and_then(|(meeting, response)| declined_notice(config, &meeting, &response, mail.id))
        {
            done.extend(
                queue_notices(tx, config, &loaded.outbox, &[notice], &[], None, now).await?,
            );
        }
    }
    tx.finish_mail(
        mail,
        &MailOutcome {
            state,
            kind: decision.kind.as_str(),
            partner: decision.partner.as_deref(),
            case_ref: case_ref.as_deref(),
            body_hash: Some(decision.facts.body_hash.as_str()).filter(|h| !h.is_empty()),
            decision: &json,
            reason: reason.as_deref(),
            at: now,
        },
    );
    // The batch's decisions and case events are written together at its end; under a
    // savepoint, at once, so that a mail decided already is undone alone.
    if careful {
        tx.write_held().await?;
    }
    // Last, so that a failure above (undone to the savepoint) leaves `open` as it was.
    for change in effects.iter().flat_map(|fx| &fx.changes) {
        open.changed(&change.case);
    }
    Ok(Handled {
        mail_id: mail.id,
        new: true,
        state,
        decision: Some(decision),
        case_ref,
        done,
        reason,
    })
}

/// The coordinators' `meeting_declined` notice when a partner's attendee declines the
/// invitation of a monthly meeting (their calendar's `PARTSTAT=DECLINED`), once per reply mail.
/// `None` for any other answer, and for a decline by our own staff (they know it). Pure.
pub fn declined_notice(
    config: &Config,
    meeting: &crate::store::meetings::Meeting,
    response: &crate::store::meetings::MeetingResponse,
    mail_id: i64,
) -> Option<Notice> {
    if !response.partstat.eq_ignore_ascii_case("DECLINED") || config.is_staff(&response.attendee) {
        return None;
    }
    let partner_name = config
        .partner(&meeting.partner)
        .map_or_else(|| meeting.partner.clone(), |p| p.name.clone());
    let calendar =
        crate::calendar::MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let schedule = meeting
        .month
        .parse()
        .ok()
        .and_then(|m| calendar.month(m).ok());
    Some(Notice {
        template: "meeting_declined".into(),
        case_ref: None,
        to: vec![crate::case::Role::Coordinator],
        to_sender: false,
        urgent: false,
        data: serde_json::json!({
            "partner_name": partner_name,
            "month": meeting.month,
            "meeting_date": schedule.as_ref().map(|s| s.meeting_day.date.to_string()),
            "meeting_time": schedule.as_ref().map(|s| s.meeting_start.format("%H:%M").to_string()),
            "attendee": response.attendee,
            "cases": meeting.called_for,
        }),
        dedupe: format!("mail:{mail_id}:meeting_declined"),
    })
}

/// A mail a person must place: the coordinator is told at once (with high importance when it
/// may be about someone's safety). For mail that could not be applied to a case, and for mail
/// too broken to read; never for spam, spoofs or automated mail, and not for unknown senders
/// (the case code tells the coordinator about those itself).
pub(super) fn unplaced_notice(
    config: &Config,
    decision: &Decision,
    mail_id: i64,
    reason: Option<&str>,
    apply_failed: bool,
) -> Option<Notice> {
    use crate::understand::MailKind;
    let kind = decision.kind;
    let wanted = (apply_failed && !kind.is_automated() && kind != MailKind::SpamOrSpoof)
        || kind == MailKind::Malformed;
    if !wanted {
        return None;
    }
    let partner_name = decision
        .partner
        .as_deref()
        .and_then(|p| config.partner(p))
        .map_or_else(|| "een onbekende afzender".to_string(), |p| p.name.clone());
    Some(unplaced(
        mail_id,
        decision.facts.sender.as_deref().unwrap_or_default(),
        &partner_name,
        kind,
        &decision.facts.subject,
        reason.unwrap_or_default(),
    ))
}

/// The coordinator's `unplaced_mail` notice about mail `mail_id`, once per mail.
pub(super) fn unplaced(
    mail_id: i64,
    sender: &str,
    partner_name: &str,
    kind: understand::MailKind,
    subject: &str,
    reason: &str,
) -> Notice {
    let urgent = kind == understand::MailKind::UrgentConcern;
    Notice {
        template: "unplaced_mail".into(),
        case_ref: None,
        to: vec![crate::case::Role::Coordinator],
        to_sender: false,
        urgent,
        data: serde_json::json!({
            "sender": sender,
            "partner_name": partner_name,
            "kind": crate::case::apply::dutch_kind(kind),
            "subject": subject,
            "reason": crate::understand::reasons::dutch_reasons([reason]),
            "urgent": urgent,
        }),
        dedupe: format!("mail:{mail_id}"),
    }
}
