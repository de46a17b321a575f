//! The case register triage reads: the cases of the organisation with just enough to recognise
//! them, and the Message-IDs that thread a reply to its case. Read-only.
//!
//! [`Store::register`] reads all of it (for `doorstroom triage` and tests); intake reads only the
//! part one mail can reach ([`Store::register_scoped`]), because reading every case and every
//! thread for every mail made a backfill quadratic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::mails::Finished;
use super::{opt_text, placeholders, Result, Store, Tx};
use crate::case::model::{Case, Status};
use crate::understand::{MessageId, Register, RegisteredCase};

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
    /// The mail at hand, by Message-ID (as stored) and id: the decided mails with the same
    /// Message-ID are read into [`Register::earlier`] (see [`Store::earlier_mails`]).
    pub copies_of: Option<(String, i64)>,
}

/// Values bound in one lookup statement at most (Message-IDs, case references): no statement
/// grows with the mail.
pub const LOOKUP_CHUNK: usize = 500;

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

fn registered_case(case: &Case) -> RegisteredCase {
    RegisteredCase {
        case_ref: case.case_ref.clone(),
        partner: case.partner.clone(),
        candidate: case.candidate.clone(),
        cir: case.cir.clone(),
        counsellor_email: case.counsellor.email.clone(),
        social_assistant: case.social_assistant.clone(),
        open: case.status.is_open(),
    }
}

