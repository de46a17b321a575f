//! `doorstroom check`: every config mistake at once, and `--connect` trying the real servers.

use std::process::Command;

use crate::db::Db;
use crate::mailstack::{MailStack, PASSWORD};
use crate::setup;

fn check(config: &std::path::Path, connect: bool) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doorstroom"));
    cmd.args(["check", "--config"]).arg(config);
    if connect {
        cmd.arg("--connect");
    }
    let out = cmd.output().expect("run doorstroom check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_config_is_valid_and_its_templates_render() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/doorstroom.example.toml"
    );
    let (ok, out, err) = check(std::path::Path::new(example), false);
    assert!(ok, "{out}{err}");
    assert!(out.contains("the config is valid"), "{out}");
    assert!(out.contains("templates"), "{out}");
}

#[test]
fn a_config_with_three_mistakes_reports_all_three_with_their_lines() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/doorstroom.example.toml"
    ))
    .unwrap();
    let broken = example
        .replacen(
            "time_zone = \"Europe/Brussels\"",
            "time_zone = \"Europe/Brusels\"",
            1,
        )
        .replacen("monthly_quota = 2", "quotum = 2", 1)
        .replacen("agenda_time = \"09:00\"", "agenda_time = \"9u\"", 1);
    let line_of = |needle: &str| broken.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, &broken).unwrap();
    let (ok, out, err) = check(&path, false);
    assert!(!ok, "{out}");
    assert!(err.contains("3 errors"), "{err}");
    assert!(
        err.contains(&format!("line {}:", line_of("time_zone"))),
        "{err}"
    );
    assert!(
        err.contains(&format!("line {}:", line_of("quotum"))),
        "{err}"
    );
    assert!(err.contains("did you mean `monthly_quota`?"), "{err}");
    assert!(
        err.contains(&format!("line {}:", line_of("agenda_time"))),
        "{err}"
    );
}

#[test]
fn check_connect_signs_in_to_the_real_servers_and_names_the_one_that_fails() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir);
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    let (ok, out, err) = check(&path, true);
    assert!(ok, "{out}{err}");
    assert!(out.contains("mailbox        ok: signed in"), "{out}");
    assert!(out.contains("outgoing mail  ok: EHLO"), "{out}");
    assert!(out.contains("database       ok"), "{out}");

    std::fs::write(
        &path,
        text.replace(
            &format!("password = \"{PASSWORD}\""),
            "password = \"wrong\"",
        ),
    )
    .unwrap();
    let (ok, out, _) = check(&path, true);
    assert!(!ok, "a wrong password fails the check");
    assert!(out.contains("mailbox        FAILED"), "{out}");
}
