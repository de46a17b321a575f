//! A suspect mail is decided in a child process before the daemon decides it itself.
//!
//! A mail that was being decided on its own, or parsed, when the daemon stopped is a suspect
//! (see `pipeline::decide_one_by_one` and `watch::PARSING`): either the
//! daemon was stopped from outside (SIGKILL, an out-of-memory kill, a power cut), or the mail
//! itself killed it (a stack overflow or an abort in a parser, which no `catch_unwind` holds).
//! Counting restarts cannot tell the two apart: a daemon killed twice from outside while it
//! happened to decide the same innocent mail would set that mail aside as poison. So the
//! daemon first hands a suspect to a child process — this binary's hidden `probe-mail`
//! command, with the same config file — which parses it within `[limits]` and triages it
//! against an empty register, writing nothing. If the child finishes, the mail is innocent
//! and decided as usual; if it dies of the mail (an abort, a crash, a panic, more than its time),
//! the mail is quarantined at once with what the child died of, and intake goes on. The child
//! needs nothing the hardened unit forbids: only fork and exec of the same binary.
//!
//! Only the daemon binary has a probe (`Context::probe_binary`): a library caller (the tests
//! that run intake in-process, `ingest`) falls back on the attempt counter alone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::config::Config;
use crate::store::MailRecord;
use crate::understand;

/// The hidden command the child runs.
pub const COMMAND: &str = "probe-mail";

/// The child's exit code when it could not judge the mail (its config does not load, stdin
/// cannot be read): no verdict on the mail.
const NO_VERDICT: u8 = 3;

/// How long the child may take over one mail: far above what `[limits]` lets a mail cost.
const TIME: Duration = Duration::from_secs(120);

/// What the child made of a suspect mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It was parsed and triaged: whatever stopped the daemon, it was not this mail.
    Innocent,
    /// Deciding it killed the child: the reason, for the quarantine and the log.
    Poison(String),
    /// The child could not judge it (it did not start, or its config did not load).
    Unknown(String),
}

/// How to start the child: this binary and the config file it runs with.
#[derive(Debug, Clone)]
pub struct Probe {
    exe: PathBuf,
    config: PathBuf,
}

impl Probe {
    /// A probe running `exe` (the `doorstroom` binary) with the config file `config`.
    pub fn new(exe: &Path, config: &Path) -> Probe {
        Probe {
            exe: exe.to_path_buf(),
            config: config.to_path_buf(),
        }
    }

    /// Hand `raw` to a child process and judge it by how the child ends.
    pub async fn judge(&self, raw: &[u8]) -> Verdict {
        let mut command = tokio::process::Command::new(&self.exe);
        command
            .arg("--config")
            .arg(&self.config)
            .arg(COMMAND)
            .env("DOORSTROOM_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return Verdict::Unknown(format!(
                    "cannot start {} {COMMAND}: {e}",
                    self.exe.display()
                ))
            }
        };
        let mut stdin = child.stdin.take();
        let raw = raw.to_vec();
        // Fed from its own task: a child that dies half-way closes the pipe, which only ends
        // the feeding.
        let feed = tokio::spawn(async move {
            if let Some(stdin) = stdin.as_mut() {
                let _ = stdin.write_all(&raw).await;
                let _ = stdin.shutdown().await;
            }
        });
        let ended = tokio::time::timeout(TIME, child.wait_with_output()).await;
        feed.abort();
        let output = match ended {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => return Verdict::Unknown(format!("cannot wait for the probe: {e}")),
            Err(_) => {
                return Verdict::Poison(format!(
                    "deciding it in a separate process took more than {} s",
                    TIME.as_secs()
                ))
            }
        };
        let said = last_line(&output.stderr);
        let status = output.status;
        if status.success() {
            return Verdict::Innocent;
        }
        if status.code() == Some(i32::from(NO_VERDICT)) {
            return Verdict::Unknown(format!("the probe could not judge the mail: {said}"));
        }
        use std::os::unix::process::ExitStatusExt;
        // Stopped from outside (a shutdown that signals the whole service, an admin's kill,
        // the kernel's out-of-memory killer, a seccomp filter): that says nothing about the
        // mail, whose own memory `[limits]` bounds. The attempt counter then decides.
        if let Some(
            signal @ (libc::SIGTERM | libc::SIGINT | libc::SIGHUP | libc::SIGKILL | libc::SIGSYS),
        ) = status.signal()
        {
            return Verdict::Unknown(format!(
                "the probe was stopped from outside (signal {signal})"
            ));
        }
        let how = match (status.signal(), status.code()) {
            (Some(signal), _) => format!("was killed by signal {signal} ({})", signal_name(signal)),
            (None, Some(101)) => "panicked".to_string(),
            (None, Some(code)) => format!("exited with code {code}"),
            (None, None) => "ended abnormally".to_string(),
        };
        Verdict::Poison(if said.is_empty() {
            format!("deciding it in a separate process {how}")
        } else {
            format!("deciding it in a separate process {how}: {said}")
        })
    }
}

