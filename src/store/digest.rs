//! The queries of the coordinator digest that are not about cases: mails in quarantine, mails
//! processed in a period (with how sure their decision was), case events of a period and
//! outgoing mails that failed.
//!
//! Read-only. The cases part of the digest is read with [`Store::cases`] and judged by the pure
//! `jobs::digest::compose`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store};

/// A mail quarantined in the period, as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedMail {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// The decided kind (`spam_or_spoof`, `malformed`, …); none for a mail too broken to decide.
    pub kind: Option<String>,
    pub sender: String,
    pub subject: String,
    pub reason: String,
}

/// An outgoing mail that failed for good in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedMail {
    pub id: i64,
    pub recipients: Vec<String>,
    pub subject: String,
    pub error: String,
}

/// A processed mail of a kind the digest lists by itself (automated mail, duplicates): nothing
/// was sent about it, so the digest is where a person sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedMail {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub kind: String,
    pub partner: Option<String>,
    pub case_ref: Option<String>,
    /// The decision's first reason (why this kind).
    pub reason: String,
    /// How sure the decision was (0.0–1.0); 1.0 when the decision does not say.
    pub confidence: f64,
    /// Why it was less sure (the decision's `confidence_reasons`, English).
    pub doubts: Vec<String>,
}

/// A change recorded on a case in a period (for the digest: the counsellor's contact changes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseEventOf {
    pub case_ref: String,
    pub partner: String,
    pub at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// Spoof attempts (`spam_or_spoof` mails) in a period, per partner the From claimed to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpoofAttempts {
    /// The claimed partner's id; `None` for spoofs of our own staff or of nobody we know.
    pub partner: Option<String>,
    pub count: i64,
    pub last_at: DateTime<Utc>,
}

impl Store {
    /// The spoof attempts decided in `[from, to)`, grouped by the partner they claimed to be
    /// (intake keeps it in the decision as `claimed_partner`), the most first.
    pub async fn spoof_attempts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SpoofAttempts>> {
        let rows = sqlx::query(
            "SELECT received_at, decision FROM mails
             WHERE org = $1 AND kind = 'spam_or_spoof'
               AND COALESCE(processed_at, received_at) >= $2 AND COALESCE(processed_at, received_at) < $3",
        )
        .bind(&self.org)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(self.pool())
        .await?;
        let mut by_partner: std::collections::BTreeMap<Option<String>, (i64, DateTime<Utc>)> =
            Default::default();
        for row in rows {
            let at = parse_ts(&row.try_get::<String, _>("received_at")?)?;
            let partner = opt_text(&row, "decision")?
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .and_then(|d| d.get("claimed_partner")?.as_str().map(str::to_string));
            let entry = by_partner.entry(partner).or_insert((0, at));
            entry.0 += 1;
            entry.1 = entry.1.max(at);
        }
        let mut out: Vec<SpoofAttempts> = by_partner
            .into_iter()
            .map(|(partner, (count, last_at))| SpoofAttempts {
                partner,
                count,
                last_at,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.partner.cmp(&b.partner)));
        Ok(out)
    }

