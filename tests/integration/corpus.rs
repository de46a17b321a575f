//! The golden triage corpus: every `tests/corpus/NNN-name.eml` is decided and compared with the
//! expected subset in `NNN-name.json`, once with LF and once with CRLF line endings. Mails look
//! like what Outlook/Exchange (winmail.dat), Gmail, Thunderbird, Apple Mail, Claws and
//! case-management tools really send; `make_corpus.py` beside them writes both files.
//!
//! Keys starting with `_` in a `.json` are directives: `_config: "noauth"` uses the config
//! without an authserv-id, `_earlier_from: "NNN-name"` puts that fixture's body hash and
//! Message-ID in the register as an earlier copy (duplicate detection across relays).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use doorstroom::config::{Config, Role};
use doorstroom::understand::{triage, MailKind, MessageId, Register, RegisteredCase};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// The number of fixtures in tests/corpus: a fixture that silently stops running fails here.
const FIXTURES: usize = 78;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[derive(Deserialize)]
struct RegisterFile {
    cases: Vec<RegisteredCase>,
    threads: HashMap<String, String>,
}

pub(crate) fn register() -> Register {
    let text = std::fs::read_to_string(corpus_dir().join("register.json")).expect("register.json");
    let file: RegisterFile = serde_json::from_str(&text).expect("register.json parses");
    Register {
        cases: file.cases.into_iter().map(std::sync::Arc::new).collect(),
        threads: file.threads,
        earlier: Vec::new(),
    }
}

pub(crate) fn config(name: &str) -> Config {
    let path = corpus_dir().join(name);
    Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn fixtures() -> Vec<(String, Vec<u8>, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .map(|n| n.trim_end_matches(".eml").to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dir = corpus_dir();
            let raw = std::fs::read(dir.join(format!("{name}.eml"))).expect("eml");
            let json = std::fs::read_to_string(dir.join(format!("{name}.json")))
                .unwrap_or_else(|_| panic!("{name}.json is missing"));
            let expected: Value = serde_json::from_str(&json).expect("expected json");
            (name, raw, expected)
        })
        .collect()
}

fn lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for &b in &lf(raw) {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn every_corpus_mail_is_decided_as_a_coordinator_would_with_lf_and_crlf() {
    let with_auth = config("doorstroom.toml");
    let without_auth = config("doorstroom-noauth.toml");
    let base = register();
    let all = fixtures();
    let by_name: HashMap<&str, &[u8]> = all
        .iter()
        .map(|(n, raw, _)| (n.as_str(), raw.as_slice()))
        .collect();
    let mut ran = 0;
    let mut failures = Vec::new();
    for (name, raw, expected) in &all {
        let config = match expected.get("_config").and_then(Value::as_str) {
            Some("noauth") => &without_auth,
            _ => &with_auth,
        };
        for (ending, bytes) in [("LF", lf(raw)), ("CRLF", crlf(raw))] {
            let mut register = base.clone();
            if let Some(earlier) = expected.get("_earlier_from").and_then(Value::as_str) {
                let first = by_name
                    .get(earlier)
                    .unwrap_or_else(|| panic!("{name}: _earlier_from {earlier} is no fixture"));
                // The earlier copy arrived through the other relay, with the other line endings.
                let other = if ending == "LF" {
                    crlf(first)
                } else {
                    lf(first)
                };
                let d = triage(&other, &base, config);
                register.earlier.push((
                    d.facts.body_hash.clone(),
                    // As the store holds it: `<…>`.
                    d.facts
                        .message_id
                        .as_ref()
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                ));
            }
            let mut decision = triage(&bytes, &register, config);
            decision.file = format!("{name}.eml");
            let actual = serde_json::to_value(&decision).expect("decision serialises");
            let mut wrong = Vec::new();
            for (key, want) in expected.as_object().expect("expected is an object") {
                if key.starts_with('_') {
                    continue;
                }
                let got = actual.get(key).unwrap_or(&Value::Null);
                if got != want {
                    wrong.push(format!("    {key}: expected {want}, got {got}"));
                }
            }
            if !wrong.is_empty() {
                failures.push(format!(
                    "tests/corpus/{name}.eml ({ending}):\n{}\n    reasons: {:?}",
                    wrong.join("\n"),
                    decision.reasons
                ));
            }
        }
        ran += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus runs differ:\n{}",
        failures.len(),
        ran * 2,
        failures.join("\n")
    );
    assert_eq!(ran, FIXTURES, "number of corpus fixtures that ran");
}

#[test]
fn every_decision_serialises_to_exactly_the_documented_fields() {
    let config = config("doorstroom.toml");
    let (_, raw, _) = fixtures().into_iter().next().expect("a fixture");
    let decision = triage(&raw, &register(), &config);
    let value = serde_json::to_value(&decision).expect("json");
    let keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "file",
        "kind",
        "partner",
        "case_ref",
        "candidate",
        "cir",
        "documents",
        "missing",
        "must_auto_reply",
        "notify",
        "lease_start",
        "conclusions",
        "new_contact",
        "duplicate_of",
        "reasons",
        "confidence",
        "confidence_reasons",
    ];
    let mut got = keys.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

fn corpus_bytes() -> Vec<Vec<u8>> {
    fixtures().into_iter().map(|(_, raw, _)| raw).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let config = config("doorstroom.toml");
        let _ = triage(&raw, &register(), &config);
    }

    #[test]
    fn mutated_corpus_mails_never_panic(
        index in 0usize..FIXTURES,
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..16),
    ) {
        let corpus = corpus_bytes();
        let mut raw = corpus[index % corpus.len()].clone();
        for (at, byte, op) in cuts {
            if raw.is_empty() {
                break;
            }
            let i = at.index(raw.len());
            match op {
                0 => raw[i] = byte,
                1 => { raw.remove(i); }
                2 => raw.insert(i, byte),
                _ => raw.truncate(i),
            }
        }
        let config = config("doorstroom.toml");
        let _ = triage(&raw, &register(), &config);
    }
}

