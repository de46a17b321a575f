//! Retention and subject access on SQLite and PostgreSQL: `purge --dry-run` changes nothing,
//! a purge (or the daily job) anonymises an ended case keeping its figures, and `export-case`
//! gives the case, its documents and every mail in and out.

use chrono::{DateTime, NaiveDate, Utc};
use doorstroom::case::model::{Cause, Transition};
use doorstroom::case::{DocumentKind, Status};
use doorstroom::commands::{export_case, purge};
use doorstroom::context::Context;
use doorstroom::jobs::{self, Job};
use doorstroom::outbox::queue::queue_notices;
use doorstroom::outbox::Answering;
use doorstroom::store::mails::MailOutcome;
use doorstroom::store::{CaseCache, MailState, NewMail, Store};
use doorstroom::understand::{Attachment, Decision, MailKind};

use crate::db::{self, BOTH};
use crate::outbox::config;
use crate::setup::{self, at};

/// A referral of Jan Peeters under CIR-77 (the number the retention tests look for).
fn decision(kind: MailKind, case_ref: Option<&str>) -> Decision {
    let mut d = setup::decision(kind, case_ref);
    d.cir = Some("CIR-77".into());
    d.facts.subject = "aanmelding Jan Peeters".into();
    d
}

/// One mail through what the pipeline does: stored, applied, its notices queued, its outcome
/// (with the case) recorded, in one transaction. Returns the case reference.
async fn ingest(ctx: &Context, d: &Decision, key: &str, when: DateTime<Utc>) -> String {
    let store = &ctx.store;
    let raw = format!("Message-ID: <{key}@caw-antwerpen.example>\r\nSubject: {key}\r\n\r\nJan Peeters, CIR-77\r\n");
    let new = NewMail {
        source: "file".into(),
        source_key: key.into(),
        message_id: Some(format!("<{key}@caw-antwerpen.example>")),
        received_at: when,
    };
    let mail = store.record_mail(&new, raw.as_bytes()).await.unwrap().0;
    let id = mail.id;
    let loaded = ctx.loaded();
    let mut tx = store.begin().await.unwrap();
    let fx = tx
        .apply_decision(&loaded.config, d, id, when, when, &mut CaseCache::default())
        .await
        .unwrap_or_else(|e| panic!("apply {key}: {e}"));
    let changed: Vec<_> = fx.changes.iter().map(|c| &c.case).collect();
    queue_notices(
        &mut tx,
        &loaded.config,
        &loaded.outbox,
        &fx.notices,
        &changed,
        Answering::of(d).as_ref(),
        when,
    )
    .await
    .unwrap();
    let case_ref = fx.case_ref.clone().unwrap();
    tx.finish_mail(
        &mail,
        &MailOutcome {
            state: MailState::Processed,
            kind: d.kind.as_str(),
            partner: d.partner.as_deref(),
            case_ref: Some(&case_ref),
            body_hash: None,
            decision: &serde_json::to_value(d).unwrap(),
            reason: None,
            at: when,
        },
    );
    tx.commit().await.unwrap();
    case_ref
}

/// A referral with its addendum (bytes stored), guidance from 1 February 2024, closed
/// positively on 15 March 2024.
async fn ended_case(ctx: &Context, prefix: &str) -> String {
    let mut referral = decision(MailKind::Referral, None);
    referral.documents.push(DocumentKind::Addendum);
    let bytes = format!("%PDF- addendum {prefix}").into_bytes();
    referral.facts.attachments.push(Attachment {
        filename: "addendum Jan Peeters.pdf".into(),
        content_type: "application/pdf".into(),
        kind: DocumentKind::Addendum,
        size: 22,
        note: None,
        unusable: false,
        sha256: doorstroom::store::sha256_hex(&bytes),
        bytes: std::sync::Arc::new(bytes),
    });
    let reference = ingest(
        ctx,
        &referral,
        &format!("{prefix}-r"),
        at("2024-01-10T09:00:00Z"),
    )
    .await;
    let mut lease = decision(MailKind::LeaseStart, Some(&reference));
    lease.lease_start = NaiveDate::from_ymd_opt(2024, 2, 1);
    lease.facts.from_staff = true;
    lease.facts.sender = Some("sofie.maes@woonhaven.example".into());
    ingest(
        ctx,
        &lease,
        &format!("{prefix}-lease"),
        at("2024-02-01T09:00:00Z"),
    )
    .await;
    let closed = at("2024-03-15T10:00:00Z");
    let mut tx = ctx.store.begin().await.unwrap();
    let mut case = tx.case(&reference).await.unwrap().unwrap();
    let cause = Cause::Admin {
        command: format!("case {reference} close positive"),
    };
    let event = case
        .transition(Transition::ClosePositive, closed, &cause)
        .unwrap();
    let id = tx.save_case(&mut case, false, closed).await.unwrap();
    tx.add_events(id, &[event]).await.unwrap();
    tx.commit().await.unwrap();
    reference
}

async fn document_bytes(store: &Store, reference: &str) -> Option<Vec<u8>> {
    let case = store.case(reference).await.unwrap().unwrap();
    let sha = case.documents[0].sha256.clone().unwrap();
    store.blob(&sha).await.unwrap()
}

