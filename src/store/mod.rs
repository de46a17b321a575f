//! All SQL of `doorstroom`: one [`Store`] over SQLite (the embedded default) or PostgreSQL (for
//! many landlords and failover), chosen by the URL in the config.
//!
//! Domain code never names sqlx: it calls methods on [`Store`] and on [`Tx`] (one transaction).
//! SQL is written once, in the common dialect of both databases (`$1` parameters, text dates,
//! `RETURNING`), and runs through sqlx's `Any` driver; only the migrations differ per database
//! (`migrations/sqlite`, `migrations/postgres`), and they are forward-only.
//!
//! Every row belongs to an organisation: a `Store` is bound to one `org` and never reads or
//! writes another's rows.

pub mod backup;
pub mod blobs;
pub mod cases;
mod checkpoint;
pub mod corrections;
pub mod digest;
mod health;
pub mod inspect;
pub mod jobs;
mod leases;
pub mod mails;
pub mod meetings;
pub mod outbox;
pub mod register;
pub mod retention;
pub mod undo;
pub use blobs::sha256_hex;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use tokio::sync::Notify;

pub use cases::{ApplyError, CaseFilter, CounsellorPeriod};
pub use corrections::{Correction, NewCorrection};
pub use health::Counts;
pub use leases::Lease;
pub use mails::{MailBytes, MailRecord, MailState, NewMail};
pub use register::{CaseCache, RegisterScope, LOOKUP_CHUNK};

/// A store error, sorted into what retrying can fix and what it cannot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or was busy: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A row that should be there is not.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts what is stored (e.g. a case reference that exists already).
    #[error("{0}")]
    Conflict(String),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// Stored data that this version cannot read.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Worth retrying with backoff (server or database trouble), as opposed to a permanent error.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            sqlx::Error::Database(db) => {
                let message = db.message().to_string();
                // SQLite's "database is locked" and PostgreSQL's serialization/deadlock errors are
                // the database being busy, not a bad request.
                let busy = message.contains("locked")
                    || message.contains("busy")
                    || matches!(db.code().as_deref(), Some("40001" | "40P01" | "55P03"));
                if busy {
                    StoreError::Unavailable(message)
                } else {
                    StoreError::Corrupt(message)
                }
            }
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What every SQLite connection sets, in this order.
const SQLITE_PRAGMAS: [&str; 7] = [
    // Mail and documents are stored whole: 16 kB pages write them in a quarter of the system
    // calls of the default 4 kB. Takes effect on a new database only (before WAL is switched
    // on); an existing one keeps its page size.
    "PRAGMA page_size = 16384",
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
    // The daemon's checkpointer copies the log into the database after every intake batch (see
    // `checkpoint`); a writer checkpoints by itself only past 64 MB of log (4,000 pages of
    // 16 kB), as the safety net, or when a command runs without the daemon.
    "PRAGMA wal_autocheckpoint = 4000",
    // The statement journal of intake's savepoint per mail, in memory rather than in a
    // temporary file.
    "PRAGMA temp_store = MEMORY",
];

/// What every PostgreSQL connection sets.
const POSTGRES_SETTINGS: [&str; 1] = [
    // Every statement is planned for its own parameters. Statements are prepared once per
    // connection, and PostgreSQL soon switches a prepared statement to a generic plan made for
    // the tables as they were then: a new database's tables are empty, so the plan of the first
    // mails (any index on `org` will do) was kept while the inbox filled them, and a backfill's
    // lookups by Message-ID scanned every mail of the organisation (a backfill of 10,000 mails
    // took 30–43 s; 12 s with this and migration 0014). Planning these statements takes a
    // tenth of a millisecond.
    "SET plan_cache_mode = force_custom_plan",
];

/// A transaction of [`Store::begin_bulk`] caches up to 32 MB of pages (SQLite's default, which
/// the others keep, is 2 MB): the mail and documents of an intake batch flowing through a small
/// cache pushed out the index pages every mail looks up, and spilled pages to the log before
/// the commit. Back to the default before the commit, which gives the memory back.
const SQLITE_BULK_CACHE: &str = "PRAGMA cache_size = -32768";
const SQLITE_DEFAULT_CACHE: &str = "PRAGMA cache_size = -2000";

