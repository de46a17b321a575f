//! Abuse (issue 28), as an attacker or a runaway robot would send it, through `doorstroom
//! ingest` into a real database, judged by what leaves in the outbox: a thousand forged partner
//! mails under each trust setup give no case data out and change no case; a robot answering
//! every mail gets no answer at all, so no loop.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::trust::{forged_mail, ANCHORS};

/// The corpus config with `anchor` (or none), a Maildir, `.eml` output and SQLite in `dir`.
fn config(dir: &Path, anchor: Option<&str>) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/doorstroom-noauth.toml");
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in [
        (
            "path = \"var/mail\"".to_string(),
            format!("path = \"{}/mail\"", dir.display()),
        ),
        (
            "path = \"var/sent\"".to_string(),
            format!("path = \"{}/sent\"", dir.display()),
        ),
        (
            "url = \"sqlite::memory:\"".to_string(),
            format!(
                "url = \"sqlite://{}/doorstroom.db?mode=rwc\"",
                dir.display()
            ),
        ),
        (
            "dir = \"mail-templates\"".to_string(),
            format!("dir = \"{}/mail-templates\"", env!("CARGO_MANIFEST_DIR")),
        ),
    ] {
        assert!(text.contains(&from), "{from}");
        text = text.replacen(&from, &to, 1);
    }
    if let Some(anchor) = anchor {
        let line = match anchor {
            "authserv-id" => "authserv_id = \"mx.woonhaven.example\"".to_string(),
            other => format!("trust = \"{other}\""),
        };
        text = text.replacen("[organisation]\n", &format!("[organisation]\n{line}\n"), 1);
    }
    let file = dir.join(format!("doorstroom-{}.toml", anchor.unwrap_or("none")));
    std::fs::write(&file, text).unwrap();
    file
}

fn doorstroom(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "doorstroom {}: {}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Ingest these mails (written to `dir/in`) and return one decision per mail.
fn ingest(config: &Path, dir: &Path, mails: &[String]) -> Vec<serde_json::Value> {
    let inbox = dir.join("in");
    let _ = std::fs::remove_dir_all(&inbox);
    std::fs::create_dir_all(&inbox).unwrap();
    let files: Vec<String> = mails
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let file = inbox.join(format!("{i:05}.eml"));
            std::fs::write(&file, m).unwrap();
            file.display().to_string()
        })
        .collect();
    let mut args = vec!["ingest", "--json"];
    args.extend(files.iter().map(String::as_str));
    doorstroom(config, &args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn outbox(config: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str::<Vec<serde_json::Value>>(&doorstroom(config, &["outbox", "--json"]))
        .unwrap()
}

/// A genuine referral by the partner's counsellor: the case the forgers will name.
fn genuine_case(dir: &Path) -> (PathBuf, String) {
    let none = config(dir, None);
    let referral = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mail/01-referral-complete.eml"),
    )
    .unwrap();
    let out = ingest(&none, dir, &[referral]);
    let created = out[0]["done"][0].as_str().unwrap();
    let case = created
        .strip_prefix("case ")
        .and_then(|c| c.strip_suffix(" created"))
        .unwrap_or_else(|| panic!("{}", out[0]))
        .to_string();
    (none, case)
}

#[test]
fn a_thousand_forged_partner_mails_under_each_trust_setup_give_no_case_data_out() {
    for anchor in ANCHORS {
        let dir = tempfile::tempdir().unwrap();
        let (none, case) = genuine_case(dir.path());
        let before = outbox(&none).len();
        let counsellor = |config: &Path| {
            let shown: serde_json::Value =
                serde_json::from_str(&doorstroom(config, &["case", &case, "--json"])).unwrap();
            shown["case"]["counsellor"]["email"].clone()
        };
        let counsellor_before = counsellor(&none);

        // A thousand forgeries in the partner's (and our own) name, each naming the case and
        // its candidate and asking to send everything to a new address.
        let mut runner = TestRunner::deterministic();
        let strategy = forged_mail().prop_filter("this setup", move |(a, _, _)| *a == anchor);
        let forged: Vec<String> = (0..1000)
            .map(|_| {
                let (_, _, mail) = strategy.new_tree(&mut runner).unwrap().current();
                mail.replace("VD-2026-0004", &case)
                    .replace("Maria Claes", "Jan Claes")
            })
            .collect();
        let config = config(dir.path(), Some(anchor));
        let decided = ingest(&config, dir.path(), &forged);
        assert_eq!(decided.len(), forged.len(), "{anchor}: every mail decided");
        for d in &decided {
            assert_ne!(d["state"], "stored", "{anchor}: {d}");
            // The generator repeats itself: the same bytes again are the same mail.
            let kind = d["kind"].as_str().unwrap_or("(the same mail again)");
            assert!(
                [
                    "spam_or_spoof",
                    "own_copy",
                    "duplicate",
                    "(the same mail again)"
                ]
                .contains(&kind),
                "{anchor}: a forgery was believed: {d}"
            );
            assert_ne!(d["must_auto_reply"], true, "{anchor}: {d}");
        }

        // What left: only mail to the landlord's own people, none to any forger.
        let after = outbox(&config);
        let new: Vec<&serde_json::Value> = after.iter().skip(before).collect();
        for mail in &new {
            for to in mail["recipients"].as_array().unwrap() {
                assert!(
                    to.as_str().unwrap().ends_with("@woonhaven.example"),
                    "{anchor}: {} went to {to}",
                    mail["kind"]
                );
            }
        }
        assert_eq!(
            counsellor(&config),
            counsellor_before,
            "{anchor}: the case changed"
        );
        eprintln!(
            "{anchor}: 1,000 forgeries, {} mails to the landlord's people, none to a forger",
            new.len()
        );
    }
}

#[test]
fn a_robot_answering_every_mail_gets_no_answer_so_no_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (none, _) = genuine_case(dir.path());
    let before = outbox(&none);
    // The counsellor's out-of-office answers our acknowledgement, and then answers every mail
    // it gets, fifty times over a day; as does a French and an English one without any
    // auto-reply header.
    let robots: Vec<String> = (0..50)
        .map(|n| {
            let (from, subject, headers, body) = match n % 3 {
                0 => (
                    "els.wouters@caw-antwerpen.example",
                    "Automatisch antwoord: Ontvangstbevestiging",
                    "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n",
                    "Ik ben afwezig tot en met 3 januari. Voor dringende zaken: onthaal 03 222 22 22.",
                ),
                1 => (
                    "els.wouters@caw-antwerpen.example",
                    "Réponse automatique : Ontvangstbevestiging",
                    "",
                    "Je suis absente du bureau jusqu'au 3 janvier et je n'aurai pas accès à mes e-mails.",
                ),
                _ => (
                    "tom.verhoeven@caw-antwerpen.example",
                    "Out of Office: Ontvangstbevestiging",
                    "",
                    "I am out of the office until January 3rd with no access to email.",
                ),
            };
            format!(
                "From: <{from}>\nTo: versneldedoorstroom@woonhaven.example\nSubject: {subject}\n\
                 Message-ID: <robot-{n}@caw-antwerpen.example>\nDate: Tue, 17 Nov 2026 10:{:02}:00 +0100\n\
                 {headers}Content-Type: text/plain; charset=utf-8\n\n{body}\n",
                n % 60
            )
        })
        .collect();
    let decided = ingest(&none, dir.path(), &robots);
    for d in &decided {
        assert_eq!(d["kind"], "auto_reply", "{d}");
    }
    let after = outbox(&none);
    assert_eq!(
        after.len(),
        before.len(),
        "nothing answers a robot: {after:?}"
    );
}
