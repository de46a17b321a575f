//! Sender trust on the three setups a landlord really has (Microsoft 365 / Exchange Online,
//! Google Workspace, an own MX with rspamd or OpenDKIM + OpenDMARC): the golden mails of
//! `tests/trust/` (written by `make_trust.py` beside them), each decided with the anchor its
//! `.json` names (`_trust`), and a property test that nothing an outside sender writes makes an
//! unverified sender trusted.

use std::path::{Path, PathBuf};

use doorstroom::config::{Config, Role};
use doorstroom::understand::{triage, MailKind};
use proptest::prelude::*;
use serde_json::Value;

use crate::corpus::register;

/// The number of golden trust mails: one that silently stops running fails here.
const FIXTURES: usize = 19;

fn trust_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trust")
}

/// The corpus config (no anchor) with `anchor` set in `[organisation]`.
pub(crate) fn config_with(anchor: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/doorstroom-noauth.toml");
    let text = std::fs::read_to_string(&path).expect("corpus config");
    let line = match anchor {
        "authserv-id" => "authserv_id = \"mx.woonhaven.example\"".to_string(),
        other => format!("trust = \"{other}\""),
    };
    let text = text.replacen("[organisation]\n", &format!("[organisation]\n{line}\n"), 1);
    Config::parse(&text, &path).unwrap_or_else(|e| panic!("{anchor}: {e}"))
}

#[test]
fn each_setup_trusts_genuine_partners_and_staff_and_no_spoof_with_lf_and_crlf() {
    let mut names: Vec<String> = std::fs::read_dir(trust_dir())
        .expect("tests/trust")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".eml").map(str::to_string))
        .collect();
    names.sort();
    let register = register();
    let mut failures = Vec::new();
    let mut ran = 0;
    for name in &names {
        let raw = std::fs::read(trust_dir().join(format!("{name}.eml"))).expect("eml");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(trust_dir().join(format!("{name}.json"))).expect("json"),
        )
        .expect("json parses");
        let anchor = expected["_trust"].as_str().expect("_trust");
        let config = config_with(anchor);
        let lf: Vec<u8> = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into();
        for (ending, bytes) in [("CRLF", raw.clone()), ("LF", lf)] {
            let decision = triage(&bytes, &register, &config);
            let got = serde_json::to_value(&decision).expect("decision json");
            for (key, want) in expected.as_object().expect("object") {
                let actual = match key.as_str() {
                    "_trust" => continue,
                    "_claimed_partner" => decision
                        .facts
                        .claimed_partner
                        .clone()
                        .map_or(Value::Null, Value::from),
                    key => got.get(key).cloned().unwrap_or(Value::Null),
                };
                if actual != *want {
                    failures.push(format!(
                        "{name} ({anchor}, {ending}): {key} is {actual}, expected {want}; reasons: {:?}",
                        decision.reasons
                    ));
                }
            }
            ran += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(ran, FIXTURES * 2, "every golden trust mail ran twice");
}

