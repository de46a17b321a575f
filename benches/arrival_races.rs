//! Arrival races on the real mail stack (Dovecot + Postfix, as in the integration tests; needs
//! root): a mail is delivered while intake is in each of its states — waiting in IDLE, fetching a
//! batch, deciding it, moving it out of the inbox — round after round, and each mail's wait from
//! delivery to its decision is measured.
//!
//! The daemon runs in-process. A tracing layer sees intake's own `intake phase: …` debug events
//! (src/intake/watch.rs) and, in the round's phase, appends the race mail to the inbox over a
//! blocking IMAP connection *inside* the event call: the daemon's task waits until Dovecot has the
//! mail, so the delivery lands in that phase every round (the `moving` rounds reproduce the
//! `* 1 EXPUNGE` / `* 1 EXISTS` reply of issue 28). A trigger mail, appended just before, makes
//! intake go through the phases. The resync poll is set to 10 minutes, so a mail the watch loop
//! missed is not rescued by it within the 30 s a round may take: it is counted as left for the
//! resync.
//!
//! Mails go through Postfix's SMTP as a partner's do (the wait counts from the `250`; the layer
//! then holds the daemon's task until Dovecot filed the mail, so it still lands in the phase);
//! `DOORSTROOM_RACE_DELIVERY=append` puts them straight into Dovecot instead. The loop lives in
//! `support/races.rs`, shared with `cargo test --test integration races`.
//!
//! `cargo bench --bench arrival_races` (`DOORSTROOM_RACE_ROUNDS`, default 500).

#[allow(dead_code, unused_imports)]
#[path = "../tests/integration/mailstack.rs"]
mod mailstack;

#[allow(dead_code)]
#[path = "../tests/integration/db.rs"]
mod db;

#[allow(dead_code)]
#[path = "../tests/integration/setup.rs"]
mod setup;

#[path = "support/mod.rs"]
mod support;

#[path = "support/races.rs"]
mod races;

use std::time::Duration;

use db::Db;
use mailstack::MailStack;
use support::{next_stamp, Daemon, Event, Trigger};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = support::env_number("DOORSTROOM_RACE_ROUNDS", 500);
    let smtp = std::env::var("DOORSTROOM_RACE_DELIVERY").as_deref() != Ok("append");
    let trigger = Trigger::default();
    let mut stamps = support::stamp_daemon_events_with(trigger.clone());
    let stack = MailStack::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = setup::imap_config(&stack, Db::Sqlite, &dir);
    if let doorstroom::config::Mailbox::Imap(m) = &mut config.mailbox {
        m.resync_interval = races::RESYNC;
    }
    let daemon = Daemon::start(config);
    next_stamp(&mut stamps, |e| *e == Event::Ready, Duration::from_secs(30))
        .await
        .expect("the daemon gets ready");
    let mut report = races::run(
        &stack,
        &db::url(Db::Sqlite, &dir),
        rounds,
        smtp,
        &trigger,
        &mut stamps,
    )
    .await;
    daemon.stop().await;
    report.print(if smtp { "over SMTP" } else { "by APPEND" });
    if !report.left_for_resync.is_empty() {
        std::process::exit(1);
    }
}
