//! Periodic jobs: one scheduler (the housekeeper) for agenda mails, escalations, reminders,
//! digests and retention.
//!
//! Each job is one [`Job`] variant and one file with a `run_once(ctx, now)` pass; its schedule
//! names *slots* (a month, a cron occurrence, an hour). The scheduler runs the latest slot that
//! is due and not yet run, claiming it in the `job_runs` table first: a job missed while the
//! daemon was down is caught up once (not once per missed slot), and a slot never runs twice,
//! also not across instances. Jobs never talk SMTP or IMAP: they queue [`crate::outbox::Notice`]s.

pub mod agenda;
pub mod conclusions;
pub mod digest;
pub mod escalation;
pub mod health;
pub mod retention;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::context::Context;

/// Every periodic job. Adding one: a variant here, its schedule and its `run_once` in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Hourly: escalation steps of missed milestones, final report reminders, leases that
    /// started ([`escalation`]).
    Escalation,
    /// The coordinator digest on `[digest] daily` ([`digest`]).
    Digest,
    /// The coordinator digest on `[digest] weekly`, when set ([`digest`]).
    WeeklyDigest,
    /// Every 5 minutes: alerts to the admins when intake or the outbox is in trouble or a
    /// secret expires ([`health`]).
    Health,
    /// The monthly agenda, invitation, call and cancellation per partner (see [`agenda`]).
    Agenda,
    /// Remind the coordinator of missing meeting conclusions (see [`conclusions`]).
    ConclusionsReminder,
    /// Anonymise ended cases and drop old raw mail bytes (`[retention]`).
    Retention,
}

impl Job {
    pub const ALL: &'static [Job] = &[
        Job::Escalation,
        Job::Digest,
        Job::WeeklyDigest,
        Job::Health,
        Job::Agenda,
        Job::ConclusionsReminder,
        Job::Retention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Escalation => "escalation",
            Job::Digest => "digest",
            Job::WeeklyDigest => "weekly_digest",
            Job::Health => "health",
            Job::Agenda => "agenda",
            Job::ConclusionsReminder => "conclusions_reminder",
            Job::Retention => "retention",
        }
    }

    pub fn schedule(self, config: &Config) -> Schedule {
        match self {
            Job::Escalation => Schedule::Every(Duration::from_secs(3600)),
            Job::Digest => digest::Period::Daily.schedule(config),
            Job::WeeklyDigest => digest::Period::Weekly.schedule(config),
            Job::Health => Schedule::Every(Duration::from_secs(300)),
            // Often enough that a partner's request calls a skipped meeting within the quarter
            // hour; each pass is idempotent per partner and month (the `meetings` row).
            Job::Agenda => Schedule::Every(Duration::from_secs(15 * 60)),
            // Once a working morning, after the reminder day has begun.
            Job::ConclusionsReminder => Schedule::DailyAt {
                hour: 8,
                tz: config.organisation.time_zone,
            },
            // Daily at 02:00 local time, when nobody is working.
            Job::Retention => Schedule::DailyAt {
                hour: 2,
                tz: config.organisation.time_zone,
            },
        }
    }

    /// One pass of the job; returns a one-line summary for the job run record.
    pub async fn run_once(self, ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
        match self {
            Job::Escalation => escalation::run_once(ctx, now).await,
            Job::Digest => digest::run_once(ctx, digest::Period::Daily, now).await,
            Job::WeeklyDigest => digest::run_once(ctx, digest::Period::Weekly, now).await,
            Job::Health => health::run_once(ctx, now).await,
            Job::Agenda => agenda::run_once(ctx, now).await,
            Job::ConclusionsReminder => conclusions::run_once(ctx, now).await,
            Job::Retention => retention::run_once(ctx, now).await,
        }
    }
}

/// When a job's slots fall.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every `period`, slots aligned to the Unix epoch.
    Every(Duration),
    /// Once a day at this local hour.
    DailyAt { hour: u32, tz: Tz },
    /// The occurrences of a cron expression in the organisation's time zone.
    Cron(Box<cron::Schedule>, Tz),
    /// Not scheduled (an optional cron left empty in the config).
    Never,
}

