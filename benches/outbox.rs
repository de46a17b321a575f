//! Outbox throughput: mails/s of rendering + composing (pure), of rendering + composing +
//! queueing (one SQLite transaction per mail, as domain code does), and of delivery through the
//! file transport (one fsynced .eml per mail). SMTP throughput needs the Dovecot + Postfix
//! harness of the integration tests, so it is measured there (`outbox::smtp_throughput`).
//!
//! `cargo bench --bench outbox` (optionally `-- 5000` for the number of mails).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use doorstroom::case::Role;
use doorstroom::config::{Config, Smtp};
use doorstroom::outbox::send::Sender;
use doorstroom::outbox::templates::samples;
use doorstroom::outbox::{CaseInfo, Notice, Outbox};
use doorstroom::store::Store;

fn config(dir: &Path) -> Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("config/doorstroom.example.toml");
    let text = std::fs::read_to_string(&path).expect("example config");
    let mut config = Config::parse(&text, &path).expect("valid example config");
    config.smtp = Smtp::File {
        path: dir.join("sent"),
        retry_for: std::time::Duration::from_secs(3 * 86_400),
    };
    config
}

fn case() -> CaseInfo {
    CaseInfo {
        case_ref: "VD-2026-0007".into(),
        partner: "caw-antwerpen".into(),
        candidate: "Jan Peeters".into(),
        programme: "vivendo".into(),
        status: "guidance".into(),
        lease_start: None,
        social_assistant: Some("bram.janssens@woonhaven.example".into()),
        counsellor_name: Some("Lotte Wouters".into()),
        counsellor_email: Some("lotte.wouters@caw-antwerpen.example".into()),
        counsellor_phone: None,
    }
}

fn notice(i: usize) -> Notice {
    let data = samples()
        .into_iter()
        .find(|(n, _, _)| *n == "concern_notice")
        .map(|(_, _, d)| d)
        .unwrap_or_default();
    Notice {
        template: "concern_notice".into(),
        case_ref: Some("VD-2026-0007".into()),
        to: vec![Role::SocialAssistant, Role::Coordinator],
        to_sender: false,
        urgent: false,
        data,
        dedupe: format!("mail:{i}"),
    }
}

fn rate(n: usize, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    format!("{n} mails in {secs:.2} s = {:.0} mails/s", n as f64 / secs)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    let outbox = Arc::new(Outbox::load(&config).expect("templates"));
    let case = case();
    let now = Utc::now();

    let started = Instant::now();
    for i in 0..n {
        let mail = outbox
            .prepare(&config, &notice(i), Some(&case), None, None, now)
            .expect("prepare");
        std::hint::black_box(mail);
    }
    println!("outbox/render+compose          {}", rate(n, started));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url, "bench", 4).await.expect("store");
        let started = Instant::now();
        for i in 0..n {
            let mail = outbox
                .prepare(&config, &notice(n + i), Some(&case), None, None, now)
                .expect("prepare");
            let mut tx = store.begin().await.expect("begin");
            tx.queue(&mail, now).await.expect("queue");
            tx.commit().await.expect("commit");
        }
        println!(
            "outbox/render+compose+queue    {} (SQLite, one transaction each)",
            rate(n, started)
        );

        let sender = Sender::from_config(
            store.clone(),
            Arc::new(config.clone()),
            outbox.clone(),
            None,
        );
        let started = Instant::now();
        let mut sent = 0;
        while sent < n {
            let report = sender.run_once(Utc::now()).await.expect("pass");
            if report.sent == 0 {
                break;
            }
            sent += report.sent;
        }
        assert_eq!(sent, n, "every queued mail delivered");
        println!(
            "outbox/deliver (file transport) {} (fsync per .eml, state kept in SQLite)",
            rate(sent, started)
        );
        println!(
            "outbox/deliver (SMTP)          not measured: needs the Dovecot + Postfix harness"
        );
    });
}
