//! The daemon binary at rest on the real mail stack (Dovecot + Postfix; needs root):
//!
//! - start-up time to ready: from spawning `doorstroom run` until `READY=1` arrives on a
//!   `NOTIFY_SOCKET` this bench creates (the sd_notify protocol), and until the `ready` log line;
//! - then, after a settling period, over an idle period of `DOORSTROOM_IDLE_SECS` (default 120;
//!   the figure is 600): resident memory (VmRSS, and its peak VmHWM) from
//!   `/proc/PID/status`, split at the end into anonymous memory (heap, stacks: RssAnon) and pages
//!   of mapped files (the binary's code, libraries: RssFile), CPU time (utime + stime from `/proc/PID/stat`), and wake-ups (voluntary
//!   context switches summed over every thread in `/proc/PID/task/*/status`).
//!
//! The mailbox holds a few decided mails, so the daemon has done real work before it rests. The
//! config is the integration tests' (IMAP, `resync_interval = "30s"`; production's default is 5m,
//! so the resyncs counted here are ten times as frequent as in production).
//!
//! `cargo bench --bench idle` (`DOORSTROOM_IDLE_SECS=600` for the 10-minute figure).

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

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use db::Db;
use mailstack::{MailStack, SHARED_MAILBOX};

/// One look at the process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kb: u64,
    hwm_kb: u64,
    /// VmRSS split: heap and stacks, and pages of mapped files (the binary's code, libraries).
    anon_kb: u64,
    file_kb: u64,
    cpu_ticks: u64,
    voluntary: u64,
    involuntary: u64,
    threads: usize,
}

fn status_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime
    // are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (mut voluntary, mut involuntary, mut threads) = (0, 0, 0);
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            voluntary += status_field(&text, "voluntary_ctxt_switches:");
            involuntary += status_field(&text, "nonvoluntary_ctxt_switches:");
            threads += 1;
        }
    }
    Sample {
        rss_kb: status_field(&status, "VmRSS:"),
        hwm_kb: status_field(&status, "VmHWM:"),
        anon_kb: status_field(&status, "RssAnon:"),
        file_kb: status_field(&status, "RssFile:"),
        cpu_ticks: tick(11) + tick(12),
        voluntary,
        involuntary,
        threads,
    }
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let idle_secs: u64 = support::env_number("DOORSTROOM_IDLE_SECS", 120);
    let settle_secs: u64 = support::env_number("DOORSTROOM_IDLE_SETTLE_SECS", 10);
    let stack = MailStack::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir);
    let config = dir.path().join("doorstroom.toml");
    std::fs::write(&config, text).expect("config");

    let mut imap = stack.session(SHARED_MAILBOX).await;
    for n in 0..3 {
        let raw = format!(
            "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {SHARED_MAILBOX}\r\n\
             Subject: Aanmelding versnelde doorstroom - Jan Peeters {n}\r\n\
             Message-ID: <idle-{n}@caw-antwerpen.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n\
             Beste,\r\n\r\nHierbij meld ik Jan Peeters {n} aan voor versnelde doorstroom.\r\n"
        );
        imap.append("INBOX", &[], raw.as_bytes())
            .await
            .expect("append");
    }
    imap.logout().await;

    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("socket timeout");
    let spawned = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("DOORSTROOM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start target/release/doorstroom");
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr");
    let (log_tx, log_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut ready_at = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if ready_at.is_none() && line.contains(": ready") {
                ready_at = Some(Instant::now());
                let _ = log_tx.send(ready_at);
            }
        }
    });
    let mut buf = [0u8; 512];
    let notified = loop {
        match socket.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("READY=1") => {
                break Some(spawned.elapsed())
            }
            Ok(_) => continue,
            Err(e) => {
                eprintln!("no READY=1 within 30 s: {e}");
                break None;
            }
        }
    };
    let logged = log_rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .map(|at| at - spawned);

    tokio::time::sleep(Duration::from_secs(settle_secs)).await;
    let before = sample(pid);
    let began = Instant::now();
    let mut peak_rss = before.rss_kb;
    while began.elapsed() < Duration::from_secs(idle_secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_rss = peak_rss.max(sample(pid).rss_kb);
    }
    let after = sample(pid);
    let idle = began.elapsed();
    // SIGTERM: a clean shutdown, as systemd stops it.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let _ = reader.join();

    let hz = ticks_per_second();
    let cpu = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / hz;
    println!("idle daemon (target/release/doorstroom run, IMAP on the stack, SQLite)");
    match notified {
        Some(t) => println!("  start-up to READY=1 (sd_notify): {t:.1?}"),
        None => println!("  start-up to READY=1 (sd_notify): not received"),
    }
    match logged {
        Some(t) => println!("  start-up to the `ready` log line: {t:.1?}"),
        None => println!("  start-up to the `ready` log line: not seen"),
    }
    println!(
        "  over {:.0} s idle (after {settle_secs} s settling): RSS {:.1} MB at start, {:.1} MB at end, \
         {:.1} MB peak sampled each second (VmHWM {:.1} MB)   [target < 20 MB]",
        idle.as_secs_f64(),
        before.rss_kb as f64 / 1024.0,
        after.rss_kb as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        after.hwm_kb as f64 / 1024.0
    );
    println!(
        "    of which at the end: {:.1} MB anonymous (heap, stacks), {:.1} MB of mapped files (code)",
        after.anon_kb as f64 / 1024.0,
        after.file_kb as f64 / 1024.0
    );
    println!(
        "  CPU {cpu:.2} s ({:.3} % of one core); {} voluntary + {} involuntary context switches \
         over {} threads = {:.2} wake-ups/s",
        100.0 * cpu / idle.as_secs_f64(),
        after.voluntary.saturating_sub(before.voluntary),
        after.involuntary.saturating_sub(before.involuntary),
        after.threads,
        (after.voluntary.saturating_sub(before.voluntary)) as f64 / idle.as_secs_f64()
    );
}
