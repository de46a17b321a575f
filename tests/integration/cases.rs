//! Cases in the store, on SQLite and PostgreSQL: references never reused, a mail's effects
//! committed together, plans and counsellor history kept.

use chrono::{NaiveDate, TimeZone, Utc};
use doorstroom::case::{DocumentKind, MilestoneKind, Role, Status};
use doorstroom::store::{CaseCache, CaseFilter, NewMail, Store};
use doorstroom::understand::{Attachment, Contact, Decision, MailKind};

use crate::db::{self, BOTH};
use crate::setup::{decision, example_config as config};

fn attachment(kind: DocumentKind) -> Attachment {
    Attachment {
        filename: format!("{}.pdf", kind.as_str()),
        content_type: "application/pdf".into(),
        kind,
        size: 5,
        note: None,
        unusable: false,
        // Not worked out: the store hashes the bytes itself.
        sha256: String::new(),
        bytes: std::sync::Arc::new(b"%PDF-".to_vec()),
    }
}

async fn mail(store: &Store, key: &str) -> i64 {
    let new = NewMail {
        source: "file".into(),
        source_key: key.into(),
        message_id: Some(format!("<{key}@caw-antwerpen.example>")),
        received_at: Utc::now(),
    };
    store
        .record_mail(&new, key.as_bytes())
        .await
        .expect("record mail")
        .0
        .id
}

async fn apply(store: &Store, d: &Decision, key: &str) -> doorstroom::case::Effects {
    let id = mail(store, key).await;
    let at = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let mut tx = store.begin().await.unwrap();
    let fx = tx
        .apply_decision(&config(), d, id, at, at, &mut CaseCache::default())
        .await
        .unwrap_or_else(|e| panic!("apply {key}: {e}"));
    tx.commit().await.unwrap();
    fx
}

#[tokio::test]
async fn references_are_never_reused_and_imported_numbers_advance_the_counter() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-refs").await;
        let format = config().organisation.case_reference;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.next_case_reference(&format, 2026).await.unwrap(),
            "VD-2026-0001"
        );
        assert_eq!(
            tx.next_case_reference(&format, 2026).await.unwrap(),
            "VD-2026-0002"
        );
        tx.advance_case_counter(2026, 40).await.unwrap();
        tx.advance_case_counter(2026, 7).await.unwrap();
        assert_eq!(
            tx.next_case_reference(&format, 2026).await.unwrap(),
            "VD-2026-0041"
        );
        assert_eq!(
            tx.next_case_reference(&format, 2027).await.unwrap(),
            "VD-2027-0001"
        );
        tx.commit().await.unwrap();
        // A rolled-back reservation is not a number handed out: the next one may take it.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.next_case_reference(&format, 2026).await.unwrap(),
            "VD-2026-0042"
        );
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.next_case_reference(&format, 2026).await.unwrap(),
            "VD-2026-0042",
            "{backend:?}"
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_referrals_get_distinct_references() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-refs-concurrent").await;
        let format = config().organisation.case_reference;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let format = format.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let r = tx.next_case_reference(&format, 2026).await.unwrap();
                tx.commit().await.unwrap();
                r
            }));
        }
        let mut refs = Vec::new();
        for t in tasks {
            refs.push(t.await.unwrap());
        }
        refs.sort();
        refs.dedup();
        assert_eq!(refs.len(), 8, "{backend:?}: {refs:?}");
    }
}

