//! The conclusions reminder (`003` §6, "na elk overleg"): `conclusions_reminder_working_days`
//! working days after a meeting that took place (its row is `called`), when no conclusion was
//! recorded on that partner's cases since the meeting started, the coordinator gets one reminder,
//! once per partner and month (the row's `reminded_at`, committed with the queued mail, and the
//! dedupe key `conclusions_reminder:<partner>:<month>`).
//!
//! Never talks SMTP; never reminds a partner (the coordinator writes the conclusions).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::calendar::{MeetingCalendar, Month};
use crate::case::Role;
use crate::context::Context;
use crate::outbox::Notice;
use crate::store::meetings::MeetingState;

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let config = ctx.config();
    let outbox = ctx.outbox();
    let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let this = Month::of(
        now.with_timezone(&config.organisation.time_zone)
            .date_naive(),
    );
    // The meeting of last month is reminded early this month; two months back is too late to
    // be useful and never looked at.
    let previous = Month::of(this.first_day().pred_opt().unwrap_or(this.first_day()));
    let mut done = Vec::new();
    for month in [previous, this] {
        let schedule = calendar.month(month)?;
        let Some(due) = calendar.conclusions_reminder_at(schedule.meeting_day.date) else {
            continue;
        };
        if now < due.with_timezone(&Utc) {
            continue;
        }
        let since = schedule.meeting_start.with_timezone(&Utc);
        for meeting in ctx.store.meetings_in(&month.to_string()).await? {
            if meeting.state != MeetingState::Called || meeting.reminded_at.is_some() {
                continue;
            }
            if ctx.store.conclusions_since(&meeting.partner, since).await? > 0 {
                continue;
            }
            let partner_name = config
                .partner(&meeting.partner)
                .map_or(meeting.partner.clone(), |p| p.name.clone());
            let notice = Notice {
                template: "conclusions_reminder".into(),
                case_ref: None,
                to: vec![Role::Coordinator],
                to_sender: false,
                urgent: false,
                data: json!({
                    "partner_name": partner_name,
                    "month": month,
                    "meeting_date": schedule.meeting_day.date.to_string(),
                    "cases": meeting.called_for,
                }),
                dedupe: format!("conclusions_reminder:{}:{month}", meeting.partner),
            };
            let mail = outbox.prepare(&config, &notice, None, None, None, now)?;
            let mut tx = ctx.store.begin().await?;
            let Some(mut row) = tx.meeting(&meeting.partner, &month.to_string()).await? else {
                tx.rollback().await?;
                continue;
            };
            if row.reminded_at.is_some() {
                tx.rollback().await?;
                continue;
            }
            tx.queue(&mail, now).await?;
            row.reminded_at = Some(now);
            tx.save_meeting(&row, now).await?;
            tx.commit().await?;
            done.push(format!("{}: {month}", meeting.partner));
        }
    }
    Ok(if done.is_empty() {
        "no conclusions missing".to_string()
    } else {
        format!(
            "reminded the coordinator of the conclusions of {}",
            done.join(", ")
        )
    })
}