/// The key of [`Register::threads`]: the id without angle brackets (see [`MessageId::bare`]).
fn thread_key(id: &str) -> String {
    MessageId::parse(id).map_or_else(|| id.to_string(), |id| id.bare().to_string())
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
            cases.push(Arc::new(registered(row)?));
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

    /// The part of the register `scope` names, in the same shape as [`Store::register`] (its
    /// threads keyed without angle brackets) but for the order of its cases. A few indexed
    /// queries, whatever the size of the register.
    pub async fn register_scoped(&self, scope: &RegisterScope) -> Result<Register> {
        let mut conn = self.pool().acquire().await?;
        register_scoped(&mut conn, &self.org, scope, &mut CaseCache::default(), &[]).await
    }

    /// [`Store::register_scoped`] for many mails at once, as the database is now (for
    /// `doorstroom triage`, which writes nothing, so no mail sees another's effects): a few
    /// queries for the whole batch (the threads and earlier copies of all its Message-IDs, the
    /// open cases of its partners, the cases it names), then each mail's register cut from them.
    /// The work per mail is that of its own scope, whatever the size of the register.
    pub async fn registers_scoped(&self, scopes: &[RegisterScope]) -> Result<Vec<Register>> {
        let mut conn = self.pool().acquire().await?;
        let conn = &mut *conn;
        let org = self.org.as_str();

        // Threads: a sent mail's wins over a received one's.
        let mut ids: Vec<&String> = scopes.iter().flat_map(|s| &s.message_ids).collect();
        ids.sort();
        ids.dedup();
        let forms: Vec<String> = ids
            .iter()
            .flat_map(|id| [format!("<{id}>"), (*id).clone()])
            .collect();
        let (mut received, mut sent) = (HashMap::new(), HashMap::new());
        for chunk in forms.chunks(LOOKUP_CHUNK) {
            let list = placeholders(2, chunk.len());
            let sql = format!(
                "SELECT message_id, case_ref AS value, CAST(0 AS BIGINT) AS kind FROM mails
                 WHERE org = $1 AND message_id IN ({list})
                 UNION ALL
                 SELECT o.message_id, c.case_ref AS value, CAST(1 AS BIGINT) AS kind FROM outbox o JOIN cases c ON c.id = o.case_id
                 WHERE o.org = $1 AND c.org = $1 AND o.message_id IN ({list})"
            );
            let mut query = sqlx::query(&sql).bind(org);
            for form in chunk {
                query = query.bind(form);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let id: String = row.try_get("message_id")?;
                let Some(case) = opt_text(&row, "value")? else {
                    continue;
                };
                let into = if row.try_get::<i64, _>("kind")? == 1 {
                    &mut sent
                } else {
                    &mut received
                };
                into.insert(thread_key(&id), case);
            }
        }

        // Earlier decided copies of every mail's Message-ID.
        let mut copies: HashMap<String, Vec<Copy>> = HashMap::new();
        let mut own: Vec<&String> = scopes
            .iter()
            .filter_map(|s| s.copies_of.as_ref().map(|(id, _)| id))
            .collect();
        own.sort();
        own.dedup();
        for chunk in own.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT id, message_id, body_hash, case_ref FROM mails
                 WHERE org = $1 AND message_id IN ({}) AND state <> 'stored' ORDER BY id",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(org);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                copies.entry(row.try_get("message_id")?).or_default().push((
                    row.try_get("id")?,
                    opt_text(&row, "body_hash")?,
                    opt_text(&row, "case_ref")?,
                ));
            }
        }

        // Each mail's threads, then the open cases of the partners and the cases named.
        let mut threads_of: Vec<HashMap<String, String>> = Vec::with_capacity(scopes.len());
        let mut earlier_of: Vec<Vec<(String, String)>> = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let mut threads = HashMap::new();
            let mut earlier = Vec::new();
            for id in &scope.message_ids {
                if let Some(case) = received.get(id) {
                    threads.insert(id.clone(), case.clone());
                }
            }
            if let Some((id, except)) = &scope.copies_of {
                for (row, body_hash, case) in copies.get(id).into_iter().flatten() {
                    if row == except {
                        continue;
                    }
                    if let Some(body_hash) = body_hash {
                        earlier.push((body_hash.clone(), id.clone()));
                    }
                    if let Some(case) = case {
                        threads.insert(thread_key(id), case.clone());
                    }
                }
            }
            for id in &scope.message_ids {
                if let Some(case) = sent.get(id) {
                    threads.insert(id.clone(), case.clone());
                }
            }
            threads_of.push(threads);
            earlier_of.push(earlier);
        }
        let mut open = CaseCache::default();
        if scopes.iter().any(|s| s.all_open) {
            open.all(conn, org).await?;
        }
        let mut partners: Vec<&String> = scopes
            .iter()
            .filter(|s| !s.all_open)
            .flat_map(|s| &s.partners)
            .collect();
        partners.sort();
        partners.dedup();
        for partner in partners {
            open.of_partner(conn, org, partner).await?;
        }
        let mut refs: Vec<String> = scopes
            .iter()
            .flat_map(|s| &s.case_refs)
            .chain(threads_of.iter().flat_map(|t| t.values()))
            .map(|r| r.to_uppercase())
            .collect();
        refs.sort();
        refs.dedup();
        let named: HashMap<String, Arc<RegisteredCase>> = cases_by_ref(conn, org, &refs)
            .await?
            .into_iter()
            .map(|case| (case.case_ref.to_uppercase(), Arc::new(case)))
            .collect();

        let mut out = Vec::with_capacity(scopes.len());
        for ((scope, threads), earlier) in scopes.iter().zip(threads_of).zip(earlier_of) {
            let mut cases: Vec<Arc<RegisteredCase>> = Vec::new();
            if scope.all_open {
                cases.extend(open.all.iter().flat_map(|all| all.values()).cloned());
            } else {
                for partner in &scope.partners {
                    cases.extend(
                        open.partners
                            .get(partner)
                            .into_iter()
                            .flat_map(|p| p.values())
                            .cloned(),
                    );
                }
            }
            let included = |c: &RegisteredCase| {
                c.open && (scope.all_open || scope.partners.contains(&c.partner))
            };
            let mut refs: Vec<String> = scope
                .case_refs
                .iter()
                .chain(threads.values())
                .map(|r| r.to_uppercase())
                .collect();
            refs.sort();
            refs.dedup();
            for r in &refs {
                if let Some(case) = named.get(r).filter(|c| !included(c)) {
                    cases.push(case.clone());
                }
            }
            out.push(Register {
                cases,
                threads,
                earlier,
            });
        }
        Ok(out)
    }
}

impl Tx {
    /// [`Store::register_scoped`] as this transaction sees it (intake decides a batch of mails
    /// in one transaction, and a reply must find the case its referral opened a moment before),
    /// with the open cases read earlier in this transaction kept in `open`.
    pub async fn register_scoped(
        &mut self,
        scope: &RegisterScope,
        open: &mut CaseCache,
    ) -> Result<Register> {
        let org = self.org.clone();
        let (conn, finished) = self.conn_and_finished();
        register_scoped(conn, &org, scope, open, finished).await
    }
}

