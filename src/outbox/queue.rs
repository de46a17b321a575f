//! Queueing the notices of one cause (a mail, a job pass) inside the transaction of that cause:
//! each notice is guarded, rendered and composed by [`Outbox::prepare`], then queued with
//! [`Tx::queue`] (an acknowledgement the sender had today is refused before it is composed). A
//! mail is sent if and only if its cause commits.

use chrono::{DateTime, Utc};

use super::{Answering, CaseInfo, Notice, Outbox, PrepareError};
use crate::case::model::Case;
use crate::config::Config;
use crate::store::outbox::QueueOutcome;
use crate::store::{StoreError, Tx};
use crate::understand::Decision;

impl CaseInfo {
    /// What templates and the guard may know of a stored case.
    pub fn of(case: &Case) -> CaseInfo {
        CaseInfo {
            case_ref: case.case_ref.clone(),
            partner: case.partner.clone(),
            candidate: case.candidate.clone(),
            programme: case.programme.clone(),
            status: case.status.as_str().to_string(),
            lease_start: case.lease_start,
            social_assistant: case.social_assistant.clone(),
            counsellor_name: case.counsellor.name.clone(),
            counsellor_email: case.counsellor.email.clone(),
            counsellor_phone: case.counsellor.phone.clone(),
        }
    }
}

impl Answering {
    /// The mail a decision is about, as the one being answered.
    pub fn of(decision: &Decision) -> Option<Answering> {
        Some(Answering {
            sender: decision.facts.sender.clone()?,
            message_id: decision.facts.message_id.clone(),
            // RFC 5322 §3.6.4: the parent's References, or its In-Reply-To when it has none.
            references: if decision.facts.references.is_empty() {
                decision.facts.in_reply_to.clone()
            } else {
                decision.facts.references.clone()
            },
            kind: decision.kind,
            subject: decision.facts.subject.clone(),
        })
    }
}

/// What happened to a notice, as `ingest --json` and the log say it.
fn outcome_line(template: &str, outcome: QueueOutcome, recipients: usize) -> String {
    match outcome {
        QueueOutcome::Queued(_) => format!("{template} queued for {recipients} recipient(s)"),
        QueueOutcome::Duplicate => format!("{template} was queued before"),
        QueueOutcome::AckLimit => {
            format!("{template} skipped: one acknowledgement per sender per case per day")
        }
    }
}

/// Queue `notices` in `tx`. `changed` are the cases as the same transaction leaves them (a new
/// referral exists only there); other cases are read through `tx`. Returns one line per notice
/// saying what happened to it. A notice refused by the guard or a template is never queued;
/// the refusal is logged (as a bug where it is one) and the cause still commits.
pub async fn queue_notices(
    tx: &mut Tx,
    config: &Config,
    outbox: &Outbox,
    notices: &[Notice],
    changed: &[&Case],
    answering: Option<&Answering>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut done = Vec::new();
    for notice in notices {
        // An acknowledgement the sender had today is not composed only to be refused.
        if let Some(ack) = super::ack_key(config, notice, answering, now) {
            if let Some(outcome) = tx.queued_before(&notice.effect_key(), &ack).await? {
                done.push(outcome_line(&notice.template, outcome, 0));
                continue;
            }
        }
        let case = match notice.case_ref.as_deref() {
            None => None,
            Some(r) => match changed.iter().find(|c| c.case_ref == r) {
                Some(c) => Some(CaseInfo::of(c)),
                None => tx.case(r).await?.as_ref().map(CaseInfo::of),
            },
        };
        match outbox.prepare(config, notice, case.as_ref(), None, answering, now) {
            Ok(mail) => {
                let outcome = tx.queue(&mail, now).await?;
                done.push(outcome_line(
                    &notice.template,
                    outcome,
                    mail.recipients.len(),
                ));
            }
            Err(PrepareError::Guard(e)) if !e.is_bug() => {
                done.push(format!("{} not sent: {e}", notice.template));
            }
            Err(e) => {
                // Logged by prepare (guard) or here (template, compose): a bug to fix, never
                // a mail to the wrong person. The cause itself still commits.
                tracing::error!(
                    template = %notice.template,
                    case = notice.case_ref.as_deref().unwrap_or("-"),
                    "mail not queued: {e}"
                );
                done.push(format!("{} NOT queued: {e}", notice.template));
            }
        }
    }
    Ok(done)
}
