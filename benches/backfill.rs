//! First-start backfill on the real mail stack (Dovecot + Postfix; needs root): a shared inbox of
//! 10,000 realistic mails (referrals with two PDF attachments, replies threaded to them,
//! concerns), generated deterministically and APPENDed in order; then, in the same run,
//!
//! 1. `mbsync` (isync) merely downloads the inbox into a local Maildir (plain IMAP, loopback),
//!    once untimed to warm Dovecot's index and the page cache, once timed into a fresh Maildir;
//! 2. the daemon, in-process and started on an empty database, works the inbox down: fetch,
//!    parse, triage, store, move to `Verwerkt`. Timed from the start of the daemon until every
//!    mail is decided and recorded as moved (polled every 50 ms on the daemon's database).
//!    Also printed: the CPU time the process spent meanwhile, which the machine's noise moves
//!    less than the wall-clock time (for comparing two builds).
//!
//! Postfix is stopped while the daemon runs: the acknowledgements it queues wait in the outbox
//! (the sender retries later), so the figure is intake's and not the outbox's.
//!
//! `cargo bench --bench backfill` (`DOORSTROOM_BACKFILL_MAILS`, default 10000;
//! `DOORSTROOM_BACKFILL_DB=postgres` stores into PostgreSQL, from `TEST_DATABASE_URL` or a private
//! cluster, instead of SQLite).

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

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Row;

use db::Db;
use mailstack::{MailStack, PASSWORD, SHARED_MAILBOX};
use support::Daemon;

/// Mails per case: a referral, then (threaded to it) five replies and two concerns.
const MAILS_PER_CASE: usize = 8;
/// Cases whose mails interleave, as a real inbox's do.
const WINDOW: usize = 10;

const PARTNERS: [(&str, &str); 2] = [
    ("caw-antwerpen.example", "Els Wouters"),
    ("ocmw-antwerpen.example", "Karim Bouzid"),
];

fn candidate(case: usize) -> String {
    // Cases alternate between the two partners, so each partner's names are distinct up to
    // 2 × 1,000 cases.
    setup::candidate_name(case / 2)
}

