//! Intake latency on the real mail stack (Dovecot + Postfix, as in the integration tests; needs
//! root): referrals are submitted over SMTP one at a time to the daemon running in-process, and
//! two figures are printed per mail:
//!
//! - IDLE path: from the daemon's IDLE returning because the server reported new mail (the
//!   `EXISTS` push; `IDLE: the server reported a change`, src/intake/watch.rs) to the mail's
//!   transaction committed (`mail decided`, logged right after the commit). Both instants are
//!   taken inside the daemon's own tracing calls by a layer this bench installs, so no polling
//!   blurs them. The push counted is the last one before the commit: the one whose pass handled
//!   the mail.
//! - End to end: from the start of the SMTP submission to the same commit. Dovecot 2.3 waits
//!   0.5 s before it notifies an idling client, so this cannot beat ≈ 0.5 s here.
//!
//! Every referral makes the outbox send an acknowledgement whose Bcc proof copy comes back into
//! the shared inbox; the next referral is submitted only after the daemon has been quiet for
//! [`QUIET`], so each mail is measured alone.
//!
//! `cargo bench --bench intake_latency` (`DOORSTROOM_LATENCY_MAILS`, default 500).

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

use std::time::{Duration, Instant};

use sqlx::Row;

use db::Db;
use mailstack::{MailStack, SHARED_MAILBOX};
use support::{next_stamp, Daemon, Event, Stamp};

/// How long the daemon must log nothing of interest before the next mail goes out.
const QUIET: Duration = Duration::from_millis(800);

fn referral(n: usize) -> (String, Vec<u8>) {
    const FIRST: [&str; 10] = [
        "Jan", "Els", "Fatima", "Mohamed", "Lotte", "Youssef", "Ines", "Milan", "Amira", "Stijn",
    ];
    const LAST: [&str; 10] = [
        "Peeters", "Maes", "Claes", "Wouters", "De Smet", "Hermans", "Aerts", "Bouzid", "Smits",
        "Coppens",
    ];
    // Distinct candidates: a number as a second first name keeps 100+ names apart.
    let name = format!(
        "{} {} {}",
        FIRST[n % 10],
        ["Anna", "Bert", "Chloé", "Dirk", "Eline"][(n / 100) % 5],
        LAST[(n / 10) % 10]
    );
    let id = format!("latency-{n}@caw-antwerpen.example");
    let raw = format!(
        "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Aanmelding versnelde doorstroom - {name}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom (CIR 2026-{n:06}).\r\n\
         Het addendum en het sociaal verslag volgen.\r\n\r\nMet vriendelijke groeten,\r\nEls Wouters\r\n"
    );
    (format!("<{id}>"), raw.into_bytes())
}

/// Wait until no stamp arrives for [`QUIET`].
async fn settle(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Stamp>) {
    while tokio::time::timeout(QUIET, rx.recv())
        .await
        .is_ok_and(|s| s.is_some())
    {}
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mails: usize = support::env_number("DOORSTROOM_LATENCY_MAILS", 500);
    let mut stamps = support::stamp_daemon_events();
    let stack = MailStack::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let daemon = Daemon::start(config);
    next_stamp(&mut stamps, |e| *e == Event::Ready, Duration::from_secs(30))
        .await
        .expect("the daemon gets ready");
    settle(&mut stamps).await;
    let db = sqlx::SqlitePool::connect(&db::url(Db::Sqlite, &dir))
        .await
        .expect("the daemon's database");

    let mut idle_path = Vec::with_capacity(mails);
    let mut end_to_end = Vec::with_capacity(mails);
    let began = Instant::now();
    for n in 0..mails {
        let (message_id, raw) = referral(n);
        let submitted = Instant::now();
        stack
            .submit("els.wouters@caw-antwerpen.example", &[SHARED_MAILBOX], &raw)
            .await;
        let mut announced: Option<Instant> = None;
        let committed = loop {
            let Some(stamp) = next_stamp(&mut stamps, |_| true, Duration::from_secs(30)).await
            else {
                panic!("mail {n} not decided within 30 s\n{}", stack.diagnostics());
            };
            match stamp.what {
                Event::Announced => announced = Some(stamp.at),
                Event::Decided { mail } => {
                    let id: Option<String> =
                        sqlx::query("SELECT message_id FROM mails WHERE id = $1")
                            .bind(mail)
                            .fetch_one(&db)
                            .await
                            .ok()
                            .and_then(|row| row.try_get("message_id").ok());
                    if id.as_deref() == Some(message_id.as_str()) {
                        break stamp.at;
                    }
                }
                Event::Ready | Event::Phase(_) => {}
            }
        };
        end_to_end.push(committed - submitted);
        match announced {
            Some(at) if at >= submitted => idle_path.push(committed - at),
            _ => eprintln!("mail {n}: decided without a push seen after submission"),
        }
        settle(&mut stamps).await;
    }
    let took = began.elapsed();
    daemon.stop().await;

    println!("intake latency over {mails} referrals submitted one at a time ({took:.1?} in all)");
    println!(
        "  IDLE path (EXISTS push seen by the daemon → transaction committed): {}   [target p50 < 50 ms, p99 < 250 ms]",
        support::summary(&mut idle_path)
    );
    println!(
        "  end to end (SMTP submission → transaction committed):               {}   [target p50 < 600 ms, p99 < 1000 ms]",
        support::summary(&mut end_to_end)
    );
}
