//! Incoming mails: the raw bytes first, then the decision, then the move out of the inbox.
//!
//! A mail row is written before triage runs (`stored`), gets its decision in the same
//! transaction as the case effects (`processed` or `quarantined`), and is marked `moved` only
//! after the mailbox confirmed the move. On restart, rows that are decided but not moved are only
//! moved, never processed again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store, StoreError, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Bytes stored, not yet decided.
    Stored,
    /// Decided and its effects committed.
    Processed,
    /// Needs a person: malformed, spoofed, unknown sender, or a permanent error.
    Quarantined,
}

impl MailState {
    fn as_str(self) -> &'static str {
        match self {
            MailState::Stored => "stored",
            MailState::Processed => "processed",
            MailState::Quarantined => "quarantined",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "stored" => Ok(MailState::Stored),
            "processed" => Ok(MailState::Processed),
            "quarantined" => Ok(MailState::Quarantined),
            other => Err(StoreError::Corrupt(format!("unknown mail state `{other}`"))),
        }
    }
}

/// Where a mail was found, so that it is recognised when seen again.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// `imap:INBOX`, `maildir:/var/lib/doorstroom/mail`, `file`.
    pub source: String,
    /// `UIDVALIDITY/UID` for IMAP, the unique part of the file name for Maildir, the path for files.
    pub source_key: String,
    pub message_id: Option<String>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailRecord {
    pub id: i64,
    pub sha256: String,
    pub message_id: Option<String>,
    pub body_hash: Option<String>,
    pub source: String,
    pub source_key: String,
    pub received_at: DateTime<Utc>,
    pub state: MailState,
    pub moved: bool,
    pub kind: Option<String>,
    pub partner: Option<String>,
    pub case_ref: Option<String>,
    /// The triage decision, as JSON.
    pub decision: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub processed_at: Option<DateTime<Utc>>,
    /// Times intake began deciding this mail, each counted before it began (migration 0015).
    pub attempts: i64,
}

pub(super) const COLUMNS: &str =
    "id, sha256, message_id, body_hash, source, source_key, received_at, state, moved, kind, \
                       partner, case_ref, decision, reason, processed_at, attempts";

pub(super) fn record(row: &AnyRow) -> Result<MailRecord> {
    let decision = opt_text(row, "decision")?
        .map(|d| {
            serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("mail decision: {e}")))
        })
        .transpose()?;
    Ok(MailRecord {
        id: row.try_get("id")?,
        sha256: row.try_get("sha256")?,
        message_id: opt_text(row, "message_id")?,
        body_hash: opt_text(row, "body_hash")?,
        source: row.try_get("source")?,
        source_key: row.try_get("source_key")?,
        received_at: parse_ts(&row.try_get::<String, _>("received_at")?)?,
        state: MailState::parse(&row.try_get::<String, _>("state")?)?,
        moved: row.try_get::<i64, _>("moved")? != 0,
        kind: opt_text(row, "kind")?,
        partner: opt_text(row, "partner")?,
        case_ref: opt_text(row, "case_ref")?,
        decision,
        reason: opt_text(row, "reason")?,
        attempts: row.try_get("attempts")?,
        processed_at: opt_text(row, "processed_at")?
            .map(|t| parse_ts(&t))
            .transpose()?,
    })
}