/// A deterministic PDF of about `size` bytes whose text names the document and the candidate;
/// the rest is an incompressible image stream, as in a scanned form.
fn pdf(title: &str, name: &str, seed: u64, size: usize) -> Vec<u8> {
    let text = format!("BT /F1 12 Tf 72 720 Td ({title}) Tj 0 -16 Td (Kandidaat: {name}) Tj ET");
    let mut out = format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R /MediaBox [0 0 595 842] >> endobj\n\
         4 0 obj << /Length {} >> stream\n{text}\nendstream endobj\n\
         5 0 obj << /Type /XObject /Subtype /Image /Width 200 /Height 200 /BitsPerComponent 8 \
         /ColorSpace /DeviceGray /Length {size} >> stream\n",
        text.len()
    )
    .into_bytes();
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    for _ in 0..size {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push((state >> 33) as u8);
    }
    out.extend_from_slice(b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

fn headers(case: usize, step: usize, subject: &str, in_reply_to: Option<&str>) -> String {
    let (domain, counsellor) = PARTNERS[case % 2];
    let address = counsellor.to_lowercase().replace(' ', ".");
    let day = 1 + (case / 50) % 28;
    let mut h = format!(
        "Return-Path: <{address}@{domain}>\r\nDelivered-To: {SHARED_MAILBOX}\r\n\
         Authentication-Results: mx.woonhaven.example;\r\n\tdkim=pass header.d={domain};\r\n\
         \tspf=pass smtp.mailfrom={domain};\r\n\tdmarc=pass header.from={domain}\r\n\
         From: {counsellor} <{address}@{domain}>\r\nTo: {SHARED_MAILBOX}\r\nSubject: {subject}\r\n\
         Date: Tue, {day} Sep 2026 {:02}:{:02}:00 +0200\r\nMessage-ID: <bf-{case}-{step}@{domain}>\r\n\
         MIME-Version: 1.0\r\n",
        8 + step,
        case % 60
    );
    if let Some(parent) = in_reply_to {
        let _ = write!(h, "In-Reply-To: {parent}\r\nReferences: {parent}\r\n");
    }
    h
}

/// Mail `step` (0..[`MAILS_PER_CASE`]) of case `case`.
fn mail(case: usize, step: usize) -> Vec<u8> {
    let name = candidate(case);
    let (domain, counsellor) = PARTNERS[case % 2];
    let referral_id = format!("<bf-{case}-0@{domain}>");
    let signature = format!("Met vriendelijke groeten,\r\n\r\n{counsellor}\r\nWoonbegeleider\r\n");
    match step {
        0 => {
            let mut m = headers(
                case,
                step,
                &format!("Aanmelding versnelde doorstroom - {name}"),
                None,
            );
            m.push_str("Content-Type: multipart/mixed; boundary=\"=_bf\"\r\n\r\n--=_bf\r\n");
            let _ = write!(
                m,
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                 Beste,\r\n\r\nHierbij de aanmelding voor versnelde doorstroom van {name}.\r\n\
                 CIR-nummer: 2026-{:06}\r\n\r\nIn bijlage het ondertekend addendum en het \
                 uitgebreid sociaal verslag.\r\n\r\n{signature}\r\n",
                100_000 + case
            );
            for (file, title, size) in [
                (
                    "Addendum versnelde doorstroom",
                    "Addendum versnelde doorstroom",
                    60_000,
                ),
                ("Sociaal verslag", "Uitgebreid sociaal verslag", 90_000),
            ] {
                let _ = write!(
                    m,
                    "--=_bf\r\nContent-Type: application/pdf; name=\"{file} {name}.pdf\"\r\n\
                     Content-Disposition: attachment; filename=\"{file} {name}.pdf\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}",
                    base64_lines(&pdf(title, &name, (case * 2 + size) as u64, size))
                );
            }
            m.push_str("--=_bf--\r\n");
            m.into_bytes()
        }
        3 | 6 => {
            let mut m = headers(
                case,
                step,
                &format!("Zorgen begeleiding {name}"),
                Some(&referral_id),
            );
            let _ = write!(
                m,
                "Content-Type: text/plain; charset=utf-8\r\n\r\nBeste,\r\n\r\nDe begeleiding van \
                 {name} loopt moeizaam: er is geen medewerking en de huurachterstal loopt op.\r\n\
                 Kunnen we samen zitten?\r\n\r\n{signature}"
            );
            m.into_bytes()
        }
        _ => {
            let mut m = headers(
                case,
                step,
                &format!("RE: Aanmelding versnelde doorstroom - {name}"),
                Some(&referral_id),
            );
            let _ = write!(
                m,
                "Content-Type: text/plain; charset=utf-8\r\n\r\nBeste,\r\n\r\nDank voor uw \
                 bericht. Het huisbezoek bij {name} is gepland; ik laat weten hoe het verliep.\r\n\r\n\
                 {signature}\r\n-----Oorspronkelijk bericht-----\r\nVan: {SHARED_MAILBOX}\r\n\
                 Onderwerp: Aanmelding versnelde doorstroom - {name}\r\n\r\n> Goed ontvangen.\r\n"
            );
            m.into_bytes()
        }
    }
}

/// The inbox in delivery order: cases in windows of [`WINDOW`], their mails interleaved.
fn inbox(total: usize) -> Vec<Vec<u8>> {
    let cases = total.div_ceil(MAILS_PER_CASE);
    let mut out = Vec::with_capacity(total);
    for first in (0..cases).step_by(WINDOW) {
        for step in 0..MAILS_PER_CASE {
            for case in first..(first + WINDOW).min(cases) {
                if out.len() < total {
                    out.push(mail(case, step));
                }
            }
        }
    }
    out
}

fn mbsync(port: u16, dir: &Path, local: &Path) -> Duration {
    std::fs::create_dir_all(local).expect("local maildir");
    let rc = dir.join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount stack\nHost 127.0.0.1\nPort {port}\nUser {SHARED_MAILBOX}\nPass {PASSWORD}\n\
             SSLType None\nAuthMechs LOGIN\n\nIMAPStore remote\nAccount stack\n\n\
             MaildirStore local\nPath {local}/\nInbox {local}/INBOX\n\n\
             Channel inbox\nFar :remote:INBOX\nNear :local:INBOX\nSync Pull\nCreate Near\n\
             Expunge None\nSyncState *\n",
            local = local.display()
        ),
    )
    .expect("mbsyncrc");
    let began = Instant::now();
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(&rc)
        .arg("-q")
        .arg("inbox")
        .output()
        .expect("run mbsync (apt-get install isync)");
    let took = began.elapsed();
    assert!(
        out.status.success(),
        "mbsync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn count_files(dir: &Path) -> usize {
    ["cur", "new"]
        .iter()
        .filter_map(|d| std::fs::read_dir(dir.join(d)).ok())
        .map(|d| d.count())
        .sum()
}

