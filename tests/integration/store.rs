//! The store on SQLite and PostgreSQL: the same tests on both.

use chrono::Utc;
use doorstroom::store::{mails::MailOutcome, CaseCache, MailState, NewMail, RegisterScope};

use crate::db::{self, Db, BOTH};

fn new_mail(key: &str) -> NewMail {
    NewMail {
        source: "maildir:test".into(),
        source_key: key.into(),
        message_id: Some("<abc@caw.example>".into()),
        received_at: Utc::now(),
    }
}

/// A mail processed as `kind` for caw's case VD-2026-0001, body hash "h1", decided now.
fn processed_for_case<'a>(kind: &'a str, decision: &'a serde_json::Value) -> MailOutcome<'a> {
    MailOutcome {
        state: MailState::Processed,
        kind,
        partner: Some("caw"),
        case_ref: Some("VD-2026-0001"),
        body_hash: Some("h1"),
        decision,
        reason: None,
        at: Utc::now(),
    }
}

#[tokio::test]
async fn a_mail_seen_twice_is_stored_once_and_keeps_its_decision() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "mail-twice").await;
        let raw = b"From: a@caw.example\r\nSubject: x\r\n\r\nhallo\r\n";
        let (first, inserted) = store.record_mail(&new_mail("1"), raw).await.unwrap();
        assert!(inserted, "{backend:?}");
        assert_eq!(first.state, MailState::Stored);
        let (again, inserted) = store.record_mail(&new_mail("1"), raw).await.unwrap();
        assert!(
            !inserted,
            "{backend:?}: the same source key is not a new mail"
        );
        assert_eq!(again.id, first.id);

        let decision = serde_json::json!({"kind": "concern"});
        let outcome = processed_for_case("concern", &decision);
        let mut tx = store.begin().await.unwrap();
        tx.finish_mail(&first, &outcome);
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.finish_mail(&first, &outcome);
        assert!(tx.write_held().await.is_err(), "{backend:?}: decided twice");
        tx.rollback().await.unwrap();

        let awaiting = store.mails_awaiting_move("maildir:test").await.unwrap();
        assert_eq!(awaiting.len(), 1, "{backend:?}");
        store.mark_moved(first.id).await.unwrap();
        assert!(store
            .mails_awaiting_move("maildir:test")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.blob(&first.sha256).await.unwrap().as_deref(),
            Some(&raw[..])
        );
        // The same mail again through another relay: other bytes, the same Message-ID.
        let relayed = [&b"Received: from relay2.example\r\n"[..], &raw[..]].concat();
        let (second, inserted) = store.record_mail(&new_mail("2"), &relayed).await.unwrap();
        assert!(inserted, "{backend:?}");
        let earlier = store
            .earlier_mails("<abc@caw.example>", second.id)
            .await
            .unwrap();
        assert_eq!(
            earlier,
            vec![("h1".to_string(), "<abc@caw.example>".to_string())]
        );
    }
}