/// How a mail was decided, written together with its effects.
#[derive(Debug, Clone)]
pub struct MailOutcome<'a> {
    pub state: MailState,
    pub kind: &'a str,
    pub partner: Option<&'a str>,
    pub case_ref: Option<&'a str>,
    pub body_hash: Option<&'a str>,
    pub decision: &'a serde_json::Value,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Store a mail's bytes and its row, before anything is decided (see [`Tx::record_mail`]).
    pub async fn record_mail(&self, mail: &NewMail, raw: &[u8]) -> Result<(MailRecord, bool)> {
        let mut tx = self.begin().await?;
        let recorded = tx.record_mail(mail, raw).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    pub async fn mail(&self, id: i64) -> Result<MailRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mails WHERE org = $1 AND id = $2"
        ))
        .bind(&self.org)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("mail {id}")))?;
        record(&row)
    }

    /// Decided mails with the same Message-ID as a new one, other than `except`: (body hash,
    /// Message-ID) pairs for duplicate detection.
    pub async fn earlier_mails(
        &self,
        message_id: &str,
        except: i64,
    ) -> Result<Vec<(String, String)>> {
        let scope = super::RegisterScope {
            copies_of: Some((message_id.to_string(), except)),
            ..super::RegisterScope::default()
        };
        Ok(self.register_scoped(&scope).await?.earlier)
    }

    /// Mails of a source that were decided but not yet moved out of the inbox (a crash came
    /// between the commit and the move): they are only moved on restart.
    pub async fn mails_awaiting_move(&self, source: &str) -> Result<Vec<MailRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mails WHERE org = $1 AND source = $2 AND state <> 'stored' AND moved = 0 ORDER BY id"
        ))
        .bind(&self.org)
        .bind(source)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    pub async fn mark_moved(&self, id: i64) -> Result<()> {
        self.mark_all_moved(&[id]).await
    }

    /// Record that the mailbox confirmed the move of these mails out of the inbox: one
    /// statement for a whole batch.
    pub async fn mark_all_moved(&self, ids: &[i64]) -> Result<()> {
        for chunk in ids.chunks(500) {
            let list = super::placeholders(2, chunk.len());
            let sql = format!("UPDATE mails SET moved = 1 WHERE org = $1 AND id IN ({list})");
            let mut query = sqlx::query(&sql).bind(&self.org);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Mails for the admin view, newest first.
    pub async fn list_mails(&self, quarantined_only: bool, limit: i64) -> Result<Vec<MailRecord>> {
        let filter = if quarantined_only {
            "AND state = 'quarantined'"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mails WHERE org = $1 {filter} ORDER BY id DESC LIMIT $2"
        ))
        .bind(&self.org)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    /// Put a quarantined mail back to `stored`, so that intake decides it again (after a config
    /// fix). Returns false when the mail is not quarantined.
    pub async fn requeue_mail(&self, id: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE mails SET state = 'stored', reason = NULL WHERE org = $1 AND id = $2 AND state = 'quarantined'")
            .bind(&self.org)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}

/// A mail to record, with the hash of its bytes ([`super::sha256_hex`]), which a caller with
/// many mails works out off the database's path.
pub struct MailBytes<'a> {
    pub mail: &'a NewMail,
    pub raw: &'a [u8],
    pub sha256: &'a str,
}

/// A mail of a batch being recorded: stored before, or new (first stored by the batch's mail
/// of this index).
enum Found {
    Known(Box<MailRecord>),
    New(usize),
}

impl Tx {
    /// Store a mail's bytes and its row, before anything is decided. Seeing the same mail again
    /// returns the existing row and `false`: the same source and key, or the very same bytes
    /// from the same source under a new key (an IMAP mailbox recreated with a new UIDVALIDITY).
    pub async fn record_mail(&mut self, mail: &NewMail, raw: &[u8]) -> Result<(MailRecord, bool)> {
        let sha256 = super::sha256_hex(raw);
        let mut recorded = self
            .record_mails(&[MailBytes {
                mail,
                raw,
                sha256: &sha256,
            }])
            .await?;
        recorded
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("the row of mail {}", mail.source_key)))
    }

    /// [`Tx::record_mail`] for a batch, in order (a mail sees the ones before it), with a few
    /// statements per batch instead of four per mail: the known mails of each source are looked
    /// up by key and by hash at once, and the new ones inserted together.
    pub async fn record_mails(
        &mut self,
        batch: &[MailBytes<'_>],
    ) -> Result<Vec<(MailRecord, bool)>> {
        let org = self.org.clone();
        let mut sources: Vec<&str> = batch.iter().map(|m| m.mail.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        // The oldest row per (source, key) and per (source, hash).
        let mut by_key: HashMap<(String, String), MailRecord> = HashMap::new();
        let mut by_sha: HashMap<(String, String), MailRecord> = HashMap::new();
        for source in sources {
            let of_source = || batch.iter().filter(|m| m.mail.source == source);
            let keys: Vec<String> = of_source().map(|m| m.mail.source_key.clone()).collect();
            let shas: Vec<String> = of_source().map(|m| m.sha256.to_string()).collect();
            for (key, known) in self.oldest_by(source, "source_key", keys).await? {
                by_key.insert((source.to_string(), key), known);
            }
            for (sha, known) in self.oldest_by(source, "sha256", shas).await? {
                by_sha.insert((source.to_string(), sha), known);
            }
        }

        // Which mails are new; a mail seen earlier in this batch counts as known.
        let mut new = Vec::new();
        let mut fresh: HashMap<(String, String), usize> = HashMap::new();
        let mut fresh_sha: HashMap<(String, String), usize> = HashMap::new();
        let mut outcome: Vec<Found> = Vec::with_capacity(batch.len());
        for (i, MailBytes { mail, sha256, .. }) in batch.iter().enumerate() {
            let key = (mail.source.clone(), mail.source_key.clone());
            let content = (mail.source.clone(), sha256.to_string());
            // As one mail at a time would find them: by key, then by content; a row stored
            // before the batch comes before one of this batch (its id is lower).
            if let Some(known) = by_key.get(&key) {
                outcome.push(Found::Known(Box::new(known.clone())));
            } else if let Some(&first) = fresh.get(&key) {
                outcome.push(Found::New(first));
            } else if let Some(known) = by_sha.get(&content) {
                outcome.push(Found::Known(Box::new(known.clone())));
            } else if let Some(&first) = fresh_sha.get(&content) {
                outcome.push(Found::New(first));
            } else {
                fresh.insert(key, i);
                fresh_sha.insert(content, i);
                new.push(i);
                outcome.push(Found::New(i));
            }
        }

        let mut inserted: HashMap<(String, String), MailRecord> = HashMap::new();
        let now = ts(chrono::Utc::now());
        for chunk in new.chunks(50) {
            let mut blobs = Vec::with_capacity(chunk.len());
            let mut rows = Vec::with_capacity(chunk.len());
            for n in 0..chunk.len() {
                blobs.push(format!("($1, {}, $2)", super::placeholders(3 + 3 * n, 3)));
                rows.push(format!(
                    "($1, {}, 'stored')",
                    super::placeholders(2 + 5 * n, 5)
                ));
            }
            let sql = format!(
                "INSERT INTO blobs (org, sha256, size, bytes, created_at) VALUES {}
                 ON CONFLICT (org, sha256) DO NOTHING",
                blobs.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(&org).bind(&now);
            for &i in chunk {
                let MailBytes { raw, sha256, .. } = batch[i];
                // Bound by reference (sqlx copies an owned `Vec` once more), and only the first
                // part of a large mail: the rest follows part by part (see `blobs`).
                query = query
                    .bind(sha256)
                    .bind(raw.len() as i64)
                    .bind(super::blobs::first_part(raw));
            }
            query.execute(self.conn()).await?;
            for &i in chunk {
                let MailBytes { raw, sha256, .. } = batch[i];
                if raw.len() > super::blobs::PART {
                    self.put_parts(sha256, raw).await?;
                }
            }
            let sql = format!(
                "INSERT INTO mails (org, sha256, message_id, source, source_key, received_at, state)
                 VALUES {} RETURNING {COLUMNS}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(&org);
            for &i in chunk {
                let MailBytes { mail, sha256, .. } = batch[i];
                query = query
                    .bind(sha256)
                    .bind(mail.message_id.clone())
                    .bind(&mail.source)
                    .bind(&mail.source_key)
                    .bind(ts(mail.received_at));
            }
            for row in query.fetch_all(self.conn()).await? {
                let stored = record(&row)?;
                inserted.insert((stored.source.clone(), stored.source_key.clone()), stored);
            }
        }
        outcome
            .into_iter()
            .enumerate()
            .map(|(i, found)| match found {
                Found::Known(known) => Ok((*known, false)),
                Found::New(first) => {
                    let mail = batch[first].mail;
                    let key = (mail.source.clone(), mail.source_key.clone());
                    let stored = inserted.get(&key).cloned().ok_or_else(|| {
                        StoreError::NotFound(format!("the new row of mail {}", mail.source_key))
                    })?;
                    Ok((stored, i == first))
                }
            })
            .collect()
    }

    /// Count an attempt at deciding each of these mails (committed before the decision, see
    /// `intake::pipeline`): at most 500 ids per statement.
    pub async fn count_attempts(&mut self, ids: &[i64]) -> Result<()> {
        let org = self.org.clone();
        for chunk in ids.chunks(500) {
            let list = super::placeholders(2, chunk.len());
            let sql = format!(
                "UPDATE mails SET attempts = attempts + 1 WHERE org = $1 AND id IN ({list})"
            );
            let mut query = sqlx::query(&sql).bind(&org);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// The oldest mail of `source` per value of `column` (`source_key` or `sha256`, each with
    /// its own index: written as one `OR`, SQLite walked every mail of the source).
    async fn oldest_by(
        &mut self,
        source: &str,
        column: &'static str,
        values: Vec<String>,
    ) -> Result<HashMap<String, MailRecord>> {
        let org = self.org.clone();
        let mut oldest = HashMap::new();
        for chunk in values.chunks(500) {
            let sql = format!(
                "SELECT {COLUMNS} FROM mails WHERE org = $1 AND source = $2 AND {column} IN ({}) ORDER BY id",
                super::placeholders(3, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(&org).bind(source);
            for value in chunk {
                query = query.bind(value);
            }
            for row in query.fetch_all(self.conn()).await? {
                let known = record(&row)?;
                let value = match column {
                    "source_key" => known.source_key.clone(),
                    _ => known.sha256.clone(),
                };
                oldest.entry(value).or_insert(known);
            }
        }
        Ok(oldest)
    }

    /// Record the decision of a mail, in the transaction of its effects. The row is written by
    /// [`Tx::write_held`], with those of the other mails decided in this transaction (one
    /// statement for a batch instead of one per mail); until then the transaction's own
    /// register reads ([`Tx::register_scoped`]) see the decision as if it were written.
    pub fn finish_mail(&mut self, mail: &MailRecord, outcome: &MailOutcome<'_>) {
        self.held.finished.push(Finished {
            id: mail.id,
            message_id: mail.message_id.clone(),
            state: outcome.state,
            kind: outcome.kind.to_string(),
            partner: outcome.partner.map(str::to_string),
            case_ref: outcome.case_ref.map(str::to_string),
            body_hash: outcome.body_hash.map(str::to_string),
            decision: outcome.decision.to_string(),
            reason: outcome.reason.map(str::to_string),
            at: ts(outcome.at),
        });
    }

    /// Write the decisions recorded by [`Tx::finish_mail`] (see [`Tx::write_held`]).
    pub(super) async fn write_finished(&mut self) -> Result<()> {
        // 9 values a row: 100 rows stay far below either database's limit on parameters.
        const ROWS: usize = 100;
        let finished = std::mem::take(&mut self.held.finished);
        let org = self.org.clone();
        for chunk in finished.chunks(ROWS) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", super::placeholders(2 + 9 * n, 9)))
                .collect();
            // VALUES columns are `column1`, `column2`, … in both SQLite and PostgreSQL.
            let sql = format!(
                "UPDATE mails SET state = v.column2, kind = v.column3, partner = v.column4,
                        case_ref = v.column5, body_hash = v.column6, decision = v.column7,
                        reason = v.column8, processed_at = v.column9
                 FROM (VALUES {}) AS v
                 WHERE mails.org = $1 AND mails.id = v.column1 AND mails.state = 'stored'
                 RETURNING mails.id",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(&org);
            for f in chunk {
                query = query
                    .bind(f.id)
                    .bind(f.state.as_str())
                    .bind(&f.kind)
                    .bind(&f.partner)
                    .bind(&f.case_ref)
                    .bind(&f.body_hash)
                    .bind(&f.decision)
                    .bind(&f.reason)
                    .bind(&f.at);
            }
            let written: std::collections::HashSet<i64> = query
                .fetch_all(self.conn())
                .await?
                .iter()
                .map(|row| row.try_get::<i64, _>(0))
                .collect::<std::result::Result<_, _>>()?;
            if let Some(f) = chunk.iter().find(|f| !written.contains(&f.id)) {
                return Err(StoreError::Conflict(format!(
                    "mail {} was already decided",
                    f.id
                )));
            }
        }
        Ok(())
    }

    /// The connection, and the decisions recorded in this transaction and not yet written.
    pub(super) fn conn_and_finished(&mut self) -> (&mut sqlx::AnyConnection, &[Finished]) {
        (&mut self.tx, &self.held.finished)
    }
}

/// A mail's decision as [`Tx::finish_mail`] holds it until [`Tx::write_held`].
#[derive(Debug)]
pub(super) struct Finished {
    pub id: i64,
    /// As stored: with angle brackets.
    pub message_id: Option<String>,
    state: MailState,
    kind: String,
    partner: Option<String>,
    pub case_ref: Option<String>,
    pub body_hash: Option<String>,
    decision: String,
    reason: Option<String>,
    at: String,
}

impl Store {
    /// Drop the raw bytes of mails decided before `before`, unless the same bytes belong to a
    /// newer or undecided mail, or to a document. Returns how many blobs were emptied.
    pub async fn purge_raw_mail(&self, before: DateTime<Utc>) -> Result<u64> {
        let n = sqlx::query(
            "UPDATE blobs SET bytes = NULL
             WHERE org = $1 AND bytes IS NOT NULL
               AND sha256 IN (SELECT sha256 FROM mails WHERE org = $1 AND state <> 'stored' AND processed_at < $2)
               AND sha256 NOT IN (SELECT sha256 FROM mails WHERE org = $1 AND (state = 'stored' OR processed_at >= $2))
               AND sha256 NOT IN (SELECT sha256 FROM documents WHERE org = $1 AND sha256 IS NOT NULL)",
        )
        .bind(&self.org)
        .bind(ts(before))
        .execute(self.pool())
        .await?
        .rows_affected();
        self.drop_parts_of_purged().await?;
        Ok(n)
    }
}