/// User + system CPU time of this process so far, all threads (Dovecot runs in its own).
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = support::env_number("DOORSTROOM_BACKFILL_MAILS", 10_000);
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let mut stack = MailStack::start();
    let dir = tempfile::tempdir().expect("temp dir");

    let began = Instant::now();
    let mails = inbox(total);
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let mut imap = stack.session(SHARED_MAILBOX).await;
    for raw in &mails {
        imap.append("INBOX", &[], raw).await.expect("append");
    }
    imap.logout().await;
    drop(mails);
    println!(
        "backfill: {total} mails ({:.1} MB) APPENDed in {:.1?}",
        bytes as f64 / 1e6,
        began.elapsed()
    );

    let warm = mbsync(stack.imap_port(), dir.path(), &dir.path().join("warm"));
    let local = dir.path().join("mbsync");
    let mbsync_took = mbsync(stack.imap_port(), dir.path(), &local);
    let downloaded = count_files(&local.join("INBOX"));
    assert_eq!(downloaded, total, "mbsync downloaded every mail");
    println!("  mbsync download: {mbsync_took:.2?} (warm-up run {warm:.2?})");

    stack.stop_smtp();
    let backend = match std::env::var("DOORSTROOM_BACKFILL_DB").as_deref() {
        Ok("postgres") => Db::Postgres,
        _ => Db::Sqlite,
    };
    let config = setup::imap_config(&stack, backend, &dir);
    let cpu_before = cpu_time();
    let began = Instant::now();
    let daemon = Daemon::start(config);
    sqlx::any::install_default_drivers();
    let url = db::url(backend, &dir);
    let db = loop {
        if let Ok(db) = sqlx::AnyPool::connect(&url).await {
            break db;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut last_report = Instant::now();
    let took = loop {
        let done: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM mails WHERE state <> 'stored' AND moved = 1")
                .fetch_one(&db)
                .await
                .ok()
                .and_then(|row| row.try_get("n").ok())
                .unwrap_or(0);
        if done as usize >= total {
            break began.elapsed();
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  … {done} of {total} after {:.0?}", began.elapsed());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let cpu = cpu_time() - cpu_before;
    daemon.stop().await;
    let kinds = sqlx::query("SELECT kind, COUNT(*) AS n FROM mails GROUP BY kind ORDER BY kind")
        .fetch_all(&db)
        .await
        .unwrap_or_default();
    let kinds: Vec<String> = kinds
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.try_get::<Option<String>, _>("kind")
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                r.try_get::<i64, _>("n").unwrap_or(0)
            )
        })
        .collect();
    let cases: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cases")
        .fetch_one(&db)
        .await
        .ok()
        .and_then(|r| r.try_get("n").ok())
        .unwrap_or(0);
    println!(
        "  doorstroom backfill (fetch + parse + triage + store + move): {took:.2?} = {:.0} mails/s",
        total as f64 / took.as_secs_f64()
    );
    println!("    decided: {}; {cases} cases", kinds.join(", "));
    println!(
        "    CPU time of the process meanwhile (daemon, SQLite, this bench's polling): {:.2} s = {:.2} cores",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() / took.as_secs_f64()
    );
    println!(
        "  ratio doorstroom / mbsync: {:.2}×   [target ≤ 1.3×]",
        took.as_secs_f64() / mbsync_took.as_secs_f64()
    );
}
