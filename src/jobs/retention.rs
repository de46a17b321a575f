//! Retention: personal data is not kept longer than the config allows (`[retention]`).
//!
//! Raw mail bytes are dropped `keep_raw_mail_days` after the mail was decided (its decision,
//! hash and case links stay, so figures and the audit trail survive).

use chrono::{DateTime, Utc};

use crate::context::Context;

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let config = ctx.config();
    let cutoff = now - chrono::Duration::days(i64::from(config.retention.keep_raw_mail_days));
    let purged = ctx.store.purge_raw_mail(cutoff).await?;
    Ok(format!(
        "dropped the raw bytes of {purged} mail(s) decided before {}",
        cutoff.date_naive()
    ))
}