/// The child's side (`doorstroom probe-mail`): read one mail on stdin, parse it within the
/// config's limits and triage it against an empty register, as intake would; write nothing.
/// Exit 0 when that finished; [`NO_VERDICT`] when it could not be tried.
pub fn child(config: Result<Config, String>) -> ExitCode {
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(NO_VERDICT);
        }
    };
    let mut raw = Vec::new();
    // One byte over the limit is enough to parse it as intake does (headers only).
    let cap = config.limits.mail_bytes as u64 + 1;
    if let Err(e) = std::io::stdin().take(cap).read_to_end(&mut raw) {
        eprintln!("cannot read the mail on stdin: {e}");
        return ExitCode::from(NO_VERDICT);
    }
    abort_if_told_parsing(&raw);
    let mut parsed = understand::parse::parse_within(&raw, &config.limits);
    parsed.hash_attachments();
    abort_if_told(parsed.message_id.as_ref().map(|id| id.as_str()));
    let decision = understand::classify::decide(parsed, &understand::Register::default(), &config);
    drop(decision);
    ExitCode::SUCCESS
}

/// Tests only (debug builds): abort the process, as a stack overflow would, while deciding the
/// mail whose Message-ID is in `DOORSTROOM_TEST_ABORT_DECIDING`, so that a test can show that a
/// poison mail does not stop intake across restarts. The child of a [`Probe`]
/// runs the same hook. Release builds have no such hook.
pub(super) fn abort_if_told(message_id: Option<&str>) {
    #[cfg(debug_assertions)]
    if let (Ok(poison), Some(id)) = (std::env::var("DOORSTROOM_TEST_ABORT_DECIDING"), message_id) {
        if !poison.is_empty() && id.contains(&poison) {
            tracing::error!(
                message_id = id,
                "aborting while deciding (DOORSTROOM_TEST_ABORT_DECIDING)"
            );
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = message_id;
}

/// Tests only (debug builds): abort the process, as a stack overflow in the parser would, while
/// reading a mail whose bytes hold `DOORSTROOM_TEST_ABORT_PARSING` (before it is stored). The
/// child of a [`Probe`] runs the same hook.
pub(super) fn abort_if_told_parsing(raw: &[u8]) {
    #[cfg(debug_assertions)]
    if let Ok(poison) = std::env::var("DOORSTROOM_TEST_ABORT_PARSING") {
        if !poison.is_empty() && raw.windows(poison.len()).any(|w| w == poison.as_bytes()) {
            tracing::error!("aborting while parsing (DOORSTROOM_TEST_ABORT_PARSING)");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = raw;
}

/// Tests only (debug builds): `DOORSTROOM_TEST_KILL_DECIDING=<id>:<n>` kills the daemon with
/// SIGKILL, as an admin or a power cut would, while it decides that mail begun fewer than `n`
/// times before: a mail innocent of the stops. The probe's child never runs this hook.
pub(super) fn killed_if_told(mail: &MailRecord) {
    #[cfg(debug_assertions)]
    if let (Ok(told), Some(id)) = (
        std::env::var("DOORSTROOM_TEST_KILL_DECIDING"),
        mail.message_id.as_deref(),
    ) {
        if let Some((fragment, times)) = told.rsplit_once(':') {
            let times: i64 = times.parse().unwrap_or(0);
            if !fragment.is_empty() && id.contains(fragment) && mail.attempts < times {
                tracing::error!(
                    mail = mail.id,
                    "killed while deciding (DOORSTROOM_TEST_KILL_DECIDING)"
                );
                // SAFETY: kill(2) on this process; nothing runs after it.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = mail;
}

/// The last line the child wrote on stderr, cut short: a panic message or an allocator's
/// complaint, for the reason.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(300).collect()
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT: an abort, such as a stack overflow",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        _ => "a fatal signal",
    }
}