#[tokio::test]
async fn organisations_sharing_a_database_do_not_see_each_others_mail() {
    for backend in BOTH {
        let dir = tempfile::tempdir().unwrap();
        let url = db::url(backend, &dir);
        let a = doorstroom::store::Store::open(&url, &db::unique_org("a"), 2)
            .await
            .unwrap();
        let b = doorstroom::store::Store::open(&url, &db::unique_org("b"), 2)
            .await
            .unwrap();
        a.record_mail(&new_mail("1"), b"x").await.unwrap();
        assert_eq!(
            a.list_mails(false, 10).await.unwrap().len(),
            1,
            "{backend:?}"
        );
        assert!(
            b.list_mails(false, 10).await.unwrap().is_empty(),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_lease_is_held_by_one_instance_until_it_expires_or_is_released() {
    use chrono::Duration;
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "lease").await;
        let t0 = Utc::now();
        let ttl = Duration::seconds(30);
        assert!(
            store
                .acquire_lease("mailbox", "a", t0, t0 + ttl)
                .await
                .unwrap(),
            "{backend:?}"
        );
        assert!(
            !store
                .acquire_lease("mailbox", "b", t0, t0 + ttl)
                .await
                .unwrap(),
            "{backend:?}: taken"
        );
        assert!(
            store
                .acquire_lease("mailbox", "a", t0, t0 + ttl)
                .await
                .unwrap(),
            "{backend:?}: renewed"
        );
        let later = t0 + Duration::seconds(31);
        assert!(
            store
                .acquire_lease("mailbox", "b", later, later + ttl)
                .await
                .unwrap(),
            "{backend:?}: expired → taken over"
        );
        assert!(
            !store
                .acquire_lease("mailbox", "a", later, later + ttl)
                .await
                .unwrap(),
            "{backend:?}: a lost it"
        );
        store.release_lease("mailbox", "b").await.unwrap();
        assert!(
            store
                .acquire_lease("mailbox", "a", later, later + ttl)
                .await
                .unwrap(),
            "{backend:?}: released → free"
        );
        assert!(
            store
                .acquire_lease("jobs", "b", later, later + ttl)
                .await
                .unwrap(),
            "{backend:?}: another resource"
        );
    }
}

#[tokio::test]
async fn a_job_slot_runs_once_even_when_claimed_twice() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "jobs").await;
        let now = Utc::now();
        let first = store.claim_job_run("agenda", "2026-12", now).await.unwrap();
        assert!(first.is_some(), "{backend:?}");
        assert_eq!(
            store.claim_job_run("agenda", "2026-12", now).await.unwrap(),
            None,
            "{backend:?}"
        );
        let stale = now + chrono::Duration::minutes(16);
        let retried = store
            .claim_job_run("agenda", "2026-12", stale)
            .await
            .unwrap();
        assert!(
            retried.is_some(),
            "{backend:?}: a runner that died is replaced"
        );
        store
            .finish_job_run(retried.unwrap(), "error: database busy", now)
            .await
            .unwrap();
        let again = store.claim_job_run("agenda", "2026-12", now).await.unwrap();
        assert!(again.is_some(), "{backend:?}: a failed run is retried");
        store
            .finish_job_run(again.unwrap(), "ok: 3 mails", now)
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_job_run("agenda", "2026-12", stale)
                .await
                .unwrap(),
            None,
            "{backend:?}: done is done"
        );
        let runs = store.job_runs(10).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].result.as_deref(), Some("ok: 3 mails"));
    }
}

#[tokio::test]
async fn the_same_bytes_under_a_new_uid_are_the_same_mail() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "uidvalidity").await;
        let raw = b"Message-ID: <x@y>\r\n\r\nbody";
        let mut mail = new_mail("100/1");
        let (first, inserted) = store.record_mail(&mail, raw).await.unwrap();
        assert!(inserted);
        mail.source_key = "200/1".into();
        let (again, inserted) = store.record_mail(&mail, raw).await.unwrap();
        assert!(
            !inserted,
            "{backend:?}: a recreated mailbox does not make mail new"
        );
        assert_eq!(again.id, first.id);
    }
}

