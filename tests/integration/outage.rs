//! Outages over the real servers: Postfix down for hours (the sender's clock is the test's),
//! Dovecot down and back while the daemon runs, the PostgreSQL server restarted under a running
//! daemon, and the SQLite file locked by another process. Each time everything catches up, every
//! mail is received exactly once (Message-IDs counted in the recipients' Dovecot mailboxes), and
//! urgent alerts leave first once the way is open again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstroom::case::Role;
use doorstroom::config::Config;
use doorstroom::outbox::send::Sender;
use doorstroom::outbox::Outbox;
use doorstroom::store::outbox::OutboxState;
use doorstroom::store::{MailState, Store};

use crate::db::{self, Db};
use crate::mailstack::{MailStack, COORDINATOR, SHARED_MAILBOX};
use crate::outbox::{message_ids, notice_to, stack_config};
use crate::setup;

const LOTTE: &str = "lotte.wouters@caw-antwerpen.example";

/// How often each of `ids` is in `user`'s INBOX, waiting up to a minute for all to arrive.
async fn received(stack: &MailStack, user: &str, ids: &[String]) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = message_ids(stack, user).await;
        let counts: Vec<usize> = ids
            .iter()
            .map(|id| got.iter().filter(|g| *g == id).count())
            .collect();
        if counts.iter().all(|&c| c > 0) || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Postfix is down for six hours of the sender's clock while routine mail piles up and, in the
/// fifth hour, an urgent alert is queued; a routine mail for someone else is queued just before
/// the server is back. Before, the alert had backed off like routine mail (to 26–38 minutes),
/// so the first pass after the outage sent the fresh routine mail and the alert waited up to 38
/// minutes more. Now an urgent row backs off five minutes at most and is due whenever any
/// routine row is: the first pass that reaches the server sends the alert, and every mail
/// arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_smtp_was_down_for_six_hours_the_urgent_alert_leaves_first_and_all_arrive_once() {
    let mut stack = MailStack::start();
    let config = Arc::new(stack_config(&stack));
    let outbox = Arc::new(Outbox::load(&config).unwrap());
    let (store, _dir) = db::open(Db::Sqlite, "outage-smtp").await;
    let sender = Sender::from_config(store.clone(), config.clone(), outbox.clone(), None);
    stack.stop_smtp();

    let t0 = Utc::now();
    let mut routine = Vec::new();
    let mut queue_routine = async |at: chrono::DateTime<Utc>, n: usize| {
        let roles: &[Role] = if n.is_multiple_of(2) {
            &[Role::Coordinator]
        } else {
            &[Role::Counsellor]
        };
        let mail = notice_to(
            &outbox,
            &config,
            "concern_notice",
            roles,
            &format!("mail:outage-{n}"),
            false,
            at,
        );
        store.queue(&mail, at).await.unwrap();
        routine.push(mail.message_id.clone());
    };
    for n in 0..30 {
        queue_routine(t0, n).await;
    }
    let mut alert = None;
    for tick in 0..=36 {
        let now = t0 + chrono::Duration::minutes(10 * tick);
        if tick == 30 {
            let mail = notice_to(
                &outbox,
                &config,
                "urgent_alert",
                &[Role::Coordinator],
                "mail:outage-urgent",
                true,
                now,
            );
            store.queue(&mail, now).await.unwrap();
            alert = Some(mail.message_id.clone());
        }
        if tick == 33 {
            for n in 30..40 {
                queue_routine(now, n).await;
            }
        }
        let pass = sender.run_once(now).await.unwrap();
        assert_eq!(
            (pass.sent, pass.failed),
            (0, 0),
            "Postfix is down: {pass:?}"
        );
    }
    let alert = alert.unwrap();
    assert_eq!(store.outbox_queued(1000).await.unwrap().len(), 41);
    let waiting = store.outbox_by_message_id(&alert).await.unwrap().unwrap();
    let last_pass = t0 + chrono::Duration::minutes(360);
    assert!(
        waiting.next_attempt_at <= last_pass + chrono::Duration::minutes(5),
        "an urgent alert is tried at least every five minutes through an outage, not backed off \
         like routine mail: next at {} after the pass at {last_pass}",
        waiting.next_attempt_at
    );
    // Mail for someone else, queued just before the server is back: due at the next pass,
    // while the alert may still be backing off.
    let fresh_at = last_pass + chrono::Duration::minutes(5);
    let fresh = notice_to(
        &outbox,
        &config,
        "concern_notice",
        &[Role::SocialAssistant],
        "mail:outage-fresh",
        false,
        fresh_at,
    );
    store.queue(&fresh, fresh_at).await.unwrap();

    stack.start_smtp();
    let mut first = None;
    for tick in 1..=12 {
        let now = t0 + chrono::Duration::minutes(360 + 10 * tick);
        let pass = sender.run_once(now).await.unwrap();
        assert_eq!(pass.failed, 0, "{pass:?}");
        if pass.sent > 0 && first.is_none() {
            let row = store.outbox_by_message_id(&alert).await.unwrap().unwrap();
            first = Some((tick, pass.sent, row.state));
        }
        if store.outbox_queued(1000).await.unwrap().is_empty() {
            break;
        }
    }
    let (tick, sent, state) = first.expect("the server took mail again");
    assert_eq!(
        state,
        OutboxState::Sent,
        "the first pass after the outage ({tick}, {sent} sent) sends the urgent alert"
    );
    assert!(
        store.outbox_queued(1000).await.unwrap().is_empty(),
        "everything caught up within two hours of the sender's clock"
    );

    let coordinator: Vec<String> = routine
        .iter()
        .step_by(2)
        .cloned()
        .chain([alert.clone()])
        .collect();
    let counsellor: Vec<String> = routine.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(
        received(&stack, COORDINATOR, &coordinator).await,
        vec![1; coordinator.len()],
        "each of the coordinator's mails exactly once"
    );
    assert_eq!(
        received(&stack, LOTTE, &counsellor).await,
        vec![1; counsellor.len()],
        "each of the counsellor's mails exactly once"
    );
    assert_eq!(
        received(
            &stack,
            crate::mailstack::SOCIAL_ASSISTANTS[0],
            std::slice::from_ref(&fresh.message_id)
        )
        .await,
        vec![1]
    );
}