/// The database of one organisation.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Every query is scoped to this organisation.
    org: String,
    backend: Backend,
    /// The database URL as connected (SQLite: as rewritten by `sqlite_url`).
    url: String,
    /// Rung for the checkpointer (see `checkpoint`).
    checkpoint: Arc<Notify>,
}

/// One database transaction: everything a mail or a job changes commits together or not at all.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    org: String,
    backend: Backend,
    /// A step's savepoint is open (see [`Tx::begin_step`]).
    in_step: bool,
    /// Begun by [`Store::begin_bulk`] on SQLite: the page cache is to be made small again.
    bulk: bool,
    /// Writes held back until [`Tx::write_held`].
    held: Held,
    /// What this transaction knows to be in the outbox (see [`Tx::queued_before`]).
    queued: outbox::Known,
}

/// What a transaction writes in one statement per table for many mails instead of one per mail:
/// the mails' decisions ([`Tx::finish_mail`]) and, in a bulk transaction, the cases' events
/// ([`Tx::add_events`]). Written by [`Tx::write_held`], which [`Tx::commit`] calls too; read
/// meanwhile as if written where the transaction reads them (decisions by the register; events
/// nowhere).
#[derive(Debug, Default)]
struct Held {
    finished: Vec<mails::Finished>,
    events_too: bool,
    events: Vec<(i64, crate::case::model::CaseEvent)>,
    /// How many of each there were when the step's savepoint was set.
    at_step: (usize, usize),
}