/// The mails decided in a transaction whose rows are not written yet (see [`Tx::finish_mail`])
/// as the database would give them: as received threads and as earlier copies of the mail at
/// hand.
fn add_finished(
    scope: &RegisterScope,
    finished: &[Finished],
    received: &mut HashMap<String, String>,
    earlier: &mut Vec<(String, String)>,
) {
    for f in finished {
        let Some(id) = &f.message_id else { continue };
        let key = thread_key(id);
        if let Some(case) = &f.case_ref {
            if scope.message_ids.contains(&key) {
                received.entry(key.clone()).or_insert_with(|| case.clone());
            }
        }
        if let Some((copy_of, except)) = &scope.copies_of {
            if copy_of == id && *except != f.id {
                if let Some(body_hash) = &f.body_hash {
                    earlier.push((body_hash.clone(), id.clone()));
                }
                if let Some(case) = &f.case_ref {
                    received.entry(key).or_insert_with(|| case.clone());
                }
            }
        }
    }
}

/// A decided mail with a Message-ID asked for: its id, body hash and case.
type Copy = (i64, Option<String>, Option<String>);

/// `finished`: the decisions the transaction holds back (see [`Tx::finish_mail`]), read as if
/// they were written.
async fn register_scoped(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    scope: &RegisterScope,
    open: &mut CaseCache,
    finished: &[Finished],
) -> Result<Register> {
    // The threads and the earlier copies of the mail in one query. A sent mail's thread wins
    // over a received one's.
    let mut threads = HashMap::new();
    let mut sent = HashMap::new();
    let mut earlier = Vec::new();
    // Received mails are stored with angle brackets; match either form. At most
    // `LOOKUP_CHUNK` values per statement: a mail names as many Message-IDs as it likes, and
    // SQLite takes 32,766 parameters at most (16,383 References stopped a mail for good).
    let forms: Vec<String> = scope
        .message_ids
        .iter()
        .flat_map(|id| [format!("<{id}>"), id.clone()])
        .collect();
    let mut chunks: Vec<&[String]> = forms.chunks(LOOKUP_CHUNK).collect();
    if chunks.is_empty() && scope.copies_of.is_some() {
        chunks.push(&[]);
    }
    for (n, chunk) in chunks.into_iter().enumerate() {
        let mut arms = Vec::new();
        if !chunk.is_empty() {
            let list = placeholders(2, chunk.len());
            // Mails without a case are skipped below, not in SQL: `case_ref IS NOT NULL` led
            // SQLite to walk the case_ref index over every mail instead of looking up the
            // Message-IDs.
            arms.push(format!(
                "SELECT message_id, case_ref AS value, CAST(0 AS BIGINT) AS kind FROM mails
                 WHERE org = $1 AND message_id IN ({list})"
            ));
            arms.push(format!(
                "SELECT o.message_id, c.case_ref AS value, CAST(1 AS BIGINT) AS kind FROM outbox o JOIN cases c ON c.id = o.case_id
                 WHERE o.org = $1 AND c.org = $1 AND o.message_id IN ({list})"
            ));
        }
        // The earlier copies of the mail, with the first statement.
        let copies = scope.copies_of.as_ref().filter(|_| n == 0);
        if copies.is_some() {
            let (id, except) = (2 + chunk.len(), 3 + chunk.len());
            arms.push(format!(
                "SELECT message_id, body_hash AS value, CAST(2 AS BIGINT) AS kind FROM mails
                 WHERE org = $1 AND message_id = ${id} AND id <> ${except} AND state <> 'stored'
                     AND body_hash IS NOT NULL"
            ));
            // The case an earlier copy went to: a second delivery that holds more is read
            // into that case (as a thread of its own Message-ID).
            arms.push(format!(
                "SELECT message_id, case_ref AS value, CAST(3 AS BIGINT) AS kind FROM mails
                 WHERE org = $1 AND message_id = ${id} AND id <> ${except} AND state <> 'stored'"
            ));
        }
        let sql = arms.join(" UNION ALL ");
        let mut query = sqlx::query(&sql).bind(org);
        for form in chunk {
            query = query.bind(form);
        }
        if let Some((id, except)) = copies {
            query = query.bind(id).bind(*except);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("message_id")?;
            let value = opt_text(&row, "value")?;
            match (row.try_get::<i64, _>("kind")?, value) {
                (2, Some(body_hash)) => earlier.push((body_hash, id)),
                (0 | 3, Some(case)) => {
                    threads.insert(thread_key(&id), case);
                }
                (1, Some(case)) => {
                    sent.insert(thread_key(&id), case);
                }
                _ => {}
            }
        }
    }
    add_finished(scope, finished, &mut threads, &mut earlier);
    threads.extend(sent);

    let mut cases: Vec<Arc<RegisteredCase>> = Vec::new();
    if scope.all_open {
        cases.extend(open.all(conn, org).await?.values().cloned());
    } else {
        for partner in &scope.partners {
            cases.extend(open.of_partner(conn, org, partner).await?.values().cloned());
        }
    }
    let included =
        |c: &RegisteredCase| c.open && (scope.all_open || scope.partners.contains(&c.partner));
    let mut refs: Vec<String> = scope
        .case_refs
        .iter()
        .chain(threads.values())
        .map(|r| r.to_uppercase())
        .collect();
    refs.sort();
    refs.dedup();
    // The cases the mail names or threads to, from the transaction's own cases when it has
    // them all.
    let known: Option<Vec<RegisteredCase>> = refs
        .iter()
        .map(|r| open.case(r).map(registered_case))
        .collect();
    if let Some(known) = known {
        for case in known {
            if !included(&case) {
                cases.push(Arc::new(case));
            }
        }
    } else {
        for case in cases_by_ref(conn, org, &refs).await? {
            if !included(&case) {
                cases.push(Arc::new(case));
            }
        }
    }
    Ok(Register {
        cases,
        threads,
        earlier,
    })
}

