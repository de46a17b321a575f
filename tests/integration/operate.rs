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

/// Run the binary in `cwd`: (exit code, stdout, stderr).
fn doorstroom_in(cwd: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .current_dir(cwd)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run doorstroom");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `config` with `[templates] dir` set to `dir`.
fn with_template_dir(config: &Path, dir: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let text = text.replacen(
        "[templates]\n",
        &format!("[templates]\ndir = \"{}\"\n", dir.display()),
        1,
    );
    std::fs::write(config, text).unwrap();
}

#[test]
fn without_a_template_folder_the_built_in_templates_are_used_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, out, err) = doorstroom_in(elsewhere.path(), &config, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the config is valid"), "{out}");
    assert!(out.contains(" mail kinds, built in;"), "{out}");
    let (code, out, err) = doorstroom_in(
        elsewhere.path(),
        &config,
        &["templates", "preview", "referral_ack"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("===== referral_ack.txt =====\nOnderwerp: "),
        "{out}"
    );
    assert!(
        out.contains("===== referral_ack.html =====\n<!DOCTYPE html>"),
        "{out}"
    );
}

#[test]
fn an_override_folder_holding_one_edited_template_changes_only_that_mail() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let exported = dir.path().join("exported");
    let (code, _, err) = doorstroom_in(
        dir.path(),
        &config,
        &["templates", "export", exported.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(exported.join("referral_ack.txt.j2").is_file());
    assert!(exported.join("_base.html.j2").is_file());
    // The admin keeps only the file they change.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let shipped = std::fs::read_to_string(exported.join("reply_ack.txt.j2")).unwrap();
    let (subject, rest) = shipped.split_once('\n').unwrap();
    std::fs::write(
        mine.join("reply_ack.txt.j2"),
        format!("{subject}\nHet team van Woonhaven las uw bericht.\n{rest}"),
    )
    .unwrap();
    with_template_dir(&config, &mine);

    let (code, out, err) = doorstroom_in(dir.path(), &config, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 replaced from"), "{out}");
    assert!(out.contains("reply_ack.txt.j2"), "{out}");
    let (_, changed, _) =
        doorstroom_in(dir.path(), &config, &["templates", "preview", "reply_ack"]);
    assert!(
        changed.contains("Het team van Woonhaven las uw bericht."),
        "{changed}"
    );
    let (_, other, _) = doorstroom_in(
        dir.path(),
        &config,
        &["templates", "preview", "referral_ack"],
    );
    assert!(!other.contains("Het team van Woonhaven"), "{other}");
    assert!(other.contains("Onderwerp: "), "{other}");

    // Exporting again into the folder never overwrites an edit.
    let (code, _, err) = doorstroom_in(
        dir.path(),
        &config,
        &["templates", "export", exported.to_str().unwrap()],
    );
    assert_ne!(code, 0);
    assert!(err.contains("export into an empty folder"), "{err}");
}

#[test]
fn a_typo_in_an_override_template_fails_check_without_saying_the_config_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(
        mine.join("reply_ack.txt.j2"),
        "Onderwerp: Antwoord ontvangen\n\nBeste,\n{{ case.dossiernummer }}\n",
    )
    .unwrap();
    with_template_dir(&config, &mine);
    let (code, out, err) = doorstroom_in(dir.path(), &config, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.contains("valid"), "{out}");
    assert!(err.contains("reply_ack"), "{err}");
}

#[test]
fn print_service_names_the_config_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let (code, out, _) = doorstroom_in(dir.path(), &config, &["print-service"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("run --config {}", config.display())),
        "{out}"
    );
    assert!(!out.contains("/etc/doorstroom/doorstroom.toml"), "{out}");
}

/// Poll `doorstroom status` until its exit code is `want` (at most 30 s); returns its stdout.
fn status_until(dir: &Path, config: &Path, want: i32) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (code, out, err) = doorstroom_in(dir, config, &["status"]);
        if code == want {
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never exited {want}: {out}{err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn status_says_not_running_once_the_daemon_is_killed_or_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let (code, out, _) = doorstroom_in(dir.path(), &config, &["status"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT RUNNING: never started"), "{out}");

    for stop in ["SIGKILL", "SIGTERM"] {
        let mut daemon = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
            .current_dir(dir.path())
            .arg("--config")
            .arg(&config)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = status_until(dir.path(), &config, 0);
        assert!(
            out.contains(&format!("daemon          running (pid {} on", daemon.id())),
            "{stop}: {out}"
        );
        if stop == "SIGKILL" {
            daemon.kill().unwrap();
        } else {
            // SAFETY: signalling our own child by its pid.
            assert_eq!(unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) }, 0);
        }
        daemon.wait().unwrap();
        // Right away, without waiting for its leases to expire.
        let (code, out, _) = doorstroom_in(dir.path(), &config, &["status"]);
        assert_eq!(code, 1, "{stop}: {out}");
        assert!(
            out.contains("daemon          NOT RUNNING since "),
            "{stop}: {out}"
        );
        assert!(out.contains("not watching"), "{stop}: {out}");
        let (code, json, _) = doorstroom_in(dir.path(), &config, &["status", "--json"]);
        assert_eq!(code, 1, "{stop}: {json}");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["running"], false, "{stop}: {json}");
        assert_eq!(json["daemon"]["state"], "not_running", "{stop}: {json}");
    }
}

#[test]
fn check_connect_changes_nothing_and_says_when_the_database_needs_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    let db = dir.path().join("doorstroom.db");
    let (code, out, err) = doorstroom_in(dir.path(), &config, &["check", "--connect"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("does not exist yet"), "{out}");
    assert!(!db.exists(), "check --connect created the database");

    // Any other command migrates it; check then finds it current.
    let _ = doorstroom_in(dir.path(), &config, &["status"]);
    let (code, out, _) = doorstroom_in(dir.path(), &config, &["check", "--connect"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("up to date"), "{out}");

    // A database one migration behind this build: said, and left as it is.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("sqlite://{}", db.display());
    let last = |url: String| async move {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let v: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
        (pool, v)
    };
    let (pool, newest) = rt.block_on(last(url.clone()));
    rt.block_on(async {
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?")
            .bind(newest)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let (pool, behind) = rt.block_on(last(url.clone()));
    rt.block_on(pool.close());
    let (code, out, _) = doorstroom_in(dir.path(), &config, &["check", "--connect"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "needs migrating; the daemon applies 1 migration(s) at its next start: {newest:04}"
        )),
        "{out}"
    );
    let (pool, still) = rt.block_on(last(url));
    rt.block_on(pool.close());
    assert_eq!(still, behind, "check --connect migrated the database");
}

#[test]
fn a_spreadsheet_saved_by_belgian_excel_is_imported_and_the_report_opens_in_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(&dir);
    // Excel "CSV UTF-8" with Belgian settings: BOM, `;`, day-first dates, CRLF.
    let csv = dir.path().join("dossiers.csv");
    std::fs::write(
        &csv,
        "\u{feff}case_ref;partner;candidate;cir;social_assistant;lease_start;counsellor_name;counsellor_email;counsellor_phone\r\n\
         ;caw-antwerpen;Jan Peeters;;;01/03/2026;Lies;lies@caw-antwerpen.example;\r\n",
    )
    .unwrap();
    let (code, out, err) = doorstroom_in(
        dir.path(),
        &config,
        &["import-cases", csv.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("read as CSV, `;` between fields, UTF-8 with BOM, dates dd/mm/yyyy"),
        "{out}"
    );
    assert!(out.contains("imported 1 case(s)"), "{out}");
    // A refused file says how it was read and why.
    let bad = dir.path().join("fout.csv");
    std::fs::write(&bad, "dossier;partner\r\nx;y\r\n").unwrap();
    let (code, _, err) = doorstroom_in(
        dir.path(),
        &config,
        &["import-cases", bad.to_str().unwrap()],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("read with `;` between fields it has 2 column(s)"),
        "{err}"
    );

    let reports = dir.path().join("rapport");
    let (code, out, err) = doorstroom_in(
        dir.path(),
        &config,
        &[
            "report",
            "--year",
            "2026",
            "--out",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let table = std::fs::read(reports.join("registratie-2026.csv")).unwrap();
    assert!(
        table.starts_with(b"\xEF\xBB\xBFpartner;year;referred;"),
        "{}",
        String::from_utf8_lossy(&table)
    );
    let text = String::from_utf8(table).unwrap();
    assert!(text.contains("\r\ncaw-antwerpen;2026;1;1;"), "{text}");
    // stdout holds one table; the plain style keeps the machine form.
    let (code, out, _) = doorstroom_in(
        dir.path(),
        &config,
        &["report", "--year", "2026", "--csv-style", "plain"],
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("partner,year,referred,"), "{out}");
    let (code, out, err) = doorstroom_in(
        dir.path(),
        &config,
        &[
            "report",
            "--year",
            "2026",
            "--format",
            "html",
            "--out",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("registratie-2026.html"), "{out}");
}
