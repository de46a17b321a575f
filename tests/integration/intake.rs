//! Intake end to end: mail submitted over SMTP, delivered by Postfix into Dovecot, seen by the
//! daemon through IDLE, decided, committed and moved out of the inbox.

use std::sync::Arc;
use std::time::Duration;

use doorstroom::store::MailState;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::{self, Db};
use crate::mailstack::{MailStack, SHARED_MAILBOX};
use crate::setup;

fn referral(n: u32) -> Vec<u8> {
    format!(
        "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Aanmelding versnelde doorstroom {n}\r\nMessage-ID: <intake-{n}@caw-antwerpen.example>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\nBeste, hierbij een aanmelding.\r\n"
    )
    .into_bytes()
}

/// The daemon on its own task; cancelled and awaited by `stop`.
struct Daemon {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    fn start(config: doorstroom::config::Config) -> Daemon {
        let shutdown = CancellationToken::new();
        let loaded = doorstroom::context::Loaded::new(config).expect("templates");
        let (_tx, rx) = watch::channel(Arc::new(loaded));
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            let _keep = _tx;
            doorstroom::daemon::run(rx, token).await
        });
        Daemon { shutdown, task }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("daemon task")
            .expect("daemon ends cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_submitted_over_smtp_is_decided_and_moved_out_of_the_inbox() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let daemon = Daemon::start(config.clone());
    stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1),
        )
        .await;
    let moved = stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "Verwerkt",
            |m| String::from_utf8_lossy(&m.bytes).contains("intake-1@"),
            Duration::from_secs(20),
        )
        .await;
    assert!(!moved.bytes.is_empty());
    // The daemon's jobs run on the real clock and may send (an agenda in its month's window):
    // the shared mailbox then also holds their proof copies (Bcc); look at the test's mail only.
    assert!(
        !stack
            .read_all(SHARED_MAILBOX, "INBOX")
            .await
            .iter()
            // Its own Message-ID: our acknowledgement's copy names it in In-Reply-To.
            .any(|m| String::from_utf8_lossy(&m.bytes).contains("Message-ID: <intake-1@")),
        "the mail is out of the inbox once handled"
    );
    daemon.stop().await;

    let store =
        doorstroom::store::Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
            .await
            .unwrap();
    let mails: Vec<_> = store
        .list_mails(false, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| {
            !m.message_id
                .as_deref()
                .unwrap_or_default()
                .contains(".doorstroom@")
        })
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].state, MailState::Processed);
    assert!(mails[0].moved);
    assert_eq!(
        mails[0].message_id.as_deref(),
        Some("<intake-1@caw-antwerpen.example>")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_imap_server_is_routine_and_the_daemon_catches_up_by_itself() {
    let mut stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let daemon = Daemon::start(config.clone());
    let store =
        doorstroom::store::Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
            .await
            .unwrap();
    stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1),
        )
        .await;
    wait_handled(&store, 1).await;

    // Dovecot goes away and comes back: the daemon reconnects with backoff, no admin needed.
    stack.stop_imap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_imap();
    let mut imap = stack.session(SHARED_MAILBOX).await;
    imap.append("INBOX", &[], &referral(2)).await.unwrap();
    wait_handled(&store, 2).await;
    daemon.stop().await;
}

/// A mail read late (a first-start backfill, an outage) counts from when the mailbox received
/// it, not from when the daemon got to it: the case is referred on the day the mail arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_read_late_counts_from_when_the_mailbox_received_it() {
    use chrono::TimeZone;
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let arrived = chrono::Utc.with_ymd_and_hms(2026, 9, 14, 8, 30, 0).unwrap();
    let mut imap = stack.session(SHARED_MAILBOX).await;
    imap.append_received("INBOX", &[], Some(arrived), &referral(3))
        .await
        .unwrap();
    let daemon = Daemon::start(config.clone());
    let store =
        doorstroom::store::Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
            .await
            .unwrap();
    wait_handled(&store, 3).await;
    daemon.stop().await;
    let mail = store
        .list_mails(false, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message_id.as_deref() == Some("<intake-3@caw-antwerpen.example>"))
        .expect("the mail");
    assert_eq!(mail.received_at, arrived);
    let case_ref = mail.case_ref.expect("a referral opens a case");
    let case = store.case(&case_ref).await.unwrap().expect("the case");
    assert_eq!(case.referred_at, arrived);
}

/// Wait until mail `intake-N` is decided and moved out of the inbox.
async fn wait_handled(store: &doorstroom::store::Store, n: u32) {
    let id = format!("<intake-{n}@caw-antwerpen.example>");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mails = store.list_mails(false, 100).await.unwrap();
        if mails.iter().any(|m| {
            m.message_id.as_deref() == Some(&id) && m.state != MailState::Stored && m.moved
        }) {
            return;
        }
        let seen: Vec<_> = mails
            .iter()
            .map(|m| (m.message_id.clone(), m.state, m.moved))
            .collect();
        assert!(
            std::time::Instant::now() < deadline,
            "mail {n} was not handled: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The mailbox is restored or recreated (mails come back under new UIDs, as after a UIDVALIDITY
/// reset): they are recognised by their bytes and only moved, never processed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_that_come_back_under_new_uids_are_not_processed_again() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let daemon = Daemon::start(config.clone());
    let store =
        doorstroom::store::Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
            .await
            .unwrap();
    for n in 10..13 {
        stack
            .submit(
                "els.wouters@caw-antwerpen.example",
                &[SHARED_MAILBOX],
                &referral(n),
            )
            .await;
    }
    for n in 10..13 {
        wait_handled(&store, n).await;
    }
    let cases = store.cases(&Default::default()).await.unwrap().len();
    let outbox = store.list_outbox(false, 1000).await.unwrap().len();

    // Put the partners' mails back into the inbox, as a restore would: new UIDs, same bytes.
    let mut imap = stack.session(SHARED_MAILBOX).await;
    let processed = stack.read_all(SHARED_MAILBOX, "Verwerkt").await;
    let ours: Vec<_> = processed
        .iter()
        .filter(|m| String::from_utf8_lossy(&m.bytes).contains("Message-ID: <intake-1"))
        .collect();
    assert_eq!(ours.len(), 3);
    for mail in &ours {
        imap.append("INBOX", &[], &mail.bytes).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !stack.read_all(SHARED_MAILBOX, "INBOX").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the restored mails were not moved"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    daemon.stop().await;
    assert_eq!(
        store.cases(&Default::default()).await.unwrap().len(),
        cases,
        "no new case"
    );
    assert_eq!(
        store.list_outbox(false, 1000).await.unwrap().len(),
        outbox,
        "no new mail to anyone"
    );
    let rows = store.list_mails(false, 1000).await.unwrap();
    let partner_rows = rows
        .iter()
        .filter(|m| {
            m.message_id
                .as_deref()
                .is_some_and(|id| id.starts_with("<intake-1"))
        })
        .count();
    assert_eq!(partner_rows, 3, "one row per mail, not one per appearance");
}