// ---------------------------------------------------------------------------------------------
// The daemon binary through an outage of its mailbox server or its database
// ---------------------------------------------------------------------------------------------

const PARTNER_DOMAINS: [&str; 2] = ["caw-antwerpen.example", "ocmw-antwerpen.example"];

/// A referral from a counsellor of one of two partners, or (every fifth from the tenth) an
/// urgent concern about a candidate that partner referred (a threat with a knife: `003` §5,
/// *immediately*).
fn partner_mail(tag: &str, n: usize) -> Vec<u8> {
    let domain = PARTNER_DOMAINS[n % 2];
    let (subject, body) = if n >= 10 && n % 5 == 4 {
        // About a candidate the same partner referred among the first ten mails, decided before
        // the outage: Postfix delivers queued mail in any order (also without an outage: it
        // delivers in parallel), and a concern read before its referral has no case to go to
        // (it goes to the coordinator, urgently, for a person to place).
        let name = setup::candidate_name(n % 10 - 2);
        (
            format!("Dringend: {name}"),
            format!("Beste,\r\n\r\n{name} heeft vandaag de buren bedreigd met een mes. De veiligheid is in gevaar.\r\n"),
        )
    } else {
        let name = setup::candidate_name(n);
        (
            format!("Aanmelding versnelde doorstroom - {name}"),
            format!("Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom (CIR 2026-{n:06}).\r\n"),
        )
    };
    format!(
        "From: Woonbegeleider {n} <begeleider{n}@{domain}>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: {subject}\r\nMessage-ID: <{tag}-{n}@{domain}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn submit(stack: &MailStack, tag: &str, range: std::ops::Range<usize>) {
    for n in range {
        let raw = partner_mail(tag, n);
        let from = format!("begeleider{n}@{}", PARTNER_DOMAINS[n % 2]);
        stack.submit(&from, &[SHARED_MAILBOX], &raw).await;
    }
}

/// A config for the daemon on `stack` and `database_url`, written to `dir`.
fn daemon_config(
    stack: &MailStack,
    dir: &tempfile::TempDir,
    database_url: Option<&str>,
) -> (Config, std::path::PathBuf) {
    // No hourly limit per recipient: the coordinator is told of every referral at once.
    let mut text = setup::imap_config_text(stack, Db::Sqlite, dir).replacen(
        "retry_for = \"1h\"\n",
        "retry_for = \"1h\"\nrate_per_recipient_per_hour = 0\n",
        1,
    );
    assert!(text.contains("rate_per_recipient_per_hour = 0"));
    if let Some(url) = database_url {
        let sqlite = db::url(Db::Sqlite, dir);
        text = text.replace(&format!("url = \"{sqlite}\""), &format!("url = \"{url}\""));
        assert!(text.contains(url), "the database url is replaced");
    }
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    (Config::parse(&text, &path).unwrap(), path)
}

/// Wait until all `count` mails of `tag` are decided and moved and the outbox is empty, then
/// check: each mail once, and every sent mail in each recipient's mailbox exactly once.
async fn caught_up(stack: &MailStack, store: &Store, tag: &str, count: usize, log: &Path) {
    let prefix = format!("<{tag}-");
    let read_log = || std::fs::read_to_string(log).unwrap_or_default();
    crate::daemon::wait_for(
        "every mail decided and moved",
        Duration::from_secs(180),
        async || {
            let rows = setup::mails_with_prefix(store, &prefix).await;
            rows.len() == count && rows.iter().all(|m| m.state != MailState::Stored && m.moved)
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let unsent: Vec<_> = store
            .list_outbox(false, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.state != OutboxState::Sent)
            .map(|o| (o.kind, o.state, o.recipients, o.last_error))
            .collect();
        if unsent.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not sent: {unsent:?}\n{}",
            read_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = setup::mails_with_prefix(store, &prefix).await;
    assert_eq!(rows.len(), count, "every mail once");
    let quarantined: Vec<_> = rows
        .iter()
        .filter(|m| m.state == MailState::Quarantined)
        .map(|m| (m.message_id.clone(), m.reason.clone()))
        .collect();
    assert!(
        quarantined.is_empty(),
        "an outage quarantines nothing: {quarantined:?}\n{}",
        read_log()
    );
    let cases = store.cases(&Default::default()).await.unwrap();
    let mut names: Vec<&str> = cases.iter().map(|c| c.candidate.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "no case created twice");
    let referrals = count - (count - 10) / 5;
    assert_eq!(cases.len(), referrals, "a case per referral");

    let sent = store.list_outbox(false, 10_000).await.unwrap();
    assert!(
        sent.iter().any(|o| o.urgent),
        "the urgent concerns were told"
    );
    let mut recipients: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for row in &sent {
        for r in &row.recipients {
            recipients.entry(r).or_default().push(&row.message_id);
        }
    }
    for (user, ids) in recipients {
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        assert_eq!(
            received(stack, user, &ids).await,
            vec![1; ids.len()],
            "{user} received each of its {} mails exactly once",
            ids.len()
        );
    }
}

fn stop_daemon(mut child: Child, log: &Path) {
    crate::daemon::signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the daemon ran through the outage and stopped cleanly: {status:?}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn ready(log: &Path) {
    crate::daemon::wait_for("ready", Duration::from_secs(30), async || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("ready")
    })
    .await;
}

/// Dovecot stops while the daemon watches the shared mailbox; partner mail sent meanwhile waits
/// in Postfix's queue. When Dovecot is back (and Postfix flushed), the daemon reconnects on its
/// own, decides every mail once, and every answer arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_down_and_back_every_mail_is_decided_once_and_every_answer_arrives_once() {
    let mut stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = daemon_config(&stack, &dir, None);
    let log = dir.path().join("daemon.log");
    let child = crate::daemon::spawn(&path, &log);
    ready(&log).await;
    submit(&stack, "imap-outage", 0..10).await;
    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    crate::daemon::wait_for("the first mails", Duration::from_secs(60), async || {
        let rows = setup::mails_with_prefix(&store, "<imap-outage-").await;
        rows.len() == 10 && rows.iter().all(|m| m.state != MailState::Stored)
    })
    .await;

    stack.stop_imap();
    submit(&stack, "imap-outage", 10..30).await;
    // The daemon meets the closed port (its connection broke, reconnects are refused).
    tokio::time::sleep(Duration::from_secs(3)).await;
    stack.start_imap();
    stack.flush_queue();

    caught_up(&stack, &store, "imap-outage", 30, &log).await;
    stop_daemon(child, &log);
}

/// The SQLite file is locked by another process (an admin's `sqlite3` in a long write
/// transaction) for longer than the busy timeout while mail arrives: the daemon waits and
/// retries, quarantines nothing, and catches up once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_nothing_is_quarantined_and_all_catches_up() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = daemon_config(&stack, &dir, None);
    let log = dir.path().join("daemon.log");
    let child = crate::daemon::spawn(&path, &log);
    ready(&log).await;
    submit(&stack, "sqlite-lock", 0..10).await;
    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    crate::daemon::wait_for("the first mails", Duration::from_secs(60), async || {
        let rows = setup::mails_with_prefix(&store, "<sqlite-lock-").await;
        rows.len() == 10 && rows.iter().all(|m| m.state != MailState::Stored)
    })
    .await;

    let file = dir.path().join("doorstroom.db");
    let mut locker = Command::new("sqlite3")
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3 (apt-get install sqlite3)");
    {
        use std::io::{BufRead, Write};
        let stdin = locker.stdin.as_mut().unwrap();
        writeln!(stdin, "PRAGMA busy_timeout = 30000;").unwrap();
        writeln!(stdin, "BEGIN EXCLUSIVE;").unwrap();
        writeln!(stdin, "UPDATE mails SET attempts = attempts WHERE 0;").unwrap();
        writeln!(stdin, "SELECT 'locked';").unwrap();
        stdin.flush().unwrap();
        let mut out = std::io::BufReader::new(locker.stdout.as_mut().unwrap());
        let mut line = String::new();
        while line.trim() != "locked" {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "the other process holds the write lock"
            );
        }
    }
    submit(&stack, "sqlite-lock", 10..30).await;
    // Longer than the store's busy timeout (10 s): the daemon's writes fail and are retried.
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert!(
        setup::mails_with_prefix(&store, "<sqlite-lock-")
            .await
            .len()
            == 10,
        "nothing was written while the lock was held"
    );
    {
        use std::io::Write;
        let stdin = locker.stdin.as_mut().unwrap();
        writeln!(stdin, "ROLLBACK;").unwrap();
        writeln!(stdin, ".quit").unwrap();
    }
    assert!(locker.wait().unwrap().success());

    caught_up(&stack, &store, "sqlite-lock", 30, &log).await;
    stop_daemon(child, &log);
}

