//! Every due milestone and escalation for 100,000 cases across 500 partners, as the daily
//! escalation pass computes them (target < 2 s). Run: `cargo bench --bench milestones`.

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use doorstroom::case::{escalation, plan, Case, MilestoneKind, Status};
use doorstroom::config::Config;

const CASES: usize = 100_000;
const PARTNERS: usize = 500;

fn main() {
    let config = Config::load(std::path::Path::new("config/doorstroom.example.toml"))
        .expect("config/doorstroom.example.toml must load");
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let first_lease = NaiveDate::from_ymd_opt(2024, 11, 1).expect("date");
    let referred = Utc.with_ymd_and_hms(2024, 10, 1, 9, 0, 0).unwrap();

    // Plans: every case's milestones from its lease start (spread over two years).
    let started = Instant::now();
    let mut cases: Vec<Case> = (0..CASES)
        .map(|i| {
            let programme = &config.programmes[i % config.programmes.len()];
            let mut case = Case::new(
                format!("VD-2025-{i:06}"),
                &format!("partner-{:03}", i % PARTNERS),
                &programme.id,
                "X",
                referred,
            );
            case.status = if i % 10 == 0 {
                Status::Extended
            } else {
                Status::InGuidance
            };
            let lease = first_lease + Duration::days((i % 730) as i64);
            plan::set_lease_start(&mut case, programme, lease);
            if i % 10 == 0 && plan::extend(&mut case, programme, 3).is_err() {
                panic!("extension");
            }
            // Some milestones happened, some escalations were sent already.
            for (n, m) in case.milestones.iter_mut().enumerate() {
                m.id = Some((i * 8 + n) as i64);
                if m.due_on < today && (i + n) % 3 != 0 {
                    m.done_on = Some(m.due_on);
                } else if m.due_on < today {
                    m.escalation_step = ((i + n) % 3) as u32;
                }
            }
            case
        })
        .collect();
    let planned = started.elapsed();
    let milestones: usize = cases.iter().map(|c| c.milestones.len()).sum();

    // The daily pass: due escalations, report reminders and guidance starts, as notices.
    for c in cases.iter_mut().step_by(97) {
        c.status = Status::Stopped;
        c.report_due = Some(today - Duration::days(3));
    }
    let started = Instant::now();
    let work = escalation::due(&cases, &config.escalation, today);
    let notices: Vec<_> = work
        .escalations
        .iter()
        .map(|e| e.notice())
        .chain(work.reminders.iter().map(|r| r.notice()))
        .collect();
    let due = started.elapsed();

    let overdue_home_visits = work
        .escalations
        .iter()
        .filter(|e| e.kind == MilestoneKind::HomeVisit)
        .count();
    println!(
        "milestones: {CASES} cases across {PARTNERS} partners, {milestones} milestones planned in {:.3} s",
        planned.as_secs_f64()
    );
    println!(
        "milestones: due pass found {} escalation steps ({overdue_home_visits} for home visits), {} report reminders, {} notices in {:.3} s",
        work.escalations.len(),
        work.reminders.len(),
        notices.len(),
        due.as_secs_f64()
    );
    println!(
        "milestones: total {:.3} s (target < 2 s)",
        (planned + due).as_secs_f64()
    );
}
