//! The outbox table: mails queued in the transaction of their cause, and their delivery state.
//!
//! A row moves `queued` → `sending` (in its own commit, before the server is contacted) → `sent`
//! or back to `queued` with a later `next_attempt_at` (transient failure) or to `failed`
//! (permanent failure, or retries exhausted). A row found in `sending` after a crash is ambiguous
//! and is resolved by [`crate::outbox::send`], never here. Every state change is conditional on
//! the state it expects, so two senders can never both deliver one row.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store, StoreError, Tx};

/// A mail ready to queue: guarded, rendered and composed, byte for byte what will be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingMail {
    /// Deterministic: the same effect always has the same Message-ID (see [`crate::outbox::message_id_for`]).
    pub message_id: String,
    /// [`crate::outbox::Notice::effect_key`]: queueing the same effect twice is a no-op.
    pub dedupe_key: String,
    /// Set for answers to a sender: at most one per sender per case per day (loop safety).
    pub ack_key: Option<String>,
    /// The template name.
    pub kind: String,
    pub case_ref: Option<String>,
    /// Envelope and header recipients, lowercase, deduplicated, in order.
    pub recipients: Vec<String>,
    pub subject: String,
    pub urgent: bool,
    /// What caused it, for the audit trail: the part of `dedupe` before the first `:` (`mail`,
    /// `escalation`, …) and the rest.
    pub cause_kind: String,
    pub cause_ref: String,
    /// The complete RFC 5322 message.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for `next_attempt_at`.
    Queued,
    /// Handed to the transport; if the process died here, delivery is unknown.
    Sending,
    Sent,
    /// Will not be sent again unless an admin retries it.
    Failed,
    /// Never sent: staff corrected the decision that queued it (`intake::correct`).
    Cancelled,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "queued" => Ok(OutboxState::Queued),
            "sending" => Ok(OutboxState::Sending),
            "sent" => Ok(OutboxState::Sent),
            "failed" => Ok(OutboxState::Failed),
            "cancelled" => Ok(OutboxState::Cancelled),
            other => Err(StoreError::Corrupt(format!(
                "unknown outbox state `{other}`"
            ))),
        }
    }
}

/// What queueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOutcome {
    /// A new row with this id.
    Queued(i64),
    /// The same effect was queued before (same dedupe key): nothing changed.
    Duplicate,
    /// The sender had its acknowledgement about this case today already (loop safety).
    AckLimit,
}

/// One outbox row, without the message bytes (see [`Store::outbox_message`]).
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub dedupe_key: String,
    pub kind: String,
    pub case_ref: Option<String>,
    pub recipients: Vec<String>,
    pub subject: String,
    pub urgent: bool,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub sending_since: Option<DateTime<Utc>>,
    /// Start of the retry window: retries stop `retry_for` after this.
    pub retry_from: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, message_id, dedupe_key, kind, case_ref, recipients, subject, urgent, state, \
     attempts, next_attempt_at, last_error, created_at, sent_at, sending_since, retry_from";

fn row(r: &AnyRow) -> Result<OutboxRow> {
    let recipients: String = r.try_get("recipients")?;
    let created_at = parse_ts(&r.try_get::<String, _>("created_at")?)?;
    let opt_ts = |column: &str| -> Result<Option<DateTime<Utc>>> {
        opt_text(r, column)?.map(|t| parse_ts(&t)).transpose()
    };
    Ok(OutboxRow {
        id: r.try_get("id")?,
        message_id: r.try_get("message_id")?,
        dedupe_key: r.try_get("dedupe_key")?,
        kind: r.try_get("kind")?,
        case_ref: opt_text(r, "case_ref")?,
        recipients: serde_json::from_str(&recipients)
            .map_err(|e| StoreError::Corrupt(format!("outbox recipients: {e}")))?,
        subject: r.try_get("subject")?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        state: OutboxState::parse(&r.try_get::<String, _>("state")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: parse_ts(&r.try_get::<String, _>("next_attempt_at")?)?,
        last_error: opt_text(r, "last_error")?,
        created_at,
        sent_at: opt_ts("sent_at")?,
        sending_since: opt_ts("sending_since")?,
        retry_from: opt_ts("retry_from")?.unwrap_or(created_at),
    })
}

async fn outbox_by_message_id(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    message_id: &str,
) -> Result<Option<OutboxRow>> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE org = $1 AND message_id = $2"
    ))
    .bind(org)
    .bind(message_id)
    .fetch_optional(conn)
    .await?;
    r.as_ref().map(row).transpose()
}