/// The PostgreSQL server stops (immediately, as in a crash) under the running daemon while mail
/// arrives, and starts again 5 s later: the daemon keeps running, decides every mail once, and
/// every answer arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_mid_run_every_mail_is_decided_once_and_every_answer_arrives_once() {
    let cluster = db::OwnCluster::start();
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let (config, path) = daemon_config(&stack, &dir, Some(&url));
    let log = dir.path().join("daemon.log");
    let child = crate::daemon::spawn(&path, &log);
    ready(&log).await;
    submit(&stack, "pg-restart", 0..10).await;
    let store = Store::open(&url, &config.organisation.id, 1).await.unwrap();
    crate::daemon::wait_for("the first mails", Duration::from_secs(60), async || {
        let rows = setup::mails_with_prefix(&store, "<pg-restart-").await;
        rows.len() == 10 && rows.iter().all(|m| m.state != MailState::Stored)
    })
    .await;

    cluster.stop();
    submit(&stack, "pg-restart", 10..30).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.start_again();

    caught_up(&stack, &store, "pg-restart", 30, &log).await;
    stop_daemon(child, &log);
}

// ---------------------------------------------------------------------------------------------
// The store away at the moment a delivery's outcome is written
// ---------------------------------------------------------------------------------------------

/// Another process holding the SQLite file's write lock (`sqlite3` in `BEGIN EXCLUSIVE`) until
/// it is dropped.
struct Locker(Child);

