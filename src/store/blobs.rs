//! Content-addressed bytes (raw mails, attachments): stored once per organisation by SHA-256.

use sqlx::Row;

use super::{ts, Result, Store, Tx};
/// The address of a blob: the same hash triage gives an attachment.
pub use crate::understand::parse::sha256_hex;

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
        .bind(bytes)
        .bind(ts(chrono::Utc::now()))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// The bytes of a blob; `None` when unknown or purged by retention.
    pub async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT bytes FROM blobs WHERE org = $1 AND sha256 = $2")
            .bind(&self.org)
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<Vec<u8>>, _>("bytes")?,
            None => None,
        })
    }
}