/// A slot: its name in `job_runs` and when it became due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    pub due: DateTime<Utc>,
}

impl Schedule {
    /// The latest slot due at or before `now` (looking back at most a week).
    pub fn latest(&self, now: DateTime<Utc>) -> Option<Slot> {
        match self {
            Schedule::Every(period) => {
                let secs = period.as_secs().max(1) as i64;
                let start = now.timestamp().div_euclid(secs) * secs;
                let due = Utc.timestamp_opt(start, 0).single()?;
                Some(Slot {
                    name: due.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    due,
                })
            }
            Schedule::DailyAt { hour, tz } => {
                let local = now.with_timezone(tz).date_naive();
                [local, local.pred_opt()?].into_iter().find_map(|day| {
                    let due =
                        local_datetime(*tz, day, chrono::NaiveTime::from_hms_opt(*hour, 0, 0)?)?;
                    (due <= now).then(|| Slot {
                        name: day.to_string(),
                        due,
                    })
                })
            }
            Schedule::Cron(schedule, tz) => {
                let from = (now - chrono::Duration::days(7)).with_timezone(tz);
                schedule
                    .after(&from)
                    .take_while(|t| t.with_timezone(&Utc) <= now)
                    .last()
                    .map(|t| Slot {
                        name: t.format("%Y-%m-%dT%H:%M%z").to_string(),
                        due: t.with_timezone(&Utc),
                    })
            }
            Schedule::Never => None,
        }
    }

    /// When the next slot after `now` falls.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(period) => {
                let secs = period.as_secs().max(1) as i64;
                let next = (now.timestamp().div_euclid(secs) + 1) * secs;
                Utc.timestamp_opt(next, 0).single()
            }
            Schedule::DailyAt { hour, tz } => {
                let local = now.with_timezone(tz).date_naive();
                [local, local.succ_opt()?, local.succ_opt()?.succ_opt()?]
                    .into_iter()
                    .find_map(|day| {
                        let due = local_datetime(
                            *tz,
                            day,
                            chrono::NaiveTime::from_hms_opt(*hour, 0, 0)?,
                        )?;
                        (due > now).then_some(due)
                    })
            }
            Schedule::Cron(schedule, tz) => schedule
                .after(&now.with_timezone(tz))
                .next()
                .map(|t| t.with_timezone(&Utc)),
            Schedule::Never => None,
        }
    }
}

/// A local date and time as an instant. A time that does not exist (the spring-forward gap) is
/// moved forward by the gap; an ambiguous one (autumn) takes the earlier instant.
pub fn local_datetime(
    tz: Tz,
    day: chrono::NaiveDate,
    time: chrono::NaiveTime,
) -> Option<DateTime<Utc>> {
    let naive = day.and_time(time);
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(early, _) => Some(early.with_timezone(&Utc)),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Run the latest due slot of every job that has not run yet. Returns the summaries of the jobs
/// that ran. Used by the scheduler loop, and by tests with a clock of their choosing.
pub async fn run_due(ctx: &Context, now: DateTime<Utc>) -> Vec<(Job, String)> {
    let config = ctx.config();
    let mut ran = Vec::new();
    for &job in Job::ALL {
        let Some(slot) = job.schedule(&config).latest(now) else {
            continue;
        };
        let claimed = match ctx.store.claim_job_run(job.name(), &slot.name, now).await {
            Ok(Some(id)) => id,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(job = job.name(), "cannot claim the job run: {e}");
                continue;
            }
        };
        if now - slot.due > chrono::Duration::minutes(10) {
            // Down when the slot was due, or not yet installed then: say which.
            let was_running =
                matches!(ctx.store.first_job_run_at().await, Ok(Some(first)) if first < slot.due);
            if was_running {
                tracing::info!(job = job.name(), slot = %slot.name, "running late: catching up a slot missed while down");
            }
        }
        let result = match job.run_once(ctx, now).await {
            Ok(summary) => {
                tracing::info!(job = job.name(), slot = %slot.name, "{summary}");
                format!("ok: {summary}")
            }
            Err(e) => {
                tracing::error!(job = job.name(), slot = %slot.name, "job failed, retried next round: {e:#}");
                format!("error: {e:#}")
            }
        };
        if let Err(e) = ctx.store.finish_job_run(claimed, &result, Utc::now()).await {
            tracing::warn!(job = job.name(), "cannot record the job run: {e}");
        }
        ran.push((job, result));
    }
    ran
}

