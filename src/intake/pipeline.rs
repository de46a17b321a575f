//! One mail through intake: stored → decided with its effects (one transaction) → moved.
//!
//! The same code serves the daemon's sources and `doorstroom ingest`, so that replaying an
//! exported mailbox decides exactly what the daemon would have.

use chrono::Utc;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::config::MaildirMailbox;
use crate::context::{Context, Loaded};
use crate::outbox::queue::queue_notices;
use crate::outbox::{Answering, Notice};
use crate::store::mails::MailOutcome;
use crate::store::{MailRecord, MailState, NewMail, RegisterScope, StoreError};
use crate::understand::parse::Parsed;
use crate::understand::thread::Tags;
use crate::understand::{self, Decision, Register};

use super::maildir::{Maildir, MaildirEntry};

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
}

impl IntakeError {
    pub fn is_transient(&self) -> bool {
        match self {
            IntakeError::Store(e) => e.is_transient(),
            IntakeError::Apply(e) => e.is_transient(),
            IntakeError::Io(_) => true,
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
    /// What was done: "case VD-2026-0001 created", "2 mails queued", …
    pub done: Vec<String>,
    pub reason: Option<String>,
}

/// The Message-ID of a raw mail, read from its headers only.
pub fn message_id(raw: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::default().parse_headers(raw)?;
    parsed
        .message_id()
        .map(|id| format!("<{}>", id.trim_matches(['<', '>'])))
}

/// The part of the case register triage can reach for this mail, with the earlier copies of its
/// Message-ID. Reading the whole register for every mail made a backfill quadratic.
async fn register_for(
    ctx: &Context,
    config: &Config,
    mail: &MailRecord,
    parsed: &Parsed,
) -> Result<Register, IntakeError> {
    let mut register = ctx.store.register_scoped(&scope_of(parsed, config)).await?;
    if let Some(id) = &mail.message_id {
        register.earlier = ctx.store.earlier_mails(id, mail.id).await?;
    }
    Ok(register)
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
            scope.case_refs.extend(tags.find(text));
        }
        // The mail's own Message-ID threads nothing; an inner mail's may (a bounce returns ours).
        let own = if outer { None } else { p.message_id.as_ref() };
        scope.message_ids.extend(
            own.into_iter()
                .chain(&p.in_reply_to)
                .chain(&p.references)
                .chain(&p.returned_ids)
                .cloned(),
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

/// Decide one stored mail and commit the decision with its effects. A mail decided before is
/// returned as it is.
pub async fn handle(
    ctx: &Context,
    loaded: &Loaded,
    source: &NewMail,
    raw: &[u8],
    file: &str,
) -> Result<Handled, IntakeError> {
    let (mail, _) = ctx.store.record_mail(source, raw).await?;
    if mail.state != MailState::Stored {
        return Ok(Handled {
            mail_id: mail.id,
            new: false,
            state: mail.state,
            decision: None,
            done: vec!["decided before; only moved".into()],
            reason: mail.reason,
        });
    }
    let config = &loaded.config;
    // `understand::triage` is parse + decide; parsing first tells which part of the register
    // this mail can reach.
    let parsed = understand::parse::parse(raw);
    let register = register_for(ctx, config, &mail, &parsed).await?;
    let mut decision = understand::classify::decide(parsed, &register, config);
    decision.file = file.to_string();
    let now = Utc::now();

    // A bounce of one of our mails: that row is marked failed in the same transaction.
    let mut bounced = Vec::new();
    if decision.kind == understand::MailKind::Bounce {
        for id in &decision.facts.bounced {
            bounced.extend(ctx.store.outbox_by_message_id(id).await?);
        }
    }

    // The decision, the case changes and the mails they cause commit together, or not at all.
    let mut tx = ctx.store.begin().await?;
    let applied = tx
        .apply_decision(config, &decision, mail.id, mail.received_at, now)
        .await;
    let (effects, failure) = match applied {
        Ok(effects) => (Some(effects), None),
        Err(e) if e.is_transient() => return Err(IntakeError::Apply(e)),
        Err(e) => {
            // Permanent (an illegal transition, a contradiction): nothing of it is kept; the
            // mail goes to quarantine with the reason, for a person.
            tx.rollback().await?;
            tx = ctx.store.begin().await?;
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
    let json = serde_json::to_value(&decision)
        .map_err(|e| IntakeError::Io(format!("decision to JSON: {e}")))?;
    let mut done = Vec::new();
    let unplaced = unplaced_notice(
        config,
        &decision,
        mail.id,
        reason.as_deref(),
        effects.is_none(),
    );
    if let Some(notice) = unplaced {
        done.extend(
            queue_notices(&mut tx, config, &loaded.outbox, &[notice], &[], None, now).await?,
        );
    }
    // Marked here, before the case's notices: a bounce of a mail we know is told to the
    // coordinators by the outbox, once per outgoing mail (recipient, subject, case), so the
    // case code's generic bounce notice is left out, also for a second copy of the bounce.
    for row in &bounced {
        let error = format!("bounced: {}", decision.facts.subject);
        let marked = crate::outbox::send::record_bounce_in(
            &mut tx,
            config,
            &loaded.outbox,
            row,
            &error,
            now,
        )
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
                &mut tx,
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
        done.push(
            crate::jobs::agenda::record_calendar_reply(
                &mut tx,
                config,
                decision.partner.as_deref(),
                raw,
                mail.id,
                mail.received_at,
            )
            .await?,
        );
    }
    tx.finish_mail(
        mail.id,
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
    )
    .await?;
    tx.commit().await?;
    if !done.is_empty() {
        ctx.outbox_wake.notify_one();
    }
    tracing::info!(
        mail = mail.id,
        kind = decision.kind.as_str(),
        case = case_ref.as_deref().unwrap_or("-"),
        "mail decided: {}",
        if done.is_empty() {
            "nothing to do".to_string()
        } else {
            done.join(", ")
        }
    );
    Ok(Handled {
        mail_id: mail.id,
        new: true,
        state,
        decision: Some(decision),
        done,
        reason,
    })
}

/// A mail a person must place: the coordinator is told at once (with high importance when it
/// may be about someone's safety). For mail that could not be applied to a case, and for mail
/// too broken to read; never for spam, spoofs or automated mail, and not for unknown senders
/// (the case code tells the coordinator about those itself).
fn unplaced_notice(
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
    Some(Notice {
        template: "unplaced_mail".into(),
        case_ref: None,
        to: vec![crate::case::Role::Coordinator],
        to_sender: false,
        urgent: kind == MailKind::UrgentConcern,
        data: serde_json::json!({
            "sender": decision.facts.sender.clone().unwrap_or_default(),
            "partner_name": partner_name,
            "kind": dutch_kind(kind),
            "subject": decision.facts.subject,
            "reason": reason.unwrap_or_default(),
            "urgent": kind == MailKind::UrgentConcern,
        }),
        dedupe: format!("mail:{mail_id}"),
    })
}

/// How a coordinator calls each kind of mail.
fn dutch_kind(kind: crate::understand::MailKind) -> &'static str {
    use crate::understand::MailKind::*;
    match kind {
        Referral | ReferralIncomplete => "aanmelding",
        ContactChange => "wijziging contactgegevens",
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

/// One pass over a Maildir inbox: finish moves a crash interrupted, then handle every waiting
/// mail in delivery order. One bad mail never blocks the ones behind it.
pub async fn maildir_pass(
    ctx: &Context,
    maildir: &Maildir,
    m: &MaildirMailbox,
    stop: &CancellationToken,
) -> Result<usize, IntakeError> {
    let source = super::maildir_source(m);
    let loaded = ctx.loaded();
    let mut handled = 0;
    for entry in maildir
        .pending()
        .map_err(|e| IntakeError::Io(format!("cannot list {}: {e}", m.path.display())))?
    {
        if stop.is_cancelled() {
            break;
        }
        match handle_entry(ctx, &loaded, maildir, m, &source, &entry).await {
            Ok(_) => handled += 1,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => tracing::error!(file = %entry.path.display(), "mail left in the inbox: {e}"),
        }
    }
    Ok(handled)
}

async fn handle_entry(
    ctx: &Context,
    loaded: &Loaded,
    maildir: &Maildir,
    m: &MaildirMailbox,
    source: &str,
    entry: &MaildirEntry,
) -> Result<Handled, IntakeError> {
    let raw = match std::fs::read(&entry.path) {
        Ok(raw) => raw,
        // Moved or removed by someone else between the listing and now: not ours to handle.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(IntakeError::Io(format!(
                "{} vanished",
                entry.path.display()
            )))
        }
        Err(e) => {
            return Err(IntakeError::Io(format!(
                "cannot read {}: {e}",
                entry.path.display()
            )))
        }
    };
    let new = NewMail {
        source: source.to_string(),
        source_key: entry.key.clone(),
        message_id: message_id(&raw),
        received_at: Utc::now(),
    };
    let handled = handle(ctx, loaded, &new, &raw, &entry.path.display().to_string()).await?;
    let folder = match handled.state {
        MailState::Quarantined => &m.quarantine,
        _ => &m.processed,
    };
    maildir.move_to(entry, folder).map_err(|e| {
        IntakeError::Io(format!(
            "cannot move {} to {folder}: {e}",
            entry.path.display()
        ))
    })?;
    ctx.store.mark_moved(handled.mail_id).await?;
    Ok(handled)
}
