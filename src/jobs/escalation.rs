//! The hourly escalation pass: missed milestones climb the ladder of `[[escalation]]`, late
//! final reports are reminded, and allocated cases whose lease has started move into guidance.
//!
//! Owns turning [`crate::case::escalation::DueWork`] into committed effects. Every item commits
//! in a transaction of its own, with its notice: a step is recorded ([`crate::store::Tx::mark_escalated`])
//! in the transaction that queues its mail, so it is sent exactly once, and one broken case never
//! holds back the others. Never decides what is due (that is the pure `case::escalation`), never
//! sends mail (the outbox does).

use chrono::{DateTime, Utc};

use crate::case::handover;
use crate::case::model::{Cause, Transition};
use crate::context::Context;
use crate::outbox::queue::queue_notices;

/// The cause recorded on the events of one pass.
fn cause(now: DateTime<Utc>) -> Cause {
    Cause::Job {
        name: "escalation".into(),
        slot: now.format("%Y-%m-%dT%H:00Z").to_string(),
    }
}

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let loaded = ctx.loaded();
    let config = &loaded.config;
    let today = now
        .with_timezone(&config.organisation.time_zone)
        .date_naive();
    let work = ctx.store.due_work(config, today).await?;
    let cause = cause(now);

    // Leases first: a case that entered guidance today has no overdue milestone anyway, and
    // its events should precede any mail about it.
    let mut started = 0;
    for case_ref in &work.guidance_starts {
        let mut tx = ctx.store.begin().await?;
        let Some(mut case) = tx.case(case_ref).await? else {
            tx.rollback().await?;
            continue;
        };
        match case.transition(Transition::StartGuidance, now, &cause) {
            Ok(event) => {
                let id = tx.save_case(&mut case, false, now).await?;
                tx.add_events(id, &[event]).await?;
                tx.commit().await?;
                started += 1;
            }
            // Changed by someone else since `due_work` read it: nothing to do.
            Err(e) => {
                tracing::info!(case = %case_ref, "guidance not started: {e}");
                tx.rollback().await?;
            }
        }
    }

    // Handovers whose date came (or whose organisation the config names now): the case moves
    // to its new partner before any mail about it goes out, so that mail goes to the new one.
    let mut handed = 0;
    for case_ref in &work.handovers {
        let mut tx = ctx.store.begin().await?;
        let Some(mut case) = tx.case(case_ref).await? else {
            tx.rollback().await?;
            continue;
        };
        let (Some(due), Some(planned)) =
            (handover::due(&case, config, today), case.handover.clone())
        else {
            tx.rollback().await?;
            continue;
        };
        let old = case.partner.clone();
        let (outcome, event, moved) = match due {
            handover::Due::TakeEffect => (
                handover::Outcome::Done,
                handover::take_effect(&mut case, now, &cause),
                true,
            ),
            handover::Due::PartnerAdded => (
                handover::Outcome::Planned,
                handover::mark_planned(&mut case, config, now, &cause),
                false,
            ),
        };
        let id = tx.save_case(&mut case, moved, now).await?;
        tx.add_events(id, &event.into_iter().collect::<Vec<_>>())
            .await?;
        let dedupe = format!("handover:{}:{}", planned.to, planned.from);
        let notices = handover::notices(&case, config, outcome, &old, &planned, &dedupe);
        let lines = queue_notices(
            &mut tx,
            config,
            &loaded.outbox,
            &notices,
            &[&case],
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(case = %case_ref, to = %planned.to, outcome = outcome.as_str(), "handover: {}", lines.join(", "));
        handed += 1;
    }

    let mut steps = 0;
    for e in &work.escalations {
        let mut tx = ctx.store.begin().await?;
        let lines = queue_notices(
            &mut tx,
            config,
            &loaded.outbox,
            &[e.notice()],
            &[],
            None,
            now,
        )
        .await?;
        // Recorded even when the guard refused the mail (no address for the role): retrying
        // every hour would not find one, and the digest shows the missed milestone anyway.
        if let Some(id) = e.milestone_id {
            tx.mark_escalated(id, e.step).await?;
        }
        tx.commit().await?;
        tracing::info!(case = %e.case_ref, step = e.step, "escalation: {}", lines.join(", "));
        steps += 1;
    }

    // Final-report reminders, unanswered preventive requests and reminders ahead of milestones
    // that must not lapse: each notice's dedupe key makes a repeat on a later pass a no-op.
    let mut reminders = 0;
    let notices = work
        .reminders
        .iter()
        .map(|r| r.notice())
        .chain(work.answer_reminders.iter().map(|r| r.notice()))
        .chain(work.advance_reminders.iter().map(|r| r.notice()));
    for notice in notices {
        let mut tx = ctx.store.begin().await?;
        let lines =
            queue_notices(&mut tx, config, &loaded.outbox, &[notice], &[], None, now).await?;
        tx.commit().await?;
        // The notice's dedupe key (one per week late) makes a repeat a no-op.
        if lines.iter().any(|l| l.contains(" queued for ")) {
            reminders += 1;
        }
    }
    if steps + reminders + handed > 0 {
        ctx.outbox_wake.notify_one();
    }
    Ok(format!(
        "{started} guidance start(s), {handed} handover(s), {steps} escalation step(s), {reminders} reminder(s)"
    ))
}
