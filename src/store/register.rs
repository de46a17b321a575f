//! The case register triage reads: every case of the organisation with just enough to recognise
//! it, and the Message-IDs that thread a reply to its case. Read-only.

use std::collections::HashMap;

use sqlx::Row;

use super::{opt_text, Result, Store};
use crate::case::model::Status;
use crate::understand::{Register, RegisteredCase};

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
                open: Status::parse(&status).is_some_and(Status::is_open),
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn case(store: &Store, id: i64, case_ref: &str, partner: &str, status: &str) {
        sqlx::query(
            "INSERT INTO cases (id, org, case_ref, partner, programme, status, candidate, cir,
                                social_assistant, counsellor_email, referred_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'vivendo', $5, 'Jan Peeters', '2026-001', 'sa@w.example',
                     'els@caw.example', '2026-11-01', '2026-11-01', '2026-11-01')",
        )
        .bind(id)
        .bind(store.org())
        .bind(case_ref)
        .bind(partner)
        .bind(status)
        .execute(store.pool())
        .await
        .expect("insert case");
    }

    #[tokio::test]
    async fn the_register_holds_cases_and_the_threads_of_mails_in_and_out() {
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("store");
        case(&store, 1, "VD-2026-0001", "caw", "in_guidance").await;
        case(&store, 2, "VD-2025-0009", "caw", "closed_positive").await;
        sqlx::query(
            "INSERT INTO mails (org, sha256, message_id, source, source_key, received_at, state, case_ref)
             VALUES ($1, 'x', 'in-1@caw.example', 'file', 'a', '2026-11-01', 'processed', 'VD-2026-0001'),
                    ($1, 'y', 'in-2@caw.example', 'file', 'b', '2026-11-01', 'processed', NULL)",
        )
        .bind(store.org())
        .execute(store.pool())
        .await
        .expect("insert mails");
        sqlx::query(
            "INSERT INTO outbox (org, message_id, dedupe_key, kind, case_id, recipients, subject, body,
                                 cause_kind, cause_ref, state, next_attempt_at, created_at)
             VALUES ($1, 'vd-ack-1@w.example', 'k', 'ack', 2, '[]', 's', 'b', 'mail', '1', 'sent',
                     '2026-11-01', '2026-11-01')",
        )
        .bind(store.org())
        .execute(store.pool())
        .await
        .expect("insert outbox");

        let register = store.register().await.expect("register");
        assert_eq!(register.cases.len(), 2);
        let open = register.case("VD-2026-0001").expect("case");
        assert!(open.open);
        assert_eq!(open.cir.as_deref(), Some("2026-001"));
        assert!(!register.case("VD-2025-0009").expect("closed case").open);
        assert_eq!(
            register.threads.get("in-1@caw.example").map(String::as_str),
            Some("VD-2026-0001")
        );
        assert_eq!(
            register
                .threads
                .get("vd-ack-1@w.example")
                .map(String::as_str),
            Some("VD-2025-0009")
        );
        assert!(!register.threads.contains_key("in-2@caw.example"));
        assert!(register.earlier.is_empty());
    }
}
