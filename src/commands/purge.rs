//! `doorstroom purge [--dry-run]`: what retention removes now (the same plan as the daily job),
//! shown, and carried out unless `--dry-run`.

use chrono::{DateTime, Utc};

use crate::case::model::Cause;
use crate::config::Config;
use crate::jobs::retention;
use crate::store::Store;

pub async fn run(config: Config, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let store = crate::context::open_store(&config).await?;
    let done = purge(&store, &config, Utc::now(), dry_run, json).await;
    store.close().await;
    done.map(|_| ())
}

/// Show the retention plan at `now` and, unless `dry_run`, carry it out with the command as
/// the cause. Returns the plan.
pub async fn purge(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<retention::Plan> {
    let plan = retention::plan(store, config, now).await?;
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        let verb = if dry_run { "would be" } else { "is" };
        for due in &plan.anonymise {
            crate::outln!(
                "{}: {} since {}, {verb} anonymised",
                due.case_ref,
                due.status,
                due.ended_on
            );
        }
        crate::outln!(
            "{} case(s) {} anonymised (ended {} months ago or more); the raw bytes of {} mail(s) decided before {} {} dropped",
            plan.anonymise.len(),
            if dry_run { "would be" } else { "are" },
            config.retention.anonymise_after_months,
            plan.raw_mails,
            plan.raw_mail_before.date_naive(),
            if dry_run { "would be" } else { "are" },
        );
    }
    if !dry_run {
        let cause = Cause::Admin {
            command: "purge".into(),
        };
        let (anonymised, purged) = retention::apply(store, &plan, now, &cause).await?;
        if !json {
            crate::outln!("done: {anonymised} case(s) anonymised, {purged} raw mail(s) dropped");
        }
    }
    Ok(plan)
}