impl Locker {
    fn take(file: &Path) -> Locker {
        use std::io::{BufRead, Write};
        let mut child = Command::new("sqlite3")
            .arg(file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sqlite3 (apt-get install sqlite3)");
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, ".timeout 30000").unwrap();
        writeln!(stdin, "BEGIN EXCLUSIVE;").unwrap();
        writeln!(stdin, "UPDATE outbox SET attempts = attempts WHERE 0;").unwrap();
        writeln!(stdin, "SELECT 'locked';").unwrap();
        stdin.flush().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while line.trim() != "locked" {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "sqlite3 took the lock"
            );
        }
        Locker(child)
    }

    fn release(mut self) {
        use std::io::Write;
        let stdin = self.0.stdin.as_mut().unwrap();
        writeln!(stdin, "ROLLBACK;").unwrap();
        writeln!(stdin, ".quit").unwrap();
        stdin.flush().unwrap();
        self.0.wait().unwrap();
    }
}

/// Delivers with the file transport, and then another process locks the database for
/// `hold` (longer than the store's 10 s busy timeout), released from another thread.
struct LockedAfterDelivery {
    files: doorstroom::outbox::send::FileTransport,
    db: std::path::PathBuf,
    hold: Duration,
}

impl doorstroom::outbox::send::Transport for LockedAfterDelivery {
    async fn deliver(
        &self,
        envelope: &lettre::address::Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), doorstroom::outbox::send::SendError> {
        self.files.deliver(envelope, message_id, bytes).await?;
        let locker = Locker::take(&self.db);
        let hold = self.hold;
        std::thread::spawn(move || {
            std::thread::sleep(hold);
            locker.release();
        });
        Ok(())
    }
}

