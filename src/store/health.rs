//! The daemon's report about itself, and the counts `doorstroom status` shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store};

/// Counts over the tables, for `doorstroom status` and the digest's health line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub mails_total: i64,
    pub mails_quarantined: i64,
    pub last_mail_at: Option<DateTime<Utc>>,
    pub outbox_waiting: i64,
    pub outbox_oldest_waiting: Option<DateTime<Utc>>,
    pub outbox_failed: i64,
    /// Job runs whose last attempt failed: (job, slot, result).
    pub failed_jobs: Vec<(String, String, String)>,
}

impl Store {
    pub async fn set_health(&self, key: &str, value: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO health (org, key, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(&self.org)
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every health key with its value and when it was written.
    pub async fn health(&self) -> Result<BTreeMap<String, (String, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT key, value, updated_at FROM health WHERE org = $1")
            .bind(&self.org)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("key")?,
                    (
                        r.try_get::<String, _>("value")?,
                        parse_ts(&r.try_get::<String, _>("updated_at")?)?,
                    ),
                ))
            })
            .collect()
    }

    /// Decided mails per kind (`referral`, `concern`, …; `-` for none), for the metrics.
    pub async fn mails_by_kind(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT COALESCE(kind, '-') AS kind, COUNT(*) AS n FROM mails WHERE org = $1
             GROUP BY COALESCE(kind, '-') ORDER BY 1",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
            .collect()
    }

    /// Job runs per job and outcome (`ok`, `error`, `running`), for the metrics.
    pub async fn job_runs_by_outcome(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT job, CASE WHEN result IS NULL THEN 'running'
                              WHEN result LIKE 'error:%' THEN 'error' ELSE 'ok' END AS outcome,
                    COUNT(*) AS n
             FROM job_runs WHERE org = $1 GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("job")?, r.try_get("outcome")?, r.try_get("n")?)))
            .collect()
    }

    pub async fn counts(&self) -> Result<Counts> {
        let org = &self.org;
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(CASE WHEN state = 'quarantined' THEN 1 ELSE 0 END), 0) AS quarantined,
                    MAX(received_at) AS last
             FROM mails WHERE org = $1",
        )
        .bind(org)
        .fetch_one(self.pool())
        .await?;
        let mut counts = Counts {
            mails_total: row.try_get("total")?,
            mails_quarantined: row.try_get("quarantined")?,
            last_mail_at: opt_text(&row, "last")?.map(|t| parse_ts(&t)).transpose()?,
            ..Counts::default()
        };
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN state IN ('queued', 'sending') THEN 1 ELSE 0 END), 0) AS waiting,
                    COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
                    MIN(CASE WHEN state IN ('queued', 'sending') THEN created_at END) AS oldest
             FROM outbox WHERE org = $1",
        )
        .bind(org)
        .fetch_one(self.pool())
        .await?;
        counts.outbox_waiting = row.try_get("waiting")?;
        counts.outbox_failed = row.try_get("failed")?;
        counts.outbox_oldest_waiting = opt_text(&row, "oldest")?
            .map(|t| parse_ts(&t))
            .transpose()?;
        let rows = sqlx::query(
            "SELECT job, slot, result FROM job_runs WHERE org = $1 AND result LIKE 'error:%' ORDER BY id DESC LIMIT 20",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            counts
                .failed_jobs
                .push((r.try_get("job")?, r.try_get("slot")?, r.try_get("result")?));
        }
        Ok(counts)
    }
}
