//! The coordinator digest: what happened since the previous digest and what is coming this
//! week, as one `digest` mail to the coordinators on the `[digest]` cron slots (daily, and
//! weekly when set).
//!
//! Owns choosing the period and the digest's data ([`compose`], pure: cases, mails, clock in;
//! the template data of `mail-templates/README.md` out). Nothing to report means no mail unless
//! `send_when_empty`; the health line alone is not something to report. Never changes a case,
//! never sends escalations itself (it shows the steps the escalation job sent).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::Schedule;
use crate::case::model::{Case, Status};
use crate::case::quota::Month;
use crate::case::Role;
use crate::config::Config;
use crate::context::Context;
use crate::outbox::queue::queue_notices;
use crate::outbox::templates::initials;
use crate::outbox::Notice;
use crate::store::digest::{FailedMail, ListedMail, QuarantinedMail, SpoofAttempts};
use crate::understand::MailKind;

/// Kinds of processed mail that cause no notice to a person by themselves: the digest lists
/// each one, so that no mail is ever silent (an out-of-office, a calendar answer, a mailing, a
/// second copy of a mail).
pub const LISTED_KINDS: &[MailKind] = &[
    MailKind::AutoReply,
    MailKind::Bulk,
    MailKind::CalendarResponse,
    MailKind::Duplicate,
];

/// How the digest shows each listed kind.
fn listed_kind_dutch(kind: &str) -> &'static str {
    match kind {
        "auto_reply" => "automatisch antwoord (niet beantwoord)",
        "bulk" => "nieuwsbrief of mailing",
        "calendar_response" => "antwoord op een uitnodiging",
        "duplicate" => "tweede exemplaar van een mail",
        _ => "mail",
    }
}

/// The digest's `other_mail` lines: one per listed mail, with its partner, case and reason.
pub fn other_mail(config: &Config, mails: &[ListedMail]) -> Vec<serde_json::Value> {
    mails
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "kind": listed_kind_dutch(&m.kind),
                "partner_name": m.partner.as_deref().map(|p| config
                    .partner(p)
                    .map_or_else(|| p.to_string(), |p| p.name.clone())),
                "case_ref": m.case_ref,
                "reason": m.reason,
            })
        })
        .collect()
}

/// Daily or weekly: the two digests differ in their cron and their subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Daily,
    Weekly,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
        }
    }

    fn cron(self, config: &Config) -> Option<&cron::Schedule> {
        match self {
            Period::Daily => config.digest.daily.as_ref(),
            Period::Weekly => config.digest.weekly.as_ref(),
        }
    }

    /// The job's schedule; no cron configured → never.
    pub fn schedule(self, config: &Config) -> Schedule {
        match self.cron(config) {
            Some(c) => Schedule::Cron(Box::new(c.clone()), config.organisation.time_zone),
            None => Schedule::Never,
        }
    }

    /// Where the period of the digest due at `due` starts: the previous slot of the same cron
    /// (Monday's daily digest covers the weekend), else one day or one week before.
    pub fn start(self, config: &Config, due: DateTime<Utc>) -> DateTime<Utc> {
        let fallback = match self {
            Period::Daily => chrono::Duration::days(1),
            Period::Weekly => chrono::Duration::days(7),
        };
        let Some(cron) = self.cron(config) else {
            return due - fallback;
        };
        let tz = config.organisation.time_zone;
        let from = (due - chrono::Duration::days(8)).with_timezone(&tz);
        cron.after(&from)
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t < due)
            .last()
            .unwrap_or(due - fallback)
    }
}

/// The digest's template data (`mail-templates/README.md`, section `digest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DigestData {
    pub new_referrals: Vec<serde_json::Value>,
    pub quota_exceeded: Vec<serde_json::Value>,
    pub concerns: Vec<serde_json::Value>,
    pub milestones_due: Vec<serde_json::Value>,
    pub milestones_missed: Vec<serde_json::Value>,
    pub awaiting_final_report: Vec<serde_json::Value>,
    pub quarantined: Vec<serde_json::Value>,
    pub outbox_failures: Vec<serde_json::Value>,
    /// Mails nobody was mailed about (automated mail, duplicates): listed so that none is
    /// silent (see [`LISTED_KINDS`] and [`other_mail`]).
    pub other_mail: Vec<serde_json::Value>,
    /// Spoof attempts in the period, per partner the From claimed (see [`spoof_attempts`]).
    pub spoof_attempts: Vec<serde_json::Value>,
    /// The weekly digest says that senders are not verified (`organisation.trust = "none"`).
    pub unverified_senders: bool,
}

impl DigestData {
    /// Nothing in any list.
    pub fn is_empty(&self) -> bool {
        self.new_referrals.is_empty()
            && self.quota_exceeded.is_empty()
            && self.concerns.is_empty()
            && self.milestones_due.is_empty()
            && self.milestones_missed.is_empty()
            && self.awaiting_final_report.is_empty()
            && self.quarantined.is_empty()
            && self.outbox_failures.is_empty()
            && self.other_mail.is_empty()
            && self.spoof_attempts.is_empty()
            && !self.unverified_senders
    }
}

