//! Leases: only one instance at a time reads a given mailbox or runs an organisation's jobs.
//!
//! A lease is a row with a holder and an expiry, taken or renewed by one atomic upsert that only
//! succeeds when the row is free, expired, or already ours. Works the same on SQLite (several
//! processes on one file) and PostgreSQL (several hosts on one database); a killed holder's lease
//! is taken over once it expires.

use chrono::{DateTime, Utc};

use serde::Serialize;

use super::{parse_ts, ts, Result, Store};

/// One lease row as it is now: who holds the resource, and until when unless renewed. The
/// daemon renews its leases every few seconds, so they double as its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub resource: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Take or renew `resource` for `holder` until `until`. True when `holder` has it now.
    pub async fn acquire_lease(
        &self,
        resource: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let row = sqlx::query(
            "INSERT INTO leases (org, resource, holder, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org, resource) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < $5
             RETURNING holder",
        )
        .bind(&self.org)
        .bind(resource)
        .bind(holder)
        .bind(ts(until))
        .bind(ts(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Give a lease back (on orderly shutdown), so that another instance takes over at once.
    pub async fn release_lease(&self, resource: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE org = $1 AND resource = $2 AND holder = $3")
            .bind(&self.org)
            .bind(resource)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Every lease row of the organisation (held, or left behind by a killed holder).
    pub async fn leases(&self) -> Result<Vec<Lease>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT resource, holder, expires_at FROM leases WHERE org = $1 ORDER BY resource",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Lease {
                    resource: r.try_get("resource")?,
                    holder: r.try_get("holder")?,
                    expires_at: parse_ts(&r.try_get::<String, _>("expires_at")?)?,
                })
            })
            .collect()
    }

    /// Who holds a lease now, if anyone.
    pub async fn lease_holder(&self, resource: &str) -> Result<Option<String>> {
        use sqlx::Row;
        let row = sqlx::query("SELECT holder FROM leases WHERE org = $1 AND resource = $2")
            .bind(&self.org)
            .bind(resource)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("holder")?),
            None => None,
        })
    }

    /// Take a lease from a holder known to be dead (a process of this host that no longer
    /// exists), without waiting for it to expire. True when taken.
    pub async fn take_over_lease(
        &self,
        resource: &str,
        dead: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE leases SET holder = $1, expires_at = $2 WHERE org = $3 AND resource = $4 AND holder = $5")
            .bind(holder)
            .bind(ts(until))
            .bind(&self.org)
            .bind(resource)
            .bind(dead)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}
