//! Hostile mail (issue 20) through `doorstroom ingest --json`, as an admin would replay it: each
//! is stored and decided (quarantined with the budget it broke, the coordinator told), never a
//! crash, never a mail left `stored`, and the mails behind it are decided.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::db::{self, Db};
use crate::hostile_mail;
use crate::setup;

/// A config for `db` in `dir`, with `limits` (keys with their `[limits]` header) in place of the
/// example's `[limits]` table.
fn config_file(db: Db, dir: &tempfile::TempDir, limits: &str) -> PathBuf {
    config_for(db, dir, limits, &db::unique_org("hostile"))
}

fn config_for(db: Db, dir: &tempfile::TempDir, limits: &str, org: &str) -> PathBuf {
    let text = setup::config_text(
        &format!(
            "[mailbox]\nkind = \"maildir\"\npath = \"{}/mail\"\n",
            dir.path().display()
        ),
        &format!(
            "[smtp]\ntransport = \"file\"\npath = \"{}/sent\"\n",
            dir.path().display()
        ),
        &db::url(db, dir),
        org,
    );
    let path = dir.path().join("doorstroom.toml");
    let text = match limits {
        "" => text,
        _ => text.replacen("[limits]\n", limits, 1),
    };
    std::fs::write(&path, text).unwrap();
    path
}

/// `doorstroom ingest --json` on these files: whether it succeeded and a JSON object per mail.
fn ingest(config: &Path, files: &[PathBuf]) -> (bool, Vec<serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(["ingest", "--json", "--config"])
        .arg(config)
        .args(files)
        .output()
        .expect("run doorstroom ingest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code().is_some(),
        "ingest was killed by a signal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.success(), lines)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn example(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail")).join(name)
}

fn reasons(d: &serde_json::Value) -> String {
    d["reasons"].to_string()
}

#[test]
fn a_message_nested_25000_deep_is_quarantined_and_the_referral_behind_it_decided() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(Db::Sqlite, &dir, "");
    let nested = write(&dir, "a-nested.eml", &hostile_mail::nested_rfc822(25_000));
    let (ok, out) = ingest(&config, &[nested, example("01-referral-complete.eml")]);
    assert!(ok, "{out:?}");
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0]["state"], "quarantined", "{}", out[0]);
    assert!(
        reasons(&out[0]).contains("over budget (MIME depth 25001 > 20 (limits.mime_depth)"),
        "{}",
        out[0]
    );
    assert!(
        out[0]["done"].to_string().contains("queued"),
        "the coordinator is told: {}",
        out[0]
    );
    assert_eq!(out[1]["kind"], "referral", "{}", out[1]);
}

#[test]
fn a_reply_naming_16383_references_is_decided_on_sqlite_and_postgres() {
    let raw = hostile_mail::many_references(16_383);
    for db in db::BOTH {
        // Within a budget raised above them, all 16,383 are looked up, a chunk per statement.
        let dir = tempfile::tempdir().unwrap();
        let config = config_file(db, &dir, "[limits]\nreferences = 20000\nheader_kb = 1024\n");
        let (ok, out) = ingest(&config, &[write(&dir, "refs.eml", &raw)]);
        assert!(ok, "{db:?}: {out:?}");
        assert_eq!(out[0]["kind"], "unknown_sender", "{db:?}: {}", out[0]);
        assert!(!reasons(&out[0]).contains("over budget"), "{}", out[0]);

        // Within the default budget, the mail is quarantined naming it.
        let dir = tempfile::tempdir().unwrap();
        let config = config_file(db, &dir, "");
        let (ok, out) = ingest(&config, &[write(&dir, "refs.eml", &raw)]);
        assert!(ok, "{db:?}: {out:?}");
        assert_eq!(out[0]["state"], "quarantined");
        assert!(
            reasons(&out[0]).contains("references 16383 > 500 (limits.references)"),
            "{}",
            out[0]
        );
    }
}

#[test]
fn text_bombs_are_decided_within_their_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(Db::Sqlite, &dir, "");
    let files = [
        write(&dir, "a-quotes.eml", &hostile_mail::blockquotes(20_000)),
        write(&dir, "b-styles.eml", &hostile_mail::styles(100_000)),
        write(&dir, "c-refs.eml", &hostile_mail::case_references(300_000)),
        write(&dir, "d-winmail.eml", &hostile_mail::winmail(20_000)),
        write(&dir, "e-flate.eml", &hostile_mail::flate_pdf(20)),
    ];
    let (ok, out) = ingest(&config, &files);
    assert!(ok, "{out:?}");
    let expected = [
        "HTML nesting 20000 > 200 (limits.html_depth)",
        "",
        "case tags > 200 (limits.case_tags)",
        "attachments 20000 > 200 (limits.attachments)",
        "inflated bytes > 67108864 (limits.inflated_mb)",
    ];
    for (d, over) in out.iter().zip(expected) {
        assert_ne!(d["state"], "stored", "{d}");
        if over.is_empty() {
            assert!(!reasons(d).contains("over budget"), "{d}");
        } else {
            assert_eq!(d["state"], "quarantined", "{d}");
            assert!(reasons(d).contains(over), "{over}: {d}");
        }
    }
}