/// A transaction writes its mails' decisions together at the end; until then its own register
/// reads see them exactly as they read them once written: as the thread of a reply and as an
/// earlier copy of a mail.
#[tokio::test]
async fn decisions_waiting_to_be_written_are_read_as_if_written() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "finished-later").await;
        // More mails than one statement writes.
        let mut mails = Vec::new();
        for n in 0..130 {
            let raw = format!("Message-ID: <abc@caw.example>\r\n\r\ncopy {n}\r\n");
            let (mail, _) = store
                .record_mail(&new_mail(&n.to_string()), raw.as_bytes())
                .await
                .unwrap();
            mails.push(mail);
        }
        let (first, rest) = mails.split_first().unwrap();
        let decision = serde_json::json!({"kind": "referral"});
        let outcome = processed_for_case("referral", &decision);
        let last = rest.last().unwrap();
        let scope = RegisterScope {
            message_ids: vec!["abc@caw.example".into()],
            copies_of: Some(("<abc@caw.example>".into(), last.id)),
            ..RegisterScope::default()
        };
        // What the register gives: the threads, the earlier copies, and the cases the threads
        // lead to.
        let seen = |register: &doorstroom::understand::Register| {
            let cases: Vec<String> = register.cases.iter().map(|c| c.case_ref.clone()).collect();
            (register.threads.clone(), register.earlier.clone(), cases)
        };

        let mut tx = store.begin().await.unwrap();
        let mut case = doorstroom::case::model::Case::new(
            "VD-2026-0001".into(),
            "caw",
            "vivendo",
            "Jan Peeters",
            Utc::now(),
        );
        tx.save_case(&mut case, true, Utc::now()).await.unwrap();
        let before = seen(
            &tx.register_scoped(&scope, &mut CaseCache::default())
                .await
                .unwrap(),
        );
        assert!(
            before.0.is_empty() && before.1.is_empty() && before.2.is_empty(),
            "{backend:?}"
        );
        tx.finish_mail(first, &outcome);
        let waiting = seen(
            &tx.register_scoped(&scope, &mut CaseCache::default())
                .await
                .unwrap(),
        );
        for mail in &rest[..rest.len() - 1] {
            tx.finish_mail(
                mail,
                &MailOutcome {
                    body_hash: None,
                    ..outcome.clone()
                },
            );
        }
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let written = seen(
            &tx.register_scoped(&scope, &mut CaseCache::default())
                .await
                .unwrap(),
        );
        tx.rollback().await.unwrap();
        assert_eq!(waiting, written, "{backend:?}");
        assert_eq!(
            written.0.get("abc@caw.example").map(String::as_str),
            Some("VD-2026-0001"),
            "{backend:?}"
        );
        assert_eq!(
            written.1,
            vec![("h1".to_string(), "<abc@caw.example>".to_string())],
            "{backend:?}"
        );
        assert_eq!(written.2, ["VD-2026-0001"], "{backend:?}");
        // Every mail but the last was written, by the commit alone.
        let awaiting = store.mails_awaiting_move("maildir:test").await.unwrap();
        assert_eq!(awaiting.len(), mails.len() - 1, "{backend:?}");
        assert!(awaiting.iter().all(|m| m.state == MailState::Processed));
    }
}

/// A bulk transaction (intake's) writes its cases' events with the batch; a step undone to its
/// savepoint takes its events along, and the commit writes the rest, in order.
#[tokio::test]
async fn events_held_back_by_a_bulk_transaction_are_written_by_its_commit() {
    use doorstroom::case::model::{Case, CaseEvent, Cause};
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "events-held").await;
        let event = |kind: &str, mail: i64| CaseEvent {
            at: Utc::now(),
            kind: kind.into(),
            detail: serde_json::json!({"mail": mail}),
            cause: Cause::Mail { id: mail },
        };
        let mut tx = store.begin_bulk().await.unwrap();
        let mut case = Case::new(
            "VD-2026-0001".into(),
            "caw",
            "vivendo",
            "Jan Peeters",
            Utc::now(),
        );
        let id = tx.save_case(&mut case, true, Utc::now()).await.unwrap();
        for (mail, keep) in [(1, true), (2, false), (3, true)] {
            tx.begin_step().await.unwrap();
            tx.add_events(id, &[event("concern", mail), event("document", mail)])
                .await
                .unwrap();
            if !keep {
                tx.rollback_to_savepoint().await.unwrap();
            }
        }
        tx.commit().await.unwrap();
        let written: Vec<(String, Cause)> = store
            .case_events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.cause))
            .collect();
        let expected: Vec<(String, Cause)> = [1, 3]
            .into_iter()
            .flat_map(|mail| {
                ["concern", "document"].map(|k| (k.to_string(), Cause::Mail { id: mail }))
            })
            .collect();
        assert_eq!(written, expected, "{backend:?}");
    }
}