#[test]
fn the_existing_authserv_id_key_keeps_its_meaning() {
    let config = config_with("authserv-id");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let with_key = crate::corpus::config("doorstroom.toml");
    for name in [
        "049-spoof-dmarc-fail",
        "050-spoof-forged-lower-results-ignored",
        "051-spoof-pass-for-another-domain",
        "052-spoof-only-foreign-results",
        "001-referral-outlook-complete",
    ] {
        let raw = std::fs::read(corpus.join(format!("{name}.eml"))).expect("eml");
        let a = triage(&raw, &register(), &config);
        let b = triage(&raw, &register(), &with_key);
        assert_eq!(a.kind, b.kind, "{name}");
        assert_eq!(a.partner, b.partner, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// The property: what an outside sender controls never makes them trusted
// ---------------------------------------------------------------------------------------------

pub(crate) const ANCHORS: [&str; 3] = ["authserv-id", "exchange-online", "google-workspace"];
const SHARED: &str = "versneldedoorstroom@woonhaven.example";
const OWN_ID: &str = "<0a1b2c3d4e5f60718293a4b5c6d7e8f9.doorstroom@woonhaven.example>";

/// Who the forger claims to be: a partner by domain, by listed address, our staff, our mailbox.
fn claimed() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("tom.verhoeven@caw-antwerpen.example"),
        Just("els.dewit.bw@gmail.com"),
        Just("an.peeters@woonhaven.example"),
        Just(SHARED),
    ]
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// What the landlord's own server writes on top of a forged mail: never a pass for the From
/// domain (which is what makes the sender unverified), in that server's own shape.
fn server_verdict(anchor: &str, d: &str, pick: usize) -> String {
    match anchor {
        "authserv-id" => [
            format!("Authentication-Results: mx.woonhaven.example; dkim=none; spf=fail smtp.mailfrom={d}; dmarc=fail (p=quarantine) header.from={d}\n"),
            format!("Authentication-Results: mx.woonhaven.example; spf=softfail smtp.mailfrom=bulk.evil.example; dmarc=none header.from={d}\n"),
            "Authentication-Results: mx.woonhaven.example; dkim=none; spf=none smtp.mailfrom=bulk.evil.example\n".to_string(),
            "Authentication-Results: mx.woonhaven.example; none\n".to_string(),
        ][pick % 4]
            .clone(),
        "exchange-online" => [
            format!("Authentication-Results: spf=fail (sender IP is 198.51.100.23)\n smtp.mailfrom={d}; dkim=none (message not signed)\n header.d=none;dmarc=fail action=quarantine\n header.from={d};compauth=fail reason=000\n"),
            format!("Authentication-Results: spf=softfail (sender IP is 198.51.100.23)\n smtp.mailfrom={d}; dkim=none (message not signed)\n header.d=none;dmarc=none action=none header.from={d};compauth=fail\n reason=601\n"),
            format!("Authentication-Results: spf=none (sender IP is 198.51.100.23)\n smtp.mailfrom=bulk.evil.example; dkim=none (message not signed)\n header.d=none;dmarc=none action=none header.from={d};compauth=softpass\n reason=201\n"),
            format!("Authentication-Results: spf=pass (sender IP is 198.51.100.23)\n smtp.mailfrom=bulk.evil.example; dkim=pass (signature was verified)\n header.d=bulk.evil.example;dmarc=none action=none header.from={d};compauth=pass\n reason=105\n"),
        ][pick % 4]
            .clone(),
        _ => [
            format!("Authentication-Results: mx.google.com;\n       spf=fail (google.com: domain of x@{d} does not designate 198.51.100.23 as permitted sender) smtp.mailfrom=x@{d};\n       dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) header.from={d}\n"),
            format!("Authentication-Results: mx.google.com;\n       spf=softfail (google.com: transitioning) smtp.mailfrom=x@bulk.evil.example;\n       dmarc=none (p=NONE sp=NONE dis=NONE) header.from={d}\n"),
            "Authentication-Results: mx.google.com;\n       spf=neutral (google.com: 198.51.100.23 is neither permitted nor denied) smtp.mailfrom=x@bulk.evil.example\n".to_string(),
            "Authentication-Results: mx.google.com;\n       spf=none smtp.mailfrom=x@bulk.evil.example\n".to_string(),
        ][pick % 4]
            .clone(),
    }
}

/// Headers a sender may write anywhere below the server's own: every shape of "pass".
fn forged_header(d: &'static str) -> impl Strategy<Value = String> {
    let pass_for = prop_oneof![Just(d.to_string()), "[a-z]{1,8}\\.example"];
    (0usize..9, pass_for, 1u32..4, "[ -~]{0,60}").prop_map(|(kind, p, i, noise)| match kind {
        0 => format!("Authentication-Results: mx.woonhaven.example; dkim=pass header.d={p}; spf=pass smtp.mailfrom={p}; dmarc=pass header.from={p}\n"),
        1 => format!("Authentication-Results: spf=pass (sender IP is 194.78.22.41)\n smtp.mailfrom={p}; dkim=pass (signature was verified)\n header.d={p};dmarc=pass action=none\n header.from={p};compauth=pass reason=100\n"),
        2 => format!("Authentication-Results: mx.google.com;\n       dkim=pass header.i=@{p};\n       dmarc=pass (p=REJECT) header.from={p}\n"),
        3 => format!("ARC-Seal: i={i}; a=rsa-sha256; t=1; cv=none; d=google.com; s=arc; b=x\nARC-Authentication-Results: i={i}; mx.google.com; dmarc=pass header.from={p}\n"),
        4 => "X-MS-Exchange-Organization-AuthAs: Internal\nX-MS-Exchange-Organization-AuthSource: DB9PR07MB7115.eurprd07.prod.outlook.com\n".to_string(),
        5 => format!("Received: from mail.{p} by mx.google.com with ESMTPS id x; Tue, 17 Nov 2026 01:12:05 -0800\n"),
        6 => format!("Return-Path: <versneldedoorstroom@woonhaven.example>\nReply-To: tom@{p}\n"),
        7 => format!("Authentication-Results: {noise}\n"),
        _ => format!("Authentication-Results: ;dmarc=pass header.from={p} ({noise})\n"),
    })
}

pub(crate) fn forged_mail() -> impl Strategy<Value = (&'static str, &'static str, String)> {
    (0usize..3, claimed(), 0usize..4, any::<bool>())
        .prop_flat_map(|(a, from, pick, own_id)| {
            let d = domain_of(from);
            let headers = proptest::collection::vec(forged_header(d), 0..7);
            (Just(ANCHORS[a]), Just(from), Just(pick), Just(own_id), headers)
        })
        .prop_map(|(anchor, from, pick, own_id, forged)| {
            let d = domain_of(from);
            let mut mail = String::new();
            // The receiving server's own lines, on top.
            mail.push_str("Received: from bulk.evil.example ([198.51.100.23]) by mx.landlord.example; Tue, 17 Nov 2026 10:12:03 +0100\n");
            mail.push_str(&server_verdict(anchor, d, pick));
            for h in &forged {
                mail.push_str(h);
            }
            let id = if own_id { OWN_ID } else { "<forged@bulk.evil.example>" };
            mail.push_str(&format!(
                "From: <{from}>\nTo: {SHARED}\nSubject: Zorgen over Maria Claes VD-2026-0004\nMessage-ID: {id}\nDate: Tue, 17 Nov 2026 10:12:00 +0100\n"
            ));
            if anchor == "exchange-online" {
                // Exchange appends its organisation headers below the sender's.
                mail.push_str("X-MS-Exchange-Organization-AuthAs: Anonymous\nX-MS-Exchange-Organization-AuthSource: AMS0EPF000001A0.eurprd05.prod.outlook.com\n");
            }
            mail.push_str("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nDe begeleiding van Maria Claes (VD-2026-0004) loopt niet. Nieuw adres woonbegeleider: boef@evil.example\n");
            (anchor, from, mail)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn no_header_an_outside_sender_writes_makes_an_unverified_sender_trusted(
        (anchor, from, mail) in forged_mail()
    ) {
        let config = config_with(anchor);
        let decision = triage(mail.as_bytes(), &register(), &config);
        let allowed_own_copy = anchor == "authserv-id"
            && from == SHARED
            && mail.contains(OWN_ID)
            && !mail.contains("dmarc=fail (p=quarantine) header.from=woonhaven.example");
        prop_assert!(
            decision.kind == MailKind::SpamOrSpoof
                || decision.kind == MailKind::OwnCopy && allowed_own_copy,
            "{anchor}: {from} got {:?} ({:?})\n{mail}",
            decision.kind,
            decision.reasons
        );
        prop_assert_eq!(decision.partner, None);
        // The case the mail names may be kept with it, for the coordinator (issue 23); the
        // sender is never answered and nobody but the coordinator is told.
        prop_assert!(
            decision.case_ref.is_none()
                || decision.reasons.iter().any(|r| r.contains("for the coordinator only"))
        );
        prop_assert!(decision.notify.iter().all(|r| *r == Role::Coordinator));
        prop_assert!(!decision.must_auto_reply);
        prop_assert!(decision.new_contact.is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Our own copies, end to end over Postfix and Dovecot
// ---------------------------------------------------------------------------------------------

/// A referral as our MX delivers it: its verdict on top (the harness's Postfix runs no milter,
/// so the test writes what rspamd would).
fn verified_referral(n: u32) -> Vec<u8> {
    format!(
        "Authentication-Results: mx.woonhaven.example; dkim=pass header.d=caw-antwerpen.example;\r\n\
         \tdmarc=pass (policy=quarantine) header.from=caw-antwerpen.example\r\n\
         From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {}\r\n\
         Subject: Aanmelding versnelde doorstroom {n}\r\nMessage-ID: <own-copy-{n}@caw-antwerpen.example>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\nBeste, hierbij een aanmelding van {}.\r\n",
        crate::mailstack::SHARED_MAILBOX,
        crate::setup::candidate_name(n as usize)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_authserv_id_set_our_own_copies_are_filed_as_own_copy_and_never_quarantined() {
    use crate::mailstack::{MailStack, SHARED_MAILBOX};
    use doorstroom::store::MailState;
    use std::time::Duration;

    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = crate::setup::imap_config_text(&stack, crate::db::Db::Sqlite, &dir).replacen(
        "\ntrust = \"none\"\n",
        "\nauthserv_id = \"mx.woonhaven.example\"\n",
        1,
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.organisation.trust,
        doorstroom::config::TrustAnchor::AuthservId("mx.woonhaven.example".into())
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let loaded = doorstroom::context::Loaded::new(config.clone()).expect("templates");
    let (tx, rx) = tokio::sync::watch::channel(std::sync::Arc::new(loaded));
    let token = shutdown.clone();
    let daemon = tokio::spawn(async move {
        let _keep = tx;
        doorstroom::daemon::run(rx, token).await
    });
    for n in 1..=3 {
        stack
            .submit(
                "els.wouters@caw-antwerpen.example",
                &[SHARED_MAILBOX],
                &verified_referral(n),
            )
            .await;
    }
    let store = doorstroom::store::Store::open(
        &crate::db::url(crate::db::Db::Sqlite, &dir),
        &config.organisation.id,
        1,
    )
    .await
    .unwrap();
    // Every mail the outbox sent comes back as a copy and is decided; wait for all of them.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (sent, mails) = loop {
        let sent: Vec<String> = store
            .list_outbox(false, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.state == doorstroom::store::outbox::OutboxState::Sent)
            .map(|r| r.message_id)
            .collect();
        let mails = store.list_mails(false, 1000).await.unwrap();
        let decided = |id: &String| {
            mails
                .iter()
                .any(|m| m.message_id.as_ref() == Some(id) && m.state != MailState::Stored)
        };
        let referrals = mails
            .iter()
            .filter(|m| m.kind.as_deref().is_some_and(|k| k.starts_with("referral")))
            .count();
        if referrals == 3 && sent.len() >= 3 && sent.iter().all(decided) {
            break (sent, mails);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all copies came back: {} sent, mails {:?}",
            sent.len(),
            mails
                .iter()
                .map(|m| (m.kind.clone(), m.state, m.reason.clone()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    shutdown.cancel();
    daemon
        .await
        .expect("daemon task")
        .expect("daemon ends cleanly");

    let quarantined: Vec<_> = mails
        .iter()
        .filter(|m| m.state == MailState::Quarantined)
        .map(|m| (m.message_id.clone(), m.kind.clone(), m.reason.clone()))
        .collect();
    assert!(quarantined.is_empty(), "quarantined: {quarantined:?}");
    for id in &sent {
        let copy = mails
            .iter()
            .find(|m| m.message_id.as_ref() == Some(id))
            .expect("the copy was recorded");
        assert_eq!(
            copy.kind.as_deref(),
            Some("own_copy"),
            "{id}: {:?}",
            copy.reason
        );
        assert_eq!(copy.state, MailState::Processed, "{id}");
        // The outbox's exactly-once ledger finds it, as before.
        assert!(store.mailbox_has_message_id(id).await.unwrap(), "{id}");
    }
    eprintln!("{} own copies filed, none quarantined", sent.len());
}

// ---------------------------------------------------------------------------------------------
// `check` names the anchor; `check --connect` judges the newest inbox mails, read-only
// ---------------------------------------------------------------------------------------------

fn run_check(config: &Path, connect: bool) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_doorstroom"));
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
fn check_names_the_anchor_and_warns_on_every_run_without_one() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/doorstroom.example.toml");
    let (ok, out, err) = run_check(&example, false);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("sender trust   none (trust = \"none\")"),
        "{out}"
    );
    assert!(err.contains("warning: trust = \"none\""), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&example).unwrap();
    for (replacement, named, warned) in [
        ("trust = \"exchange-online\"", "Exchange Online", false),
        ("trust = \"google-workspace\"", "Google Workspace", false),
        (
            "authserv_id = \"mx.woonhaven.example\"",
            "authserv-id `mx.woonhaven.example`",
            false,
        ),
        ("", "none (no trust or authserv_id set)", true),
    ] {
        let path = dir.path().join("doorstroom.toml");
        std::fs::write(
            &path,
            text.replacen("\ntrust = \"none\"\n", &format!("\n{replacement}\n"), 1),
        )
        .unwrap();
        let (ok, out, err) = run_check(&path, false);
        assert!(ok, "{replacement}: {out}{err}");
        assert!(
            out.contains(&format!("sender trust   {named}")),
            "{replacement}: {out}"
        );
        assert_eq!(
            err.contains("warning: no sender verification"),
            warned,
            "{replacement}: {err}"
        );
    }
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        text.replacen("\ntrust = \"none\"\n", "\ntrust = \"exchange\"\n", 1),
    )
    .unwrap();
    let (ok, _, err) = run_check(&path, false);
    assert!(!ok);
    assert!(err.contains("unknown trust anchor `exchange`"), "{err}");
    assert!(err.contains("did you mean \"exchange-online\"?"), "{err}");
    std::fs::write(
        &path,
        text.replacen(
            "\ntrust = \"none\"\n",
            "\ntrust = \"exchange-online\"\nauthserv_id = \"outlook.office365.com\"\n",
            1,
        ),
    )
    .unwrap();
    let (ok, _, err) = run_check(&path, false);
    assert!(!ok);
    assert!(
        err.contains("Exchange Online writes no authserv-id"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_says_what_it_would_decide_for_the_newest_inbox_mails_and_changes_nothing() {
    use crate::mailstack::{MailStack, SHARED_MAILBOX};

    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = crate::setup::imap_config_text(&stack, crate::db::Db::Sqlite, &dir).replacen(
        "\ntrust = \"none\"\n",
        "\nauthserv_id = \"mx.woonhaven.example\"\n",
        1,
    );
    let path = dir.path().join("doorstroom.toml");
    std::fs::write(&path, &text).unwrap();
    let genuine = verified_referral(1);
    let spoof = String::from_utf8_lossy(&verified_referral(2))
        .replace("dmarc=pass", "dmarc=fail")
        .into_bytes();
    for raw in [&genuine, &spoof] {
        stack
            .submit("els.wouters@caw-antwerpen.example", &[SHARED_MAILBOX], raw)
            .await;
    }
    stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "INBOX",
            |m| String::from_utf8_lossy(&m.bytes).contains("own-copy-2@"),
            std::time::Duration::from_secs(20),
        )
        .await;
    let before = stack.read_all(SHARED_MAILBOX, "INBOX").await.len();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run_check(&path, true))
        .await
        .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("the newest 2 inbox mail(s), as authserv-id would judge them"),
        "{out}"
    );
    assert!(
        out.contains("from els.wouters@caw-antwerpen.example: verified (dmarc=pass"),
        "{out}"
    );
    assert!(
        out.contains("from els.wouters@caw-antwerpen.example: spoof (dmarc=fail"),
        "{out}"
    );
    // Read-only: both mails still in the inbox, neither marked seen.
    let mut session = stack.session(SHARED_MAILBOX).await;
    session.select("INBOX").await.unwrap();
    let uids = session.uid_search_all().await.unwrap();
    assert_eq!(uids.len(), before);
    for uid in uids {
        let flags = session.flags(uid).await.unwrap().unwrap_or_default();
        assert!(!flags.iter().any(|f| f == "\\Seen"), "UID {uid}: {flags:?}");
    }
    session.logout().await;
}

// ---------------------------------------------------------------------------------------------
// Spoof attempts: quarantined, counted per claimed partner in the digest, a burst told at once
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_of_spoofs_in_a_partners_name_is_told_to_the_admins_once_and_counted_in_the_digest()
{
    use doorstroom::context::Context;
    use doorstroom::intake::pipeline;
    use doorstroom::store::{MailState, NewMail};

    for backend in crate::db::BOTH {
        let (store, _dir) = crate::db::open(backend, "spoof-burst").await;
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/doorstroom.example.toml"),
        )
        .unwrap();
        let text = example.replacen(
            "\ntrust = \"none\"\n",
            "\nauthserv_id = \"mx.woonhaven.example\"\n",
            1,
        );
        let config = Config::parse(&text, Path::new("x.toml")).unwrap();
        let ctx = Context::fixed(store.clone(), config).unwrap();
        let loaded = ctx.loaded();
        let now = chrono::Utc::now();
        for n in 0..doorstroom::jobs::health::SPOOF_BURST {
            let raw = String::from_utf8_lossy(&verified_referral(n as u32 + 10))
                .replace("dmarc=pass", "dmarc=fail");
            let key = format!("spoof-{n}");
            let new = NewMail {
                source: "file".into(),
                source_key: key.clone(),
                message_id: pipeline::message_id(raw.as_bytes()),
                received_at: now,
            };
            pipeline::handle(&ctx, &loaded, &new, raw.as_bytes(), &key)
                .await
                .unwrap();
        }
        let mails = store.list_mails(true, 100).await.unwrap();
        assert_eq!(mails.len(), 5, "{backend:?}: every spoof is quarantined");
        for m in &mails {
            assert_eq!(m.state, MailState::Quarantined);
            assert_eq!(m.kind.as_deref(), Some("spam_or_spoof"));
            assert!(
                m.reason
                    .as_deref()
                    .unwrap_or_default()
                    .contains("dmarc=fail"),
                "with its reason: {:?}",
                m.reason
            );
        }
        // Told at once (the health check runs every five minutes), and once.
        for _ in 0..2 {
            doorstroom::jobs::health::run_once(&ctx, chrono::Utc::now())
                .await
                .unwrap();
        }
        let alerts: Vec<_> = store
            .list_outbox(false, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "health_alert" && r.subject.contains("vervalste afzender"))
            .collect();
        assert_eq!(alerts.len(), 1, "{backend:?}: {alerts:?}");
        let text = |bytes: Vec<u8>| {
            let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            m.body_text(0).unwrap().into_owned()
        };
        let alert = text(store.outbox_message(alerts[0].id).await.unwrap());
        assert!(
            alert.contains("5 mails in het voorbije uur uit naam van CAW Antwerpen"),
            "{alert}"
        );

        doorstroom::jobs::digest::run_once(
            &ctx,
            doorstroom::jobs::digest::Period::Daily,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let digest = store
            .list_outbox(false, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.kind == "digest")
            .expect("a digest");
        let body = text(store.outbox_message(digest.id).await.unwrap());
        assert!(body.contains("5 keer uit naam van CAW Antwerpen"), "{body}");
    }
}
