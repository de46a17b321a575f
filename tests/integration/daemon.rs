//! The daemon binary as an admin runs it: SIGHUP reloads (and refuses a broken config), SIGTERM
//! stops it cleanly, and two instances on one PostgreSQL database share the work without
//! doubling it when one dies.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doorstroom::config::Config;
use doorstroom::store::{MailState, Store};

use crate::db::{self, Db};
use crate::mailstack::{MailStack, SHARED_MAILBOX};
use crate::setup;

pub fn spawn(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(["run", "--config"])
        .arg(config)
        .env("DOORSTROOM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the daemon binary")
}

pub fn signal(child: &Child, sig: i32) {
    unsafe { libc::kill(child.id() as i32, sig) };
}

pub async fn wait_for(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn referral(n: u32, from: &str) -> Vec<u8> {
    format!(
        "From: Woonbegeleider <{from}>\r\nTo: {SHARED_MAILBOX}\r\nSubject: Aanmelding versnelde doorstroom - Anna Vermeulen{n}\r\n\
         Message-ID: <daemon-{n}@test.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n\
         Hierbij meld ik Anna Vermeulen aan voor versnelde doorstroom.\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_broken_config_keeps_the_old_one_and_a_fixed_one_takes_effect() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir);
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&text, &path).unwrap();
    let log = dir.path().join("daemon.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let child = spawn(&path, &log);
    wait_for("ready", Duration::from_secs(20), async || {
        read_log().contains("ready")
    })
    .await;

    // A typo: the daemon says so and keeps running on the old config.
    std::fs::write(&path, text.replace("monthly_quota = 2", "quotum = 2")).unwrap();
    signal(&child, libc::SIGHUP);
    wait_for("the refusal", Duration::from_secs(10), async || {
        read_log().contains("keeping the old one")
    })
    .await;
    assert!(
        read_log().contains("unknown key `quotum`"),
        "{}",
        read_log()
    );

    // A mail from a new partner's domain: unknown for the old config, quarantined.
    stack
        .submit(
            "lies@nieuwe-partner.example",
            &[SHARED_MAILBOX],
            &referral(1, "lies@nieuwe-partner.example"),
        )
        .await;
    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    let decided = async |id: &str| {
        store
            .list_mails(false, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.message_id.as_deref() == Some(id) && m.state != MailState::Stored)
    };
    wait_for("the first mail", Duration::from_secs(20), async || {
        decided("<daemon-1@test.example>").await.is_some()
    })
    .await;
    let first = decided("<daemon-1@test.example>").await.unwrap();
    assert_eq!(first.kind.as_deref(), Some("unknown_sender"));

    // The admin adds the partner and reloads: the next mail from that domain is a referral.
    let with_partner = text.replacen(
        "[[partner]]",
        "[[partner]]\nid = \"nieuwe-partner\"\nname = \"Nieuwe Partner vzw\"\ndomains = [\"nieuwe-partner.example\"]\n\n[[partner]]",
        1,
    );
    std::fs::write(&path, &with_partner).unwrap();
    signal(&child, libc::SIGHUP);
    wait_for("the reload", Duration::from_secs(10), async || {
        read_log().contains("configuration and templates reloaded")
    })
    .await;
    stack
        .submit(
            "lies@nieuwe-partner.example",
            &[SHARED_MAILBOX],
            &referral(2, "lies@nieuwe-partner.example"),
        )
        .await;
    wait_for("the second mail", Duration::from_secs(20), async || {
        store.list_mails(false, 10).await.unwrap().iter().any(|m| {
            m.message_id.as_deref() == Some("<daemon-2@test.example>")
                && m.state != MailState::Stored
        })
    })
    .await;
    let mails = store.list_mails(false, 10).await.unwrap();
    let second = mails
        .iter()
        .find(|m| m.message_id.as_deref() == Some("<daemon-2@test.example>"))
        .unwrap();
    assert_eq!(
        second.kind.as_deref(),
        Some("referral_incomplete"),
        "no documents attached: {}",
        read_log()
    );
    assert_eq!(second.partner.as_deref(), Some("nieuwe-partner"));

    signal(&child, libc::SIGTERM);
    let mut child = child;
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the daemon with exit 0: {status:?}\n{}",
        read_log()
    );
    assert!(read_log().contains("stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_share_a_mailbox_and_one_takes_over_when_the_other_dies() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = setup::imap_config_text(&stack, Db::Postgres, &dir);
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&text, &path).unwrap();
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let mut a = spawn(&path, &log_a);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_for(
        "a to take the mailbox",
        Duration::from_secs(20),
        async || read(&log_a).contains("lease taken resource=mailbox"),
    )
    .await;
    let mut b = spawn(&path, &log_b);
    wait_for("b to stand by", Duration::from_secs(20), async || {
        read(&log_b).contains("standing by")
    })
    .await;

    let mut imap = stack.session(SHARED_MAILBOX).await;
    for n in 0..100 {
        imap.append(
            "INBOX",
            &[],
            &referral(n, "els.wouters@caw-antwerpen.example"),
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill().unwrap();
    a.wait().unwrap();
    for n in 100..150 {
        imap.append(
            "INBOX",
            &[],
            &referral(n, "els.wouters@caw-antwerpen.example"),
        )
        .await
        .unwrap();
    }
    wait_for("the inbox to empty", Duration::from_secs(120), async || {
        stack.read_all(SHARED_MAILBOX, "INBOX").await.is_empty()
    })
    .await;
    assert!(
        read(&log_b).contains("lease taken resource=mailbox"),
        "b took over:\n{}",
        read(&log_b)
    );
    signal(&b, libc::SIGTERM);
    b.wait().unwrap();

    let store = Store::open(&db::url(Db::Postgres, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    let rows = setup::mails_with_prefix(&store, "<daemon-").await;
    assert_eq!(rows.len(), 150, "every mail once");
    assert!(rows.iter().all(|m| m.state != MailState::Stored && m.moved));
    let acks = store.list_outbox(false, 10_000).await.unwrap();
    let notices = acks.iter().filter(|o| o.kind == "referral_notice").count();
    let cases = store.cases(&Default::default()).await.unwrap().len();
    assert_eq!(
        notices, cases,
        "one coordinator notice per case, none doubled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_the_middle_of_a_backfill_stops_cleanly_and_loses_nothing() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir);
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&text, &path).unwrap();
    let log = dir.path().join("daemon.log");
    const TOTAL: u32 = 1000;
    let mut imap = stack.session(SHARED_MAILBOX).await;
    for n in 0..TOTAL {
        imap.append(
            "INBOX",
            &[],
            &referral(n, "els.wouters@caw-antwerpen.example"),
        )
        .await
        .unwrap();
    }
    let mut child = spawn(&path, &log);
    // Stopped as soon as the first batch has left the inbox, well before the end.
    let began = Instant::now();
    let mut before = TOTAL;
    while before == TOTAL && began.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        before = imap.select("INBOX").await.unwrap().exists;
    }
    signal(&child, libc::SIGTERM);
    let stopped = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success(), "orderly stop: {status:?}");
    assert!(
        stopped.elapsed() < doorstroom::daemon::GRACE,
        "stopped within the grace period"
    );
    assert!(
        before > 0 && before < TOTAL,
        "the test stopped the daemon while it was still working ({before} left)"
    );

    let mut child = spawn(&path, &log);
    wait_for(
        "the rest of the inbox",
        Duration::from_secs(120),
        async || stack.read_all(SHARED_MAILBOX, "INBOX").await.is_empty(),
    )
    .await;
    signal(&child, libc::SIGTERM);
    assert!(child.wait().unwrap().success());

    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    let rows = setup::mails_with_prefix(&store, "<daemon-").await;
    assert_eq!(rows.len(), TOTAL as usize, "every mail once");
    assert!(
        rows.iter().all(|m| m.state != MailState::Stored && m.moved),
        "every mail decided and moved"
    );
}
