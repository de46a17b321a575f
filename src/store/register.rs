//! The case register triage reads: the cases of the organisation with just enough to recognise
//! them, and the Message-IDs that thread a reply to its case. Read-only.
//!
//! [`Store::register`] reads all of it (for `doorstroom triage` and tests); intake reads only the
//! part one mail can reach ([`Store::register_scoped`]), because reading every case and every
//! thread for every mail made a backfill quadratic.

use std::collections::{BTreeMap, HashMap};

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_text, placeholders, Result, Store, Tx};
use crate::case::model::Status;
use crate::understand::{Register, RegisteredCase};

/// The part of the register one mail can reach; the caller works it out from the parsed mail
/// (see `intake::pipeline`). Triage on a scoped register decides exactly as on the full one as
/// long as the scope covers every lookup triage makes for that mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterScope {
    /// Every open case of the organisation: staff may name any partner's candidate.
    pub all_open: bool,
    /// The open cases of these partners: a partner's mail names only its own candidates.
    pub partners: Vec<String>,
    /// These cases whatever their status (compared case-insensitively): the ones the mail names
    /// by reference tag. The cases its threads lead to are added by the store.
    pub case_refs: Vec<String>,
    /// Message-IDs without angle brackets (In-Reply-To, References, returned mails): only these
    /// are looked up in the threads.
    pub message_ids: Vec<String>,
}

const CASE_COLUMNS: &str =
    "case_ref, partner, candidate, cir, counsellor_email, social_assistant, status";

fn registered(row: &AnyRow) -> Result<RegisteredCase> {
    let status: String = row.try_get("status")?;
    Ok(RegisteredCase {
        case_ref: row.try_get("case_ref")?,
        partner: row.try_get("partner")?,
        candidate: row.try_get("candidate")?,
        cir: opt_text(row, "cir")?,
        counsellor_email: opt_text(row, "counsellor_email")?,
        social_assistant: opt_text(row, "social_assistant")?,
        open: Status::parse(&status).is_some_and(Status::is_open),
    })
}

fn thread_key(id: &str) -> String {
    id.trim_matches(|c| c == '<' || c == '>').to_string()
}

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
            cases.push(registered(row)?);
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
            threads.insert(thread_key(&id), case);
        }
        Ok(Register {
            cases,
            threads,
            earlier: Vec::new(),
        })
    }

    /// The part of the register `scope` names, in the same shape as [`Store::register`]: its
    /// cases ordered by reference, its threads keyed without angle brackets. A few indexed
    /// queries, whatever the size of the register.
    pub async fn register_scoped(&self, scope: &RegisterScope) -> Result<Register> {
        let mut conn = self.pool().acquire().await?;
        register_scoped(&mut conn, &self.org, scope).await
    }
}

impl Tx {
    /// [`Store::register_scoped`] as this transaction sees it: intake decides a batch of mails
    /// in one transaction, and a reply must find the case its referral opened a moment before.
    pub async fn register_scoped(&mut self, scope: &RegisterScope) -> Result<Register> {
        let org = self.org.clone();
        register_scoped(self.conn(), &org, scope).await
    }
}