#[tokio::test]
async fn a_referral_without_the_addendum_is_incomplete_until_a_reply_brings_it() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-referral").await;
        let mut d = decision(MailKind::ReferralIncomplete, None);
        d.facts.attachments = vec![attachment(DocumentKind::SocialReport)];
        let fx = apply(&store, &d, "referral").await;
        let reference = fx.case_ref.clone().unwrap();
        assert_eq!(reference, "VD-2026-0001");
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::ReferredIncomplete, "{backend:?}");
        assert_eq!(case.documents.len(), 1);
        assert!(case.documents[0].sha256.is_some(), "the bytes are stored");
        let ack = fx
            .notices
            .iter()
            .find(|n| n.template == "referral_ack")
            .unwrap();
        assert_eq!(ack.data["missing"][0], "ondertekend addendum");
        assert!(ack.to_sender);

        let mut reply = decision(MailKind::ReplyToCase, Some(&reference));
        reply.facts.attachments = vec![attachment(DocumentKind::Addendum)];
        let fx = apply(&store, &reply, "reply").await;
        assert_eq!(fx.notices[0].template, "reply_ack");
        assert_eq!(fx.notices[0].data["complete"], true);
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::ReferredComplete, "{backend:?}");
        let events = store.case_events(case.id.unwrap()).await.unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["created", "document", "document", "status"],
            "{backend:?}"
        );
        assert!(matches!(
            events[3].cause,
            doorstroom::case::Cause::Mail { .. }
        ));
    }
}

#[tokio::test]
async fn the_third_referral_in_a_month_with_quota_2_is_flagged_to_the_coordinator() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-quota").await;
        let mut flagged = Vec::new();
        for i in 0..3 {
            let fx = apply(
                &store,
                &decision(MailKind::Referral, None),
                &format!("r{i}"),
            )
            .await;
            flagged.push(fx.quota.unwrap().over);
            if i == 2 {
                assert!(fx.notices.iter().any(|n| n.template == "quota_exceeded"));
            }
        }
        assert_eq!(flagged, [false, false, true], "{backend:?}");
        assert_eq!(store.cases(&CaseFilter::default()).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn a_lease_start_computes_the_plan_and_a_later_change_keeps_what_happened() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-lease").await;
        let fx = apply(&store, &decision(MailKind::Referral, None), "r").await;
        let reference = fx.case_ref.unwrap();
        let mut lease = decision(MailKind::LeaseStart, Some(&reference));
        lease.lease_start = NaiveDate::from_ymd_opt(2026, 10, 31);
        lease.facts.from_staff = true;
        let fx = apply(&store, &lease, "lease").await;
        assert_eq!(fx.notices[0].template, "lease_start_notice");
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::InGuidance, "{backend:?}");
        assert_eq!(case.milestones.len(), 5);
        assert_eq!(
            case.milestones[0].due_on,
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );

        // The 1-month evaluation happened; then the lease start is corrected.
        let mut tx = store.begin().await.unwrap();
        let mut case = tx.case(&reference).await.unwrap().unwrap();
        let done = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        doorstroom::case::plan::mark_done(&mut case, MilestoneKind::Evaluation, done).unwrap();
        tx.save_case(&mut case, false, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        lease.lease_start = NaiveDate::from_ymd_opt(2026, 11, 15);
        apply(&store, &lease, "lease2").await;
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.milestones.len(), 5, "{backend:?}: no duplicates");
        let first = &case.milestones[0];
        assert_eq!(
            (first.done_on, first.due_on.to_string().as_str()),
            (Some(done), "2026-11-30")
        );
        let visit = case
            .milestones
            .iter()
            .find(|m| m.kind == MilestoneKind::HomeVisit)
            .unwrap();
        assert_eq!(visit.due_on, NaiveDate::from_ymd_opt(2027, 2, 15).unwrap());
    }
}

#[tokio::test]
async fn a_new_counsellor_is_recorded_with_history_and_the_social_assistant_told() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-counsellor").await;
        let fx = apply(&store, &decision(MailKind::Referral, None), "r").await;
        let reference = fx.case_ref.unwrap();
        let mut change = decision(MailKind::ContactChange, Some(&reference));
        change.new_contact = Some(Contact {
            name: Some("Tom Claes".into()),
            email: Some("tom@caw-antwerpen.example".into()),
            phone: Some("0470 12 34 56".into()),
        });
        let fx = apply(&store, &change, "contact").await;
        let n = &fx.notices[0];
        assert_eq!(
            (n.template.as_str(), n.to.as_slice()),
            ("contact_change_notice", &[Role::SocialAssistant][..])
        );
        assert_eq!(n.data["old"]["email"], "lies@caw-antwerpen.example");
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.counsellor.name.as_deref(), Some("Tom Claes"));
        let history = store.counsellor_history(case.id.unwrap()).await.unwrap();
        assert_eq!(history.len(), 2, "{backend:?}");
        assert!(history[0].valid_to.is_some() && history[1].valid_to.is_none());
    }
}

