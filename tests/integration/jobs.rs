//! The periodic jobs driven with clocks of the test's choosing, on SQLite and PostgreSQL:
//! escalation steps go out once, a missed slot is caught up once, the digest stays home when
//! there is nothing to say, a health alert fires once per day.

use chrono::{DateTime, NaiveDate, Utc};
use doorstroom::case::{MilestoneKind, Status};
use doorstroom::context::Context;
use doorstroom::jobs::{self, Job};
use doorstroom::store::{CaseCache, NewMail, Store};
use doorstroom::understand::{Decision, MailKind};

use crate::db::{self, BOTH};
use crate::outbox::config;
use crate::setup::{self, at};

/// [`setup::decision`] with `must_auto_reply` off, as these tests have always used it.
fn decision(kind: MailKind, case_ref: Option<&str>) -> Decision {
    Decision {
        must_auto_reply: false,
        ..setup::decision(kind, case_ref)
    }
}

/// Apply a decision as if its mail arrived at `when`; returns the case reference.
async fn apply(store: &Store, d: &Decision, key: &str, when: DateTime<Utc>) -> Option<String> {
    let new = NewMail {
        source: "file".into(),
        source_key: key.into(),
        message_id: Some(format!("<{key}@caw-antwerpen.example>")),
        received_at: when,
    };
    let id = store.record_mail(&new, key.as_bytes()).await.unwrap().0.id;
    let mut tx = store.begin().await.unwrap();
    let fx = tx
        .apply_decision(&config(), d, id, when, when, &mut CaseCache::default())
        .await
        .unwrap_or_else(|e| panic!("apply {key}: {e}"));
    tx.commit().await.unwrap();
    fx.case_ref
}

/// A referred case with its lease start, as of `when`.
async fn case_with_lease(store: &Store, lease: NaiveDate, when: DateTime<Utc>) -> String {
    let reference = apply(store, &decision(MailKind::Referral, None), "r", when)
        .await
        .unwrap();
    let mut d = decision(MailKind::LeaseStart, Some(&reference));
    d.lease_start = Some(lease);
    d.facts.from_staff = true;
    apply(store, &d, "lease", when).await;
    reference
}

async fn kinds(store: &Store) -> Vec<String> {
    let mut k: Vec<String> = store
        .list_outbox(false, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    k.sort();
    k
}

async fn count(store: &Store, kind: &str) -> usize {
    kinds(store).await.iter().filter(|k| *k == kind).count()
}

/// What the sender task would do: every queued mail delivered.
async fn deliver_all(store: &Store, now: DateTime<Utc>) {
    for row in store.outbox_queued(1000).await.unwrap() {
        assert!(store.claim_outbox(row.id, now).await.unwrap());
        assert!(store.mark_outbox_sent(row.id, now).await.unwrap());
    }
}

fn ran(result: &[(Job, String)], job: Job) -> bool {
    result.iter().any(|(j, _)| *j == job)
}

#[tokio::test]
async fn an_escalation_step_is_queued_once_and_recorded_in_the_same_pass() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-escalation").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let reference = case_with_lease(
            &store,
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            at("2026-07-01T09:00:00Z"),
        )
        .await;
        let before = count(&store, "escalation").await;
        // Home visit due 1 October; on 9 October the counsellor's reminder is due (and the
        // 1-month evaluation of August, far overdue, climbs its whole ladder at once).
        let first = jobs::escalation::run_once(&ctx, at("2026-10-09T08:00:00Z"))
            .await
            .unwrap();
        let sent = count(&store, "escalation").await - before;
        assert!(sent >= 1, "{backend:?}: {first}");
        let case = store.case(&reference).await.unwrap().unwrap();
        let visit = case
            .milestones
            .iter()
            .find(|m| m.kind == MilestoneKind::HomeVisit && m.is_pending())
            .unwrap();
        assert_eq!(visit.escalation_step, 1, "{backend:?}");
        // The next pass (an hour later, and a day later before step 2) sends nothing again.
        jobs::escalation::run_once(&ctx, at("2026-10-09T09:00:00Z"))
            .await
            .unwrap();
        jobs::escalation::run_once(&ctx, at("2026-10-10T09:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            count(&store, "escalation").await - before,
            sent,
            "{backend:?}"
        );
        // Day 14: step 2 (the social assistant), once.
        jobs::escalation::run_once(&ctx, at("2026-10-15T09:00:00Z"))
            .await
            .unwrap();
        jobs::escalation::run_once(&ctx, at("2026-10-15T10:00:00Z"))
            .await
            .unwrap();
        let case = store.case(&reference).await.unwrap().unwrap();
        let visit = case
            .milestones
            .iter()
            .find(|m| m.kind == MilestoneKind::HomeVisit && m.is_pending())
            .unwrap();
        assert_eq!(visit.escalation_step, 2, "{backend:?}");
        let keys: Vec<String> = store
            .list_outbox(false, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "escalation")
            .map(|r| r.dedupe_key)
            .collect();
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{backend:?}: a step queued twice");
    }
}

#[tokio::test]
async fn a_lease_that_started_moves_the_case_into_guidance_with_a_job_event() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-lease").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let reference = case_with_lease(
            &store,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            at("2026-11-24T09:00:00Z"),
        )
        .await;
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::Allocated, "{backend:?}");
        jobs::escalation::run_once(&ctx, at("2026-11-30T20:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            store.case(&reference).await.unwrap().unwrap().status,
            Status::Allocated
        );
        // 1 December 01:00 Brussels is 1 December locally.
        jobs::escalation::run_once(&ctx, at("2026-12-01T00:00:00Z"))
            .await
            .unwrap();
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::InGuidance, "{backend:?}");
        let events = store.case_events(case.id.unwrap()).await.unwrap();
        let last = events.iter().rev().find(|e| e.kind == "status").unwrap();
        assert_eq!(
            last.cause.columns(),
            ("job", "escalation:2026-12-01T00:00Z".to_string())
        );
    }
}

