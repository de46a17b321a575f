//! Installing it as an admin does: the systemd unit `print-service` prints (and the Debian
//! package ships), secrets as systemd credentials, backup and restore.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::db::{self, Db};
use crate::setup;

/// Run the binary in `dir` with extra environment: (exit code, stdout, stderr).
fn doorstroom(dir: &Path, env: &[(&str, &Path)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doorstroom"));
    cmd.current_dir(dir)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("DOORSTROOM_CONFIG")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run doorstroom");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A local config whose SMTP password is the systemd credential `smtp-password`.
fn config_with_credential(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let root = dir.path().display();
    let mailbox = format!("[mailbox]\nkind = \"maildir\"\npath = \"{root}/mail\"\n");
    let smtp = "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"plain\"\nuser = \"doorstroom\"\npassword_credential = \"smtp-password\"\n";
    let text = setup::config_text(
        &mailbox,
        smtp,
        &db::url(Db::Sqlite, dir),
        &db::unique_org("install"),
    );
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_packaged_unit_is_what_print_service_prints_for_the_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let packaged = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/doorstroom.service"
    ))
    .unwrap();
    // The package is built where no config exists yet: the unit without credentials.
    let missing = "/etc/doorstroom/doorstroom.toml";
    assert!(
        !Path::new(missing).exists(),
        "this test needs a machine without {missing}"
    );
    let (code, out, err) = doorstroom(dir.path(), &[], &["--config", missing, "print-service"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end(), packaged.trim_end());
    assert!(err.contains("no LoadCredential= lines"), "{err}");
    for hardening in [
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "PrivateUsers=yes",
        "RemoveIPC=yes",
        "PrivateMounts=yes",
        "ExecStart=/usr/bin/doorstroom run --config /etc/doorstroom/doorstroom.toml",
    ] {
        assert!(packaged.contains(hardening), "{hardening}");
    }
}

#[test]
fn print_service_loads_each_credential_the_config_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_credential(&dir);
    let c = config.to_str().unwrap();
    let (code, out, err) = doorstroom(dir.path(), &[], &["--config", c, "print-service"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("LoadCredential="))
        .collect();
    assert_eq!(lines, ["LoadCredential=smtp-password"], "{out}");
    // In [Service], before the hardening.
    let at = out.find("\nLoadCredential=").unwrap();
    assert!(out.find("[Service]").unwrap() < at && at < out.find("NoNewPrivileges").unwrap());
    // A config that does not validate: no unit (its credentials are not known).
    std::fs::write(&config, "[organisation]\nnaam = 1\n").unwrap();
    let (code, out, _) = doorstroom(dir.path(), &[], &["--config", c, "print-service"]);
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn check_reads_a_credential_from_the_credentials_directory_and_stops_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_credential(&dir);
    let c = config.to_str().unwrap();
    let creds = tempfile::tempdir().unwrap();
    let env = [("CREDENTIALS_DIRECTORY", creds.path())];
    // The unit lacks the LoadCredential= line: ExecStartPre stops the start and says so.
    let (code, out, err) = doorstroom(dir.path(), &env, &["--config", c, "check"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.contains("valid"), "{out}");
    assert!(err.contains("SMTP password"), "{err}");
    assert!(err.contains("LoadCredential=smtp-password"), "{err}");
    std::fs::write(creds.path().join("smtp-password"), "s3cret\n").unwrap();
    let (code, out, err) = doorstroom(dir.path(), &env, &["--config", c, "check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the config is valid"), "{out}");
    assert!(
        out.contains("SMTP password: systemd credential `smtp-password`"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "{out}");
}

/// `config` with its database at `db` instead.
fn with_database(config: &Path, db: &Path, to: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let start = text.find("[database]\nurl = \"").unwrap() + "[database]\nurl = \"".len();
    let end = start + text[start..].find('"').unwrap();
    let text = format!(
        "{}sqlite://{}{}",
        &text[..start],
        db.display(),
        &text[end..]
    );
    std::fs::write(to, text).unwrap();
}

fn cases_json(dir: &Path, config: &str) -> serde_json::Value {
    let (code, out, err) = doorstroom(dir, &[], &["--config", config, "cases", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_backup_taken_while_the_daemon_runs_restores_elsewhere_and_restore_waits_for_the_daemon_to_stop(
) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::operate::local_config(&dir);
    let c = config.to_str().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail");
    let (code, _, err) = doorstroom(dir.path(), &[], &["--config", c, "ingest", examples]);
    assert_eq!(code, 0, "{err}");
    let cases = cases_json(dir.path(), c);
    assert!(!cases.as_array().unwrap().is_empty(), "{cases}");

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .current_dir(dir.path())
        .args(["--config", c, "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while doorstroom(dir.path(), &[], &["--config", c, "status"]).0 != 0 {
        assert!(std::time::Instant::now() < deadline, "the daemon never ran");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let backup = dir.path().join("backup.db");
    let b = backup.to_str().unwrap();
    let (code, out, err) = doorstroom(dir.path(), &[], &["--config", c, "backup", b]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backup of"), "{out}");
    // Never over a file.
    let (code, _, err) = doorstroom(dir.path(), &[], &["--config", c, "backup", b]);
    assert_eq!(code, 1);
    assert!(err.contains("never overwrites"), "{err}");
    // Not under a running daemon.
    let (code, _, err) = doorstroom(dir.path(), &[], &["--config", c, "restore", b]);
    assert_eq!(code, 1);
    assert!(err.contains("the daemon is running"), "{err}");
    assert!(err.contains("nothing was replaced"), "{err}");
    daemon.kill().unwrap();
    daemon.wait().unwrap();

    // On another machine (a fresh folder): the same cases.
    let other = tempfile::tempdir().unwrap();
    let moved = other.path().join("doorstroom.toml");
    with_database(&config, &other.path().join("var/doorstroom.db"), &moved);
    let m = moved.to_str().unwrap();
    let (code, out, err) = doorstroom(other.path(), &[], &["--config", m, "restore", b]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checked and migrated"), "{out}");
    assert_eq!(cases_json(other.path(), m), cases);

    // Over the killed daemon's database: restored, and the one replaced is kept.
    let (code, out, err) = doorstroom(dir.path(), &[], &["--config", c, "restore", b]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the database it replaced is kept as"), "{out}");
    assert_eq!(cases_json(dir.path(), c), cases);
}

#[test]
fn a_file_that_is_no_database_is_not_restored_and_nothing_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::operate::local_config(&dir);
    let c = config.to_str().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail");
    assert_eq!(
        doorstroom(dir.path(), &[], &["--config", c, "ingest", examples]).0,
        0
    );
    let cases = cases_json(dir.path(), c);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    let (code, out, err) = doorstroom(
        dir.path(),
        &[],
        &["--config", c, "restore", junk.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("is not a usable backup; nothing was replaced"),
        "{err}"
    );
    assert_eq!(cases_json(dir.path(), c), cases);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().contains("restoring")),
        "{left:?}"
    );
}

#[test]
fn backup_of_a_postgresql_database_says_to_use_pg_dump_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::operate::local_config(&dir);
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("[database]\nurl = \"").unwrap();
    let text = format!(
        "{}[database]\nurl = \"postgres://doorstroom@127.0.0.1:1/doorstroom\"\n",
        &text[..start]
    );
    std::fs::write(&config, text).unwrap();
    let c = config.to_str().unwrap();
    for command in ["backup", "restore"] {
        let (code, _, err) = doorstroom(dir.path(), &[], &["--config", c, command, "x.db"]);
        assert_eq!(code, 1, "{command}");
        assert!(err.contains("pg_dump"), "{command}: {err}");
        assert!(!err.contains("BackupError"), "{err}");
    }
}

#[test]
fn the_metrics_endpoint_is_off_by_default_and_answers_prometheus_text_when_configured() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let config = crate::operate::local_config(&dir);
    let c = config.to_str().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail");
    assert_eq!(
        doorstroom(dir.path(), &[], &["--config", c, "ingest", examples]).0,
        0
    );
    // A free port, given back for the daemon to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&config, text).unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .current_dir(dir.path())
        .args(["--config", c, "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let response = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            break out;
        }
        assert!(std::time::Instant::now() < deadline, "no metrics endpoint");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("text/plain; version=0.0.4"), "{response}");
    assert!(
        response.contains("doorstroom_mails_total{kind=\"referral\"} 1"),
        "{response}"
    );
    assert!(
        response.contains("doorstroom_mails_quarantined "),
        "{response}"
    );
    // Off by default: the example config names no [metrics].
    let example = include_str!("../../config/doorstroom.example.toml");
    assert!(!example.lines().any(|l| l.trim() == "[metrics]"));
}