#[tokio::test]
async fn purge_dry_run_changes_nothing_and_purge_anonymises_keeping_the_figures() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "purge").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let reference = ended_case(&ctx, "p").await;
        let before = store.case(&reference).await.unwrap().unwrap();
        assert!(document_bytes(&store, &reference).await.is_some());

        // 14 March 2026: not yet 24 months.
        let early = purge::purge(&store, &config(), at("2026-03-14T10:00:00Z"), true, true)
            .await
            .unwrap();
        assert!(early.anonymise.is_empty(), "{backend:?}");
        let now = at("2026-03-20T10:00:00Z");
        let plan = purge::purge(&store, &config(), now, true, true)
            .await
            .unwrap();
        assert_eq!(plan.anonymise.len(), 1, "{backend:?}");
        assert_eq!(plan.anonymise[0].case_ref, reference);
        // The dry run changed nothing.
        assert_eq!(store.case(&reference).await.unwrap().unwrap(), before);
        assert!(document_bytes(&store, &reference).await.is_some());

        // The sender delivered the mails of 2024 long ago.
        for row in store.outbox_queued(100).await.unwrap() {
            assert!(store.claim_outbox(row.id, now).await.unwrap());
            assert!(store.mark_outbox_sent(row.id, now).await.unwrap());
        }
        purge::purge(&store, &config(), now, false, true)
            .await
            .unwrap();
        let after = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(after.status, Status::Anonymised, "{backend:?}");
        assert!(after.candidate.is_empty() && after.cir.is_none());
        assert!(after.counsellor.name.is_none() && after.counsellor.email.is_none());
        // Figures kept: partner, dates, closing, milestones.
        assert_eq!(after.partner, before.partner);
        assert_eq!(after.lease_start, before.lease_start);
        assert_eq!(after.closed_at, before.closed_at);
        assert_eq!(after.milestones.len(), before.milestones.len());
        assert_eq!(after.documents[0].filename, "addendum");
        assert!(
            document_bytes(&store, &reference).await.is_none(),
            "{backend:?}"
        );
        for (id, ..) in store.mails_of_case(&reference).await.unwrap() {
            let mail = store.mail(id).await.unwrap();
            assert!(mail.decision.is_none());
            assert!(
                store.blob(&mail.sha256).await.unwrap().is_none(),
                "{backend:?}"
            );
        }
        let sent = store.outbox_of_case(&reference).await.unwrap();
        assert!(!sent.is_empty());
        for (id, ..) in sent {
            assert!(
                store.outbox_message(id).await.unwrap().is_empty(),
                "{backend:?}: the body of a mail about the case is kept"
            );
        }
        let events = store.case_events(after.id.unwrap()).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.detail["to"], "anonymised");
        assert_eq!(last.cause.columns(), ("admin", "purge".to_string()));
        assert!(events
            .iter()
            .filter(|e| e.kind != "status")
            .all(|e| e.detail == serde_json::json!({})));
        // Nothing left to do.
        let again = purge::purge(&store, &config(), now, true, true)
            .await
            .unwrap();
        assert!(again.anonymise.is_empty());
    }
}

#[tokio::test]
async fn the_daily_retention_job_anonymises_an_ended_case_once_with_a_job_cause() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "retention-job").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let reference = ended_case(&ctx, "j").await;
        // 03:30 Brussels on 20 March 2026: the 02:00 slot is due.
        let ran = jobs::run_due(&ctx, at("2026-03-20T02:30:00Z")).await;
        let (_, summary) = ran.iter().find(|(j, _)| *j == Job::Retention).unwrap();
        assert!(
            summary.contains("anonymised 1 case"),
            "{backend:?}: {summary}"
        );
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::Anonymised);
        let events = store.case_events(case.id.unwrap()).await.unwrap();
        assert_eq!(
            events.last().unwrap().cause.columns(),
            ("job", "retention:2026-03-20".to_string())
        );
        let again = jobs::run_due(&ctx, at("2026-03-20T05:00:00Z")).await;
        assert!(!again.iter().any(|(j, _)| *j == Job::Retention));
    }
}

#[tokio::test]
async fn export_case_writes_the_case_its_documents_and_every_mail_in_and_out() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "export").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let reference = ended_case(&ctx, "x").await;
        let out = tempfile::tempdir().unwrap();
        let e = export_case::export_case(&store, &reference, out.path())
            .await
            .unwrap();
        assert_eq!(e.dir, out.path().join(&reference));
        assert_eq!(e.documents, 1, "{backend:?}");
        assert_eq!(e.missing, 0);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.dir.join("case.json")).unwrap()).unwrap();
        assert_eq!(json["case"]["case_ref"], reference.as_str());
        assert_eq!(json["case"]["candidate"], "Jan Peeters");
        assert!(json["events"].as_array().unwrap().len() >= 3);
        assert!(json["counsellors"].is_array());
        let mails = json["mails"].as_array().unwrap();
        let incoming = mails.iter().filter(|m| m["direction"] == "in").count();
        let outgoing = mails.iter().filter(|m| m["direction"] == "out").count();
        assert_eq!(incoming, 2, "{backend:?}: {mails:?}");
        assert!(outgoing >= 1, "{backend:?}: the referral's acknowledgement");
        assert_eq!(e.mails, incoming + outgoing);
        let doc = json["documents"][0]["file"].as_str().unwrap();
        assert_eq!(
            std::fs::read(e.dir.join(doc)).unwrap(),
            b"%PDF- addendum x".to_vec()
        );
        let first_in = mails[0]["file"].as_str().unwrap();
        let raw = std::fs::read_to_string(e.dir.join(first_in)).unwrap();
        assert!(raw.contains("Jan Peeters"));
        let out_file = mails.iter().find(|m| m["direction"] == "out").unwrap()["file"]
            .as_str()
            .unwrap();
        assert!(std::fs::read_to_string(e.dir.join(out_file))
            .unwrap()
            .contains(&reference));
        // An export never overwrites an earlier one; an unknown case is an error.
        assert!(export_case::export_case(&store, &reference, out.path())
            .await
            .is_err());
        assert!(export_case::export_case(&store, "VD-1999-0001", out.path())
            .await
            .is_err());
    }
}