/// What the digest of the period `[from, now)` shows. `today` is local; "this week" is the
/// seven days from today. Pure.
pub fn compose(
    config: &Config,
    cases: &[Case],
    quarantined: &[QuarantinedMail],
    failed: &[FailedMail],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DigestData {
    let tz = config.organisation.time_zone;
    let today = now.with_timezone(&tz).date_naive();
    let week_end = today + chrono::Duration::days(7);
    let in_period = |t: DateTime<Utc>| t >= from && t < now;
    let partner_name = |id: &str| {
        config
            .partner(id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    let mut d = DigestData::default();

    let mut over_quota: Vec<(String, Month)> = Vec::new();
    for case in cases.iter().filter(|c| in_period(c.referred_at)) {
        let missing = config
            .programme(&case.programme)
            .map(|p| case.missing_documents(p))
            .unwrap_or_default();
        d.new_referrals.push(json!({
            "case_ref": case.case_ref,
            "partner_name": partner_name(&case.partner),
            "candidate_initials": initials(&case.candidate),
            "missing": missing.iter().map(|k| k.dutch()).collect::<Vec<_>>(),
        }));
        let month = Month::of_instant(case.referred_at, tz);
        if !over_quota.contains(&(case.partner.clone(), month)) {
            over_quota.push((case.partner.clone(), month));
        }
    }
    // A partner over its quota in a month that had a referral in this period.
    for (partner, month) in over_quota {
        let Some(quota) = config.partner(&partner).and_then(|p| p.monthly_quota) else {
            continue;
        };
        let count = cases
            .iter()
            .filter(|c| c.partner == partner && Month::of_instant(c.referred_at, tz) == month)
            .count();
        if count > quota as usize {
            d.quota_exceeded.push(json!({
                "partner_name": partner_name(&partner),
                "month": month.to_string(),
                "count": count,
                "quota": quota,
            }));
        }
    }

    for case in cases {
        for c in case.concerns.iter().filter(|c| in_period(c.raised_at)) {
            d.concerns.push(json!({
                "case_ref": case.case_ref,
                "partner_name": partner_name(&case.partner),
                "statement": c.statement,
                "urgent": c.urgent,
            }));
        }
        let guided = matches!(
            case.status,
            Status::Allocated | Status::InGuidance | Status::Extended
        );
        if guided {
            for m in case.milestones.iter().filter(|m| m.is_pending()) {
                if m.due_on >= today && m.due_on < week_end {
                    d.milestones_due.push(json!({
                        "case_ref": case.case_ref, "name": m.name, "due": m.due_on.to_string(),
                    }));
                } else if m.due_on < today && m.escalation_step > 0 {
                    d.milestones_missed.push(json!({
                        "case_ref": case.case_ref,
                        "name": m.name,
                        "due": m.due_on.to_string(),
                        "days_overdue": (today - m.due_on).num_days(),
                        "step": m.escalation_step,
                    }));
                }
            }
        }
        if case.report_due.is_some() && case.status.is_closed() && !case.has_final_report() {
            if case.status == Status::Anonymised {
                continue;
            }
            d.awaiting_final_report.push(json!({
                "case_ref": case.case_ref,
                "partner_name": partner_name(&case.partner),
                "stop_date": case.stopped_on.map(|x: NaiveDate| x.to_string()),
                "report_due": case.report_due.map(|x| x.to_string()),
            }));
        }
    }
    // The due lists read best in date order.
    let by_due =
        |a: &serde_json::Value, b: &serde_json::Value| a["due"].as_str().cmp(&b["due"].as_str());
    d.milestones_due.sort_by(by_due);
    d.milestones_missed.sort_by(by_due);

    d.quarantined = quarantined
        .iter()
        .map(|q| json!({"id": q.id, "sender": q.sender, "subject": q.subject, "reason": q.reason}))
        .collect();
    d.outbox_failures = failed
        .iter()
        .map(|f| {
            json!({"id": f.id, "recipient": f.recipients.join(", "), "subject": f.subject, "error": f.error})
        })
        .collect();
    d
}

/// The digest's lines on spoof attempts: per claimed partner (our own staff when none), how
/// many. Pure.
pub fn spoof_attempts(config: &Config, spoofs: &[SpoofAttempts]) -> Vec<serde_json::Value> {
    spoofs
        .iter()
        .map(|s| {
            let name = s.partner.as_deref().map(|id| {
                config
                    .partner(id)
                    .map_or_else(|| id.to_string(), |p| p.name.clone())
            });
            json!({"partner_name": name, "count": s.count})
        })
        .collect()
}

/// One digest pass for `period` at `now`.
pub async fn run_once(ctx: &Context, period: Period, now: DateTime<Utc>) -> anyhow::Result<String> {
    let loaded = ctx.loaded();
    let config = &loaded.config;
    let tz = config.organisation.time_zone;
    let due = period
        .schedule(config)
        .latest(now)
        .map_or(now, |slot| slot.due);
    let from = period.start(config, due);
    let cases = ctx
        .store
        .cases(&crate::store::CaseFilter {
            details: true,
            ..Default::default()
        })
        .await?;
    let quarantined = ctx.store.quarantined_between(from, now).await?;
    let failed = ctx.store.outbox_failed_between(from, now).await?;
    let mut data = compose(config, &cases, &quarantined, &failed, from, now);
    let kinds: Vec<&str> = LISTED_KINDS.iter().map(|k| k.as_str()).collect();
    let listed = ctx
        .store
        .processed_of_kinds_between(&kinds, from, now)
        .await?;
    data.other_mail = other_mail(config, &listed);
    let spoofs = ctx.store.spoof_attempts_between(from, now).await?;
    data.spoof_attempts = spoof_attempts(config, &spoofs);
    data.unverified_senders = period == Period::Weekly && !config.organisation.trust.verifies();
    if data.is_empty() && !config.digest.send_when_empty {
        return Ok(format!("nothing to report since {from}: no digest"));
    }
    let health = ctx.store.health().await?;
    let counts = ctx.store.counts().await?;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let connected_since = health
        .get("intake.connected_since")
        .filter(|_| {
            health
                .get("intake.error")
                .is_none_or(|(e, _)| e.trim().is_empty())
        })
        .and_then(|(v, _)| DateTime::parse_from_rfc3339(v).ok())
        .map(|t| local(t.with_timezone(&Utc)));
    let date = now.with_timezone(&tz).date_naive();
    let mut value = serde_json::to_value(&data)?;
    value["date"] = json!(date.to_string());
    value["period"] = json!(period.as_str());
    value["health"] = json!({
        "connected_since": connected_since,
        "last_mail": counts.last_mail_at.map(local),
        "outbox_waiting": counts.outbox_waiting,
    });
    let notice = Notice {
        template: "digest".into(),
        case_ref: None,
        to: vec![Role::Coordinator],
        to_sender: false,
        urgent: false,
        data: value,
        dedupe: format!("digest:{}:{}", period.as_str(), local(due)),
    };
    let mut tx = ctx.store.begin().await?;
    let lines = queue_notices(&mut tx, config, &loaded.outbox, &[notice], &[], None, now).await?;
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    Ok(format!("{} digest: {}", period.as_str(), lines.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Concern, Milestone};
    use crate::case::MilestoneKind;
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("x.toml"),
        )
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn mondays_daily_digest_covers_the_weekend_since_fridays() {
        let config = config();
        // Monday 30 November 2026, 08:00 Brussels = 07:00 UTC.
        let from = Period::Daily.start(&config, at("2026-11-30T07:00:00Z"));
        assert_eq!(from, at("2026-11-27T07:00:00Z"));
        let from = Period::Daily.start(&config, at("2026-12-01T07:00:00Z"));
        assert_eq!(from, at("2026-11-30T07:00:00Z"));
    }

    #[test]
    fn nothing_new_and_nothing_due_is_an_empty_digest() {
        let config = config();
        let mut old = Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            at("2026-10-01T09:00:00Z"),
        );
        old.status = Status::InGuidance;
        let now = at("2026-11-24T07:00:00Z");
        let data = compose(
            &config,
            std::slice::from_ref(&old),
            &[],
            &[],
            at("2026-11-23T07:00:00Z"),
            now,
        );
        assert!(data.is_empty(), "{data:?}");
        // A concern raised yesterday, a home visit due Thursday and one missed with step 2.
        old.concerns.push(Concern {
            id: None,
            statement: "Geen medewerking".into(),
            urgent: true,
            raised_at: at("2026-11-23T15:00:00Z"),
            mail_id: None,
            resolved_at: None,
        });
        let milestone = |due, step| Milestone {
            id: None,
            kind: MilestoneKind::HomeVisit,
            name: "huisbezoek".into(),
            due_on: due,
            meeting_month: None,
            done_on: None,
            escalation_step: step,
            superseded: false,
            counsellor_attends: true,
            discuss_at_meeting: false,
        };
        old.milestones.push(milestone(d(2026, 11, 26), 0));
        old.milestones.push(milestone(d(2026, 11, 2), 2));
        let data = compose(&config, &[old], &[], &[], at("2026-11-23T07:00:00Z"), now);
        assert_eq!(data.concerns[0]["urgent"], true);
        assert_eq!(data.milestones_due[0]["due"], "2026-11-26");
        assert_eq!(data.milestones_missed[0]["step"], 2);
        assert_eq!(data.milestones_missed[0]["days_overdue"], 22);
        assert!(data.new_referrals.is_empty());
    }

    #[test]
    fn a_referral_of_the_period_is_listed_with_what_is_missing() {
        let config = config();
        let c = Case::new(
            "VD-2026-0009".into(),
            "caw-antwerpen",
            "vivendo",
            "Sara Bakker",
            Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap(),
        );
        let data = compose(
            &config,
            &[c],
            &[],
            &[],
            at("2026-11-23T07:00:00Z"),
            at("2026-11-24T07:00:00Z"),
        );
        assert_eq!(data.new_referrals[0]["candidate_initials"], "S.B.");
        assert!(!data.new_referrals[0]["missing"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
