//! Configs for tests: the example config's organisation, partners and programmes, pointed at a
//! test's own mail stack, database and folders; and the values several test files build the same
//! way (a triage decision, a timestamp).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use doorstroom::case::Role;

use doorstroom::config::Config;
use doorstroom::understand::{Decision, Facts, MailKind};

use crate::db::{self, Db};
use crate::mailstack::{MailStack, PASSWORD, SHARED_MAILBOX};

/// The text of [`config_with`], for tests that run the binary.
pub fn config_text(mailbox: &str, smtp: &str, database_url: &str, org: &str) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/doorstroom.example.toml"
    ))
    .unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in example.lines() {
        if line.starts_with('[') {
            skipping = matches!(line.trim(), "[mailbox]" | "[smtp]" | "[database]");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    let out = out.replacen("id = \"woonhaven\"", &format!("id = \"{org}\""), 1);
    format!("{out}\n{mailbox}\n{smtp}\n[database]\nurl = \"{database_url}\"\n")
}

/// A config watching `stack`'s shared mailbox over IMAP and sending through its Postfix.
pub fn imap_config(stack: &MailStack, backend: Db, dir: &tempfile::TempDir) -> Config {
    let text = imap_config_text(stack, backend, dir);
    Config::parse(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The text of [`imap_config`].
pub fn imap_config_text(stack: &MailStack, backend: Db, dir: &tempfile::TempDir) -> String {
    let mailbox = format!(
        "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"{SHARED_MAILBOX}\"\npassword = \"{PASSWORD}\"\nresync_interval = \"30s\"\n",
        stack.imap_port()
    );
    let smtp = format!(
        "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nretry_for = \"1h\"\n",
        stack.smtp_port()
    );
    config_text(
        &mailbox,
        &smtp,
        &db::url(backend, dir),
        &db::unique_org("imap"),
    )
}

/// A distinct, realistic candidate name per number (40 first names × 25 surnames: 1,000 names),
/// for tests and benchmarks that generate many referrals.
pub fn candidate_name(n: usize) -> String {
    const FIRST: [&str; 40] = [
        "Jan", "An", "Els", "Tom", "Sofie", "Bram", "Lotte", "Karel", "Fatima", "Mohamed", "Nadia",
        "Pieter", "Lies", "Koen", "Sara", "Youssef", "Ines", "Wout", "Eva", "Milan", "Noor",
        "Arne", "Hanne", "Jonas", "Emma", "Lucas", "Lina", "Ruben", "Amira", "Stijn", "Julie",
        "Dries", "Marie", "Omar", "Kato", "Senne", "Zoë", "Thijs", "Yara", "Gert",
    ];
    const LAST: [&str; 25] = [
        "Peeters",
        "Janssens",
        "Maes",
        "Jacobs",
        "Mertens",
        "Willems",
        "Claes",
        "Goossens",
        "Wouters",
        "De Smet",
        "Dubois",
        "Lambert",
        "Dupont",
        "Hermans",
        "Aerts",
        "Van Damme",
        "El Amrani",
        "Bouzid",
        "Verhoeven",
        "Smits",
        "De Clercq",
        "Martens",
        "Michiels",
        "Coppens",
        "Vermeulen",
    ];
    format!("{} {}", FIRST[n % 40], LAST[(n / 40) % 25])
}

/// The mails a test sent, by the prefix of their Message-ID (the shared mailbox also receives
/// the outbox's proof copies and other tests' mail).
pub async fn mails_with_prefix(
    store: &doorstroom::store::Store,
    prefix: &str,
) -> Vec<doorstroom::store::MailRecord> {
    store
        .list_mails(false, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| {
            m.message_id
                .as_deref()
                .is_some_and(|id| id.starts_with(prefix))
        })
        .collect()
}

/// The example config as the binary would load it (`config/doorstroom.example.toml`).
pub fn example_config() -> Config {
    Config::load(Path::new("config/doorstroom.example.toml")).expect("example config")
}

/// An RFC 3339 timestamp.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A triage decision of `kind` from Lies of CAW Antwerpen about Jan Peeters (CIR-1), to be
/// answered, telling the coordinator; tests change what they are about.
pub fn decision(kind: MailKind, case_ref: Option<&str>) -> Decision {
    Decision {
        file: String::new(),
        kind,
        partner: Some("caw-antwerpen".into()),
        case_ref: case_ref.map(str::to_string),
        candidate: Some("Jan Peeters".into()),
        cir: Some("CIR-1".into()),
        documents: Vec::new(),
        missing: Vec::new(),
        must_auto_reply: true,
        notify: vec![Role::Coordinator],
        lease_start: None,
        conclusions: BTreeMap::new(),
        new_contact: None,
        handover: None,
        duplicate_of: None,
        confidence: 1.0,
        confidence_reasons: Vec::new(),
        reasons: Vec::new(),
        facts: Facts {
            sender: Some("lies@caw-antwerpen.example".into()),
            subject: "aanmelding".into(),
            ..Facts::default()
        },
    }
}