#[tokio::test]
async fn raw_mail_is_dropped_after_the_retention_period_but_its_decision_stays() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "purge").await;
        let old = Utc::now() - chrono::Duration::days(400);
        let (mail, _) = store
            .record_mail(&new_mail("old"), b"old mail")
            .await
            .unwrap();
        let (fresh, _) = store
            .record_mail(&new_mail("new"), b"new mail")
            .await
            .unwrap();
        let decision = serde_json::json!({"kind": "bulk"});
        for (mail, at) in [(&mail, old), (&fresh, Utc::now())] {
            let mut tx = store.begin().await.unwrap();
            let outcome = MailOutcome {
                state: MailState::Processed,
                kind: "bulk",
                partner: None,
                case_ref: None,
                body_hash: None,
                decision: &decision,
                reason: None,
                at,
            };
            tx.finish_mail(mail, &outcome);
            tx.commit().await.unwrap();
        }
        let purged = store
            .purge_raw_mail(Utc::now() - chrono::Duration::days(365))
            .await
            .unwrap();
        assert_eq!(purged, 1, "{backend:?}");
        assert_eq!(store.blob(&mail.sha256).await.unwrap(), None, "{backend:?}");
        assert!(
            store.blob(&fresh.sha256).await.unwrap().is_some(),
            "{backend:?}"
        );
        assert_eq!(
            store.mail(mail.id).await.unwrap().kind.as_deref(),
            Some("bulk")
        );
    }
}