/// Found by the PostgreSQL and SQLite outages above: the server took a mail, and writing `sent`
/// failed because the database was away at that moment; the pass stopped and the row stayed
/// `sending` until the ambiguous-row resolution found it five minutes later (for an urgent alert
/// too). Now the sender, which alone knows the outcome, writes it as soon as the store takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_outcome_the_locked_store_refused_is_marked_sent_when_the_lock_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::outbox::config();
    config.smtp = doorstroom::config::Smtp::File {
        path: dir.path().join("sent"),
        retry_for: Duration::from_secs(3600),
    };
    let config = Arc::new(config);
    let outbox = Arc::new(Outbox::load(&config).unwrap());
    let (store, db_dir) = db::open(Db::Sqlite, "outage-record").await;
    let now = Utc::now();
    let alert = notice_to(
        &outbox,
        &config,
        "urgent_alert",
        &[Role::Coordinator],
        "mail:record-after-lock",
        true,
        now,
    );
    store.queue(&alert, now).await.unwrap();
    let files = doorstroom::outbox::send::FileTransport::new(dir.path().join("sent"));
    let sender = Sender {
        store: store.clone(),
        config: config.clone(),
        outbox: outbox.clone(),
        transport: LockedAfterDelivery {
            files: files.clone(),
            db: db_dir.path().join("doorstroom.db"),
            hold: Duration::from_secs(12),
        },
        ledger: doorstroom::outbox::send::StoreLedger(store.clone()),
        policy: doorstroom::outbox::send::Policy::from_config(&config),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let pass = sender
        .run_once(now)
        .await
        .unwrap_or_else(|e| panic!("the pass waits for the store: {e}"));
    assert_eq!(pass.sent, 1, "{pass:?}");
    let row = store
        .outbox_by_message_id(&alert.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, OutboxState::Sent, "not left `sending`: {row:?}");
    assert!(files.path_for(&alert.message_id).exists(), "delivered once");
    assert_eq!(sender.run_once(now).await.unwrap().sent, 0, "and not again");
}
