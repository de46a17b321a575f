//! Load (issue 28): 100 partners, 5,000 running cases, a month of their traffic replayed through
//! the real intake (Maildir → pipeline → store) and outbox sender (`.eml` files), and the monthly
//! agenda of every partner composed and sent. Prints each step's throughput, the slowest step,
//! and the peak memory (getrusage `ru_maxrss`).
//!
//! ```text
//! cargo run --example load                          # SQLite, debug build
//! cargo run --release --example load               # the figures in README "Reliability"
//! LOAD_PARTNERS=10 LOAD_CASES=500 cargo run --example load
//! LOAD_DATABASE_URL=postgres://… cargo run --release --example load   # PostgreSQL
//! ```

#[path = "driver.rs"]
mod driver;

use std::time::Instant;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = driver::Size {
        partners: env_number("LOAD_PARTNERS", 100),
        cases: env_number("LOAD_CASES", 5_000),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("LOAD_DATABASE_URL").ok();
    let org = format!("load-{}", std::process::id());
    let began = Instant::now();
    let report = driver::run(size, dir.path(), url.as_deref(), &org).await;
    let total = began.elapsed();
    println!(
        "load: {} partners, {} running cases, {} build, {}",
        size.partners,
        report.running_cases,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    for step in &report.steps {
        println!(
            "  {:<28} {:>6} in {:>7.2} s = {:>7.1}/s",
            step.name,
            step.items,
            step.took.as_secs_f64(),
            step.per_second()
        );
    }
    let slowest = report
        .steps
        .iter()
        .max_by(|a, b| a.took.cmp(&b.took))
        .expect("steps");
    println!(
        "  slowest step: {} ({:.2} s); whole run {:.1} s; peak RSS {:.0} MiB",
        slowest.name,
        slowest.took.as_secs_f64(),
        total.as_secs_f64(),
        driver::peak_rss_mib()
    );
    println!(
        "  mails {} (undecided {}, quarantined {}), outgoing {} sent, {} not sent, agendas {} (naming another partner's case: {})",
        report.mails,
        report.undecided,
        report.quarantined,
        report.sent,
        report.not_sent,
        report.agendas,
        report.agendas_naming_others
    );
    assert_eq!(report.undecided, 0, "every mail decided");
    assert_eq!(report.not_sent, 0, "every mail sent");
    assert_eq!(report.agendas, size.partners, "an agenda for every partner");
    assert_eq!(
        report.agendas_naming_others, 0,
        "no agenda names another partner's case"
    );
}
