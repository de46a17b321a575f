//! Corrections on disk (migration 0016): what staff or an admin changed about a mail's decision,
//! and the lookups a correction needs: the mail a notice was about, a mail's row and bytes
//! inside the correcting transaction, putting a decided mail back to `stored` so that it is
//! decided again (undoing what the wrong decision did is [`super::undo`]).
//!
//! Never decides anything: `intake::correct` says what to write.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store, StoreError, Tx};
use crate::store::mails::MailRecord;

/// One correction, as `doorstroom mails corrections` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    pub id: i64,
    /// The mail corrected.
    pub mail_id: i64,
    /// The staff answer that asked for it; none for an admin's command.
    pub answer_mail_id: Option<i64>,
    /// The staff member's address, or `admin`.
    pub by: String,
    /// `move`, `redecide`, `new_case`, `ignore`, `assign_sa`, `release`, joined by `+` when
    /// one answer asked several.
    pub action: String,
    pub original_kind: Option<String>,
    pub original_case: Option<String>,
    pub corrected_kind: Option<String>,
    pub corrected_case: Option<String>,
    /// The words of the answer or the command, as written.
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// A correction to write; see [`Correction`].
#[derive(Debug, Clone)]
pub struct NewCorrection<'a> {
    pub mail_id: i64,
    pub answer_mail_id: Option<i64>,
    /// The answer's Message-ID: the same answer delivered twice is one correction.
    pub answer_key: Option<&'a str>,
    pub by: &'a str,
    pub action: &'a str,
    pub original_kind: Option<&'a str>,
    pub original_case: Option<&'a str>,
    pub corrected_kind: Option<&'a str>,
    pub corrected_case: Option<&'a str>,
    pub detail: &'a str,
    pub at: DateTime<Utc>,
}

fn correction(row: &AnyRow) -> Result<Correction> {
    Ok(Correction {
        id: row.try_get("id")?,
        mail_id: row.try_get("mail_id")?,
        answer_mail_id: row.try_get::<Option<i64>, _>("answer_mail_id")?,
        by: row.try_get("by_whom")?,
        action: row.try_get("action")?,
        original_kind: opt_text(row, "original_kind")?,
        original_case: opt_text(row, "original_case")?,
        corrected_kind: opt_text(row, "corrected_kind")?,
        corrected_case: opt_text(row, "corrected_case")?,
        detail: row.try_get("detail")?,
        at: parse_ts(&row.try_get::<String, _>("at")?)?,
    })
}

impl Store {
    /// Every correction, oldest first.
    pub async fn corrections(&self) -> Result<Vec<Correction>> {
        let rows = sqlx::query(
            "SELECT id, mail_id, answer_mail_id, by_whom, action, original_kind, original_case,
                    corrected_kind, corrected_case, detail, at
             FROM corrections WHERE org = $1 ORDER BY id",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(correction).collect()
    }
}

impl Tx {
    /// Record a correction. False when this answer corrected this mail before (the same answer
    /// delivered twice): nothing is written then, and the caller changes nothing either.
    pub async fn record_correction(&mut self, c: &NewCorrection<'_>) -> Result<bool> {
        let org = self.org.clone();
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO corrections (org, mail_id, answer_mail_id, answer_key, by_whom, action,
                                      original_kind, original_case, corrected_kind, corrected_case,
                                      detail, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(org)
        .bind(c.mail_id)
        .bind(c.answer_mail_id)
        .bind(c.answer_key.map(str::to_string))
        .bind(c.by.to_string())
        .bind(c.action.to_string())
        .bind(c.original_kind.map(str::to_string))
        .bind(c.original_case.map(str::to_string))
        .bind(c.corrected_kind.map(str::to_string))
        .bind(c.corrected_case.map(str::to_string))
        .bind(c.detail.to_string())
        .bind(ts(c.at))
        .fetch_optional(self.conn())
        .await?;
        Ok(inserted.is_some())
    }

    /// Has this answer (its Message-ID) corrected anything before?
    pub async fn answer_applied(&mut self, answer_key: &str) -> Result<bool> {
        let org = self.org.clone();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM corrections WHERE org = $1 AND answer_key = $2",
        )
        .bind(org)
        .bind(answer_key.to_string())
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// A mail's row as this transaction sees it.
    pub async fn mail(&mut self, id: i64) -> Result<MailRecord> {
        let org = self.org.clone();
        let row = sqlx::query(&format!(
            "SELECT {} FROM mails WHERE org = $1 AND id = $2",
            super::mails::COLUMNS
        ))
        .bind(org)
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("mail {id}")))?;
        super::mails::record(&row)
    }

