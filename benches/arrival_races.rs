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

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Row;

use db::Db;
use mailstack::{MailStack, PASSWORD, SHARED_MAILBOX};
use support::{next_stamp, Armed, Daemon, Event, Phase, SyncImap, Trigger};

/// Longer than any round: a mail not decided by then waits for the resync.
const RESYNC: Duration = Duration::from_secs(600);
/// How long a round waits for its two mails before it counts one as left for the resync.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

fn mail(kind: &str, n: usize) -> (String, Vec<u8>) {
    let name = setup::candidate_name(n);
    let id = format!("race-{kind}-{n}@caw-antwerpen.example");
    let raw = format!(
        "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Aanmelding versnelde doorstroom - {name} ({kind} {n})\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom (CIR 2026-{n:06}).\r\n\
         Het addendum en het sociaal verslag volgen.\r\n\r\nMet vriendelijke groeten,\r\nEls Wouters\r\n"
    );
    (format!("<{id}>"), raw.into_bytes())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = support::env_number("DOORSTROOM_RACE_ROUNDS", 500);
    let trigger = Trigger::default();
    let mut stamps = support::stamp_daemon_events_with(trigger.clone());
    let stack = MailStack::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = setup::imap_config(&stack, Db::Sqlite, &dir);
    if let doorstroom::config::Mailbox::Imap(m) = &mut config.mailbox {
        m.resync_interval = RESYNC;
    }
    let daemon = Daemon::start(config);
    next_stamp(&mut stamps, |e| *e == Event::Ready, Duration::from_secs(30))
        .await
        .expect("the daemon gets ready");
    let db = sqlx::SqlitePool::connect(&db::url(Db::Sqlite, &dir))
        .await
        .expect("the daemon's database");
    let mut deliver = SyncImap::connect(stack.imap_port(), SHARED_MAILBOX, PASSWORD);

    let mut waits: HashMap<&'static str, Vec<Duration>> = HashMap::new();
    let mut all = Vec::new();
    let mut left_for_resync = Vec::new();
    let mut not_in_phase = 0;
    let began = Instant::now();
    for n in 0..rounds {
        let phase = Phase::ALL[n % Phase::ALL.len()];
        let name = match phase {
            Phase::Idling => "idle",
            Phase::Fetching => "fetching",
            Phase::Deciding => "deciding",
            Phase::Moving => "moving",
        };
        let (race_id, race_raw) = mail("race", 2 * n + 1);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        *trigger.lock().unwrap() = Some(Armed {
            phase,
            imap: SyncImap::connect(stack.imap_port(), SHARED_MAILBOX, PASSWORD),
            raw: race_raw,
            done: done_tx,
        });
        let (trigger_id, trigger_raw) = mail("trigger", 2 * n);
        let trigger_at = Instant::now();
        tokio::task::block_in_place(|| deliver.append(&trigger_raw));
        let mut delivered = None;
        let mut decided: HashMap<String, Instant> = HashMap::new();
        let deadline = Instant::now() + ROUND_LIMIT;
        while !(decided.contains_key(&race_id) && decided.contains_key(&trigger_id)) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(stamp) = next_stamp(&mut stamps, |_| true, left).await else {
                break;
            };
            if let Event::Decided { mail } = stamp.what {
                let id: Option<String> = sqlx::query("SELECT message_id FROM mails WHERE id = $1")
                    .bind(mail)
                    .fetch_one(&db)
                    .await
                    .ok()
                    .and_then(|row| row.try_get("message_id").ok());
                if let Some(id) = id {
                    decided.insert(id, stamp.at);
                }
            }
            if delivered.is_none() {
                delivered = done_rx.try_recv().ok();
            }
        }
        if delivered.is_none() {
            delivered = done_rx.try_recv().ok();
        }
        if trigger.lock().unwrap().take().is_some() {
            // The phase never came in this round (a trigger handled without it).
            not_in_phase += 1;
        }
        match decided.get(&trigger_id) {
            Some(at) => all.push(*at - trigger_at),
            None => left_for_resync.push(trigger_id.clone()),
        }
        match (delivered, decided.get(&race_id)) {
            (Some(from), Some(at)) => {
                let wait = at.saturating_duration_since(from);
                waits.entry(name).or_default().push(wait);
                all.push(wait);
            }
            (Some(_), None) => left_for_resync.push(format!("{race_id} ({name})")),
            (None, _) => {}
        }
        if (n + 1) % 50 == 0 {
            eprintln!("{} rounds, {:.0?}", n + 1, began.elapsed());
        }
    }
    let took = began.elapsed();
    daemon.stop().await;

    println!(
        "arrival races: {rounds} rounds ({took:.1?} in all), a mail delivered in each intake state, \
         delivery → decision committed"
    );
    for name in ["idle", "fetching", "deciding", "moving"] {
        let mut w = waits.remove(name).unwrap_or_default();
        println!("  delivered while {name:<9} {}", support::summary(&mut w));
    }
    println!(
        "  every mail (race and trigger) {}",
        support::summary(&mut all)
    );
    let within = all.iter().filter(|d| **d <= Duration::from_secs(2)).count();
    println!(
        "  decided within 2 s: {within}/{}; left for the resync: {}; rounds whose phase never came: {not_in_phase}",
        all.len(),
        left_for_resync.len()
    );
    if !left_for_resync.is_empty() {
        println!("  left for the resync: {left_for_resync:?}");
        std::process::exit(1);
    }
}