impl Store {
    /// Open the database of `url` for organisation `org` and bring its schema up to date.
    ///
    /// For SQLite the file and its folder are created when missing; WAL and a busy timeout let
    /// the daemon and an admin's command share it.
    pub async fn open(url: &str, org: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        let settings: &'static [&'static str] = match backend {
            Backend::Sqlite => &SQLITE_PRAGMAS,
            Backend::Postgres => &POSTGRES_SETTINGS,
        };
        options = options.after_connect(move |conn, _| {
            Box::pin(async move {
                for setting in settings {
                    sqlx::query(setting).execute(&mut *conn).await?;
                }
                Ok(())
            })
        });
        let pool = options.connect(&url).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot open {}: {e}",
                crate::config::redact_url(&url)
            ))
        })?;
        let store = Store {
            pool,
            org: org.to_string(),
            backend,
            url,
            checkpoint: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        // PostgreSQL serialises concurrent migrators with an advisory lock; SQLite has none, so
        // two processes opening a new database at once (the daemon and an admin's command) can
        // collide. Each migration is one transaction, so the loser simply tries again and finds
        // the work done.
        let mut attempt = 0;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if self.backend == Backend::Sqlite && attempt < 20 => {
                    attempt += 1;
                    tracing::debug!("migration collided with another process, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(100 + 50 * attempt)).await;
                }
                Err(e) => return Err(StoreError::Migration(e.to_string())),
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    /// Begin a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that reads first and writes later would otherwise fail with "database is
    /// locked" instead of waiting when another writer holds the lock.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            org: self.org.clone(),
            backend: self.backend,
            in_step: false,
            bulk: false,
            held: Held::default(),
            queued: outbox::Known::default(),
        })
    }

    /// [`Store::begin`] for a transaction that writes much (an intake batch): on SQLite its
    /// connection caches more pages until the commit (see `SQLITE_BULK_CACHE`).
    pub async fn begin_bulk(&self) -> Result<Tx> {
        let mut tx = self.begin().await?;
        tx.held.events_too = true;
        if tx.backend == Backend::Sqlite {
            sqlx::Executor::execute(tx.conn(), SQLITE_BULK_CACHE).await?;
            tx.bulk = true;
        }
        Ok(tx)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The raw pool, for the store's own submodules.
    fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

impl Tx {
    pub async fn commit(mut self) -> Result<()> {
        self.write_held().await?;
        self.end_bulk().await?;
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(mut self) -> Result<()> {
        self.end_bulk().await?;
        Ok(self.tx.rollback().await?)
    }

    /// The page cache of a bulk transaction back to the default: the pages above it are freed
    /// as the commit or rollback releases them. (A transaction dropped on an error keeps the
    /// large cache on its connection until that connection closes.)
    async fn end_bulk(&mut self) -> Result<()> {
        if std::mem::take(&mut self.bulk) {
            sqlx::Executor::execute(self.conn(), SQLITE_DEFAULT_CACHE).await?;
        }
        Ok(())
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    /// Begin the next step of a batch: keep what the step before changed and open a savepoint,
    /// to which [`Tx::rollback_to_savepoint`] undoes this step alone (one mail of a batch can
    /// fail without undoing the others). One round trip: the previous step's savepoint is
    /// released in the same call.
    pub async fn begin_step(&mut self) -> Result<()> {
        let sql = if self.in_step {
            "RELEASE SAVEPOINT step; SAVEPOINT step"
        } else {
            "SAVEPOINT step"
        };
        // A plain string: no arguments, so PostgreSQL runs it as a simple query, which may
        // hold two statements.
        sqlx::Executor::execute(self.conn(), sql).await?;
        self.in_step = true;
        self.held.at_step = (self.held.finished.len(), self.held.events.len());
        Ok(())
    }

    /// Open a savepoint of one's own inside the transaction (a correction that may yet be
    /// refused): returns where the held-back rows stood, for [`Tx::rollback_to_named`].
    pub async fn savepoint(&mut self, name: &'static str) -> Result<(usize, usize)> {
        sqlx::Executor::execute(self.conn(), format!("SAVEPOINT {name}").as_str()).await?;
        Ok((self.held.finished.len(), self.held.events.len()))
    }

    /// Keep what was done since [`Tx::savepoint`] `name`.
    pub async fn release_named(&mut self, name: &'static str) -> Result<()> {
        sqlx::Executor::execute(self.conn(), format!("RELEASE SAVEPOINT {name}").as_str()).await?;
        Ok(())
    }

    /// Undo everything since [`Tx::savepoint`] `name` and close it.
    pub async fn rollback_to_named(
        &mut self,
        name: &'static str,
        (finished, events): (usize, usize),
    ) -> Result<()> {
        sqlx::Executor::execute(
            self.conn(),
            format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}").as_str(),
        )
        .await?;
        self.held.finished.truncate(finished);
        self.held.events.truncate(events);
        self.queued = outbox::Known::default();
        Ok(())
    }

    /// Undo everything since [`Tx::begin_step`]; the savepoint stays open. On PostgreSQL this also
    /// clears a failed statement, after which the transaction can go on.
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        sqlx::query("ROLLBACK TO SAVEPOINT step")
            .execute(self.conn())
            .await?;
        let (finished, events) = self.held.at_step;
        self.held.finished.truncate(finished);
        self.held.events.truncate(events);
        // What the step queued is gone; which keys were there before it is not known here.
        self.queued = outbox::Known::default();
        Ok(())
    }

    /// Write what this transaction held back (see `Held`). Fails when a mail was decided
    /// already (by a concurrent instance), so that nothing is applied twice; the caller undoes
    /// the transaction.
    pub async fn write_held(&mut self) -> Result<()> {
        self.write_finished().await?;
        self.write_events().await
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// `sqlite://var/doorstroom.db` → an URL sqlx accepts, creating the folder and the file.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" || path.is_empty() {
        return Ok("sqlite::memory:".into());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create the database folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut out = format!("sqlite://{path}?mode=rwc");
    if !query.is_empty() {
        out.push('&');
        out.push_str(query);
    }
    Ok(out)
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Timestamps are stored as RFC 3339 UTC text with microseconds: sortable as text in both
/// databases.
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp `{text}`: {e}")))
}

/// Read an optional text column.
fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cache_size(tx: &mut Tx) -> i64 {
        let row = sqlx::query("PRAGMA cache_size")
            .fetch_one(tx.conn())
            .await
            .expect("cache size");
        row.try_get(0).expect("a number")
    }

    #[tokio::test]
    async fn a_bulk_transaction_caches_more_pages_until_it_ends() {
        // One connection: every transaction below runs on the same one.
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("open");
        for commit in [true, false] {
            let mut tx = store.begin_bulk().await.expect("begin");
            assert_eq!(cache_size(&mut tx).await, -32768);
            if commit {
                tx.commit().await.expect("commit");
            } else {
                tx.rollback().await.expect("rollback");
            }
            let mut tx = store.begin().await.expect("begin");
            assert_eq!(cache_size(&mut tx).await, -2000, "after commit: {commit}");
            tx.rollback().await.expect("rollback");
        }
    }
}