/// The cases of `refs` (uppercase), whatever their status, at most [`LOOKUP_CHUNK`] references
/// per statement.
async fn cases_by_ref(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    refs: &[String],
) -> Result<Vec<RegisteredCase>> {
    let mut cases = Vec::new();
    for chunk in refs.chunks(LOOKUP_CHUNK) {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND UPPER(case_ref) IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(org);
        for r in chunk {
            query = query.bind(r);
        }
        for row in query.fetch_all(&mut *conn).await? {
            cases.push(registered(&row)?);
        }
    }
    Ok(cases)
}

/// Open cases by reference.
type ByRef = BTreeMap<String, Arc<RegisteredCase>>;

/// The cases intake has read or written, kept for the batch of mails it decides in one
/// transaction, so that the next mail sees what the transaction sees without asking the database
/// again: a partner's open cases (in a backfill the same few hundred rows for every mail), and
/// whole cases with their documents, milestones and concerns (a batch often holds several mails
/// of one case). Every case a mail creates or changes is put in with [`CaseCache::changed`].
///
/// On SQLite the cache also outlives its transaction: [`Tx::commit_cached`] notes the
/// organisation's case version (a counter every change to a case table moves on, see migration
/// 0013), and [`Tx::revalidate`] keeps the cache for the next batch only when nothing changed
/// since, by whatever process. On PostgreSQL, with writers side by side, it is emptied instead.
#[derive(Debug, Default)]
pub struct CaseCache {
    partners: HashMap<String, ByRef>,
    /// Every partner's, once a staff mail asked for them.
    all: Option<ByRef>,
    /// Whole cases by upper-case reference, exactly as the database would give them back.
    whole: HashMap<String, Case>,
    /// The case version the contents were committed at; `None` while a transaction uses the
    /// cache (or after one failed), which makes the next [`Tx::revalidate`] empty it.
    version: Option<i64>,
}

/// Whole cases kept from one batch to the next; above this the batch's are let go.
const WHOLE_KEPT: usize = 256;

impl CaseCache {
    /// A case created or changed in the transaction (its status may have closed it), as it was
    /// written.
    pub fn changed(&mut self, case: &Case) {
        let entry = Arc::new(registered_case(case));
        // A case handed over to another partner leaves the old partner's list.
        for (partner, list) in self.partners.iter_mut() {
            if *partner != case.partner {
                list.remove(&case.case_ref);
            }
        }
        let lists = self
            .all
            .iter_mut()
            .chain(self.partners.get_mut(&case.partner));
        for list in lists {
            if entry.open {
                list.insert(case.case_ref.clone(), entry.clone());
            } else {
                list.remove(&case.case_ref);
            }
        }
        self.whole
            .insert(case.case_ref.to_uppercase(), super::cases::as_stored(case));
    }

