//! `doorstroom ingest PATH… --json`: an admin replays exported mail and sees every decision, as
//! the daemon would have made it; a second replay changes nothing.

use std::process::Command;

use crate::db::{self, Db};
use crate::setup;

/// Run `doorstroom ingest` on `paths`; the JSON object printed per mail, and whether it succeeded.
fn ingest(config: &std::path::Path, paths: &[&std::path::Path]) -> (bool, Vec<serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(["ingest", "--json", "--config"])
        .arg(config)
        .args(paths)
        .output()
        .expect("run doorstroom ingest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.success(), lines)
}

#[test]
fn replaying_the_example_mails_decides_each_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = setup::config_text(
        &format!(
            "[mailbox]\nkind = \"maildir\"\npath = \"{}/mail\"\n",
            dir.path().display()
        ),
        &format!(
            "[smtp]\ntransport = \"file\"\npath = \"{}/sent\"\n",
            dir.path().display()
        ),
        &db::url(Db::Sqlite, &dir),
        "woonhaven",
    );
    let config = dir.path().join("doorstroom.toml");
    std::fs::write(&config, text).unwrap();
    let examples = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail"));
    let mut names: Vec<String> = std::fs::read_dir(examples)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();

    let (ok, first) = ingest(&config, &[examples]);
    assert!(ok, "{first:?}");
    let files: Vec<&str> = first.iter().map(|d| d["file"].as_str().unwrap()).collect();
    let expected: Vec<String> = names
        .iter()
        .map(|n| examples.join(n).display().to_string())
        .collect();
    assert_eq!(files, expected, "one decision per mail, in name order");
    let kind = |n: usize| first[n]["kind"].as_str().unwrap_or_default();
    assert_eq!(kind(0), "referral");
    assert_eq!(kind(1), "referral_incomplete");
    assert_eq!(kind(3), "unknown_sender");
    for decision in &first {
        assert_eq!(decision["new"], true);
        assert!(decision["mail_id"].as_i64().is_some());
        assert!(decision["reasons"].is_array(), "{decision}");
    }
    let created = |d: &serde_json::Value| {
        d["done"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().ends_with(" created"))
    };
    assert!(created(&first[0]), "{}", first[0]);
    assert!(created(&first[1]), "{}", first[1]);

    // The same files again: recognised by content, nothing decided or queued twice.
    let (ok, second) = ingest(&config, &[examples]);
    assert!(ok);
    assert_eq!(second.len(), first.len());
    for (again, before) in second.iter().zip(&first) {
        assert_eq!(again["new"], false, "{again}");
        assert_eq!(again["mail_id"], before["mail_id"]);
    }
}
