//! A copy of the database while the daemon runs, and the checks a copy must pass before it
//! replaces one.
//!
//! SQLite only: `VACUUM INTO` writes a consistent, compacted copy inside one read transaction,
//! so the daemon keeps writing meanwhile (its commits after that moment are not in the copy).
//! PostgreSQL has `pg_dump` for this, which does the same from a snapshot and also keeps what
//! this store does not own (roles, other organisations sharing the database).

use std::path::{Path, PathBuf};

use sqlx::Row;

use super::{Backend, Result, Store, StoreError};

/// Why a backup or restore cannot be done here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database is PostgreSQL: `pg_dump` / `pg_restore` are the tools.
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f FILE DBNAME`) \
         and restore with pg_restore. pg_dump reads one consistent snapshot while the daemon \
         keeps running, and also keeps the roles, grants and the rows of other organisations \
         that share the database, which doorstroom does not own"
    )]
    Postgres,
    /// The target exists: a backup never overwrites a file.
    #[error("{0} exists already; a backup never overwrites a file (choose a new name)")]
    Exists(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a check of a copy found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Cases of this store's organisation in the copy.
    pub cases: i64,
    /// Mails of this store's organisation in the copy.
    pub mails: i64,
}

/// The file of a `sqlite:` URL (`sqlite://var/doorstroom.db` → `var/doorstroom.db`), `None` for
/// PostgreSQL and for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl Store {
    /// Write a consistent copy of the whole database into `target` (a new file).
    pub async fn backup_into(&self, target: &Path) -> std::result::Result<(), BackupError> {
        if self.backend == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if target.exists() {
            return Err(BackupError::Exists(target.to_path_buf()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(target.display().to_string())
            .execute(self.pool())
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot write {}: {e}", target.display()))
            })?;
        Ok(())
    }

    /// SQLite's own check of every page and index (`PRAGMA integrity_check`), then what the
    /// organisation has in it. A damaged file is [`StoreError::Corrupt`] with SQLite's words.
    pub async fn check_copy(&self) -> Result<Checked> {
        if self.backend == Backend::Sqlite {
            let rows = sqlx::query("PRAGMA integrity_check")
                .fetch_all(self.pool())
                .await?;
            let found: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()?;
            if found != ["ok"] {
                return Err(StoreError::Corrupt(found.join("; ")));
            }
        }
        let count = |table: &'static str| async move {
            let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table} WHERE org = $1"))
                .bind(&self.org)
                .fetch_one(self.pool())
                .await?;
            Ok::<i64, StoreError>(row.try_get("n")?)
        };
        Ok(Checked {
            cases: count("cases").await?,
            mails: count("mails").await?,
        })
    }

    /// Copy everything in SQLite's write-ahead log into the database file and empty the log, so
    /// that the file alone is the whole database (before it is moved into place).
    pub async fn flush_log(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}