    /// Forget everything: what the transaction changed was rolled back.
    pub fn forget(&mut self) {
        self.clear();
    }

    /// A whole case read or written earlier in the transaction.
    pub(super) fn case(&self, case_ref: &str) -> Option<&Case> {
        self.whole.get(&case_ref.to_uppercase())
    }

    /// A whole case as the transaction read it from the database.
    pub(super) fn read(&mut self, case: &Case) {
        self.whole
            .insert(case.case_ref.to_uppercase(), case.clone());
    }

    async fn of_partner(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        org: &str,
        partner: &str,
    ) -> Result<&ByRef> {
        match self.partners.get(partner) {
            // Tests run debug builds: there every cached list is checked against the database.
            #[cfg(debug_assertions)]
            Some(cached) => {
                let stored = read_open(conn, org, Some(partner)).await?;
                debug_assert_eq!(&stored, cached, "cached open cases of {partner}");
            }
            #[cfg(not(debug_assertions))]
            Some(_) => {}
            None => {
                let read = read_open(conn, org, Some(partner)).await?;
                self.partners.insert(partner.to_string(), read);
            }
        }
        Ok(&self.partners[partner])
    }

    async fn all(&mut self, conn: &mut sqlx::AnyConnection, org: &str) -> Result<&ByRef> {
        match &self.all {
            #[cfg(debug_assertions)]
            Some(cached) => {
                let stored = read_open(conn, org, None).await?;
                debug_assert_eq!(&stored, cached, "cached open cases");
            }
            #[cfg(not(debug_assertions))]
            Some(_) => {}
            None => self.all = Some(read_open(conn, org, None).await?),
        }
        Ok(self.all.get_or_insert_default())
    }

    fn clear(&mut self) {
        *self = CaseCache::default();
    }
}

impl Tx {
    /// Make `cache` fit for this transaction: kept when the organisation's cases are as the
    /// transaction that filled it committed them (SQLite), emptied otherwise. To be called
    /// first in a transaction that uses a cache kept from an earlier one.
    pub async fn revalidate(&mut self, cache: &mut CaseCache) -> Result<()> {
        let kept = cache.version.take();
        if kept.is_none() || kept != self.case_version().await? {
            cache.clear();
        }
        Ok(())
    }

    /// Commit, and note in `cache` (filled in this transaction) the case version it is valid
    /// at, for the next [`Tx::revalidate`]. On PostgreSQL nothing is noted.
    pub async fn commit_cached(mut self, cache: &mut CaseCache) -> Result<()> {
        let version = self.case_version().await?;
        self.commit().await?;
        if cache.whole.len() > WHOLE_KEPT {
            cache.whole.clear();
        }
        cache.version = version;
        Ok(())
    }

    /// The organisation's case version as this transaction sees it; `None` on PostgreSQL.
    async fn case_version(&mut self) -> Result<Option<i64>> {
        if self.backend != super::Backend::Sqlite {
            return Ok(None);
        }
        let row = sqlx::query("SELECT version FROM case_versions WHERE org = $1")
            .bind(self.org.clone())
            .fetch_optional(self.conn())
            .await?;
        // No row yet: no case was ever written.
        Ok(Some(match row {
            Some(row) => row.try_get("version")?,
            None => 0,
        }))
    }
}