#[tokio::test]
async fn a_scheduler_down_for_hours_catches_each_job_up_once() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-catchup").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        case_with_lease(
            &store,
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            at("2026-07-01T09:00:00Z"),
        )
        .await;
        // Down from 02:00 to 11:40 UTC: the hourly escalation runs once on return, not ten times.
        let back = at("2026-10-09T11:40:00Z");
        let first = jobs::run_due(&ctx, back).await;
        assert!(ran(&first, Job::Escalation), "{backend:?}: {first:?}");
        assert!(ran(&first, Job::Health));
        let escalations = count(&store, "escalation").await;
        let again = jobs::run_due(&ctx, back + chrono::Duration::minutes(10)).await;
        assert!(!ran(&again, Job::Escalation), "{backend:?}: {again:?}");
        assert!(!ran(&again, Job::Digest));
        assert_eq!(count(&store, "escalation").await, escalations);
        // The next hour is a new slot, with nothing new to send.
        let next = jobs::run_due(&ctx, at("2026-10-09T12:01:00Z")).await;
        assert!(ran(&next, Job::Escalation));
        assert_eq!(count(&store, "escalation").await, escalations);
    }
}

#[tokio::test]
async fn the_digest_reports_a_new_referral_once_and_is_skipped_when_empty() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-digest").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        // Nothing at all: Monday's digest (08:00 Brussels) is not sent.
        let monday = jobs::run_due(&ctx, at("2026-11-23T07:30:00Z")).await;
        let (_, summary) = monday.iter().find(|(j, _)| *j == Job::Digest).unwrap();
        assert!(summary.contains("no digest"), "{backend:?}: {summary}");
        assert_eq!(count(&store, "digest").await, 0);
        // A referral without its addendum on Monday afternoon: Tuesday's digest lists it.
        apply(
            &store,
            &decision(MailKind::ReferralIncomplete, None),
            "ref",
            at("2026-11-23T14:00:00Z"),
        )
        .await;
        let before = store.list_outbox(false, 1000).await.unwrap().len();
        jobs::run_due(&ctx, at("2026-11-24T07:05:00Z")).await;
        jobs::run_due(&ctx, at("2026-11-24T09:00:00Z")).await;
        let rows = store.list_outbox(false, 1000).await.unwrap();
        let digests: Vec<_> = rows.iter().filter(|r| r.kind == "digest").collect();
        assert_eq!(digests.len(), 1, "{backend:?}");
        assert!(rows.len() > before);
        let body = String::from_utf8_lossy(&store.outbox_message(digests[0].id).await.unwrap())
            .to_string();
        assert!(body.contains("Dagoverzicht"), "{body}");
        assert!(body.contains("NIEUWE AANMELDINGEN"), "{body}");
        // Wednesday: the referral is old news, nothing else happened: no digest.
        let wednesday = jobs::run_due(&ctx, at("2026-11-25T07:05:00Z")).await;
        assert!(ran(&wednesday, Job::Digest));
        assert_eq!(count(&store, "digest").await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn an_intake_disconnection_on_saturday_is_told_to_the_admins_on_monday_at_8() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-health-weekend").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        // Saturday 5 December 2026, 10:00 in Brussels.
        let saturday = at("2026-12-05T09:00:00Z");
        store
            .set_health("intake.error", "IMAP login failed", saturday)
            .await
            .unwrap();
        let said = jobs::health::run_once(&ctx, saturday).await.unwrap();
        assert!(said.contains("outside working hours"), "{said}");
        // Monday 07:55: still held.
        jobs::health::run_once(&ctx, at("2026-12-07T06:55:00Z"))
            .await
            .unwrap();
        assert_eq!(count(&store, "health_alert").await, 0, "{backend:?}");
        // Monday 08:00: told.
        jobs::health::run_once(&ctx, at("2026-12-07T07:00:00Z"))
            .await
            .unwrap();
        assert_eq!(count(&store, "health_alert").await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn an_intake_disconnection_alerts_the_admins_once_per_day() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "job-health").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let t = at("2026-11-24T09:00:00Z");
        assert_eq!(
            jobs::health::run_once(&ctx, t).await.unwrap(),
            "all well",
            "{backend:?}"
        );
        store
            .set_health("intake.error", "IMAP login failed", t)
            .await
            .unwrap();
        for minutes in [0, 5, 10, 300] {
            let now = t + chrono::Duration::minutes(minutes);
            jobs::health::run_once(&ctx, now).await.unwrap();
            deliver_all(&store, now).await;
        }
        let alerts: Vec<_> = store
            .list_outbox(false, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "health_alert")
            .collect();
        assert_eq!(alerts.len(), 1, "{backend:?}");
        assert_eq!(alerts[0].recipients, ["ict@woonhaven.example"]);
        // Still down the next day: one more.
        jobs::health::run_once(&ctx, at("2026-11-25T09:00:00Z"))
            .await
            .unwrap();
        assert_eq!(count(&store, "health_alert").await, 2, "{backend:?}");
        // Reconnected: all well again.
        store
            .set_health("intake.error", "", at("2026-11-25T09:01:00Z"))
            .await
            .unwrap();
        assert_eq!(
            jobs::health::run_once(&ctx, at("2026-11-25T09:05:00Z"))
                .await
                .unwrap(),
            "all well"
        );
    }
}