#[tokio::test]
async fn a_concern_for_another_partners_case_changes_nothing() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-wrong-partner").await;
        let fx = apply(&store, &decision(MailKind::Referral, None), "r").await;
        let reference = fx.case_ref.unwrap();
        let mut concern = decision(MailKind::Concern, Some(&reference));
        concern.partner = Some("ocmw-antwerpen".into());
        let id = mail(&store, "concern").await;
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .apply_decision(
                &config(),
                &concern,
                id,
                Utc::now(),
                Utc::now(),
                &mut CaseCache::default(),
            )
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        tx.rollback().await.unwrap();
        let case = store.case(&reference).await.unwrap().unwrap();
        assert!(case.concerns.is_empty(), "{backend:?}");
    }
}

#[tokio::test]
async fn an_import_with_a_reference_that_exists_leaves_nothing_half_imported() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-import").await;
        let config = config();
        let csv = "case_ref,partner,candidate,cir,social_assistant,lease_start,counsellor_name,counsellor_email,counsellor_phone
VD-2026-0040,caw-antwerpen,Jan,,,2026-03-01,Lies,lies@caw-antwerpen.example,
,ocmw-antwerpen,An,,,,,,
";
        let rows = doorstroom::case::import::parse(csv, &config).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let import = |rows: Vec<doorstroom::case::import::ImportRow>| {
            let store = store.clone();
            let config = config.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let mut refs = Vec::new();
                for row in &rows {
                    let (mut case, events) =
                        doorstroom::case::import::to_case(row, &config, "in.csv", now).unwrap();
                    match tx
                        .import_case(&config.organisation.case_reference, &mut case, &events, now)
                        .await
                    {
                        Ok(_) => refs.push(case.case_ref),
                        Err(e) => {
                            tx.rollback().await.unwrap();
                            return Err(e);
                        }
                    }
                }
                tx.commit().await.unwrap();
                Ok(refs)
            }
        };
        let refs = import(rows.clone()).await.unwrap();
        // The row without a reference comes after the imported 0040: never a reused number.
        assert_eq!(refs, ["VD-2026-0040", "VD-2026-0041"], "{backend:?}");
        let case = store.case("VD-2026-0040").await.unwrap().unwrap();
        assert_eq!(case.status, Status::InGuidance);
        assert_eq!(case.milestones.len(), 5);

        // Importing the same file again fails on the first row; the second row is not added.
        assert!(import(rows).await.is_err());
        assert_eq!(
            store.cases(&CaseFilter::default()).await.unwrap().len(),
            2,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_missed_home_visit_escalates_each_step_once_and_stops_when_recorded() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "case-escalation").await;
        let config = config();
        let fx = apply(&store, &decision(MailKind::Referral, None), "r").await;
        let reference = fx.case_ref.unwrap();
        let mut lease = decision(MailKind::LeaseStart, Some(&reference));
        lease.lease_start = NaiveDate::from_ymd_opt(2026, 7, 1);
        lease.facts.from_staff = true;
        apply(&store, &lease, "lease").await;
        // Home visit due 1 October; 8 days later the counsellor is reminded (the 1-month
        // evaluation of 1 August is far overdue too, all its steps at once).
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        let work = store.due_work(&config, day(9)).await.unwrap();
        let visit: Vec<_> = work
            .escalations
            .iter()
            .filter(|e| e.kind == MilestoneKind::HomeVisit)
            .collect();
        assert_eq!(visit.len(), 1, "{backend:?}");
        assert_eq!(visit[0].role, Role::Counsellor);
        let mut tx = store.begin().await.unwrap();
        for e in &work.escalations {
            tx.mark_escalated(e.milestone_id.unwrap(), e.step)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert!(store
            .due_work(&config, day(10))
            .await
            .unwrap()
            .escalations
            .is_empty());
        let second = store.due_work(&config, day(15)).await.unwrap();
        assert_eq!(second.escalations.len(), 1);
        assert_eq!(second.escalations[0].role, Role::SocialAssistant);
        // Recorded as done: the ladder stops.
        let mut tx = store.begin().await.unwrap();
        let mut case = tx.case(&reference).await.unwrap().unwrap();
        doorstroom::case::plan::mark_done(&mut case, MilestoneKind::HomeVisit, day(14)).unwrap();
        tx.save_case(&mut case, false, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store
            .due_work(&config, day(30))
            .await
            .unwrap()
            .escalations
            .iter()
            .all(|e| e.kind != MilestoneKind::HomeVisit));
    }
}

