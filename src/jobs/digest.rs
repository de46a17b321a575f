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
use crate::calendar::{meeting_mode, MeetingMode, MonthSchedule};
use crate::case::model::{Case, Status};
use crate::case::quota::Month;
use crate::case::Role;
use crate::config::Config;
use crate::context::Context;
use crate::outbox::queue::queue_notices;
use crate::outbox::templates::initials;
use crate::outbox::Notice;
use crate::store::digest::{CaseEventOf, FailedMail, ListedMail, QuarantinedMail, SpoofAttempts};
use crate::store::meetings::{Meeting, MeetingState};
use crate::understand::reasons::{dutch_reasons, smtp_error_dutch};
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
                "reason": dutch_reasons([m.reason.as_str()]),
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
    /// Referrals that lacked a document when they came and became complete in the period
    /// (see [`completed`]).
    pub completed: Vec<serde_json::Value>,
    /// The counsellor's contact details changed in the period (see [`contact_changes`]).
    pub contact_changes: Vec<serde_json::Value>,
    pub quota_exceeded: Vec<serde_json::Value>,
    pub concerns: Vec<serde_json::Value>,
    pub milestones_due: Vec<serde_json::Value>,
    pub milestones_missed: Vec<serde_json::Value>,
    pub awaiting_final_report: Vec<serde_json::Value>,
    /// Waiting for a person: every mail still in quarantine (whenever it came), spoofs of the
    /// period.
    pub quarantined: Vec<serde_json::Value>,
    /// Waiting for a person: mail of the period no case could be given to (an unknown sender, a
    /// case of another partner); see [`waiting`].
    pub unplaced: Vec<serde_json::Value>,
    /// Waiting for a person: mail of the period decided below `[triage] confidence_threshold`,
    /// forwarded to the coordinator to confirm; see [`waiting`].
    pub unsure: Vec<serde_json::Value>,
    pub outbox_failures: Vec<serde_json::Value>,
    /// Mails nobody was mailed about (automated mail, duplicates): listed so that none is
    /// silent (see [`LISTED_KINDS`] and [`other_mail`]).
    pub other_mail: Vec<serde_json::Value>,
    /// Spoof attempts in the period, per partner the From claimed (see [`spoof_attempts`]).
    pub spoof_attempts: Vec<serde_json::Value>,
    /// The weekly digest says that senders are not verified (`organisation.trust = "none"`).
    pub unverified_senders: bool,
    /// Each partner's next meeting (see [`next_meetings`]). Shown, but not something to report
    /// by itself: a digest with only this is not sent.
    pub next_meetings: Vec<serde_json::Value>,
}

