//! `doorstroom status`: the health of an installation, read from its database (so it works
//! beside a running daemon, or after one stopped).
//!
//! Whether the daemon runs is read from its heartbeat: the leases it renews every few seconds
//! ([`crate::daemon::lease`]). A lease still valid means running; a holder on this host whose
//! process is gone, or leases that all expired, mean not running since the last renewal. Not
//! running is unhealthy: the command then exits non-zero, with `--json` too.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::store::Lease;

/// What the heartbeat says about the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Daemon {
    /// A lease is held and renewed: by `holder` (`host:pid:…`), last renewed at `heartbeat_at`.
    Running {
        holder: String,
        heartbeat_at: DateTime<Utc>,
        started_at: Option<DateTime<Utc>>,
    },
    /// No live lease: the daemon was last seen at `since` (its last renewal, or its orderly stop).
    NotRunning { since: DateTime<Utc> },
    /// No lease and no start was ever recorded in this database.
    NeverStarted,
}

/// Read the heartbeat. `gone(holder)` says a holder's process is known to be dead (same host,
/// no such pid); `started`/`stopped` are the daemon's own records of its last start and stop.
pub fn daemon_state(
    leases: &[Lease],
    started: Option<DateTime<Utc>>,
    stopped: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    gone: impl Fn(&str) -> bool,
) -> Daemon {
    let ttl = chrono::Duration::from_std(crate::context::lease::TTL)
        .unwrap_or(chrono::Duration::seconds(30));
    let live = leases
        .iter()
        .filter(|l| l.expires_at > now && !gone(&l.holder))
        .max_by_key(|l| l.expires_at);
    if let Some(l) = live {
        return Daemon::Running {
            holder: l.holder.clone(),
            heartbeat_at: l.expires_at - ttl,
            started_at: started,
        };
    }
    let last_renewal = leases.iter().map(|l| (l.expires_at - ttl).min(now)).max();
    match last_renewal.into_iter().chain(stopped).max() {
        Some(since) => Daemon::NotRunning { since },
        None => match started {
            Some(since) => Daemon::NotRunning { since },
            None => Daemon::NeverStarted,
        },
    }
}

pub use crate::config::{secret_expiries, SECRET_WARNING_DAYS};

pub async fn run(config: Config, json: bool) -> anyhow::Result<bool> {
    let store = crate::context::open_store(&config).await?;
    let health = store.health().await?;
    let counts = store.counts().await?;
    let leases = store.leases().await?;
    store.close().await;
    let now = Utc::now();
    let secrets = secret_expiries(&config);
    let me = crate::context::lease::holder();
    let daemon = daemon_state(
        &leases,
        health.get(crate::context::STARTED).map(|(_, at)| *at),
        health.get(crate::context::STOPPED).map(|(_, at)| *at),
        now,
        |holder| crate::context::lease::is_gone(&me, holder),
    );
    let running = matches!(daemon, Daemon::Running { .. });
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
            serde_json::to_string_pretty(&serde_json::json!({
                "health": health,
                "counts": counts,
                "secrets": secrets,
                "daemon": daemon,
                "running": running,
            }))?
        );
        return Ok(running);
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
    let mut healthy = running;
    let stamp = |t: DateTime<Utc>| {
        t.with_timezone(&config.organisation.time_zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    match &daemon {
        Daemon::Running {
            holder,
            heartbeat_at,
            started_at,
        } => crate::outln!(
            "daemon          running ({}), heartbeat {} s ago{}",
            describe_holder(holder),
            (now - *heartbeat_at).num_seconds().max(0),
            started_at.map_or(String::new(), |t| format!(", started {}", stamp(t)))
        ),
        Daemon::NotRunning { since } => crate::outln!(
            "daemon          NOT RUNNING since {} ({})",
            stamp(*since),
            age(*since)
        ),
        Daemon::NeverStarted => {
            crate::outln!("daemon          NOT RUNNING: never started on this database")
        }
    }
    match health.get("intake.connected_since") {
        Some(_) if !running => {
            crate::outln!("intake          not watching (the daemon is not running)")
        }
        Some((v, _)) => crate::outln!("intake          connected since {v}"),
        None => crate::outln!("intake          never connected"),
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

/// `host:pid:nonce` → `pid 1234 on host`.
fn describe_holder(holder: &str) -> String {
    let mut parts = holder.split(':');
    match (parts.next(), parts.next()) {
        (Some(host), Some(pid)) => format!("pid {pid} on {host}"),
        _ => holder.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn lease(holder: &str, expires: &str) -> Lease {
        Lease {
            resource: "jobs".into(),
            holder: holder.into(),
            expires_at: at(expires),
        }
    }

    /// (what, leases, recorded stop, which holders are gone, expected).
    type Case<'a> = (
        &'a str,
        Vec<Lease>,
        Option<DateTime<Utc>>,
        &'a dyn Fn(&str) -> bool,
        Daemon,
    );

    #[test]
    fn the_heartbeat_tells_running_from_not_running() {
        let now = at("2026-12-04T12:00:00Z");
        let started = Some(at("2026-12-04T08:00:00Z"));
        let stopped = Some(at("2026-12-04T11:00:00Z"));
        let alive = |_: &str| false;
        let dead = |h: &str| h.starts_with("here:");
        let cases: Vec<Case> = vec![
            (
                "a lease renewed 5 s ago: running",
                vec![lease("here:42:a", "2026-12-04T12:00:25Z")],
                None,
                &alive,
                Daemon::Running {
                    holder: "here:42:a".into(),
                    heartbeat_at: at("2026-12-04T11:59:55Z"),
                    started_at: started,
                },
            ),
            (
                "killed: its lease is still valid but its pid is gone",
                vec![lease("here:42:a", "2026-12-04T12:00:25Z")],
                None,
                &dead,
                Daemon::NotRunning {
                    since: at("2026-12-04T11:59:55Z"),
                },
            ),
            (
                "killed on another host: not running once the lease expired",
                vec![lease("there:42:a", "2026-12-04T11:50:30Z")],
                None,
                &dead,
                Daemon::NotRunning {
                    since: at("2026-12-04T11:50:00Z"),
                },
            ),
            (
                "stopped in order: the leases are gone, the stop is recorded",
                vec![],
                stopped,
                &alive,
                Daemon::NotRunning {
                    since: at("2026-12-04T11:00:00Z"),
                },
            ),
        ];
        for (what, leases, stopped, gone, want) in cases {
            assert_eq!(
                daemon_state(&leases, started, stopped, now, gone),
                want,
                "{what}"
            );
        }
        assert_eq!(
            daemon_state(&[], None, None, now, alive),
            Daemon::NeverStarted
        );
    }
}
