//! What a mail's decision changed in each case, kept so that a correction can undo it
//! (migration 0024, `case_undo`), and undoing it: the case written back as
//! [`crate::case::undo::undo`] says, the concerns and documents the mail added removed, and the
//! mail's events marked undone.
//!
//! Never decides what to undo: that is `case::undo` (which fields) and `intake::correct` (when).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{ts, Result, Store, StoreError, Tx};
use crate::case::undo::Undone;
use crate::case::{Case, Cause};

/// A case as the undo table keeps it: as the database gives it back (times in microseconds),
/// without the documents (each carries its mail itself).
fn snapshot(case: &Case) -> Result<String> {
    let mut kept = super::cases::as_stored(case);
    kept.documents.clear();
    serde_json::to_string(&kept).map_err(|e| StoreError::Corrupt(format!("case snapshot: {e}")))
}

fn parse(text: &str) -> Result<Case> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("case snapshot: {e}")))
}

impl Tx {
    /// Keep what mail `mail_id` changed in a case: the case before (None when the mail opened
    /// it) and after (stored, with its row ids).
    pub async fn record_undo(
        &mut self,
        mail_id: i64,
        before: Option<&Case>,
        after: &Case,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let Some(case_id) = after.id else {
            return Err(StoreError::Corrupt(format!(
                "case {} kept for undo before it was stored",
                after.case_ref
            )));
        };
        let before = before.map(snapshot).transpose()?;
        let org = self.org.clone();
        sqlx::query(
            "INSERT INTO case_undo (org, mail_id, case_id, before, after, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org)
        .bind(mail_id)
        .bind(case_id)
        .bind(before)
        .bind(snapshot(after)?)
        .bind(ts(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Undo in every case what mail `mail_id`'s decision changed there and nothing changed
    /// since, newest change first; the events say so with `cause`, and the mail's own events
    /// on those cases are marked undone by `by`. Returns each case as written back, with what
    /// was undone.
    pub async fn undo_mail(
        &mut self,
        mail_id: i64,
        by: &str,
        cause: &Cause,
        at: DateTime<Utc>,
    ) -> Result<Vec<Undone>> {
        let org = self.org.clone();
        let rows = sqlx::query(
            "SELECT u.id, u.before, u.after, c.case_ref FROM case_undo u
             JOIN cases c ON c.org = u.org AND c.id = u.case_id
             WHERE u.org = $1 AND u.mail_id = $2 AND u.undone_at IS NULL
             ORDER BY u.id DESC",
        )
        .bind(org.clone())
        .bind(mail_id)
        .fetch_all(self.conn())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let before = r
                .try_get::<Option<String>, _>("before")?
                .map(|t| parse(&t))
                .transpose()?;
            let after = parse(&r.try_get::<String, _>("after")?)?;
            let case_ref: String = r.try_get("case_ref")?;
            let Some(current) = self.case(&case_ref).await? else {
                continue;
            };
            let mut undone =
                crate::case::undo::undo(&current, before.as_ref(), &after, mail_id, at, cause);
            let case_id = self
                .save_case_since(
                    &mut undone.case,
                    Some(&current),
                    undone.counsellor_changed,
                    at,
                )
                .await?;
            for concern in &undone.removed_concerns {
                sqlx::query("DELETE FROM concerns WHERE org = $1 AND id = $2")
                    .bind(org.clone())
                    .bind(*concern)
                    .execute(self.conn())
                    .await?;
            }
            for document in &undone.removed_documents {
                sqlx::query("DELETE FROM documents WHERE org = $1 AND id = $2")
                    .bind(org.clone())
                    .bind(*document)
                    .execute(self.conn())
                    .await?;
            }
            sqlx::query(
                "UPDATE case_events SET undone_by = $1
                 WHERE org = $2 AND case_id = $3 AND cause_kind = 'mail' AND cause_ref = $4
                   AND undone_by IS NULL",
            )
            .bind(by.to_string())
            .bind(org.clone())
            .bind(case_id)
            .bind(mail_id.to_string())
            .execute(self.conn())
            .await?;
            sqlx::query("UPDATE case_undo SET undone_at = $1 WHERE org = $2 AND id = $3")
                .bind(ts(at))
                .bind(org.clone())
                .bind(id)
                .execute(self.conn())
                .await?;
            self.add_events(case_id, &undone.events).await?;
            out.push(undone);
        }
        Ok(out)
    }
}

impl Store {
    /// The cases a wrong decision opened and a correction withdrew: never a referral, so the
    /// yearly registration leaves them out (as the monthly quota does).
    pub async fn withdrawn_cases(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT c.case_ref FROM cases c
             JOIN case_events e ON e.org = c.org AND e.case_id = c.id AND e.kind = 'withdrawn'
             WHERE c.org = $1",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("case_ref")?))
            .collect()
    }
}
