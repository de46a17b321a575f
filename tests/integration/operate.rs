//! Operating an installation as an admin does: the binary run as a command, its output piped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::db::{self, Db};
use crate::setup;

/// A config on a Maildir, the file transport and SQLite, all inside `dir`.
pub fn local_config(dir: &tempfile::TempDir) -> PathBuf {
    let root = dir.path().display();
    let mailbox = format!(
        "[mailbox]\nkind = \"maildir\"\npath = \"{root}/mail\"\nresync_interval = \"30s\"\n"
    );
    let smtp = format!("[smtp]\ntransport = \"file\"\npath = \"{root}/sent\"\n");
    let text = setup::config_text(
        &mailbox,
        &smtp,
        &db::url(Db::Sqlite, dir),
        &db::unique_org("operate"),
    );
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Run the binary with `args`, its stdout a pipe whose reading end is already closed (as after
/// `| head -1` has read its line): returns the exit code and stderr.
fn into_closed_pipe(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run doorstroom");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_listing_command_piped_into_head_ends_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    for args in [
        &["outbox"][..],
        &["outbox", "--json"],
        &["cases"],
        &["cases", "--json"],
        &["mails"],
        &["mails", "--quarantined"],
        &["schedule"],
        &["schedule", "--json"],
        &["purge", "--dry-run"],
        &["agenda", "--month", "2026-11", "--dry-run"],
        &["report", "--year", "2026"],
        &["check"],
        &["print-service"],
        &["--help"],
    ] {
        let (code, err) = into_closed_pipe(&config, args);
        assert_eq!(code, Some(0), "doorstroom {args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "doorstroom {args:?} was not quiet: {err}"
        );
    }
}