impl DigestData {
    /// Nothing in any list.
    pub fn is_empty(&self) -> bool {
        self.new_referrals.is_empty()
            && self.completed.is_empty()
            && self.contact_changes.is_empty()
            && self.unplaced.is_empty()
            && self.unsure.is_empty()
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
    d.completed = completed(config, cases, from, now);
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
                "raised_on": c.raised_at.with_timezone(&tz).date_naive().to_string(),
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
        .map(|q| {
            json!({
                "id": q.id,
                "sender": q.sender,
                "subject": q.subject,
                "reason": dutch_reasons([q.reason.as_str()]),
                "since": q.received_at.with_timezone(&tz).date_naive().to_string(),
                "new": in_period(q.received_at),
            })
        })
        .collect();
    d.outbox_failures = failed
        .iter()
        .map(|f| {
            json!({"id": f.id, "recipient": f.recipients.join(", "), "subject": f.subject, "error": smtp_error_dutch(&f.error)})
        })
        .collect();
    d
}

/// When a case's referral file became complete: the day the last required document that was
/// missing at the referral arrived. `None` while something is missing, and for a referral that
/// was complete when it came (the digest lists that one as new and complete).
fn completed_at(case: &Case, required: &[crate::case::DocumentKind]) -> Option<DateTime<Utc>> {
    let first_usable = |kind| {
        case.documents
            .iter()
            .filter(|d| d.usable && d.kind == kind)
            .map(|d| d.received_at)
            .min()
    };
    let mut last = None;
    let mut lacked_at_referral = false;
    for kind in required {
        let at = first_usable(*kind)?;
        lacked_at_referral |= at > case.referred_at;
        last = last.max(Some(at));
    }
    last.filter(|_| lacked_at_referral)
}

/// The digest's `completed` lines: referrals that became complete in `[from, now)`. Pure.
pub fn completed(
    config: &Config,
    cases: &[Case],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
    let tz = config.organisation.time_zone;
    cases
        .iter()
        .filter(|c| c.status != Status::Anonymised)
        .filter_map(|case| {
            let programme = config.programme(&case.programme)?;
            let at = completed_at(case, &programme.required_documents)?;
            (at >= from && at < now).then(|| {
                json!({
                    "case_ref": case.case_ref,
                    "partner_name": partner_name(config, &case.partner),
                    "candidate_initials": initials(&case.candidate),
                    "completed_on": at.with_timezone(&tz).date_naive().to_string(),
                })
            })
        })
        .collect()
}

fn partner_name(config: &Config, id: &str) -> String {
    config
        .partner(id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

/// The digest's `contact_changes` lines, from the `counsellor` events of the period: old and
/// new contact of the counsellor (woonbegeleider) per case. Pure.
pub fn contact_changes(
    config: &Config,
    cases: &[Case],
    events: &[CaseEventOf],
) -> Vec<serde_json::Value> {
    events
        .iter()
        .filter(|e| e.detail.get("new").is_some())
        .map(|e| {
            let candidate = cases
                .iter()
                .find(|c| c.case_ref == e.case_ref)
                .map(|c| initials(&c.candidate));
            json!({
                "case_ref": e.case_ref,
                "partner_name": partner_name(config, &e.partner),
                "candidate_initials": candidate,
                "old": e.detail["old"],
                "new": e.detail["new"],
            })
        })
        .collect()
}

/// How the digest names the kind of a mail waiting for a person.
fn waiting_kind_dutch(kind: &str) -> &'static str {
    match serde_json::from_value::<MailKind>(json!(kind)) {
        Ok(MailKind::UnknownSender) => "mail van een onbekende afzender",
        Ok(MailKind::ReferralIncomplete) => "aanmelding",
        Ok(k) => crate::case::apply::dutch_kind(k),
        Err(_) => "mail",
    }
}

/// Mails of the period waiting for a person, from the processed mails: `unplaced` (no case
/// could be given: an unknown sender, a case of another partner) and `unsure` (decided below
/// the confidence threshold, forwarded to the coordinator to confirm). Pure.
pub fn waiting(
    config: &Config,
    processed: &[ListedMail],
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let threshold = config.triage.confidence_threshold;
    let line = |m: &ListedMail| {
        json!({
            "id": m.id,
            "kind": waiting_kind_dutch(&m.kind),
            "partner_name": m.partner.as_deref().map(|p| partner_name(config, p)),
            "case_ref": m.case_ref,
            "reason": dutch_reasons([m.reason.as_str()]),
            "confidence": (m.confidence * 100.0).round() as i64,
            "doubts": crate::understand::reasons::dutch_doubts(m.doubts.iter().map(String::as_str)),
        })
    };
    let unplaced_kinds = [MailKind::UnknownSender, MailKind::CrossPartner];
    let unplaced = processed
        .iter()
        .filter(|m| unplaced_kinds.iter().any(|k| k.as_str() == m.kind))
        .map(line)
        .collect();
    let unsure = processed
        .iter()
        .filter(|m| m.confidence < threshold)
        .filter(|m| !unplaced_kinds.iter().any(|k| k.as_str() == m.kind))
        .filter(|m| !LISTED_KINDS.iter().any(|k| k.as_str() == m.kind))
        .map(line)
        .collect();
    (unplaced, unsure)
}

/// The digest's `next_meetings` lines: per partner, its next monthly meeting (`schedule`), where,
/// and what is known of it (`meetings`: the rows of that month). Pure.
pub fn next_meetings(
    config: &Config,
    schedule: &MonthSchedule,
    meetings: &[Meeting],
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
    let month = schedule.month.to_string();
    config
        .partners
        .iter()
        .map(|p| {
            let row = meetings
                .iter()
                .find(|m| m.partner == p.id && m.month == month);
            let state = match row.map(|m| m.state) {
                Some(MeetingState::Called) => "called",
                Some(MeetingState::Skipped) => "skipped",
                Some(MeetingState::Cancelled) => "cancelled",
                None if schedule.agenda_at.with_timezone(&Utc) <= now => "agenda_due",
                None => "agenda_coming",
            };
            let place = match meeting_mode(
                &config.meeting,
                p,
                config.organisation.office_address.as_deref(),
            ) {
                Ok(MeetingMode::Online { .. }) => "online (Teams)".to_string(),
                Ok(MeetingMode::OnSite { place }) => place,
                Err(_) => "plaats nog niet bekend".to_string(),
            };
            json!({
                "partner_name": p.name,
                "date": schedule.meeting_day.date.to_string(),
                "time": schedule.meeting_start.format("%H:%M").to_string(),
                "agenda_date": schedule.agenda_day.date.to_string(),
                "state": state,
                "cases": row.map_or(0, |m| m.called_for.len()),
                "place": place,
                // Who declined the invitation (their calendar's answer, recorded by intake).
                "declined": row.map_or_else(Vec::new, |m| {
                    m.responses
                        .iter()
                        .filter(|r| r.partstat.eq_ignore_ascii_case("DECLINED"))
                        .map(|r| r.attendee.clone())
                        .collect::<Vec<_>>()
                }),
            })
        })
        .collect()
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
    let processed = ctx.store.processed_between(from, now).await?;
    (data.unplaced, data.unsure) = waiting(config, &processed);
    let counsellor_events = ctx
        .store
        .case_events_between("counsellor", from, now)
        .await?;
    data.contact_changes = contact_changes(config, &cases, &counsellor_events);
    let spoofs = ctx.store.spoof_attempts_between(from, now).await?;
    data.spoof_attempts = spoof_attempts(config, &spoofs);
    data.unverified_senders = period == Period::Weekly && !config.organisation.trust.verifies();
    if data.is_empty() && !config.digest.send_when_empty {
        return Ok(format!("nothing to report since {from}: no digest"));
    }
    let calendar = crate::calendar::MeetingCalendar::new(&config.meeting, tz);
    if let Some((month, Ok(schedule))) = calendar.coming(now, 1).into_iter().next() {
        let meetings = ctx.store.meetings_in(&month.to_string()).await?;
        data.next_meetings = next_meetings(config, &schedule, &meetings, now);
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
    fn document(
        kind: crate::case::DocumentKind,
        at: DateTime<Utc>,
    ) -> crate::case::model::Document {
        crate::case::model::Document {
            id: None,
            kind,
            filename: "x.pdf".into(),
            sha256: None,
            size: 10,
            mail_id: None,
            sender: None,
            received_at: at,
            usable: true,
            note: None,
            bytes: Default::default(),
        }
    }

    #[test]
    fn a_referral_completed_by_a_later_mail_is_listed_on_the_day_it_became_complete() {
        let config = config();
        let programme = config.programme("vivendo").unwrap();
        let referred = at("2026-11-20T09:00:00Z");
        let mut late = Case::new(
            "VD-2026-0004".into(),
            "caw-antwerpen",
            "vivendo",
            "Sara Bakker",
            referred,
        );
        let mut whole = Case::new(
            "VD-2026-0005".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            referred,
        );
        for (i, kind) in programme.required_documents.iter().enumerate() {
            // The first required document came with the referral, the others a few days later.
            let later = if i == 0 {
                referred
            } else {
                at("2026-11-23T15:00:00Z")
            };
            late.documents.push(document(*kind, later));
            whole.documents.push(document(*kind, referred));
        }
        let (from, now) = (at("2026-11-23T07:00:00Z"), at("2026-11-24T07:00:00Z"));
        let done = completed(&config, &[late.clone(), whole], from, now);
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0]["case_ref"], "VD-2026-0004");
        assert_eq!(done[0]["completed_on"], "2026-11-23");
        assert_eq!(done[0]["candidate_initials"], "S.B.");
        // The next day it is old news; and a file still missing something is not complete.
        assert!(completed(
            &config,
            std::slice::from_ref(&late),
            now,
            at("2026-11-25T07:00:00Z")
        )
        .is_empty());
        late.documents.pop();
        assert!(completed(&config, &[late], from, now).is_empty());
    }

    #[test]
    fn a_counsellors_new_contact_details_are_listed_with_the_old_name() {
        let config = config();
        let case = Case::new(
            "VD-2026-0007".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            at("2026-10-01T09:00:00Z"),
        );
        let event = CaseEventOf {
            case_ref: "VD-2026-0007".into(),
            partner: "caw-antwerpen".into(),
            at: at("2026-11-23T10:00:00Z"),
            detail: json!({"old": {"name": "Els Wouters", "email": null, "phone": null},
                           "new": {"name": "Tom Claes", "email": "tom@caw.example", "phone": null}}),
        };
        let lines = contact_changes(&config, &[case], &[event]);
        assert_eq!(lines[0]["candidate_initials"], "J.P.");
        assert_eq!(lines[0]["new"]["name"], "Tom Claes");
        assert_eq!(lines[0]["old"]["name"], "Els Wouters");
        assert_ne!(
            lines[0]["partner_name"], "caw-antwerpen",
            "the partner's name, not its id"
        );
    }

    #[test]
    fn mail_waiting_for_a_person_is_unplaced_or_unsure_and_listed_kinds_are_neither() {
        let config = config();
        let mail = |id, kind: &str, confidence| {
            ListedMail {
            id,
            received_at: at("2026-11-23T10:00:00Z"),
            kind: kind.into(),
            partner: None,
            case_ref: None,
            reason: "unknown_sender: x.example is not a partner domain and a@x.example is no partner address".into(),
            confidence,
            doubts: vec!["case VD-2026-0001 found by its counsellor only".into()],
        }
        };
        let (unplaced, unsure) = waiting(
            &config,
            &[
                mail(1, "unknown_sender", 1.0),
                mail(2, "concern", 0.45),
                mail(3, "concern", 0.9),
                mail(4, "auto_reply", 0.3),
                mail(5, "cross_partner", 0.2),
            ],
        );
        let ids = |v: &[serde_json::Value]| {
            v.iter()
                .map(|m| m["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&unplaced), [1, 5]);
        assert_eq!(ids(&unsure), [2]);
        assert_eq!(unsure[0]["confidence"], 45);
        assert_eq!(
            unsure[0]["doubts"][0],
            "dossier VD-2026-0001 alleen gevonden via de woonbegeleider (geen referentie of naam in de mail)"
        );
        assert_eq!(unplaced[0]["kind"], "mail van een onbekende afzender");
        assert!(
            unplaced[0]["reason"]
                .as_str()
                .unwrap()
                .contains("geen adres van een partner"),
            "{}",
            unplaced[0]
        );
    }

    #[test]
    fn each_partner_has_its_next_meeting_with_what_is_known_of_it() {
        let config = config();
        let calendar =
            crate::calendar::MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
        // Monday 30 November 2026: November's meeting (26th) is over, December's agenda has not
        // gone out yet.
        let now = at("2026-11-30T07:00:00Z");
        let (month, schedule) = calendar.coming(now, 1).remove(0);
        let schedule = schedule.unwrap();
        assert_eq!(month.to_string(), "2026-12");
        let first = &config.partners[0];
        let row = Meeting {
            partner: first.id.clone(),
            month: month.to_string(),
            state: MeetingState::Called,
            sequence: 0,
            agenda_message_id: None,
            called_for: vec!["VD-2026-0001".into(), "VD-2026-0002".into()],
            responses: vec![
                crate::store::meetings::MeetingResponse {
                    attendee: "teamwonen@caw-antwerpen.example".into(),
                    partstat: "DECLINED".into(),
                    at: now,
                    mail_id: None,
                },
                crate::store::meetings::MeetingResponse {
                    attendee: "an.peeters@woonhaven.example".into(),
                    partstat: "ACCEPTED".into(),
                    at: now,
                    mail_id: None,
                },
            ],
            reminded_at: None,
            created_at: now,
            updated_at: now,
        };
        let lines = next_meetings(&config, &schedule, &[row], now);
        assert_eq!(
            lines[0]["declined"],
            json!(["teamwonen@caw-antwerpen.example"])
        );
        assert_eq!(lines.len(), config.partners.len());
        assert_eq!(lines[0]["partner_name"], first.name.as_str());
        assert_eq!(lines[0]["state"], "called");
        assert_eq!(lines[0]["cases"], 2);
        assert_eq!(lines[0]["date"], schedule.meeting_day.date.to_string());
        if let Some(other) = lines.get(1) {
            // No row yet: the agenda went out (or is due) before now, or is still coming.
            let expected = if schedule.agenda_at.with_timezone(&Utc) <= now {
                "agenda_due"
            } else {
                "agenda_coming"
            };
            assert_eq!(other["state"], expected);
        }
    }
}
