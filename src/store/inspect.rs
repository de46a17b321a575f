//! `doorstroom check --connect`: look at a database without changing it. Opens SQLite read-only
//! (and never creates the file), sets no pragma, runs no migration; reports which migrations the
//! daemon would apply at its next start.

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::Row;

use super::{Result, StoreError};

/// What a look at the database found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    /// The SQLite file does not exist yet; the daemon creates and migrates it at its first start.
    Missing { path: String },
    /// Every migration of this build is applied.
    Current { applied: usize },
    /// The daemon applies these migrations (`NNNN description`) at its next start.
    NeedsMigrating { pending: Vec<String> },
    /// The database was migrated by a newer build (these versions are unknown here).
    Newer { unknown: Vec<i64> },
}

/// Connect to `url` read-only and compare its applied migrations with this build's.
pub async fn inspect(url: &str) -> Result<DatabaseState> {
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    let connect_url = if sqlite {
        let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        if path.is_empty() || path == ":memory:" {
            return Ok(DatabaseState::Missing { path: path.into() });
        }
        if !Path::new(path).exists() {
            return Ok(DatabaseState::Missing { path: path.into() });
        }
        format!("sqlite://{path}?mode=ro")
    } else {
        url.to_string()
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(15))
        .connect(&connect_url)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot open {}: {e}",
                crate::config::redact_url(url)
            ))
        })?;
    let exists_sql = if sqlite {
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
    } else {
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
    };
    let exists: i64 = sqlx::query(exists_sql)
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    let applied: Vec<i64> = if exists > 0 {
        sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = true ORDER BY version")
            .fetch_all(&pool)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>("version"))
            .collect::<std::result::Result<_, _>>()?
    } else {
        Vec::new()
    };
    pool.close().await;
    let migrator = if sqlite {
        sqlx::migrate!("migrations/sqlite")
    } else {
        sqlx::migrate!("migrations/postgres")
    };
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    let unknown: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|v| !known.contains(v))
        .collect();
    if !unknown.is_empty() {
        return Ok(DatabaseState::Newer { unknown });
    }
    let pending: Vec<String> = migrator
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect();
    Ok(if pending.is_empty() {
        DatabaseState::Current {
            applied: applied.len(),
        }
    } else {
        DatabaseState::NeedsMigrating { pending }
    })
}
