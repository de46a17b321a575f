//! The store on SQLite and PostgreSQL: the same tests on both.

use chrono::Utc;
use doorstroom::store::{mails::MailOutcome, MailState, NewMail};

use crate::db::{self, BOTH};

fn new_mail(key: &str) -> NewMail {
    NewMail {
        source: "maildir:test".into(),
        source_key: key.into(),
        message_id: Some("<abc@caw.example>".into()),
        received_at: Utc::now(),
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
        let outcome = MailOutcome {
            state: MailState::Processed,
            kind: "concern",
            partner: Some("caw"),
            case_ref: Some("VD-2026-0001"),
            body_hash: Some("h1"),
            decision: &decision,
            reason: None,
            at: Utc::now(),
        };
        let mut tx = store.begin().await.unwrap();
        tx.finish_mail(first.id, &outcome).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.finish_mail(first.id, &outcome).await.is_err(),
            "{backend:?}: decided twice"
        );
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
        let (second, _) = store.record_mail(&new_mail("2"), raw).await.unwrap();
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