/// The cases migration (0006) on a database that ran only the foundation and has a case in it:
/// the existing rows read back with the new columns' defaults.
#[tokio::test]
async fn the_cases_migration_keeps_cases_stored_before_it() {
    for backend in BOTH {
        let dir = tempfile::tempdir().unwrap();
        let (url, kind) = match backend {
            db::Db::Sqlite => (db::url(backend, &dir), "sqlite"),
            db::Db::Postgres => {
                // A database of its own: the shared one has every migration applied already.
                let base = db::postgres_url();
                let name = format!("cases_mig_{}", std::process::id());
                sqlx::any::install_default_drivers();
                let admin = sqlx::AnyPool::connect(base).await.unwrap();
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&admin)
                    .await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let (prefix, _) = base.rsplit_once('/').unwrap();
                (format!("{prefix}/{name}"), "postgres")
            }
        };
        let only_foundation = tempfile::tempdir().unwrap();
        std::fs::copy(
            format!("migrations/{kind}/0001_foundation.sql"),
            only_foundation.path().join("0001_foundation.sql"),
        )
        .unwrap();
        sqlx::any::install_default_drivers();
        let connect_url = if kind == "sqlite" {
            format!("{url}?mode=rwc")
        } else {
            url.clone()
        };
        let pool = sqlx::AnyPool::connect(&connect_url).await.unwrap();
        sqlx::migrate::Migrator::new(only_foundation.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        let now = "2026-01-05T09:00:00.000000Z";
        sqlx::query(
            "INSERT INTO cases (org, case_ref, partner, programme, status, candidate, lease_start, referred_at, created_at, updated_at)
             VALUES ('old', 'VD-2026-0001', 'caw-antwerpen', 'vivendo', 'in_guidance', 'Jan', '2026-01-31', $1, $1, $1)",
        )
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO milestones (org, case_id, kind, name, due_on, meeting_month)
             SELECT 'old', id, 'home_visit', 'huisbezoek', '2026-04-30', NULL FROM cases WHERE case_ref = 'VD-2026-0001'",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO documents (org, case_id, kind, filename, size, received_at)
             SELECT 'old', id, 'addendum', 'addendum.pdf', 3, $1 FROM cases WHERE case_ref = 'VD-2026-0001'",
        )
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&url, "old", 2).await.unwrap();
        let case = store.case("VD-2026-0001").await.unwrap().unwrap();
        assert_eq!(case.status, Status::InGuidance, "{backend:?}");
        assert_eq!(case.extension_months, 0);
        assert_eq!(case.milestones[0].kind, MilestoneKind::HomeVisit);
        assert!(!case.milestones[0].discuss_at_meeting);
        assert!(case.documents[0].usable, "an old document counts");
        store.close().await;
        if kind == "postgres" {
            let admin = sqlx::AnyPool::connect(db::postgres_url()).await.unwrap();
            let name = url.rsplit('/').next().unwrap_or_default();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}
