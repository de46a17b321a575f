//! Crash rounds over realistic traffic (issue 28), end to end through Postfix and Dovecot: the
//! daemon binary is killed with SIGKILL at random moments — during the first start's backfill,
//! while partners' mails arrive over SMTP, while the monthly agenda is being sent, while staff
//! corrections are applied — Dovecot and Postfix are restarted under it, and at the end nothing
//! is lost, nothing doubled and nothing stuck:
//!
//! - every mail the partners sent has exactly one decision and left the inbox;
//! - no candidate (CIR) has two cases, no referral two cases, no correction applied twice;
//! - no recipient holds the same Message-ID twice, in any of their folders (Dovecot's Maildirs
//!   read directly: the coordinator, the social assistants, every partner counsellor, the
//!   shared mailbox's proof copies);
//! - the outbox has nothing left queued or in flight, and Postfix nothing in its queue.
//!
//! It prints how long mails waited in the inbox after a restart (from the later of their
//! delivery and the start of the daemon that decided them, to their decision).
//!
//! `DOORSTROOM_FAULT_MAILS` (default 300), `DOORSTROOM_FAULT_ROUNDS` (default 20) and
//! `DOORSTROOM_FAULT_SEED` (default 28) set the size; the README's figures come from
//! `DOORSTROOM_FAULT_MAILS=3000 DOORSTROOM_FAULT_ROUNDS=40`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Utc};
use doorstroom::config::Config;
use doorstroom::store::outbox::OutboxState;
use doorstroom::store::{MailState, Store};

