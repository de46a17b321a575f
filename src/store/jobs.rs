//! Runs of periodic jobs. A run is claimed by inserting its (job, slot) row: the unique key makes
//! a slot run once, across restarts and across instances sharing the database.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store};

/// A run not finished after this long is taken to have died with its instance.
pub const STALE: chrono::Duration = chrono::Duration::minutes(15);

#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    pub slot: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `ok: …` or `error: …`; empty while running.
    pub result: Option<String>,
}

impl Store {
    /// Claim a slot of a job. `None` when the slot ran already or is running now.
    ///
    /// A slot whose run failed, or whose runner died (started more than [`STALE`] ago and never
    /// finished), can be claimed again: job passes are idempotent (their mails carry dedupe
    /// keys), so running one again finishes what the first attempt left.
    pub async fn claim_job_run(
        &self,
        job: &str,
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO job_runs (org, job, slot, started_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org, job, slot) DO UPDATE
                 SET started_at = excluded.started_at, finished_at = NULL, result = NULL
                 WHERE job_runs.result LIKE 'error:%'
                    OR (job_runs.finished_at IS NULL AND job_runs.started_at < $5)
             RETURNING id",
        )
        .bind(&self.org)
        .bind(job)
        .bind(slot)
        .bind(ts(now))
        .bind(ts(now - STALE))
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("id")?),
            None => None,
        })
    }

    pub async fn finish_job_run(&self, id: i64, result: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE job_runs SET finished_at = $1, result = $2 WHERE org = $3 AND id = $4")
            .bind(ts(now))
            .bind(result)
            .bind(&self.org)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Recent runs, newest first.
    pub async fn job_runs(&self, limit: i64) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT id, job, slot, started_at, finished_at, result FROM job_runs WHERE org = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(&self.org)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRun {
                    id: r.try_get("id")?,
                    job: r.try_get("job")?,
                    slot: r.try_get("slot")?,
                    started_at: parse_ts(&r.try_get::<String, _>("started_at")?)?,
                    finished_at: opt_text(r, "finished_at")?
                        .map(|t| parse_ts(&t))
                        .transpose()?,
                    result: opt_text(r, "result")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// When the scheduler of this organisation first ran: the day doorstroom was installed, as far
    /// as periodic work is concerned.
    pub async fn first_job_run_at(&self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(started_at) AS first FROM job_runs WHERE org = $1")
            .bind(&self.org)
            .fetch_one(self.pool())
            .await?;
        opt_text(&row, "first")?.map(|t| parse_ts(&t)).transpose()
    }
}
