//! Retention and subject access on disk: what anonymising one case removes, the counts
//! `doorstroom purge --dry-run` shows, and the outgoing mails `doorstroom export-case` collects.
//!
//! Anonymising keeps every row that a figure of the yearly report counts (the case row with its
//! partner, programme, dates, status, outcome; milestones; the kinds and times of events) and
//! removes what names or describes a person: the candidate, CIR number and counsellor on the
//! case and in its history, concern statements, event details, document names and senders, the
//! bytes of documents and raw mails, the decisions of its mails and the bodies of the mails we
//! sent about it. Bytes shared with a case that is not being anonymised stay.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{ts, Result, Store, Tx};

impl Tx {
    /// Remove the personal data held beside the case row of `case_id` / `case_ref` (the caller
    /// blanks and saves the case row itself, with its status event, in this transaction).
    pub async fn anonymise_case_data(&mut self, case_id: i64, case_ref: &str) -> Result<()> {
        // What the transaction holds back is anonymised with the rest.
        self.write_held().await?;
        let org = self.org.clone();
        // Bytes first, while the links that say which bytes are this case's still exist.
        sqlx::query(
            "UPDATE blobs SET bytes = NULL
             WHERE org = $1 AND bytes IS NOT NULL
               AND (sha256 IN (SELECT sha256 FROM documents WHERE org = $1 AND case_id = $2 AND sha256 IS NOT NULL)
                 OR sha256 IN (SELECT sha256 FROM mails WHERE org = $1 AND case_ref = $3))
               AND sha256 NOT IN (SELECT sha256 FROM documents WHERE org = $1 AND case_id <> $2 AND sha256 IS NOT NULL)
               AND sha256 NOT IN (SELECT sha256 FROM mails WHERE org = $1 AND (case_ref IS NULL OR case_ref <> $3))",
        )
        .bind(org.clone())
        .bind(case_id)
        .bind(case_ref.to_string())
        .execute(self.conn())
        .await?;
        self.drop_parts_of_purged().await?;
        let statements: [(&str, bool); 6] = [
            // What a wrong decision changed, kept to undo it: the case as it was, names and all.
            ("DELETE FROM case_undo WHERE org = $1 AND case_id = $2", true),
            (
                "UPDATE documents SET filename = kind, sender = NULL, note = NULL WHERE org = $1 AND case_id = $2",
                true,
            ),
            (
                "UPDATE concerns SET statement = '' WHERE org = $1 AND case_id = $2",
                true,
            ),
            (
                "UPDATE counsellors SET name = NULL, email = NULL, phone = NULL WHERE org = $1 AND case_id = $2",
                true,
            ),
            (
                "UPDATE case_events SET detail = '{}' WHERE org = $1 AND case_id = $2 AND kind <> 'status'",
                true,
            ),
            (
                "UPDATE mails SET decision = NULL, reason = NULL WHERE org = $1 AND case_ref = $2",
                false,
            ),
        ];
        for (sql, by_id) in statements {
            let mut q = sqlx::query(sql).bind(org.clone());
            q = if by_id {
                q.bind(case_id)
            } else {
                q.bind(case_ref.to_string())
            };
            q.execute(self.conn()).await?;
        }
        // Placeholders numbered in order of appearance (the body comes first in the text).
        sqlx::query(
            "UPDATE outbox SET subject = '', body = $1
             WHERE org = $2 AND case_ref = $3 AND state IN ('sent', 'failed', 'cancelled')",
        )
        .bind(Vec::<u8>::new())
        .bind(org)
        .bind(case_ref.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// The outgoing mails about a case (id, Message-ID, state), oldest first.
    pub async fn outbox_of_case(&self, case_ref: &str) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query(
            "SELECT id, message_id, state FROM outbox WHERE org = $1 AND case_ref = $2 ORDER BY id",
        )
        .bind(&self.org)
        .bind(case_ref)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("message_id")?,
                    r.try_get("state")?,
                ))
            })
            .collect()
    }

    /// How many raw mails [`Store::purge_raw_mail`] would empty for `before` (the same rule).
    pub async fn count_purgeable_raw_mail(&self, before: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM blobs
             WHERE org = $1 AND bytes IS NOT NULL
               AND sha256 IN (SELECT sha256 FROM mails WHERE org = $1 AND state <> 'stored' AND processed_at < $2)
               AND sha256 NOT IN (SELECT sha256 FROM mails WHERE org = $1 AND (state = 'stored' OR processed_at >= $2))
               AND sha256 NOT IN (SELECT sha256 FROM documents WHERE org = $1 AND sha256 IS NOT NULL)",
        )
        .bind(&self.org)
        .bind(ts(before))
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }
}
