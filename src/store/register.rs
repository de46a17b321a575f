//! The case register triage reads: every case of the organisation with just enough to recognise
//! it, and the Message-IDs that thread a reply to its case. Read-only.

use std::collections::HashMap;

use sqlx::Row;

use super::{opt_text, Result, Store};
use crate::understand::{Register, RegisteredCase};

/// Statuses after which a case no longer takes part in name matching.
const CLOSED: [&str; 6] = [
    "closed",
    "closed_positive",
    "closed_negative",
    "stopped",
    "transferred",
    "anonymised",
];

impl Store {
    /// The register for [`crate::understand::triage`]. `earlier` is left empty: it depends on the
    /// mail at hand (see [`Store::earlier_mails`]).
    pub async fn register(&self) -> Result<Register> {
        let rows = sqlx::query(
            "SELECT case_ref, partner, candidate, cir, counsellor_email, social_assistant, status
             FROM cases WHERE org = $1 ORDER BY case_ref",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        let mut cases = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            cases.push(RegisteredCase {
                case_ref: row.try_get("case_ref")?,
                partner: row.try_get("partner")?,
                candidate: row.try_get("candidate")?,
                cir: opt_text(row, "cir")?,
                counsellor_email: opt_text(row, "counsellor_email")?,
                social_assistant: opt_text(row, "social_assistant")?,
                open: !CLOSED.contains(&status.as_str()),
            });
        }
        let mut threads = HashMap::new();
        let received = sqlx::query(
            "SELECT message_id, case_ref FROM mails
             WHERE org = $1 AND message_id IS NOT NULL AND case_ref IS NOT NULL",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        let sent = sqlx::query(
            "SELECT o.message_id AS message_id, c.case_ref AS case_ref
             FROM outbox o JOIN cases c ON c.id = o.case_id
             WHERE o.org = $1 AND c.org = $1",
        )
        .bind(&self.org)
        .fetch_all(self.pool())
        .await?;
        for row in received.iter().chain(sent.iter()) {
            let id: String = row.try_get("message_id")?;
            let case: String = row.try_get("case_ref")?;
            threads.insert(id.trim_matches(|c| c == '<' || c == '>').to_string(), case);
        }
        Ok(Register {
            cases,
            threads,
            earlier: Vec::new(),
        })
    }
}