async fn register_scoped(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    scope: &RegisterScope,
) -> Result<Register> {
    let mut threads = HashMap::new();
    if !scope.message_ids.is_empty() {
        // Received mails are stored with angle brackets; match either form.
        let forms: Vec<String> = scope
            .message_ids
            .iter()
            .flat_map(|id| [format!("<{id}>"), id.clone()])
            .collect();
        let list = placeholders(2, forms.len());
        let received = format!(
            "SELECT message_id, case_ref FROM mails
                 WHERE org = $1 AND case_ref IS NOT NULL AND message_id IN ({list})"
        );
        let sent = format!(
            "SELECT o.message_id AS message_id, c.case_ref AS case_ref
                 FROM outbox o JOIN cases c ON c.id = o.case_id
                 WHERE o.org = $1 AND c.org = $1 AND o.message_id IN ({list})"
        );
        // Received before sent, as in `register`: a sent mail's thread wins.
        for sql in [received, sent] {
            let mut query = sqlx::query(&sql).bind(org);
            for form in &forms {
                query = query.bind(form);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let id: String = row.try_get("message_id")?;
                let case: String = row.try_get("case_ref")?;
                threads.insert(thread_key(&id), case);
            }
        }
    }

    let mut cases: BTreeMap<String, RegisteredCase> = BTreeMap::new();
    let open: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(Status::as_str)
        .collect();
    if scope.all_open || !scope.partners.is_empty() {
        let statuses = placeholders(2, open.len());
        let sql = if scope.all_open {
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND status IN ({statuses})")
        } else {
            let partners = placeholders(2 + open.len(), scope.partners.len());
            format!(
                "SELECT {CASE_COLUMNS} FROM cases
                     WHERE org = $1 AND status IN ({statuses}) AND partner IN ({partners})"
            )
        };
        let mut query = sqlx::query(&sql).bind(org);
        for status in &open {
            query = query.bind(*status);
        }
        if !scope.all_open {
            for partner in &scope.partners {
                query = query.bind(partner);
            }
        }
        for row in query.fetch_all(&mut *conn).await? {
            let case = registered(&row)?;
            cases.insert(case.case_ref.clone(), case);
        }
    }
    let mut refs: Vec<String> = scope
        .case_refs
        .iter()
        .chain(threads.values())
        .map(|r| r.to_uppercase())
        .collect();
    refs.sort();
    refs.dedup();
    if !refs.is_empty() {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND UPPER(case_ref) IN ({})",
            placeholders(2, refs.len())
        );
        let mut query = sqlx::query(&sql).bind(org);
        for r in &refs {
            query = query.bind(r);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let case = registered(&row)?;
            cases.insert(case.case_ref.clone(), case);
        }
    }
    Ok(Register {
        cases: cases.into_values().collect(),
        threads,
        earlier: Vec::new(),
    })
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

    #[tokio::test]
    async fn a_scoped_register_holds_only_what_the_scope_names() {
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("store");
        case(&store, 1, "VD-2026-0001", "caw", "in_guidance").await;
        case(&store, 2, "VD-2025-0009", "caw", "closed_positive").await;
        case(&store, 3, "VD-2026-0002", "ocmw", "in_guidance").await;
        case(&store, 4, "VD-2026-0003", "ocmw", "closed_negative").await;
        sqlx::query(
            "INSERT INTO mails (org, sha256, message_id, source, source_key, received_at, state, case_ref)
             VALUES ($1, 'x', '<in-1@ocmw.example>', 'file', 'a', '2026-11-01', 'processed', 'VD-2026-0003'),
                    ($1, 'y', '<in-2@caw.example>', 'file', 'b', '2026-11-01', 'processed', 'VD-2026-0001')",
        )
        .bind(store.org())
        .execute(store.pool())
        .await
        .expect("insert mails");
        let refs =
            |r: &Register| -> Vec<String> { r.cases.iter().map(|c| c.case_ref.clone()).collect() };

        let partner = store
            .register_scoped(&RegisterScope {
                partners: vec!["caw".into()],
                ..RegisterScope::default()
            })
            .await
            .expect("partner scope");
        assert_eq!(refs(&partner), ["VD-2026-0001"], "open cases of caw only");
        assert!(partner.threads.is_empty());

        let staff = store
            .register_scoped(&RegisterScope {
                all_open: true,
                ..RegisterScope::default()
            })
            .await
            .expect("staff scope");
        assert_eq!(refs(&staff), ["VD-2026-0001", "VD-2026-0002"]);

        let named = store
            .register_scoped(&RegisterScope {
                partners: vec!["caw".into()],
                case_refs: vec!["vd-2025-0009".into()],
                message_ids: vec!["in-1@ocmw.example".into(), "unknown@x.example".into()],
                ..RegisterScope::default()
            })
            .await
            .expect("tags and threads");
        assert_eq!(
            refs(&named),
            ["VD-2025-0009", "VD-2026-0001", "VD-2026-0003"],
            "a tag finds a closed case; a thread brings its case along"
        );
        assert_eq!(
            named.threads.get("in-1@ocmw.example").map(String::as_str),
            Some("VD-2026-0003")
        );
        assert_eq!(named.threads.len(), 1);
        let full = store.register().await.expect("full register");
        for case in &named.cases {
            let same = full.case(&case.case_ref).expect("in the full register");
            assert_eq!(same.open, case.open);
            assert_eq!(same.partner, case.partner);
        }
    }
}