fn decide(name: &str) -> doorstroom::understand::Decision {
    let raw = std::fs::read(corpus_dir().join(format!("{name}.eml"))).expect("fixture");
    triage(&raw, &register(), &config("doorstroom.toml"))
}

#[test]
fn the_facts_beyond_the_printed_contract_are_filled() {
    let stop = decide("030-final-stop-without-report");
    assert_eq!(
        stop.facts.stop_date,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 15)
    );

    let concern = decide("022-concern-no-cooperation");
    let statement = concern.facts.statement.expect("a problem statement");
    assert!(statement.contains("geen medewerking"), "{statement}");
    assert!(!statement.starts_with("Beste"), "{statement}");
    assert_eq!(
        concern.facts.sender.as_deref(),
        Some("els.wouters@caw-antwerpen.example")
    );
    assert_eq!(
        concern.facts.recipients,
        vec!["versneldedoorstroom@woonhaven.example".to_string()]
    );
    // The body hash, then the attachments' (none here): see `content_fingerprint`.
    let (text, files) = concern.facts.body_hash.split_once(':').unwrap();
    assert_eq!((text.len(), files), (64, ""));
    assert!(concern
        .facts
        .message_id
        .is_some_and(|id| id.as_str().ends_with("prod.outlook.com>")));

    let referral = decide("008-referral-winmail-dat");
    let addendum = &referral.facts.attachments[0];
    assert_eq!(addendum.filename, "Addendum Verbruggen.pdf");
    assert!(
        addendum.bytes.starts_with(b"%PDF"),
        "decoded bytes from inside winmail.dat"
    );
    assert_eq!(addendum.size, addendum.bytes.len());

    let lease = decide("033-lease-start-staff-outlook");
    assert!(lease.facts.from_staff);

    let reply = decide("062-reply-thunderbird-flowed-thread");
    assert_eq!(
        reply.facts.in_reply_to,
        MessageId::parse("<vd-ack-0001@woonhaven.example>")
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert!(
        reply
            .facts
            .body_text
            .contains("op de hoogte en bezorg u later"),
        "format=flowed lines joined: {}",
        reply.facts.body_text
    );

    let conclusions = decide("036-conclusions-only-to-shared-mailbox");
    assert_eq!(conclusions.facts.conclusions.len(), 3);
}

/// One split of the varied corpus (`make_varied.py`): how many kinds and fields triage got
/// right, and how many mails it would have answered that must not be answered or put under
/// another partner's case (leaks).
#[derive(Debug, Default)]
struct Score {
    mails: usize,
    kinds_right: usize,
    fields: usize,
    fields_right: usize,
    leaks: Vec<String>,
    misses: Vec<String>,
}

impl Score {
    fn kinds_pct(&self) -> f64 {
        100.0 * self.kinds_right as f64 / self.mails.max(1) as f64
    }
    fn fields_pct(&self) -> f64 {
        100.0 * self.fields_right as f64 / self.fields.max(1) as f64
    }
}

fn score_split(split: &str) -> Score {
    let dir = corpus_dir().join("varied").join(split);
    let config = config("doorstroom.toml");
    let register = register();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    let mut score = Score::default();
    for name in names {
        let raw = std::fs::read(dir.join(&name)).expect("eml");
        let json = std::fs::read_to_string(dir.join(name.replace(".eml", ".json"))).expect("json");
        let expected: Value = serde_json::from_str(&json).expect("expected json");
        let decision = triage(&raw, &register, &config);
        let actual = serde_json::to_value(&decision).expect("decision serialises");
        score.mails += 1;
        let mut wrong = Vec::new();
        for (key, want) in expected.as_object().expect("object") {
            let got = match key.as_str() {
                "_new_phone" => actual["new_contact"]["phone"].clone(),
                k if k.starts_with('_') => continue,
                k => actual.get(k).cloned().unwrap_or(Value::Null),
            };
            score.fields += 1;
            if got == *want {
                score.fields_right += 1;
                if key == "kind" {
                    score.kinds_right += 1;
                }
            } else {
                wrong.push(format!("{key}: expected {want}, got {got}"));
            }
        }
        let answered_wrongly = decision.must_auto_reply
            && expected.get("must_auto_reply") == Some(&Value::Bool(false));
        let other_partners_case = decision.kind != doorstroom::understand::MailKind::CrossPartner
            && decision.partner.is_some()
            && decision
                .case_ref
                .as_deref()
                .and_then(|c| register.case(c))
                .is_some_and(|c| Some(&c.partner) != decision.partner.as_ref());
        if answered_wrongly || other_partners_case {
            score
                .leaks
                .push(format!("{split}/{name}: {:?}", decision.reasons));
        }
        if !wrong.is_empty() {
            score.misses.push(format!(
                "{split}/{name}: {}\n      reasons: {:?}",
                wrong.join("; "),
                decision.reasons
            ));
        }
    }
    score
}

