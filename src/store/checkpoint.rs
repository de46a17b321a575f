//! SQLite's checkpoints, off intake's path.
//!
//! In WAL mode a commit appends the changed pages to the write-ahead log; a checkpoint copies
//! them back into the database file and syncs it. Left to SQLite, the connection whose commit
//! takes the log past a threshold does that itself, in the middle of its work: in a backfill,
//! intake's own connection, which then copies and syncs megabytes of mail before it decides the
//! next batch. The daemon instead runs [`Store::run_checkpointer`]: after each batch intake asks
//! for a checkpoint, which another connection runs on another core while intake goes on (a
//! `PASSIVE` checkpoint takes no lock a writer waits for). The automatic checkpoint stays as the
//! safety net, raised to 4,000 pages (64 MB of log, see `Store::open`) so that it rarely comes
//! before the checkpointer; a command run without the daemon relies on it.

use std::time::Duration;

use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use super::{Backend, Store};

/// The checkpointer's connection is closed after this long without a request, so that an idle
/// daemon holds no connection (and no thread) for it.
const KEEP_OPEN: Duration = Duration::from_secs(10);

impl Store {
    /// Ask the checkpointer, if one runs, to checkpoint soon (after a commit that wrote much).
    pub fn checkpoint_soon(&self) {
        self.checkpoint.notify_one();
    }

    /// Checkpoint on a connection of its own whenever [`Store::checkpoint_soon`] asks, until
    /// `stop`. Nothing to do on PostgreSQL (nor for an in-memory database) but wait for `stop`.
    pub async fn run_checkpointer(&self, stop: CancellationToken) {
        if self.backend != Backend::Sqlite || self.url == "sqlite::memory:" {
            stop.cancelled().await;
            return;
        }
        let mut conn: Option<sqlx::AnyConnection> = None;
        loop {
            let asked = tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.checkpoint.notified() => true,
                _ = tokio::time::sleep(KEEP_OPEN), if conn.is_some() => false,
            };
            if !asked {
                if let Some(idle) = conn.take() {
                    let _ = idle.close().await;
                }
                continue;
            }
            if conn.is_none() {
                match sqlx::AnyConnection::connect(&self.url).await {
                    Ok(opened) => conn = Some(opened),
                    Err(e) => {
                        tracing::warn!("checkpoint: cannot open the database: {e}");
                        continue;
                    }
                }
            }
            if let Some(c) = conn.as_mut() {
                // PASSIVE: copies what no reader still needs, never waits for a lock.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut *c)
                    .await
                {
                    tracing::warn!("checkpoint failed (SQLite checkpoints by itself later): {e}");
                    conn = None;
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    }
}