    /// Processed mails of one of `kinds` (their `MailKind::as_str` names) decided in
    /// `[from, to)`, oldest first.
    pub async fn processed_of_kinds_between(
        &self,
        kinds: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ListedMail>> {
        let mut all = self.processed_between(from, to).await?;
        all.retain(|m| kinds.contains(&m.kind.as_str()));
        Ok(all)
    }

    /// Every processed mail decided in `[from, to)`, oldest first.
    pub async fn processed_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ListedMail>> {
        let rows = sqlx::query(
            "SELECT id, received_at, kind, partner, case_ref, decision FROM mails
             WHERE org = $1 AND state = 'processed' AND kind IS NOT NULL
               AND COALESCE(processed_at, received_at) >= $2 AND COALESCE(processed_at, received_at) < $3
             ORDER BY received_at, id",
        )
        .bind(&self.org)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let decision: Option<serde_json::Value> =
                opt_text(r, "decision")?.and_then(|d| serde_json::from_str(&d).ok());
            let reason = decision
                .as_ref()
                .and_then(|d| d["reasons"][0].as_str())
                .unwrap_or_default()
                .to_string();
            let confidence = decision
                .as_ref()
                .and_then(|d| d["confidence"].as_f64())
                .unwrap_or(1.0);
            let doubts = decision
                .as_ref()
                .and_then(|d| d["confidence_reasons"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            out.push(ListedMail {
                id: r.try_get("id")?,
                received_at: parse_ts(&r.try_get::<String, _>("received_at")?)?,
                kind,
                partner: opt_text(r, "partner")?,
                case_ref: opt_text(r, "case_ref")?,
                reason,
                confidence,
                doubts,
            });
        }
        Ok(out)
    }

    /// The case events of `kind` recorded in `[from, to)`, oldest first, with their case.
    pub async fn case_events_between(
        &self,
        kind: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CaseEventOf>> {
        let rows = sqlx::query(
            "SELECT c.case_ref, c.partner, e.at, e.detail FROM case_events e
             JOIN cases c ON c.id = e.case_id AND c.org = e.org
             WHERE e.org = $1 AND e.kind = $2 AND e.at >= $3 AND e.at < $4
             ORDER BY e.at, e.id",
        )
        .bind(&self.org)
        .bind(kind)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get("detail")?;
                Ok(CaseEventOf {
                    case_ref: r.try_get("case_ref")?,
                    partner: r.try_get("partner")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Mails in quarantine at `to`, oldest first: every one that waits for a person, whenever
    /// it came (until someone retries or deletes it), and the spoof attempts quarantined in
    /// `[from, to)` (they wait for nobody; older ones are not listed again).
    pub async fn quarantined_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<QuarantinedMail>> {
        let rows = sqlx::query(
            "SELECT id, received_at, kind, decision, reason FROM mails
             WHERE org = $1 AND state = 'quarantined'
               AND COALESCE(processed_at, received_at) < $3
               AND (COALESCE(kind, '') <> 'spam_or_spoof'
                    OR COALESCE(processed_at, received_at) >= $2)
             ORDER BY received_at, id",
        )
        .bind(&self.org)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                // Sender and subject live in the decision's facts; a mail too broken to decide
                // has neither.
                let decision: Option<serde_json::Value> =
                    opt_text(r, "decision")?.and_then(|d| serde_json::from_str(&d).ok());
                let fact = |key: &str| {
                    decision
                        .as_ref()
                        .and_then(|d| d["facts"][key].as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                Ok(QuarantinedMail {
                    id: r.try_get("id")?,
                    received_at: parse_ts(&r.try_get::<String, _>("received_at")?)?,
                    kind: opt_text(r, "kind")?,
                    sender: fact("sender"),
                    subject: fact("subject"),
                    reason: opt_text(r, "reason")?.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Outgoing mails in state `failed` that were created, last tried (retries exhausted) or
    /// sent (then bounced) in `[from, to)`. The outbox keeps no separate "failed at" time; a
    /// failure is written with `next_attempt_at` = the moment it failed.
    pub async fn outbox_failed_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FailedMail>> {
        let rows = sqlx::query(
            "SELECT id, recipients, subject, last_error FROM outbox
             WHERE org = $1 AND state = 'failed'
               AND ((next_attempt_at >= $2 AND next_attempt_at < $3)
                 OR (sent_at >= $2 AND sent_at < $3)
                 OR (created_at >= $2 AND created_at < $3))
             ORDER BY id",
        )
        .bind(&self.org)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let recipients: String = r.try_get("recipients")?;
                Ok(FailedMail {
                    id: r.try_get("id")?,
                    recipients: serde_json::from_str(&recipients).unwrap_or_default(),
                    subject: r.try_get("subject")?,
                    error: opt_text(r, "last_error")?.unwrap_or_default(),
                })
            })
            .collect()
    }
}