use crate::db::{self, Db};
use crate::mailstack::{MailStack, COORDINATOR, SHARED_MAILBOX};
use crate::setup;
use crate::traffic::{self, Traffic};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spawn(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(["run", "--config"])
        .arg(config)
        .env("DOORSTROOM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(append(log))
        .spawn()
        .expect("start the daemon binary")
}

fn append(log: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap()
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

/// Submit over SMTP as a partner's server would: retried until Postfix takes it (it may be
/// restarting). Returns when Postfix answered 250.
async fn submit(port: u16, mail: &traffic::Mail) {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let from = if mail.from.is_empty() {
        None
    } else {
        Some(mail.from.parse().expect("from"))
    };
    let envelope = lettre::address::Envelope::new(
        from,
        mail.to.iter().map(|t| t.parse().expect("to")).collect(),
    )
    .expect("envelope");
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let mut tries = 0;
    while let Err(e) = smtp.send_raw(&envelope, &mail.raw).await {
        tries += 1;
        assert!(tries < 200, "Postfix refused {}: {e}", mail.message_id);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// When each mail reached the mail stack (APPEND or SMTP `250`), by Message-ID.
type Delivered = Arc<Mutex<HashMap<String, DateTime<Utc>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_rounds_over_partner_traffic_lose_double_and_strand_nothing() {
    let total = env_number("DOORSTROOM_FAULT_MAILS", 300) as usize;
    let rounds = env_number("DOORSTROOM_FAULT_ROUNDS", 20).max(10);
    let seed = env_number("DOORSTROOM_FAULT_SEED", 28);
    let began = Instant::now();

    let mut stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    // A month's mail arrives in seconds here: no per-recipient hourly limit (the coordinator
    // would otherwise get her notices over the next hours, by design). Postfix files a mail in
    // Dovecot within milliseconds: a mail killed before its `250` is sent again 20 s after its
    // claim rather than the 2 minutes Microsoft 365 needs (`DOORSTROOM_FAULT_COPY_GRACE_SECS`).
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir)
        .replacen(
            "\ntrust = \"none\"",
            &format!("\nauthserv_id = \"{}\"", traffic::MX),
            1,
        )
        .replacen(
            "retry_for = \"1h\"\n",
            &format!(
                "retry_for = \"1h\"\nrate_per_recipient_per_hour = 0\ncopy_grace = \"{}s\"\n",
                env_number("DOORSTROOM_FAULT_COPY_GRACE_SECS", 20)
            ),
            1,
        );
    let config_path = dir.path().join("doorstroom.toml");
    std::fs::write(&config_path, &text).unwrap();
    let config = Config::parse(&text, &config_path).unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("daemon.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let mut traffic = Traffic::new(seed);
    let mut mails = traffic.take(total);
    eprintln!("traffic (seed {seed}): {}", traffic::census(&mails));
    let delivered: Delivered = Arc::default();

    // A backfill: the first 40 % wait in the inbox before the daemon ever starts.
    let live = mails.split_off(total * 2 / 5);
    let backfill = mails;
    let mut imap = stack.session(SHARED_MAILBOX).await;
    for m in &backfill {
        imap.append("INBOX", &[], &m.raw).await.unwrap();
        delivered
            .lock()
            .unwrap()
            .insert(m.message_id.clone(), Utc::now());
    }
    imap.logout().await;

    // The rest arrives over SMTP while the daemon is killed and restarted, spread over ~15 s.
    let port = stack.smtp_port();
    let pace = Duration::from_millis(15_000 / live.len().max(1) as u64);
    let arriving = {
        let delivered = delivered.clone();
        let live = live.clone();
        tokio::spawn(async move {
            for m in &live {
                submit(port, m).await;
                delivered
                    .lock()
                    .unwrap()
                    .insert(m.message_id.clone(), Utc::now());
                tokio::time::sleep(pace).await;
            }
        })
    };

    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    let month = {
        let now = Utc::now().date_naive();
        let next = now.with_day(1).unwrap() + chrono::Months::new(1);
        format!("{:04}-{:02}", next.year(), next.month())
    };
    let (imap_round, smtp_round) = (rounds / 4, rounds / 2);
    let agenda_rounds = [rounds * 3 / 5, rounds * 3 / 5 + 1];
    let correction_rounds = [rounds * 4 / 5, rounds * 4 / 5 + 1];
    let mut starts: Vec<DateTime<Utc>> = Vec::new();
    let mut corrections: Vec<traffic::Mail> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    let mut sent_twice: HashSet<String> = HashSet::new();
    for round in 0..rounds {
        starts.push(Utc::now());
        let child = spawn(&config_path, &log);
        let mut wait = Duration::from_millis(100 + rand::random::<u64>() % 900);
        let mut what = "work";
        if round < 2 {
            what = "backfill";
        } else if round == imap_round {
            // Dovecot goes away under the daemon and comes back.
            tokio::time::sleep(wait).await;
            stack.restart_imap();
            stack.flush_queue();
            what = "after a Dovecot restart";
        } else if round == smtp_round {
            tokio::time::sleep(wait).await;
            stack.restart_smtp();
            what = "after a Postfix restart";
        } else if agenda_rounds.contains(&round) {
            // The coordinator (or the job) queues the month's agenda; the daemon sends it.
            let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
                .args(["agenda", "--month", &month, "--config"])
                .arg(&config_path)
                .env("DOORSTROOM_LOG", "warn")
                .stderr(append(&log))
                .output()
                .expect("doorstroom agenda");
            assert!(out.status.success(), "agenda: {}", read_log());
            eprintln!("agenda: {}", String::from_utf8_lossy(&out.stdout).trim());
            wait = Duration::from_millis(rand::random::<u64>() % 300);
            what = "during agenda sending";
        } else if correction_rounds.contains(&round) {
            // The coordinator answers the notices she got so far; some answers twice.
            let rows = store.list_outbox(false, 100_000).await.unwrap();
            for row in rows.iter().filter(|r| {
                r.state == OutboxState::Sent && r.recipients.iter().any(|a| a == COORDINATOR)
            }) {
                if answered.contains(&row.message_id) {
                    continue;
                }
                let words = match row.kind.as_str() {
                    "referral_notice" => "sa: sofie.maes@woonhaven.example",
                    "forwarded_mail" | "unplaced_mail" => "negeren",
                    "concern_notice" => "soort: zorg",
                    _ => continue,
                };
                answered.insert(row.message_id.clone());
                let answer = traffic.correction(&row.message_id, &row.subject, words);
                submit(port, &answer).await;
                if corrections.len().is_multiple_of(3) {
                    // The same answer again (a resend from her phone): two copies in the
                    // shared mailbox, one correction.
                    submit(port, &answer).await;
                    sent_twice.insert(answer.message_id.clone());
                }
                delivered
                    .lock()
                    .unwrap()
                    .insert(answer.message_id.clone(), Utc::now());
                corrections.push(answer);
                if corrections.len().is_multiple_of(10) {
                    break;
                }
            }
            wait = Duration::from_millis(50 + rand::random::<u64>() % 500);
            what = "during corrections";
        }
        tokio::time::sleep(wait).await;
        kill(child);
        eprintln!("round {round}: killed {what} after {wait:.0?}");
    }
    arriving.await.expect("every live mail submitted");
    assert!(
        !corrections.is_empty(),
        "the coordinator had notices to answer"
    );

    // A last run, left to finish: every mail decided and moved, the outbox empty, Postfix's
    // queue empty (a mail killed just before its 250 is sent again two minutes after its claim).
    starts.push(Utc::now());
    let last_start = Instant::now();
    let mut child = spawn(&config_path, &log);
    let mut ours: Vec<traffic::Mail> = backfill.iter().chain(&live).cloned().collect();
    ours.extend(corrections.iter().cloned());
    let ids: HashSet<&str> = ours.iter().map(|m| m.message_id.as_str()).collect();
    let deadline =
        Instant::now() + Duration::from_secs(env_number("DOORSTROOM_FAULT_DRAIN_SECS", 400));
    let mut inbox_empty_after = None;
    loop {
        let rows = store.list_mails(false, 1_000_000).await.unwrap();
        let undecided = ids
            .iter()
            .filter(|id| {
                !rows.iter().any(|m| {
                    m.message_id.as_deref() == Some(**id) && m.state != MailState::Stored && m.moved
                })
            })
            .count();
        if undecided == 0 && inbox_empty_after.is_none() {
            inbox_empty_after = Some(last_start.elapsed());
        }
        let pending = store
            .list_outbox(false, 1_000_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| matches!(r.state, OutboxState::Queued | OutboxState::Sending))
            .count();
        if undecided == 0 && pending == 0 {
            stack.flush_queue();
            if stack.queue_is_empty() && stack.read_all(SHARED_MAILBOX, "INBOX").await.is_empty() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{undecided} mails undecided, {pending} outgoing pending; log:\n{}",
            read_log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();

    // Every mail the partners (and the coordinator) sent: one row, decided, moved.
    let rows = store.list_mails(false, 1_000_000).await.unwrap();
    let mut per_id: HashMap<&str, Vec<&doorstroom::store::MailRecord>> = HashMap::new();
    for row in &rows {
        if let Some(id) = row.message_id.as_deref().filter(|id| ids.contains(id)) {
            per_id.entry(id).or_default().push(row);
        }
    }
    let no_decision: Vec<_> = ids.iter().filter(|id| !per_id.contains_key(**id)).collect();
    let stuck: Vec<_> = per_id
        .values()
        .flatten()
        .filter(|m| m.state == MailState::Stored || !m.moved)
        .map(|m| (&m.message_id, m.state, m.moved))
        .collect();
    let twice: Vec<_> = per_id
        .iter()
        .filter(|(id, rows)| rows.len() > usize::from(sent_twice.contains(**id)) + 1)
        .map(|(id, _)| id)
        .collect();
    let poisoned: Vec<_> = per_id
        .values()
        .flatten()
        .filter(|m| {
            m.reason
                .as_deref()
                .is_some_and(|r| r.contains("stopped intake"))
        })
        .map(|m| &m.message_id)
        .collect();

    // Cases: one per referral at most, no CIR twice.
    let cases = store.cases(&Default::default()).await.unwrap();
    let mut by_cir: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        if let Some(cir) = &c.cir {
            *by_cir.entry(cir.clone()).or_default() += 1;
        }
    }
    let cirs_twice: Vec<_> = by_cir.iter().filter(|(_, n)| **n > 1).collect();
    let mut per_candidate: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in &cases {
        *per_candidate
            .entry((c.partner.as_str(), c.candidate.as_str()))
            .or_default() += 1;
    }
    // Names repeat after a thousand referrals (setup::candidate_name); CIRs never do.
    let referrals = ours.iter().filter(|m| m.cir.is_some()).count();
    let candidates_twice: Vec<_> = per_candidate
        .iter()
        .filter(|(_, n)| **n > 1 && referrals <= 1000)
        .collect();

    // Corrections: each answer applied once, never twice (some were sent twice).
    let applied = store.corrections().await.unwrap();
    let mut per_answer: HashMap<i64, usize> = HashMap::new();
    for c in &applied {
        if let Some(answer) = c.answer_mail_id {
            *per_answer.entry(answer).or_default() += 1;
        }
    }
    let corrections_twice = per_answer.values().filter(|n| **n > 1).count();
    let answers_understood = corrections
        .iter()
        .filter(|m| {
            per_id.get(m.message_id.as_str()).is_some_and(|rows| {
                rows.iter()
                    .any(|r| r.kind.as_deref() == Some("staff_answer"))
            })
        })
        .count();

    // What every recipient holds: no Message-ID twice in anyone's mailbox.
    let mut held: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut outgoing_received = 0;
    for (user, _folder, bytes) in stack.every_stored_mail() {
        let Some(id) = message_id(&bytes) else {
            continue;
        };
        if !id.starts_with("<tr-") {
            outgoing_received += 1;
        }
        *held.entry((user, id)).or_default() += 1;
    }
    let received_twice: Vec<_> = held
        .iter()
        .filter(|((user, id), n)| {
            let expected = if user == SHARED_MAILBOX && sent_twice.contains(id) {
                2
            } else {
                1
            };
            **n > expected
        })
        .collect();
    let outbox = store.list_outbox(false, 1_000_000).await.unwrap();
    let agendas = outbox.iter().filter(|r| r.kind == "agenda").count();
    let failed: Vec<_> = outbox
        .iter()
        .filter(|r| r.state == OutboxState::Failed)
        .map(|r| (&r.kind, &r.recipients, &r.last_error))
        .collect();

    // How long mails waited in the inbox once a daemon was running: from the later of their
    // delivery and the start of the daemon that decided them, to their decision.
    let delivered = delivered.lock().unwrap().clone();
    let mut waits: Vec<f64> = per_id
        .iter()
        .filter_map(|(id, rows)| {
            let decided = rows[0].processed_at?;
            let arrived = *delivered.get(*id)?;
            let start = starts.iter().rev().find(|s| **s <= decided)?;
            Some((decided - arrived.max(*start)).num_milliseconds().max(0) as f64 / 1000.0)
        })
        .collect();
    waits.sort_by(f64::total_cmp);
    let pct = |p: f64| waits[((p * waits.len() as f64).ceil() as usize).clamp(1, waits.len()) - 1];

    println!(
        "crash rounds: {} mails (seed {seed}: {}), {} corrections, {rounds} kills, Dovecot and \
         Postfix restarted once each, {:.0?} in all",
        ours.len(),
        traffic::census(&backfill.iter().chain(&live).cloned().collect::<Vec<_>>()),
        corrections.len(),
        began.elapsed()
    );
    println!(
        "  mails with no decision {}; decided twice {}; stuck {}; quarantined as poison {}",
        no_decision.len(),
        twice.len(),
        stuck.len(),
        poisoned.len()
    );
    println!(
        "  cases {} (CIR twice {}, candidate twice {}); corrections applied {} for {} answers \
         ({} understood as staff answers), applied twice {corrections_twice}",
        cases.len(),
        cirs_twice.len(),
        candidates_twice.len(),
        applied.len(),
        corrections.len(),
        answers_understood
    );
    println!(
        "  outgoing: {} rows ({agendas} agendas, {} failed), {outgoing_received} copies in \
         recipients' mailboxes, received twice {}",
        outbox.len(),
        failed.len(),
        received_twice.len()
    );
    println!(
        "  wait in the inbox after a (re)start: p50 {:.2} s, p99 {:.2} s, max {:.2} s; the last \
         start decided everything in {:.1?}",
        pct(0.5),
        pct(0.99),
        waits.last().copied().unwrap_or_default(),
        inbox_empty_after.unwrap_or_default()
    );

    assert!(no_decision.is_empty(), "no decision: {no_decision:?}");
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    assert!(stuck.is_empty(), "stuck: {stuck:?}");
    assert!(
        cirs_twice.is_empty(),
        "a CIR with two cases: {cirs_twice:?}"
    );
    assert!(
        candidates_twice.is_empty(),
        "a candidate with two cases: {candidates_twice:?}"
    );
    assert_eq!(corrections_twice, 0, "a correction applied twice");
    assert_eq!(
        answers_understood,
        corrections.len(),
        "every coordinator answer read as one"
    );
    assert!(
        received_twice.is_empty(),
        "received twice: {received_twice:?}"
    );
    assert!(agendas > 0, "the agenda was sent");
    assert!(failed.is_empty(), "outgoing mail failed: {failed:?}");
}

/// The Message-ID header's value (the first), as written.
fn message_id(raw: &[u8]) -> Option<String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        if line.len() > 11 && line[..11].eq_ignore_ascii_case("message-id:") {
            let mut value = line[11..].trim().to_string();
            while lines
                .peek()
                .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
            {
                value.push_str(lines.next().unwrap().trim());
            }
            return Some(value);
        }
    }
    None
}