    /// The raw bytes of a mail (or a document) as this transaction sees them; none once purged.
    pub async fn blob(&mut self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let org = self.org.clone();
        let row = sqlx::query("SELECT bytes FROM blobs WHERE org = $1 AND sha256 = $2")
            .bind(org)
            .bind(sha256.to_string())
            .fetch_optional(self.conn())
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<Vec<u8>>, _>("bytes")?,
            None => None,
        })
    }

    /// The mail a notice we sent was about, when the notice is of one of `kinds`: the
    /// `mails` row its outbox row names as its cause (`mail:42…`), found by the notice's
    /// Message-ID (with angle brackets, as stored).
    pub async fn mail_of_notice(
        &mut self,
        message_id: &str,
        kinds: &[&str],
    ) -> Result<Option<i64>> {
        let org = self.org.clone();
        let row = sqlx::query(
            "SELECT kind, cause_kind, cause_ref FROM outbox WHERE org = $1 AND message_id = $2",
        )
        .bind(org)
        .bind(message_id.to_string())
        .fetch_optional(self.conn())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let cause_kind: String = row.try_get("cause_kind")?;
        let cause: String = row.try_get("cause_ref")?;
        Ok((cause_kind == "mail" && kinds.contains(&kind.as_str()))
            .then(|| cause.split(':').next().and_then(|id| id.parse().ok()))
            .flatten())
    }

    /// The newest mail of case `case_ref` that a notice of one of `kinds` to `recipient` was
    /// about: the fallback when an answer's threading headers were lost but its subject kept
    /// the case tag.
    pub async fn last_noticed_mail(
        &mut self,
        case_ref: &str,
        recipient: &str,
        kinds: &[&str],
    ) -> Result<Option<i64>> {
        let org = self.org.clone();
        // Recipients are a JSON array of lowercase addresses: `"an@x"` with its quotes.
        let sql = format!(
            "SELECT cause_ref FROM outbox
             WHERE org = $1 AND case_ref = $2 AND cause_kind = 'mail' AND recipients LIKE $3
               AND kind IN ({})
             ORDER BY id DESC LIMIT 1",
            super::placeholders(4, kinds.len().max(1))
        );
        let mut query = sqlx::query(&sql)
            .bind(org)
            .bind(case_ref.to_string())
            .bind(format!("%\"{}\"%", recipient.to_ascii_lowercase()));
        if kinds.is_empty() {
            query = query.bind(String::new());
        }
        for kind in kinds {
            query = query.bind(kind.to_string());
        }
        let row = query.fetch_optional(self.conn()).await?;
        Ok(row.and_then(|row| {
            row.try_get::<String, _>("cause_ref")
                .ok()
                .and_then(|c| c.split(':').next().and_then(|id| id.parse().ok()))
        }))
    }

    /// Put a decided mail back to `stored`, so that it is decided again in this transaction
    /// (its new decision is written by [`Tx::finish_mail`]). False when it is not decided.
    pub async fn reopen_mail(&mut self, id: i64) -> Result<bool> {
        let org = self.org.clone();
        let n = sqlx::query(
            "UPDATE mails SET state = 'stored', reason = NULL WHERE org = $1 AND id = $2 AND state <> 'stored'",
        )
        .bind(org)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The quarantined mails, newest first, at most `limit` (a staff member's `quarantaine`).
    pub async fn quarantined_mails(&mut self, limit: i64) -> Result<Vec<MailRecord>> {
        let org = self.org.clone();
        let rows = sqlx::query(&format!(
            "SELECT {} FROM mails WHERE org = $1 AND state = 'quarantined' ORDER BY id DESC LIMIT $2",
            super::mails::COLUMNS
        ))
        .bind(org)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(super::mails::record).collect()
    }

    /// The row id of a case, for writing events on it.
    pub async fn case_id(&mut self, case_ref: &str) -> Result<Option<i64>> {
        let org = self.org.clone();
        Ok(
            sqlx::query_scalar("SELECT id FROM cases WHERE org = $1 AND case_ref = $2")
                .bind(org)
                .bind(case_ref.to_string())
                .fetch_optional(self.conn())
                .await?,
        )
    }
}