/// The scheduler loop: run what is due, sleep until the next slot (or a minute, to retry failed
/// runs and follow config reloads), until `stop`.
pub async fn run(ctx: Context, stop: CancellationToken) -> anyhow::Result<()> {
    loop {
        let now = Utc::now();
        run_due(&ctx, now).await;
        let config = ctx.config();
        let next = Job::ALL
            .iter()
            .filter_map(|job| job.schedule(&config).next_after(now))
            .min()
            .unwrap_or(now + chrono::Duration::minutes(1));
        let wait = (next - Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_daily_job_missed_for_three_days_has_one_slot_to_catch_up() {
        let schedule = Schedule::DailyAt {
            hour: 2,
            tz: chrono_tz::Europe::Brussels,
        };
        // 09:00 Brussels on 24 November (UTC+1): today's 02:00 slot is the latest.
        let slot = schedule.latest(at("2026-11-24T08:00:00Z")).unwrap();
        assert_eq!(slot.name, "2026-11-24");
        assert_eq!(slot.due, at("2026-11-24T01:00:00Z"));
        // 01:00 Brussels: still yesterday's slot.
        assert_eq!(
            schedule.latest(at("2026-11-24T00:00:00Z")).unwrap().name,
            "2026-11-23"
        );
        assert_eq!(
            schedule.next_after(at("2026-11-24T08:00:00Z")),
            Some(at("2026-11-25T01:00:00Z"))
        );
    }

    #[test]
    fn a_daily_slot_follows_summer_time() {
        let schedule = Schedule::DailyAt {
            hour: 2,
            tz: chrono_tz::Europe::Brussels,
        };
        // 02:00 does not exist on 29 March 2026 (clocks jump 02:00 → 03:00): the slot moves to
        // the first existing instant after the gap, not away.
        let slot = schedule.latest(at("2026-03-29T12:00:00Z")).unwrap();
        assert_eq!(slot.name, "2026-03-29");
        assert_eq!(slot.due, at("2026-03-29T01:00:00Z"));
        // In summer, 02:00 Brussels is 00:00 UTC.
        assert_eq!(
            schedule.latest(at("2026-06-01T12:00:00Z")).unwrap().due,
            at("2026-06-01T00:00:00Z")
        );
    }

    #[test]
    fn cron_slots_are_named_by_their_local_time() {
        let cron: cron::Schedule = "0 0 8 * * Mon-Fri".parse().unwrap();
        let schedule = Schedule::Cron(Box::new(cron), chrono_tz::Europe::Brussels);
        // Tuesday 24 November 2026, 10:00 Brussels.
        let slot = schedule.latest(at("2026-11-24T09:00:00Z")).unwrap();
        assert_eq!(slot.name, "2026-11-24T08:00+0100");
        // Saturday: the latest is Friday's.
        assert_eq!(
            schedule.latest(at("2026-11-28T09:00:00Z")).unwrap().name,
            "2026-11-27T08:00+0100"
        );
        assert_eq!(
            schedule.next_after(at("2026-11-27T09:00:00Z")),
            Some(at("2026-11-30T07:00:00Z"))
        );
    }

    #[test]
    fn every_slots_align_to_the_period() {
        let schedule = Schedule::Every(Duration::from_secs(3600));
        let slot = schedule.latest(at("2026-11-24T09:42:00Z")).unwrap();
        assert_eq!(slot.due, at("2026-11-24T09:00:00Z"));
        assert_eq!(
            schedule.next_after(at("2026-11-24T09:42:00Z")),
            Some(at("2026-11-24T10:00:00Z"))
        );
    }
}