/// The varied corpus, scored per split: the tuning split must stay right; the held-out split
/// (phrasings triage was never tuned on) is printed, and may never leak.
/// `cargo test --test integration corpus -- --nocapture` shows both scores and every miss.
#[test]
fn varied_corpus_scores_tuned_and_held_out_phrasings_apart() {
    let tune = score_split("tune");
    let heldout = score_split("heldout");
    for (split, s) in [("tune", &tune), ("held-out", &heldout)] {
        println!(
            "varied corpus, {split}: {}/{} kinds ({:.1} %), {:.1} % of {} fields right, {} leak(s)",
            s.kinds_right,
            s.mails,
            s.kinds_pct(),
            s.fields_pct(),
            s.fields,
            s.leaks.len()
        );
        for miss in &s.misses {
            println!("  miss {miss}");
        }
        for leak in &s.leaks {
            println!("  LEAK {leak}");
        }
    }
    assert!(
        tune.mails + heldout.mails >= 200,
        "the varied corpus has {} mails; make_varied.py writes 216",
        tune.mails + heldout.mails
    );
    assert!(
        heldout.mails * 3 >= (tune.mails + heldout.mails) - 2,
        "a third is held out"
    );
    assert!(tune.leaks.is_empty() && heldout.leaks.is_empty(), "leaks");
    assert!(
        tune.kinds_pct() >= 95.0 && tune.fields_pct() >= 95.0,
        "the tuning split slipped: {:.1} % kinds, {:.1} % fields",
        tune.kinds_pct(),
        tune.fields_pct()
    );
}

/// Issue 23: a partner's answer that gives good news about a case ("the arrears are paid") was
/// taken for a new concern. It is an update for the case's social assistant; with words of a new
/// concern beside it, the coordinator confirms; a concern that is still there stays a concern.
#[test]
fn good_news_about_a_case_is_an_update_not_a_new_concern() {
    let config = config("doorstroom-noauth.toml");
    let mail = |subject: &str, text: &str| {
        format!(
            "From: Tom Verhoeven <tom.verhoeven@caw-antwerpen.example>\nTo: versneldedoorstroom@woonhaven.example\n\
             Subject: {subject}\nMessage-ID: <good-news-{}@caw-antwerpen.example>\nDate: Tue, 17 Nov 2026 10:12:00 +0100\n\
             Content-Type: text/plain; charset=utf-8\n\nDag Sofie,\n\n{text}\n\nMvg,\nTom\n",
            text.len()
        )
    };
    let good = triage(
        mail(
            "RE: Zorg gemeld [VD-2026-0004]",
            "Goed nieuws over mevrouw Claes: de huurachterstand is intussen volledig betaald en er is geen overlast meer.",
        )
        .as_bytes(),
        &register(),
        &config,
    );
    assert_eq!(good.kind, MailKind::ReplyToCase, "{:?}", good.reasons);
    assert_eq!(good.case_ref.as_deref(), Some("VD-2026-0004"));
    assert!(
        good.notify.contains(&Role::SocialAssistant),
        "{:?}",
        good.notify
    );
    assert!(!good.facts.good_news.is_empty());
    assert!(
        good.confidence >= config.triage.confidence_threshold,
        "{:?}",
        good.reasons
    );

    let mixed = triage(
        mail(
            "RE: Zorg gemeld [VD-2026-0004]",
            "De huurachterstand is opgelost, maar er is nu schade aan de voordeur en de buren klagen over overlast.",
        )
        .as_bytes(),
        &register(),
        &config,
    );
    assert!(
        mixed.confidence < config.triage.confidence_threshold,
        "the coordinator confirms: {:?}",
        mixed.reasons
    );

    let still = triage(
        mail(
            "RE: Zorg gemeld [VD-2026-0004]",
            "De huurachterstand is nog niet opgelost en er is opnieuw overlast; we maken ons zorgen.",
        )
        .as_bytes(),
        &register(),
        &config,
    );
    assert_eq!(still.kind, MailKind::Concern, "{:?}", still.reasons);
}
