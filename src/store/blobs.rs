//! Content-addressed bytes (raw mails, attachments): stored once per organisation by SHA-256.
//!
//! A blob larger than [`PART`] is stored in parts: the first in `blobs.bytes`, the rest in
//! `blob_parts` (migration 0020), each written and read on its own, so that no statement binds
//! more than one part (SQLite and sqlx each copy a bound value; a 50 MB mail stored whole cost
//! five times its size in memory). A blob whose `bytes` already hold `size` bytes (stored
//! whole, before parts) has no parts.

use sqlx::Row;

use super::{ts, Result, Store, Tx};
/// The address of a blob: the same hash triage gives an attachment.
pub use crate::understand::parse::sha256_hex;

/// The most bytes of a blob one row holds.
pub const PART: usize = 1 << 20;

/// The first part of `bytes`: what `blobs.bytes` holds.
pub(super) fn first_part(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(PART)]
}

impl Tx {
    /// Store bytes under their hash (a second copy of the same bytes is a no-op). Returns the hash.
    pub async fn put_blob(&mut self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        self.put_hashed_blob(&sha, bytes).await?;
        Ok(sha)
    }

    /// [`Tx::put_blob`] for bytes whose hash the caller has computed already.
    pub(super) async fn put_hashed_blob(&mut self, sha: &str, bytes: &[u8]) -> Result<()> {
        let org = self.org.clone();
        sqlx::query(
            "INSERT INTO blobs (org, sha256, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org, sha256) DO NOTHING",
        )
        .bind(org)
        .bind(sha)
        .bind(bytes.len() as i64)
        .bind(first_part(bytes))
        .bind(ts(chrono::Utc::now()))
        .execute(self.conn())
        .await?;
        self.put_parts(sha, bytes).await
    }

    /// The parts after the first of a blob whose row is written (by this call's caller or an
    /// earlier one). Idempotent; nothing for a blob stored whole or purged.
    pub(super) async fn put_parts(&mut self, sha: &str, bytes: &[u8]) -> Result<()> {
        for (n, part) in bytes.chunks(PART).enumerate().skip(1) {
            sqlx::query(
                "INSERT INTO blob_parts (org, sha256, n, bytes)
                 SELECT $1, $2, $3, $4
                 WHERE EXISTS (SELECT 1 FROM blobs
                               WHERE org = $1 AND sha256 = $2 AND length(bytes) < size)
                 ON CONFLICT (org, sha256, n) DO NOTHING",
            )
            .bind(self.org.clone())
            .bind(sha)
            .bind(n as i64)
            .bind(part)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// After blobs were emptied (`bytes = NULL`): their parts go too.
    pub(super) async fn drop_parts_of_purged(&mut self) -> Result<()> {
        sqlx::query(DROP_PARTS_OF_PURGED)
            .bind(self.org.clone())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

const DROP_PARTS_OF_PURGED: &str = "DELETE FROM blob_parts WHERE org = $1
     AND sha256 IN (SELECT sha256 FROM blobs WHERE org = $1 AND bytes IS NULL)";

impl Store {
    /// The bytes of a blob; `None` when unknown or purged by retention.
    pub async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes, size FROM blobs WHERE org = $1 AND sha256 = $2")
            .bind(&self.org)
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(mut bytes) = row.try_get::<Option<Vec<u8>>, _>("bytes")? else {
            return Ok(None);
        };
        let size = usize::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0);
        let mut n = 1i64;
        while bytes.len() < size {
            let part: Option<Vec<u8>> = sqlx::query_scalar(
                "SELECT bytes FROM blob_parts WHERE org = $1 AND sha256 = $2 AND n = $3",
            )
            .bind(&self.org)
            .bind(sha256)
            .bind(n)
            .fetch_optional(self.pool())
            .await?;
            match part {
                Some(part) => bytes.extend_from_slice(&part),
                None => {
                    return Err(super::StoreError::Corrupt(format!(
                        "blob {sha256}: part {n} of a {size}-byte blob is missing"
                    )))
                }
            }
            n += 1;
        }
        Ok(Some(bytes))
    }

    /// After blobs were emptied outside a transaction: their parts go too.
    pub(super) async fn drop_parts_of_purged(&self) -> Result<()> {
        sqlx::query(DROP_PARTS_OF_PURGED)
            .bind(&self.org)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