/// Keys a transaction knows to be in the outbox: the effects it queued itself, and the
/// acknowledgement keys it queued or found (see [`Tx::queued_before`]).
#[derive(Debug, Default)]
pub(super) struct Known {
    effects: HashSet<String>,
    acks: HashSet<String>,
}

impl Tx {
    /// [`Store::outbox_by_message_id`] as this transaction sees it.
    pub async fn outbox_by_message_id(&mut self, message_id: &str) -> Result<Option<OutboxRow>> {
        let org = self.org.clone();
        outbox_by_message_id(self.conn(), &org, message_id).await
    }
}

impl Tx {
    /// The mails a mail's decision queued (cause `mail`, any of its notices), when staff
    /// correct that decision: those not sent yet are cancelled — never sent, their keys freed so
    /// that the corrected decision may queue the same notice anew — and those sent or being
    /// sent are returned as they are (they stay sent; the confirmation names them).
    /// Returns (cancelled, already sent).
    pub async fn cancel_mail_outbox(
        &mut self,
        mail_id: i64,
        why: &str,
    ) -> Result<(Vec<OutboxRow>, Vec<OutboxRow>)> {
        let org = self.org.clone();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox
             WHERE org = $1 AND cause_kind = 'mail' AND (cause_ref = $2 OR cause_ref LIKE $3)
             ORDER BY id"
        ))
        .bind(org.clone())
        .bind(mail_id.to_string())
        .bind(format!("{mail_id}:%"))
        .fetch_all(self.conn())
        .await?;
        let rows = rows.iter().map(row).collect::<Result<Vec<_>>>()?;
        let (mut cancelled, mut sent) = (Vec::new(), Vec::new());
        for r in rows {
            match r.state {
                OutboxState::Queued | OutboxState::Failed => {
                    // Placeholders numbered in order of appearance (SQLite binds them so).
                    sqlx::query(
                        "UPDATE outbox SET state = 'cancelled', last_error = $1, ack_key = NULL,
                            dedupe_key = dedupe_key || ':cancelled:' || id,
                            message_id = '<cancelled.' || id || '.' || substr(message_id, 2)
                         WHERE org = $2 AND id = $3 AND state IN ('queued', 'failed')",
                    )
                    .bind(why.to_string())
                    .bind(org.clone())
                    .bind(r.id)
                    .execute(self.conn())
                    .await?;
                    cancelled.push(r);
                }
                OutboxState::Sent | OutboxState::Sending => sent.push(r),
                OutboxState::Cancelled => {}
            }
        }
        Ok((cancelled, sent))
    }
}

impl Tx {
    /// Queue a composed mail in this transaction: it is sent if and only if the transaction
    /// commits. The same effect queued twice, or a second acknowledgement to the same sender
    /// about the same case on the same day, is a no-op.
    pub async fn queue(&mut self, mail: &OutgoingMail, now: DateTime<Utc>) -> Result<QueueOutcome> {
        let org = self.org.clone();
        let recipients = serde_json::to_string(&mail.recipients)
            .map_err(|e| StoreError::Corrupt(format!("outbox recipients: {e}")))?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO outbox (org, message_id, dedupe_key, kind, case_id, case_ref, recipients, subject,
                                 body, cause_kind, cause_ref, state, attempts, next_attempt_at, created_at,
                                 urgent, ack_key, retry_from)
             VALUES ($1, $2, $3, $4, (SELECT id FROM cases WHERE org = $1 AND case_ref = $5), $5, $6, $7,
                     $8, $9, $10, 'queued', 0, $11, $11, $12, $13, $11)
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(org.clone())
        .bind(&mail.message_id)
        .bind(&mail.dedupe_key)
        .bind(&mail.kind)
        .bind(mail.case_ref.clone())
        .bind(recipients)
        .bind(&mail.subject)
        .bind(mail.bytes.as_slice())
        .bind(&mail.cause_kind)
        .bind(&mail.cause_ref)
        .bind(ts(now))
        .bind(i64::from(mail.urgent))
        .bind(mail.ack_key.clone())
        .fetch_optional(self.conn())
        .await?;
        if let Some(id) = inserted {
            self.queued.effects.insert(mail.dedupe_key.clone());
            if let Some(ack) = &mail.ack_key {
                self.queued.acks.insert(ack.clone());
            }
            return Ok(QueueOutcome::Queued(id));
        }
        let same_effect: Option<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE org = $1 AND dedupe_key = $2")
                .bind(org)
                .bind(&mail.dedupe_key)
                .fetch_optional(self.conn())
                .await?;
        Ok(match same_effect {
            Some(_) => QueueOutcome::Duplicate,
            None => QueueOutcome::AckLimit,
        })
    }