/// The open cases of one partner, or of all.
async fn read_open(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    partner: Option<&str>,
) -> Result<ByRef> {
    let open: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(Status::as_str)
        .collect();
    let statuses = placeholders(2, open.len());
    let sql = match partner {
        None => format!("SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND status IN ({statuses})"),
        Some(_) => format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND status IN ({statuses}) AND partner = ${}",
            2 + open.len()
        ),
    };
    let mut query = sqlx::query(&sql).bind(org);
    for status in &open {
        query = query.bind(*status);
    }
    if let Some(partner) = partner {
        query = query.bind(partner);
    }
    let mut out = ByRef::new();
    for row in query.fetch_all(conn).await? {
        let case = registered(&row)?;
        out.insert(case.case_ref.clone(), Arc::new(case));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The references of a register's cases, sorted (a scoped register's order is not fixed).
    fn refs(r: &Register) -> Vec<String> {
        let mut refs: Vec<String> = r.cases.iter().map(|c| c.case_ref.clone()).collect();
        refs.sort();
        refs
    }

    async fn case(store: &Store, id: i64, case_ref: &str, partner: &str, status: &str) {
        sqlx::query(
            "INSERT INTO cases (id, org, case_ref, partner, programme, status, candidate, cir,
                                social_assistant, counsellor_email, referred_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'vivendo', $5, 'Jan Peeters', '2026-001', 'sa@w.example',
                     'els@caw.example', '2026-11-01T09:00:00.000000Z', '2026-11-01T09:00:00.000000Z',
                     '2026-11-01T09:00:00.000000Z')",
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

    #[tokio::test]
    async fn registers_read_for_a_batch_are_each_mails_own_register() {
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("store");
        case(&store, 1, "VD-2026-0001", "caw", "in_guidance").await;
        case(&store, 2, "VD-2025-0009", "caw", "closed_positive").await;
        case(&store, 3, "VD-2026-0002", "ocmw", "in_guidance").await;
        sqlx::query(
            "INSERT INTO mails (org, sha256, message_id, source, source_key, received_at, state, case_ref, body_hash)
             VALUES ($1, 'x', '<in-1@ocmw.example>', 'file', 'a', '2026-11-01', 'processed', 'VD-2026-0002', 'h1'),
                    ($1, 'y', '<dup@caw.example>', 'file', 'b', '2026-11-01', 'processed', 'VD-2026-0001', 'h2'),
                    ($1, 'z', '<dup@caw.example>', 'file', 'c', '2026-11-01', 'stored', NULL, NULL)",
        )
        .bind(store.org())
        .execute(store.pool())
        .await
        .expect("insert mails");
        let scopes = [
            RegisterScope {
                partners: vec!["caw".into()],
                copies_of: Some(("<dup@caw.example>".into(), -1)),
                ..RegisterScope::default()
            },
            RegisterScope {
                all_open: true,
                message_ids: vec!["in-1@ocmw.example".into()],
                ..RegisterScope::default()
            },
            RegisterScope {
                case_refs: vec!["vd-2025-0009".into()],
                copies_of: Some(("<none@x.example>".into(), -1)),
                ..RegisterScope::default()
            },
            RegisterScope::default(),
        ];
        let batch = store.registers_scoped(&scopes).await.expect("batch");
        assert_eq!(batch.len(), scopes.len());
        for (scope, got) in scopes.iter().zip(&batch) {
            let alone = store.register_scoped(scope).await.expect("alone");
            assert_eq!(refs(got), refs(&alone), "{scope:?}");
            assert_eq!(got.threads, alone.threads, "{scope:?}");
            assert_eq!(got.earlier, alone.earlier, "{scope:?}");
        }
        assert_eq!(
            batch[0].earlier,
            [("h2".to_string(), "<dup@caw.example>".to_string())]
        );
    }

    /// A store with caw's open case VD-2026-0001, and the scope of caw's mail.
    async fn one_open_case_of_caw() -> (Store, RegisterScope) {
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("store");
        case(&store, 1, "VD-2026-0001", "caw", "in_guidance").await;
        let scope = RegisterScope {
            partners: vec!["caw".into()],
            ..RegisterScope::default()
        };
        (store, scope)
    }

    #[tokio::test]
    async fn open_cases_read_once_follow_what_the_transaction_changes() {
        let (store, scope) = one_open_case_of_caw().await;
        let mut tx = store.begin().await.expect("tx");
        let mut open = CaseCache::default();
        let first = tx.register_scoped(&scope, &mut open).await.expect("read");
        assert_eq!(refs(&first), ["VD-2026-0001"]);

        // What intake does: write a case, then tell the cache (debug builds check every cached
        // list against the database, so a cache that missed a change fails here).
        let now = chrono::Utc::now();
        let mut created = Case::new("VD-2026-0002".into(), "caw", "vivendo", "Mona Claes", now);
        tx.save_case(&mut created, false, now)
            .await
            .expect("create");
        open.changed(&created);
        let mut closed = tx.case("VD-2026-0001").await.expect("read").expect("case");
        closed.status = Status::ClosedPositive;
        tx.save_case(&mut closed, false, now).await.expect("close");
        open.changed(&closed);
        let second = tx.register_scoped(&scope, &mut open).await.expect("cached");
        assert_eq!(refs(&second), ["VD-2026-0002"], "created in, closed out");
        assert_eq!(second.cases[0].candidate, "Mona Claes");

        // Another partner's case changes nothing for caw's list.
        let mut other = Case::new("VD-2026-0003".into(), "ocmw", "vivendo", "Mona Claes", now);
        tx.save_case(&mut other, false, now).await.expect("other");
        open.changed(&other);
        let third = tx.register_scoped(&scope, &mut open).await.expect("cached");
        assert_eq!(refs(&third), ["VD-2026-0002"]);
        tx.rollback().await.expect("rollback");
    }

    #[tokio::test]
    async fn the_cache_outlives_its_transaction_only_while_no_case_changes() {
        let (store, scope) = one_open_case_of_caw().await;
        let mut open = CaseCache::default();
        let mut tx = store.begin().await.expect("tx");
        tx.revalidate(&mut open).await.expect("revalidate");
        tx.register_scoped(&scope, &mut open).await.expect("read");
        tx.commit_cached(&mut open).await.expect("commit");

        // Nothing changed in between: the next batch starts with what the last one read.
        let mut tx = store.begin().await.expect("tx");
        tx.revalidate(&mut open).await.expect("revalidate");
        assert!(open.partners.contains_key("caw"), "kept");
        tx.commit_cached(&mut open).await.expect("commit");

        // A job (or an admin's command) closes the case: the cache is emptied and read again.
        let mut job = store.begin().await.expect("tx");
        let mut closed = job.case("VD-2026-0001").await.expect("read").expect("case");
        closed.status = Status::ClosedPositive;
        job.save_case(&mut closed, false, chrono::Utc::now())
            .await
            .expect("close");
        job.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("tx");
        tx.revalidate(&mut open).await.expect("revalidate");
        assert!(open.partners.is_empty(), "emptied");
        let register = tx.register_scoped(&scope, &mut open).await.expect("read");
        assert!(refs(&register).is_empty(), "the closed case is not open");

        // A batch that fails (no commit) leaves nothing for the next one to trust.
        drop(tx);
        let mut tx = store.begin().await.expect("tx");
        tx.revalidate(&mut open).await.expect("revalidate");
        assert!(
            open.partners.is_empty(),
            "a failed batch's cache is not kept"
        );
        tx.rollback().await.expect("rollback");
    }

    #[tokio::test]
    async fn whole_cases_come_back_from_the_cache_as_the_database_gives_them() {
        use crate::case::model::{Concern, Document, Milestone};
        use crate::case::{DocumentKind, MilestoneKind};
        use chrono::Timelike;
        let store = Store::open("sqlite::memory:", "woonhaven", 1)
            .await
            .expect("store");
        let mut tx = store.begin().await.expect("tx");
        // Nanoseconds, which the database does not keep.
        let now = chrono::Utc::now()
            .with_nanosecond(123_456_789)
            .expect("time");
        let mut written = Case::new("VD-2026-0001".into(), "caw", "vivendo", "Jan Peeters", now);
        written.closed_at = Some(now);
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        // Not in due order, as a recomputed plan may leave them.
        for (name, due) in [("late", day(20)), ("early", day(1))] {
            written.milestones.push(Milestone {
                id: None,
                kind: MilestoneKind::Evaluation,
                name: name.into(),
                due_on: due,
                meeting_month: None,
                done_on: None,
                escalation_step: 0,
                superseded: false,
                counsellor_attends: false,
                discuss_at_meeting: false,
            });
        }
        written.documents.push(Document {
            id: None,
            kind: DocumentKind::Other,
            filename: "verslag.pdf".into(),
            sha256: None,
            size: 3,
            mail_id: None,
            sender: None,
            received_at: now,
            usable: true,
            note: None,
            bytes: std::sync::Arc::new(b"pdf".to_vec()),
        });
        written.concerns.push(Concern {
            id: None,
            statement: "huurachterstand".into(),
            urgent: true,
            raised_at: now,
            mail_id: None,
            resolved_at: Some(now),
        });
        tx.save_case(&mut written, true, now).await.expect("save");

        let mut cache = CaseCache::default();
        cache.changed(&written);
        let stored = tx
            .case("VD-2026-0001")
            .await
            .expect("read")
            .expect("stored");
        assert_ne!(written, stored, "times, order and bytes differ once stored");
        let cached = tx
            .case_cached("vd-2026-0001", &mut cache)
            .await
            .expect("cached")
            .expect("found by any case");
        assert_eq!(cached, stored);
        tx.rollback().await.expect("rollback");
    }
}