#[tokio::test]
async fn a_mail_whose_deciding_stopped_intake_twice_is_quarantined_and_the_mails_behind_it_decided()
{
    use doorstroom::store::{sha256_hex, NewMail, Store};
    use sqlx::Connection;
    for db in db::BOTH {
        let dir = tempfile::tempdir().unwrap();
        let org = db::unique_org("poison");
        let config = config_for(db, &dir, "", &org);
        let url = db::url(db, &dir);
        let poison = write(&dir, "a-poison.eml", &hostile_mail::many_references(3));
        let behind = example("01-referral-complete.eml");
        // As three runs of the daemon that died deciding the first mail leave them: both
        // stored, the poison begun with its batch and then twice on its own, the referral
        // behind it once (with its batch).
        let store = Store::open(&url, &org, 2).await.unwrap();
        let mut ids = Vec::new();
        for path in [&poison, &behind] {
            let raw = std::fs::read(path).unwrap();
            let mail = NewMail {
                source: "file".into(),
                source_key: sha256_hex(&raw),
                message_id: doorstroom::intake::pipeline::message_id(&raw),
                received_at: chrono::Utc::now(),
            };
            ids.push(store.record_mail(&mail, &raw).await.unwrap().0.id);
        }
        store.close().await;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        for (id, attempts) in ids.iter().zip([3i64, 1]) {
            sqlx::query("UPDATE mails SET attempts = $1 WHERE id = $2")
                .bind(attempts)
                .bind(*id)
                .execute(&mut conn)
                .await
                .unwrap();
        }

        let (ok, out) = ingest(&config, &[poison, behind]);
        assert!(ok, "{db:?}: {out:?}");
        assert_eq!(out[0]["state"], "quarantined", "{db:?}: {}", out[0]);
        assert!(reasons(&out[0]).contains("poison mail"), "{}", out[0]);
        assert!(out[0]["done"].to_string().contains("queued"), "{}", out[0]);
        assert_eq!(out[1]["kind"], "referral", "{db:?}: {}", out[1]);

        // A fresh mail has its attempt counted before it is decided.
        let fresh = example("03-concern.eml");
        let (ok, _) = ingest(&config, &[fresh]);
        assert!(ok);
        let counted: Vec<i64> =
            sqlx::query_scalar("SELECT attempts FROM mails WHERE org = $1 ORDER BY id")
                .bind(&org)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(counted, [3, 2, 1], "{db:?}");
    }
}

/// Issue 20: a cut-off delivery (the text, no attachments) and then the complete one with the
/// same Message-ID. The second is no duplicate: its documents reach the case the first opened,
/// and the partner is told the file is complete. A third copy, like the second, adds nothing.
#[test]
fn a_complete_redelivery_after_a_cut_off_one_brings_its_documents_to_the_case() {
    for db in db::BOTH {
        let dir = tempfile::tempdir().unwrap();
        let config = config_file(db, &dir, "");
        let complete = std::fs::read(example("01-referral-complete.eml")).unwrap();
        let text = String::from_utf8(complete.clone()).unwrap();
        // Cut off after the text part: the closing boundary is all that follows it.
        let boundary = "--===============0269692808193183973==";
        let first_attachment = text.match_indices(boundary).nth(1).unwrap().0;
        let cut = format!("{}{boundary}--\n", &text[..first_attachment]);
        let files = [
            write(&dir, "a-cut-off.eml", cut.as_bytes()),
            write(&dir, "b-complete.eml", &complete),
            // Relayed once more by a backup MX: other bytes, the same mail.
            write(
                &dir,
                "c-complete-again.eml",
                &[b"Received: from backup-mx.example by mx.example; Mon, 3 Mar 2026 10:00:00 +0100\n".as_slice(), &complete].concat(),
            ),
        ];
        let (ok, out) = ingest(&config, &files);
        assert!(ok, "{out:?}");
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0]["kind"], "referral_incomplete", "{}", out[0]);
        let created = out[0]["done"][0].as_str().unwrap_or_default();
        let case = created
            .strip_prefix("case ")
            .and_then(|c| c.strip_suffix(" created"))
            .unwrap_or_else(|| panic!("the cut-off copy opens a case: {}", out[0]));
        assert_ne!(out[1]["kind"], "duplicate", "{}", out[1]);
        assert_eq!(out[1]["case_ref"], case, "{}", out[1]);
        assert!(
            reasons(&out[1]).contains("an earlier copy of this mail"),
            "{}",
            out[1]
        );
        assert_eq!(out[2]["kind"], "duplicate", "{}", out[2]);
        // The duplicate keeps the facts of the copy that counted.
        assert_eq!(out[2]["case_ref"], case, "{}", out[2]);
        assert_eq!(out[2]["candidate"], "Jan Claes", "{}", out[2]);

        let shown = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
            .args(["case", case, "--json", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(shown.status.success(), "{shown:?}");
        let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(shown["case"]["status"], "referred_complete", "{shown}");
        let documents = shown["case"]["documents"].as_array().unwrap();
        assert_eq!(documents.len(), 2, "{shown}");
        assert!(documents.iter().all(|d| d["mail_id"] == out[1]["mail_id"]));
        // The partner is told what arrived.
        let done = out[1]["done"].to_string();
        assert!(done.contains("_ack queued"), "{done}");
    }
}

/// Regression (found by the abuse test of issue 28): the same bytes twice in one batch (a mail
/// copied in the mailbox, or given twice to `ingest`) made the whole batch fail ("mail N was
/// already decided") and left every mail of it undecided. Now it is one mail, decided once.
#[test]
fn the_same_mail_twice_in_one_batch_is_decided_once_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(Db::Sqlite, &dir, "");
    let concern = example("03-concern.eml");
    let referral = example("01-referral-complete.eml");
    let (ok, out) = ingest(
        &config,
        &[referral.clone(), concern.clone(), referral, concern],
    );
    assert!(ok, "{out:?}");
    assert_eq!(out.len(), 4, "{out:?}");
    for d in &out {
        assert_ne!(d["state"], "stored", "{d}");
    }
    assert_eq!(out[0]["mail_id"], out[2]["mail_id"]);
    assert_eq!(out[0]["kind"], "referral", "{}", out[0]);
    assert!(
        out[2]["done"].to_string().contains("only moved"),
        "{}",
        out[2]
    );
}