    /// Whether a notice would be refused before it is composed: the same effect was queued
    /// before (`dedupe_key`), or the sender has had its acknowledgement (`ack_key`) of the day.
    /// `None` when it may be queued.
    ///
    /// An acknowledgement key seen once stays known for the rest of the transaction (a backfill
    /// reads many mails of one sender about one case): a notice under a known key is refused
    /// without asking the database, as queued before when this transaction queued its effect,
    /// else as [`QueueOutcome::AckLimit`]. (Had an earlier transaction queued the very same
    /// effect, the database would name that first; either way nothing is queued. Intake's
    /// effects name their mail, which is decided once.)
    pub async fn queued_before(
        &mut self,
        dedupe_key: &str,
        ack_key: &str,
    ) -> Result<Option<QueueOutcome>> {
        if self.queued.effects.contains(dedupe_key) {
            return Ok(Some(QueueOutcome::Duplicate));
        }
        if self.queued.acks.contains(ack_key) {
            return Ok(Some(QueueOutcome::AckLimit));
        }
        let org = self.org.clone();
        let rows = sqlx::query(
            "SELECT dedupe_key, ack_key FROM outbox WHERE org = $1 AND (dedupe_key = $2 OR ack_key = $3)",
        )
        .bind(org)
        .bind(dedupe_key)
        .bind(ack_key)
        .fetch_all(self.conn())
        .await?;
        let mut outcome = None;
        for row in rows {
            if opt_text(&row, "ack_key")?.as_deref() == Some(ack_key) {
                self.queued.acks.insert(ack_key.to_string());
            }
            let key: String = row.try_get("dedupe_key")?;
            if key == dedupe_key {
                outcome = Some(QueueOutcome::Duplicate);
            } else if outcome.is_none() {
                outcome = Some(QueueOutcome::AckLimit);
            }
        }
        Ok(outcome)
    }

