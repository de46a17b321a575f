//! `doorstroom status`: the health of an installation, read from its database (so it works
//! beside a running daemon, or after one stopped).

use chrono::{DateTime, Utc};

use crate::config::Config;

pub use crate::config::{secret_expiries, SECRET_WARNING_DAYS};

pub async fn run(config: Config, json: bool) -> anyhow::Result<bool> {
    let store = crate::context::open_store(&config).await?;
    let health = store.health().await?;
    let counts = store.counts().await?;
    store.close().await;
    let now = Utc::now();
    let secrets = secret_expiries(&config);
    if json {
        let health: serde_json::Map<String, serde_json::Value> = health
            .iter()
            .map(|(k, (v, at))| {
                (
                    k.clone(),
                    serde_json::json!({ "value": v, "updated_at": at }),
                )
            })
            .collect();
        let secrets: Vec<_> = secrets
            .iter()
            .map(|(what, date)| serde_json::json!({ "what": what, "expires": date }))
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "health": health, "counts": counts, "secrets": secrets })
            )?
        );
        return Ok(true);
    }
    let age = |t: DateTime<Utc>| {
        let d = now - t;
        if d.num_days() > 0 {
            format!("{} d ago", d.num_days())
        } else if d.num_hours() > 0 {
            format!("{} h ago", d.num_hours())
        } else {
            format!("{} min ago", d.num_minutes())
        }
    };
    let mut healthy = true;
    match health.get("intake.connected_since") {
        Some((v, _)) => crate::outln!("intake          connected since {v}"),
        None => crate::outln!("intake          never connected (is the daemon running?)"),
    }
    if let Some((error, at)) = health.get("intake.error").filter(|(e, _)| !e.is_empty()) {
        healthy = false;
        crate::outln!("intake error    {error} ({})", age(*at));
    }
    match counts.last_mail_at {
        Some(t) => crate::outln!(
            "last mail       {} ({})",
            t.format("%Y-%m-%d %H:%M"),
            age(t)
        ),
        None => crate::outln!("last mail       none yet"),
    }
    crate::outln!(
        "mails           {} decided, {} quarantined",
        counts.mails_total,
        counts.mails_quarantined
    );
    match counts.outbox_oldest_waiting {
        Some(t) => crate::outln!(
            "outbox          {} waiting, oldest {}; {} failed",
            counts.outbox_waiting,
            age(t),
            counts.outbox_failed
        ),
        None => crate::outln!(
            "outbox          nothing waiting; {} failed",
            counts.outbox_failed
        ),
    }
    if counts.failed_jobs.is_empty() {
        crate::outln!("jobs            no failed runs");
    } else {
        healthy = false;
        for (job, slot, result) in &counts.failed_jobs {
            crate::outln!("job failed      {job} {slot}: {result}");
        }
    }
    for (what, date) in &secrets {
        let days = (*date - now.date_naive()).num_days();
        let flag = if days <= SECRET_WARNING_DAYS {
            "  <-- renew it now"
        } else {
            ""
        };
        crate::outln!("secret          {what} expires {date} ({days} days){flag}");
    }
    Ok(healthy)
}