async fn count_parts(conn: &mut sqlx::AnyConnection, sha: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM blob_parts WHERE sha256 = $1")
        .bind(sha)
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Issue 20: a large mail is stored in parts (no statement binds more than one), read back
/// whole, and purged with all its parts.
#[tokio::test]
async fn a_large_mail_is_stored_in_parts_read_back_whole_and_purged_with_its_parts() {
    use sqlx::Connection;
    for backend in BOTH {
        let dir = tempfile::tempdir().unwrap();
        let url = db::url(backend, &dir);
        let store = doorstroom::store::Store::open(&url, &db::unique_org("parts"), 2)
            .await
            .unwrap();
        let part = doorstroom::store::blobs::PART;
        let big: Vec<u8> = (0..part * 2 + 12_345).map(|i| (i % 251) as u8).collect();
        let (mail, _) = store.record_mail(&new_mail("big"), &big).await.unwrap();
        // The same bytes again (another delivery): still one blob, its parts once.
        let (again, _) = store
            .record_mail(&new_mail("big-again"), &big)
            .await
            .unwrap();
        assert_eq!(
            store.blob(&mail.sha256).await.unwrap().as_deref(),
            Some(&big[..])
        );
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        assert_eq!(count_parts(&mut conn, &mail.sha256).await, 2, "{backend:?}");

        let decision = serde_json::json!({"kind": "bulk"});
        assert_eq!(again.id, mail.id, "the same bytes are the same mail");
        {
            let record = store.mail(mail.id).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            tx.finish_mail(
                &record,
                &MailOutcome {
                    state: MailState::Processed,
                    kind: "bulk",
                    partner: None,
                    case_ref: None,
                    body_hash: None,
                    decision: &decision,
                    reason: None,
                    at: Utc::now() - chrono::Duration::days(400),
                },
            );
            tx.commit().await.unwrap();
        }
        let purged = store
            .purge_raw_mail(Utc::now() - chrono::Duration::days(365))
            .await
            .unwrap();
        assert_eq!(purged, 1, "{backend:?}");
        assert_eq!(store.blob(&mail.sha256).await.unwrap(), None, "{backend:?}");
        assert_eq!(
            count_parts(&mut conn, &mail.sha256).await,
            0,
            "{backend:?}: the parts are purged too"
        );
    }
}

/// Regression: the daemon and an admin's command opening a new SQLite database at the same
/// moment collided in the migrations and the daemon did not start.
#[tokio::test]
async fn several_processes_opening_a_new_database_at_once_all_succeed() {
    for backend in BOTH {
        let dir = tempfile::tempdir().unwrap();
        let url = db::url(backend, &dir);
        let opens = (0..4).map(|i| {
            let url = url.clone();
            async move {
                doorstroom::store::Store::open(&url, &db::unique_org(&format!("race{i}")), 2).await
            }
        });
        for result in futures::future::join_all(opens).await {
            assert!(result.is_ok(), "{backend:?}: {:?}", result.err());
        }
    }
}

/// A new SQLite database gets 16 kB pages (mail is stored whole); one created by an earlier
/// version keeps its 4 kB pages and opens as before.
#[tokio::test]
async fn a_new_sqlite_database_has_large_pages_and_an_old_one_keeps_its_own() {
    use sqlx::Row;
    async fn page_size(url: &str) -> i64 {
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        let row = sqlx::query("PRAGMA page_size")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.try_get(0).unwrap()
    }
    let dir = tempfile::tempdir().unwrap();
    let new = format!("sqlite://{}", dir.path().join("new.db").display());
    doorstroom::store::Store::open(&new, "woonhaven", 2)
        .await
        .unwrap();
    assert_eq!(page_size(&new).await, 16384);

    let old = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    {
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&old)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE earlier (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(page_size(&old).await, 4096);
    let store = doorstroom::store::Store::open(&old, "woonhaven", 2)
        .await
        .unwrap();
    store.record_mail(&new_mail("1"), b"mail").await.unwrap();
    assert_eq!(page_size(&old).await, 4096);
}

/// The daemon's checkpointer copies what intake committed from the write-ahead log into the
/// database file when asked, without intake's connection doing it (the log is far below the
/// 4,000 pages at which a writer would checkpoint by itself).
#[tokio::test]
async fn the_checkpointer_moves_committed_mail_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstroom.db");
    let store = doorstroom::store::Store::open(&format!("sqlite://{}", path.display()), "w", 2)
        .await
        .unwrap();
    let file_size = || std::fs::metadata(&path).unwrap().len();
    let before = file_size();
    // Two megabytes that do not compress into fewer pages.
    let mut state = 7u64;
    let raw: Vec<u8> = (0..2_000_000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as u8
        })
        .collect();
    store.record_mail(&new_mail("big"), &raw).await.unwrap();
    assert!(
        file_size() < before + 1_000_000,
        "committed mail waits in the log"
    );

    let stop = tokio_util::sync::CancellationToken::new();
    let checkpointer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move { store.run_checkpointer(stop).await })
    };
    store.checkpoint_soon();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while file_size() < before + 2_000_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.cancel();
    checkpointer.await.unwrap();
    assert!(
        file_size() >= before + 2_000_000,
        "the database file holds the mail: {} bytes",
        file_size()
    );
}

/// On PostgreSQL, mail and documents are stored out of line without TOAST's compression, which
/// base64 and PDF do not repay (it cost five times the write itself).
#[tokio::test]
async fn postgres_stores_mail_and_documents_uncompressed() {
    use sqlx::Row;
    let (store, _dir) = db::open(Db::Postgres, "blob-storage").await;
    store.record_mail(&new_mail("1"), b"mail").await.unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(db::postgres_url())
        .await
        .unwrap();
    let row = sqlx::query(
        "SELECT CAST(attstorage AS TEXT) FROM pg_attribute
         WHERE attrelid = CAST('blobs' AS regclass) AND attname = 'bytes'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    // `e`: external, uncompressed (PostgreSQL's default for bytea is `x`, compressed).
    assert_eq!(row.try_get::<String, _>(0).unwrap(), "e");
}