    /// Mark a row failed in this transaction (together with the notice that tells the
    /// coordinator). Only from `sending` or `queued`; false when it was in neither.
    pub async fn mark_outbox_failed(
        &mut self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let org = self.org.clone();
        let n = sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = $1, sending_since = NULL, next_attempt_at = $2
             WHERE org = $3 AND id = $4 AND state IN ('sending', 'queued')",
        )
        .bind(error)
        .bind(ts(now))
        .bind(org)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

impl Tx {
    /// A bounce came back for a mail the server had accepted: `sent` → `failed`, in the
    /// transaction that tells the coordinator. False when the row is not `sent` (already failed,
    /// or a bounce for a mail we never marked sent).
    pub async fn mark_outbox_bounced(&mut self, id: i64, error: &str) -> Result<bool> {
        let org = self.org.clone();
        let n = sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = $1 WHERE org = $2 AND id = $3 AND state = 'sent'",
        )
        .bind(error)
        .bind(org)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

impl Store {
    /// Queue one mail in a transaction of its own (for causes without other changes).
    pub async fn queue(&self, mail: &OutgoingMail, now: DateTime<Utc>) -> Result<QueueOutcome> {
        let mut tx = self.begin().await?;
        let outcome = tx.queue(mail, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Queued rows in order (due or not): urgent rows first (the priority lane), then oldest
    /// first, so that routine mails to one recipient leave in the order they were queued.
    pub async fn outbox_queued(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE org = $1 AND state = 'queued'
             ORDER BY urgent DESC, id LIMIT $2"
        ))
        .bind(&self.org)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// Rows due now (queued and `next_attempt_at` passed), oldest first.
    pub async fn outbox_due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE org = $1 AND state = 'queued' AND next_attempt_at <= $2
             ORDER BY id LIMIT $3"
        ))
        .bind(&self.org)
        .bind(ts(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// Rows in `sending`: in flight, or left there by a crash.
    pub async fn outbox_sending(&self) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE org = $1 AND state = 'sending' ORDER BY id"
        ))
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// One row, without its bytes.
    pub async fn outbox_row(&self, id: i64) -> Result<OutboxRow> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE org = $1 AND id = $2"
        ))
        .bind(&self.org)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("outbox mail {id}")))?;
        row(&r)
    }

    /// The exact bytes of a queued mail.
    pub async fn outbox_message(&self, id: i64) -> Result<Vec<u8>> {
        let r = sqlx::query("SELECT body FROM outbox WHERE org = $1 AND id = $2")
            .bind(&self.org)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("outbox mail {id}")))?;
        Ok(r.try_get::<Vec<u8>, _>("body")?)
    }

    /// For the admin: newest first, optionally only the failed ones.
    pub async fn list_outbox(&self, failed_only: bool, limit: i64) -> Result<Vec<OutboxRow>> {
        let filter = if failed_only {
            "AND state = 'failed'"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE org = $1 {filter} ORDER BY id DESC LIMIT $2"
        ))
        .bind(&self.org)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// `queued` → `sending`, counting the attempt, in its own commit before the transport is
    /// called. False when someone else took the row.
    pub async fn claim_outbox(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, sending_since = $1
             WHERE org = $2 AND id = $3 AND state = 'queued'",
        )
        .bind(ts(now))
        .bind(&self.org)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// `sending` → `sent`.
    pub async fn mark_outbox_sent(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, sending_since = NULL, last_error = NULL
             WHERE org = $2 AND id = $3 AND state = 'sending'",
        )
        .bind(ts(now))
        .bind(&self.org)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// `sending` → `queued` for another attempt at `next`, with the error that stopped this one.
    pub async fn mark_outbox_retry(
        &self,
        id: i64,
        next: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, last_error = $2, sending_since = NULL
             WHERE org = $3 AND id = $4 AND state = 'sending'",
        )
        .bind(ts(next))
        .bind(error)
        .bind(&self.org)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Postpone a queued row without an attempt (per-recipient rate limit).
    pub async fn postpone_outbox(&self, id: i64, next: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 WHERE org = $2 AND id = $3 AND state = 'queued'",
        )
        .bind(ts(next))
        .bind(&self.org)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// An admin's `outbox retry ID`: a failed row is queued again, due now, with a fresh retry
    /// window. False when the row is not failed.
    pub async fn retry_outbox(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, retry_from = $1
             WHERE org = $2 AND id = $3 AND state = 'failed'",
        )
        .bind(ts(now))
        .bind(&self.org)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Recipients of the mails sent since `since` (one list per mail), for the per-recipient
    /// rate limit.
    pub async fn outbox_sent_since(&self, since: DateTime<Utc>) -> Result<Vec<Vec<String>>> {
        let rows = sqlx::query(
            "SELECT recipients FROM outbox WHERE org = $1 AND state = 'sent' AND sent_at >= $2",
        )
        .bind(&self.org)
        .bind(ts(since))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("recipients")?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("outbox recipients: {e}")))
            })
            .collect()
    }

    /// Message-IDs of mails about a case → that case, so that replies to our mails thread back
    /// to the case (for [`crate::understand::Register::threads`]).
    pub async fn outbox_threads(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT message_id, case_ref FROM outbox WHERE org = $1 AND case_ref IS NOT NULL",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("message_id")?, r.try_get("case_ref")?)))
            .collect()
    }

    /// Find the row of a Message-ID we sent (a bounce names it).
    pub async fn outbox_by_message_id(&self, message_id: &str) -> Result<Option<OutboxRow>> {
        let mut conn = self.pool().acquire().await?;
        outbox_by_message_id(&mut conn, &self.org, message_id).await
    }

    /// Has a mail with this Message-ID come into the shared mailbox (the Bcc copy of one of ours)?
    pub async fn mailbox_has_message_id(&self, message_id: &str) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mails WHERE org = $1 AND message_id = $2")
                .bind(&self.org)
                .bind(message_id)
                .fetch_one(self.pool())
                .await?;
        Ok(n > 0)
    }
}
