//! The arrival-race loop, shared by `benches/arrival_races.rs` (500 rounds, the README's figure)
//! and `tests/integration/races.rs` (fewer rounds, in CI): round after round a trigger mail makes
//! intake go through its phases, and a race mail is delivered the moment intake enters the
//! round's phase (idle, fetching, deciding, moving); each mail's wait from delivery to its
//! decision committed is read from the daemon's own events ([`super::support`]).
//!
//! Included with `#[path]` by both; the including crate has `mailstack`, `setup` and `support`
//! at its root.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::mailstack::{MailStack, PASSWORD, SHARED_MAILBOX};
use crate::setup;
use crate::support::{self, next_stamp, Armed, Event, Phase, Stamp, SyncImap, Trigger};

/// Longer than any round: a mail not decided by then waits for the resync.
pub const RESYNC: Duration = Duration::from_secs(600);
/// How long a round waits for its two mails before it counts one as left for the resync.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

/// What the rounds measured.
#[derive(Debug, Default)]
pub struct Report {
    pub rounds: usize,
    pub took: Duration,
    /// Race mails' waits, by the phase they were delivered in.
    pub waits: HashMap<&'static str, Vec<Duration>>,
    /// Every mail's wait, race and trigger.
    pub all: Vec<Duration>,
    pub left_for_resync: Vec<String>,
    pub not_in_phase: usize,
}

impl Report {
    /// The lines the bench and the test print.
    pub fn print(&mut self, how: &str) {
        println!(
            "arrival races: {} rounds ({:.1?} in all), a mail delivered {how} in each intake \
             state, delivery → decision committed",
            self.rounds, self.took
        );
        for name in ["idle", "fetching", "deciding", "moving"] {
            let mut w = self.waits.remove(name).unwrap_or_default();
            println!("  delivered while {name:<9} {}", support::summary(&mut w));
        }
        println!(
            "  every mail (race and trigger) {}",
            support::summary(&mut self.all)
        );
        println!(
            "  decided within 2 s: {}/{}; left for the resync: {}; rounds whose phase never came: {}",
            self.within(Duration::from_secs(2)),
            self.all.len(),
            self.left_for_resync.len(),
            self.not_in_phase
        );
        if !self.left_for_resync.is_empty() {
            println!("  left for the resync: {:?}", self.left_for_resync);
        }
    }

    pub fn within(&self, bound: Duration) -> usize {
        self.all.iter().filter(|d| **d <= bound).count()
    }
}

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

/// Run `rounds` rounds against the daemon already running on `stack` (its database at
/// `db_url`, its resync at [`RESYNC`], its events on `stamps`, `trigger` in its layer). With
/// `smtp`, both mails go through Postfix; otherwise they are APPENDed to Dovecot.
pub async fn run(
    stack: &MailStack,
    db_url: &str,
    rounds: usize,
    smtp: bool,
    trigger: &Trigger,
    stamps: &mut tokio::sync::mpsc::UnboundedReceiver<Stamp>,
) -> Report {
    let db = sqlx::SqlitePool::connect(db_url)
        .await
        .expect("the daemon's database");
    let mut deliver = SyncImap::connect(stack.imap_port(), SHARED_MAILBOX, PASSWORD);
    let smtp_port = smtp.then(|| stack.smtp_port());
    let mut report = Report {
        rounds,
        ..Report::default()
    };
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
            message_id: race_id.clone(),
            smtp_port,
            done: done_tx,
        });
        let (trigger_id, trigger_raw) = mail("trigger", 2 * n);
        let trigger_at = tokio::task::block_in_place(|| match smtp_port {
            Some(port) => support::smtp_submit(port, &trigger_raw),
            None => {
                deliver.append(&trigger_raw);
                Instant::now()
            }
        });
        let mut delivered = None;
        let mut decided: HashMap<String, Instant> = HashMap::new();
        let deadline = Instant::now() + ROUND_LIMIT;
        while !(decided.contains_key(&race_id) && decided.contains_key(&trigger_id)) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(stamp) = next_stamp(stamps, |_| true, left).await else {
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
            report.not_in_phase += 1;
        }
        match decided.get(&trigger_id) {
            Some(at) => report.all.push(at.saturating_duration_since(trigger_at)),
            None => report.left_for_resync.push(trigger_id.clone()),
        }
        match (delivered, decided.get(&race_id)) {
            (Some(from), Some(at)) => {
                let wait = at.saturating_duration_since(from);
                report.waits.entry(name).or_default().push(wait);
                report.all.push(wait);
            }
            (Some(_), None) => report.left_for_resync.push(format!("{race_id} ({name})")),
            (None, _) => {}
        }
        if (n + 1) % 50 == 0 {
            eprintln!("{} rounds, {:.0?}", n + 1, began.elapsed());
        }
    }
    report.took = began.elapsed();
    report
}
