//! Cases on disk: the case row, its audit trail, documents, milestones, concerns and counsellor
//! history, the reference counter, and committing a mail's [`Effects`] in one transaction.
//!
//! References are never reused: the counter row per organisation and year is advanced by an
//! atomic upsert (`… ON CONFLICT DO UPDATE … RETURNING`), which PostgreSQL serialises on the row
//! lock and SQLite on its single writer. Imported references advance it too.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{opt_text, parse_ts, placeholders, ts, CaseCache, Result, Store, StoreError, Tx};
use crate::case::model::parse_reference;
use crate::case::quota::Month;
use crate::case::{
    Case, CaseError, CaseEvent, Cause, Concern, Counsellor, Document, DocumentKind, Effects,
    GoalsMet, Milestone, MilestoneKind, Status,
};
use crate::config::{Config, ReferenceFormat};
use crate::understand::{Decision, MailKind};

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub partner: Option<String>,
    pub status: Option<Status>,
    /// Only open cases (referred, allocated, in guidance, extended).
    pub open_only: bool,
    /// Also load documents and concerns (milestones are always loaded).
    pub details: bool,
    /// Only cases the daily pass looks at: guidance running or about to, or a final report
    /// still expected.
    pub due_work: bool,
}

/// One period of a counsellor on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounsellorPeriod {
    pub counsellor: Counsellor,
    pub partner: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// Applying a mail failed: the database (maybe transient) or the case (permanent).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl ApplyError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ApplyError::Store(e) if e.is_transient())
    }
}

fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("bad date `{text}`: {e}")))
}

fn opt_date(row: &AnyRow, column: &str) -> Result<Option<NaiveDate>> {
    opt_text(row, column)?.map(|t| parse_date(&t)).transpose()
}

fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

const CASE_COLUMNS: &str = "id, case_ref, partner, programme, status, candidate, cir, social_assistant, \
     counsellor_name, counsellor_email, counsellor_phone, lease_start, referred_at, guidance_end, \
     closed_at, goals_met, eviction_avoided, other_guidance, extension_months, stopped_on, report_due, previous_case, handover";

/// A case's row written, its shared fields first (`$1` … `$19`, see [`bind_case_fields`]), then
/// `$20` org, `$21` case_ref, `$22` referred_at, `$23` the time of the write.
const INSERT_CASE: &str = "INSERT INTO cases (partner, programme, status, candidate, cir, social_assistant,
        counsellor_name, counsellor_email, counsellor_phone, lease_start, guidance_end, closed_at, outcome,
        goals_met, eviction_avoided, other_guidance, extension_months, stopped_on, report_due,
        org, case_ref, referred_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $23)
     RETURNING id";

/// A case's row rewritten: the shared fields as in [`INSERT_CASE`], then `$20` the time of the
/// write, `$21` org, `$22` the row id.
const UPDATE_CASE: &str =
    "UPDATE cases SET partner = $1, programme = $2, status = $3, candidate = $4, cir = $5,
        social_assistant = $6, counsellor_name = $7, counsellor_email = $8, counsellor_phone = $9,
        lease_start = $10, guidance_end = $11, closed_at = $12, outcome = $13, goals_met = $14,
        eviction_avoided = $15, other_guidance = $16, extension_months = $17, stopped_on = $18,
        report_due = $19, updated_at = $20
     WHERE org = $21 AND id = $22";

/// Bind the fields a case's insert and update share, in the order of [`INSERT_CASE`].
fn bind_case_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    case: &Case,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(case.partner.clone())
        .bind(case.programme.clone())
        .bind(case.status.as_str())
        .bind(case.candidate.clone())
        .bind(case.cir.clone())
        .bind(case.social_assistant.clone())
        .bind(case.counsellor.name.clone())
        .bind(case.counsellor.email.clone())
        .bind(case.counsellor.phone.clone())
        .bind(date_text(case.lease_start))
        .bind(date_text(case.guidance_end))
        .bind(case.closed_at.map(ts))
        .bind(case.outcome().map(str::to_string))
        .bind(case.goals_met.map(|g| g.as_str().to_string()))
        .bind(case.eviction_avoided.map(i64::from))
        .bind(i64::from(case.other_guidance))
        .bind(i64::from(case.extension_months))
        .bind(date_text(case.stopped_on))
        .bind(date_text(case.report_due))
}

fn case_row(row: &AnyRow) -> Result<Case> {
    let status: String = row.try_get("status")?;
    Ok(Case {
        id: Some(row.try_get("id")?),
        case_ref: row.try_get("case_ref")?,
        partner: row.try_get("partner")?,
        programme: row.try_get("programme")?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown case status `{status}`")))?,
        candidate: row.try_get("candidate")?,
        cir: opt_text(row, "cir")?,
        social_assistant: opt_text(row, "social_assistant")?,
        counsellor: Counsellor {
            name: opt_text(row, "counsellor_name")?,
            email: opt_text(row, "counsellor_email")?,
            phone: opt_text(row, "counsellor_phone")?,
        },
        lease_start: opt_date(row, "lease_start")?,
        referred_at: parse_ts(&row.try_get::<String, _>("referred_at")?)?,
        guidance_end: opt_date(row, "guidance_end")?,
        extension_months: u32::try_from(row.try_get::<i64, _>("extension_months")?).unwrap_or(0),
        stopped_on: opt_date(row, "stopped_on")?,
        report_due: opt_date(row, "report_due")?,
        closed_at: opt_text(row, "closed_at")?
            .map(|t| parse_ts(&t))
            .transpose()?,
        goals_met: opt_text(row, "goals_met")?.and_then(|g| GoalsMet::parse(&g)),
        eviction_avoided: row
            .try_get::<Option<i64>, _>("eviction_avoided")?
            .map(|v| v != 0),
        other_guidance: flag(row, "other_guidance")?,
        previous_case: opt_text(row, "previous_case")?,
        handover: opt_text(row, "handover")?
            .map(|j| {
                serde_json::from_str(&j)
                    .map_err(|e| StoreError::Corrupt(format!("case handover `{j}`: {e}")))
            })
            .transpose()?,
        documents: Vec::new(),
        milestones: Vec::new(),
        concerns: Vec::new(),
    })
}

fn milestone_row(row: &AnyRow) -> Result<(i64, Milestone)> {
    let kind: String = row.try_get("kind")?;
    Ok((
        row.try_get("case_id")?,
        Milestone {
            id: Some(row.try_get("id")?),
            kind: MilestoneKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown milestone kind `{kind}`")))?,
            name: row.try_get("name")?,
            due_on: parse_date(&row.try_get::<String, _>("due_on")?)?,
            meeting_month: opt_text(row, "meeting_month")?,
            done_on: opt_date(row, "done_on")?,
            escalation_step: u32::try_from(row.try_get::<i64, _>("escalation_step")?).unwrap_or(0),
            superseded: flag(row, "superseded")?,
            counsellor_attends: flag(row, "counsellor_attends")?,
            discuss_at_meeting: flag(row, "discuss_at_meeting")?,
        },
    ))
}

fn document_row(row: &AnyRow) -> Result<(i64, Document)> {
    let kind: String = row.try_get("kind")?;
    Ok((
        row.try_get("case_id")?,
        Document {
            id: Some(row.try_get("id")?),
            kind: DocumentKind::parse(&kind).unwrap_or(DocumentKind::Other),
            filename: row.try_get("filename")?,
            sha256: opt_text(row, "sha256")?,
            size: u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0),
            mail_id: row.try_get::<Option<i64>, _>("mail_id")?,
            sender: opt_text(row, "sender")?,
            received_at: parse_ts(&row.try_get::<String, _>("received_at")?)?,
            usable: flag(row, "usable")?,
            note: opt_text(row, "note")?,
            bytes: Default::default(),
        },
    ))
}

fn concern_row(row: &AnyRow) -> Result<(i64, Concern)> {
    Ok((
        row.try_get("case_id")?,
        Concern {
            id: Some(row.try_get("id")?),
            statement: row.try_get("statement")?,
            urgent: flag(row, "urgent")?,
            raised_at: parse_ts(&row.try_get::<String, _>("raised_at")?)?,
            mail_id: row.try_get::<Option<i64>, _>("mail_id")?,
            resolved_at: opt_text(row, "resolved_at")?
                .map(|t| parse_ts(&t))
                .transpose()?,
        },
    ))
}

/// The audit trail of a case, oldest first. An event of a decision staff corrected carries
/// `undone_by` (who corrected it) in its detail: it stays in the trail, marked.
async fn load_events(conn: &mut AnyConnection, org: &str, case_id: i64) -> Result<Vec<CaseEvent>> {
    let rows = sqlx::query(
        "SELECT at, kind, detail, cause_kind, cause_ref, undone_by FROM case_events
         WHERE org = $1 AND case_id = $2 ORDER BY id",
    )
    .bind(org.to_string())
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("cause_kind")?;
            let reference: String = r.try_get("cause_ref")?;
            let detail: String = r.try_get("detail")?;
            let mut detail: serde_json::Value = serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
            if let (Some(by), Some(object)) = (opt_text(r, "undone_by")?, detail.as_object_mut()) {
                object.insert("undone_by".into(), by.into());
            }
            Ok(CaseEvent {
                at: parse_ts(&r.try_get::<String, _>("at")?)?,
                kind: r.try_get("kind")?,
                detail,
                cause: Cause::from_columns(&kind, &reference)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown event cause `{kind}`")))?,
            })
        })
        .collect()
}

/// Load cases matching a `WHERE` clause on `cases` (parameters `$1` = org, then `extra`), with
/// their milestones and, when asked, documents and concerns.
async fn load_cases(
    conn: &mut AnyConnection,
    org: &str,
    filter: &CaseFilter,
    case_ref: Option<&str>,
) -> Result<Vec<Case>> {
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE org = $1");
    let mut binds: Vec<String> = vec![org.to_string()];
    let mut add = |sql: &mut String, cond: &str, value: String| {
        binds.push(value);
        sql.push_str(&format!(" AND {cond} ${}", binds.len()));
    };
    if let Some(r) = case_ref {
        add(&mut sql, "UPPER(case_ref) =", r.to_uppercase());
    }
    if let Some(p) = &filter.partner {
        add(&mut sql, "partner =", p.clone());
    }
    if let Some(s) = filter.status {
        add(&mut sql, "status =", s.as_str().to_string());
    }
    if filter.open_only {
        sql.push_str(
            " AND status IN ('referred_incomplete','referred_complete','allocated','in_guidance','extended')",
        );
    }
    if filter.due_work {
        sql.push_str(
            " AND (status IN ('allocated','in_guidance','extended') OR report_due IS NOT NULL OR handover IS NOT NULL)",
        );
    }
    sql.push_str(" ORDER BY case_ref");
    let mut query = sqlx::query(&sql);
    for b in &binds {
        query = query.bind(b.clone());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut cases = rows.iter().map(case_row).collect::<Result<Vec<_>>>()?;
    if cases.is_empty() {
        return Ok(cases);
    }
    let index: HashMap<i64, usize> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.id.map(|id| (id, i)))
        .collect();
    // One query per child table for the whole set (joined in memory), scoped like the parent.
    let scope = "case_id IN (SELECT id FROM cases WHERE org = $1)";
    let one = case_ref.and_then(|_| cases.first().and_then(|c| c.id));
    let (child_filter, bind_id) = match one {
        Some(id) => ("case_id = $2".to_string(), Some(id)),
        None => (scope.to_string(), None),
    };
    let fetch = |table: &str, order: &str| {
        format!("SELECT * FROM {table} WHERE org = $1 AND {child_filter} ORDER BY {order}")
    };
    let milestones_sql = fetch("milestones", "due_on, id");
    let mut q = sqlx::query(&milestones_sql).bind(org.to_string());
    if let Some(id) = bind_id {
        q = q.bind(id);
    }
    for row in q.fetch_all(&mut *conn).await? {
        let (case_id, m) = milestone_row(&row)?;
        if let Some(&i) = index.get(&case_id) {
            cases[i].milestones.push(m);
        }
    }
    if filter.details || case_ref.is_some() {
        let documents_sql = fetch("documents", "id");
        let mut q = sqlx::query(&documents_sql).bind(org.to_string());
        if let Some(id) = bind_id {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let (case_id, d) = document_row(&row)?;
            if let Some(&i) = index.get(&case_id) {
                cases[i].documents.push(d);
            }
        }
        let concerns_sql = fetch("concerns", "id");
        let mut q = sqlx::query(&concerns_sql).bind(org.to_string());
        if let Some(id) = bind_id {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let (case_id, c) = concern_row(&row)?;
            if let Some(&i) = index.get(&case_id) {
                cases[i].concerns.push(c);
            }
        }
    }
    Ok(cases)
}

async fn load_case(conn: &mut AnyConnection, org: &str, case_ref: &str) -> Result<Option<Case>> {
    let filter = CaseFilter {
        details: true,
        ..CaseFilter::default()
    };
    Ok(load_cases(conn, org, &filter, Some(case_ref))
        .await?
        .into_iter()
        .next())
}

/// A case as [`load_case`] would read it back once written: times to the microsecond (as
/// [`ts`] stores them), children in the order the queries give them, no document bytes.
pub(super) fn as_stored(case: &Case) -> Case {
    fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
        chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
    }
    let mut case = case.clone();
    case.referred_at = micros(case.referred_at);
    case.closed_at = case.closed_at.map(micros);
    for d in &mut case.documents {
        d.received_at = micros(d.received_at);
        d.bytes = Default::default();
    }
    for c in &mut case.concerns {
        c.raised_at = micros(c.raised_at);
        c.resolved_at = c.resolved_at.map(micros);
    }
    case.milestones.sort_by_key(|m| (m.due_on, m.id));
    case.documents.sort_by_key(|d| d.id);
    case.concerns.sort_by_key(|c| c.id);
    case
}

impl Store {
    /// One case with its documents, milestones and concerns.
    pub async fn case(&self, case_ref: &str) -> Result<Option<Case>> {
        let mut conn = self.pool().acquire().await?;
        load_case(&mut conn, &self.org, case_ref).await
    }

    /// Cases for the register and the jobs, with milestones (and details when asked).
    pub async fn cases(&self, filter: &CaseFilter) -> Result<Vec<Case>> {
        let mut conn = self.pool().acquire().await?;
        load_cases(&mut conn, &self.org, filter, None).await
    }

    /// Everything due on `today` (escalation steps, final report reminders, leases that
    /// started), for the daily job. The job queues the notices and calls
    /// [`Tx::mark_escalated`] for each step in the same transaction.
    pub async fn due_work(
        &self,
        config: &Config,
        today: NaiveDate,
    ) -> Result<crate::case::escalation::DueWork> {
        let cases = self
            .cases(&CaseFilter {
                details: true,
                due_work: true,
                ..CaseFilter::default()
            })
            .await?;
        Ok(crate::case::escalation::due_in(&cases, config, today))
    }

    /// The audit trail of a case, oldest first.
    pub async fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>> {
        let mut conn = self.pool().acquire().await?;
        load_events(&mut conn, &self.org, case_id).await
    }

    /// Every counsellor a case had, oldest first (the current one has no `valid_to`).
    pub async fn counsellor_history(&self, case_id: i64) -> Result<Vec<CounsellorPeriod>> {
        let rows = sqlx::query(
            "SELECT name, email, phone, partner, valid_from, valid_to FROM counsellors
             WHERE org = $1 AND case_id = $2 ORDER BY id",
        )
        .bind(&self.org)
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CounsellorPeriod {
                    counsellor: Counsellor {
                        name: opt_text(r, "name")?,
                        email: opt_text(r, "email")?,
                        phone: opt_text(r, "phone")?,
                    },
                    partner: r.try_get("partner")?,
                    valid_from: parse_ts(&r.try_get::<String, _>("valid_from")?)?,
                    valid_to: opt_text(r, "valid_to")?.map(|t| parse_ts(&t)).transpose()?,
                })
            })
            .collect()
    }

    /// Referrals of a partner counted in a month (in the organisation's time zone).
    pub async fn referrals_in_month(
        &self,
        partner: &str,
        month: Month,
        tz: chrono_tz::Tz,
    ) -> Result<u32> {
        let mut conn = self.pool().acquire().await?;
        referrals_in_month(&mut conn, &self.org, partner, month, tz).await
    }

    /// Mails filed under a case: (id, received_at, kind, state), oldest first.
    pub async fn mails_of_case(
        &self,
        case_ref: &str,
    ) -> Result<Vec<(i64, DateTime<Utc>, Option<String>, String)>> {
        let rows = sqlx::query(
            "SELECT id, received_at, kind, state FROM mails WHERE org = $1 AND case_ref = $2 ORDER BY received_at, id",
        )
        .bind(&self.org)
        .bind(case_ref)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    parse_ts(&r.try_get::<String, _>("received_at")?)?,
                    opt_text(r, "kind")?,
                    r.try_get("state")?,
                ))
            })
            .collect()
    }
}

/// [start, end) of a month in the time zone, as stored UTC text.
fn month_range(month: Month, tz: chrono_tz::Tz) -> Option<(String, String)> {
    let first = month.first_day()?;
    let next = crate::case::plan::add_months(first, 1);
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| ts(t.with_timezone(&Utc)))
    };
    Some((at(first)?, at(next)?))
}

async fn referrals_in_month(
    conn: &mut AnyConnection,
    org: &str,
    partner: &str,
    month: Month,
    tz: chrono_tz::Tz,
) -> Result<u32> {
    let (from, to) = month_range(month, tz)
        .ok_or_else(|| StoreError::Corrupt(format!("month {month} out of range")))?;
    let n: i64 = sqlx::query(
        // Guidance asked outside accelerated allocation (preventive) is no referral under the
        // partner's monthly contingent.
        // A case opened by a decision staff corrected (withdrawn) was never a referral either.
        "SELECT COUNT(*) AS n FROM cases WHERE org = $1 AND partner = $2 AND referred_at >= $3 AND referred_at < $4
            AND other_guidance = 0
            AND NOT EXISTS (SELECT 1 FROM case_events e
                            WHERE e.org = cases.org AND e.case_id = cases.id AND e.kind = 'withdrawn')",
    )
    .bind(org.to_string())
    .bind(partner.to_string())
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

impl Tx {
    /// Reserve the next reference of `year` (never reused, also across concurrent writers).
    pub async fn next_case_reference(
        &mut self,
        format: &ReferenceFormat,
        year: i32,
    ) -> Result<String> {
        let org = self.org.clone();
        let last: i64 = sqlx::query(
            "INSERT INTO case_counters (org, year, last) VALUES ($1, $2, 1)
             ON CONFLICT (org, year) DO UPDATE SET last = case_counters.last + 1
             RETURNING last",
        )
        .bind(org)
        .bind(i64::from(year))
        .fetch_one(self.conn())
        .await?
        .try_get("last")?;
        let n = u32::try_from(last)
            .map_err(|_| StoreError::Corrupt(format!("case counter {last} out of range")))?;
        Ok(format.format(year, n))
    }

    /// Make sure the counter of `year` is at least `number` (an imported reference), so that
    /// the next new case never gets it again.
    pub async fn advance_case_counter(&mut self, year: i32, number: u32) -> Result<()> {
        let org = self.org.clone();
        sqlx::query(
            "INSERT INTO case_counters (org, year, last) VALUES ($1, $2, $3)
             ON CONFLICT (org, year) DO UPDATE SET last = CASE WHEN case_counters.last < $3 THEN $3 ELSE case_counters.last END",
        )
        .bind(org)
        .bind(i64::from(year))
        .bind(i64::from(number))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// [`Store::cases`] inside this transaction.
    pub async fn cases(&mut self, filter: &CaseFilter) -> Result<Vec<Case>> {
        let org = self.org.clone();
        load_cases(self.conn(), &org, filter, None).await
    }

    /// [`Store::case_events`] inside this transaction (events held back until the commit
    /// are not among them).
    pub async fn case_events(&mut self, case_id: i64) -> Result<Vec<CaseEvent>> {
        let org = self.org.clone();
        load_events(self.conn(), &org, case_id).await
    }

    /// One case inside this transaction (sees its own uncommitted changes).
    pub async fn case(&mut self, case_ref: &str) -> Result<Option<Case>> {
        let org = self.org.clone();
        load_case(self.conn(), &org, case_ref).await
    }

    /// [`Tx::case`], from `cache` when this transaction read or wrote the case before.
    pub async fn case_cached(
        &mut self,
        case_ref: &str,
        cache: &mut CaseCache,
    ) -> Result<Option<Case>> {
        if let Some(case) = cache.case(case_ref) {
            // Tests run debug builds: there every cached case is checked against the database.
            #[cfg(debug_assertions)]
            {
                let stored = self.case(case_ref).await?;
                debug_assert_eq!(stored.as_ref(), Some(case), "cached case {case_ref}");
            }
            return Ok(Some(case.clone()));
        }
        let case = self.case(case_ref).await?;
        if let Some(case) = &case {
            cache.read(case);
        }
        Ok(case)
    }

    /// Write a case and its new or changed children; sets the ids of what was inserted.
    /// `counsellor_changed` closes the current counsellor period and opens a new one.
    pub async fn save_case(
        &mut self,
        case: &mut Case,
        counsellor_changed: bool,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.save_case_since(case, None, counsellor_changed, at)
            .await
    }

    /// [`Tx::save_case`] for a case read as `before` in this transaction: stored milestones and
    /// concerns that did not change are not written again (a reply to a case changes one row
    /// or two, not every step of its timeline).
    pub async fn save_case_since(
        &mut self,
        case: &mut Case,
        before: Option<&Case>,
        counsellor_changed: bool,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        let unchanged_milestone = |m: &crate::case::model::Milestone| {
            before.is_some_and(|b| b.milestones.iter().any(|o| o == m))
        };
        let unchanged_concern = |c: &crate::case::model::Concern| {
            before.is_some_and(|b| b.concerns.iter().any(|o| o == c))
        };
        let org = self.org.clone();
        let created = case.id.is_none();
        let id = match case.id {
            None => {
                let row = bind_case_fields(sqlx::query(INSERT_CASE), case)
                    .bind(org.clone())
                    .bind(case.case_ref.clone())
                    .bind(ts(case.referred_at))
                    .bind(ts(at))
                    .fetch_one(self.conn())
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict(format!("case {} exists already", case.case_ref))
                        }
                        other => other,
                    })?;
                let id: i64 = row.try_get("id")?;
                case.id = Some(id);
                id
            }
            // Only children changed (a concern, a document): the case row stays as it is, and
            // its `updated_at` tells when the row itself last changed.
            Some(id) if before.is_some_and(|b| b.same_row(case)) => id,
            Some(id) => {
                bind_case_fields(sqlx::query(UPDATE_CASE), case)
                    .bind(ts(at))
                    .bind(org.clone())
                    .bind(id)
                    .execute(self.conn())
                    .await?;
                id
            }
        };
        if let Some(previous) = &case.previous_case {
            sqlx::query("UPDATE cases SET previous_case = $1 WHERE org = $2 AND id = $3")
                .bind(previous.clone())
                .bind(org.clone())
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        // A handover announced, taking effect or waiting: written when it moved (a new case has
        // none, unless an import or a test made it with one).
        let handover_moved = match before {
            Some(b) => b.handover != case.handover,
            None => !created || case.handover.is_some(),
        };
        if handover_moved {
            let json = case
                .handover
                .as_ref()
                .map(|h| serde_json::to_string(h).unwrap_or_default());
            sqlx::query("UPDATE cases SET handover = $1 WHERE org = $2 AND id = $3")
                .bind(json)
                .bind(org.clone())
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        if counsellor_changed {
            // A new case has no counsellor period to close.
            if !created {
                sqlx::query(
                    "UPDATE counsellors SET valid_to = $1 WHERE org = $2 AND case_id = $3 AND valid_to IS NULL",
                )
                .bind(ts(at))
                .bind(org.clone())
                .bind(id)
                .execute(self.conn())
                .await?;
            }
            sqlx::query(
                "INSERT INTO counsellors (org, case_id, name, email, phone, partner, valid_from)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org.clone())
            .bind(id)
            .bind(case.counsellor.name.clone())
            .bind(case.counsellor.email.clone())
            .bind(case.counsellor.phone.clone())
            .bind(case.partner.clone())
            .bind(ts(at))
            .execute(self.conn())
            .await?;
        }
        for d in case.documents.iter_mut().filter(|d| d.id.is_none()) {
            if !d.bytes.is_empty() {
                let bytes = std::mem::take(&mut d.bytes);
                match &d.sha256 {
                    Some(sha) => self.put_hashed_blob(sha, &bytes).await?,
                    None => d.sha256 = Some(self.put_blob(&bytes).await?),
                }
            }
            let row = sqlx::query(
                "INSERT INTO documents (org, case_id, kind, filename, sha256, size, mail_id, sender, received_at, usable, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(org.clone())
            .bind(id)
            .bind(d.kind.as_str())
            .bind(d.filename.clone())
            .bind(d.sha256.clone())
            .bind(i64::try_from(d.size).unwrap_or(i64::MAX))
            .bind(d.mail_id)
            .bind(d.sender.clone())
            .bind(ts(d.received_at))
            .bind(i64::from(d.usable))
            .bind(d.note.clone())
            .fetch_one(self.conn())
            .await?;
            d.id = Some(row.try_get("id")?);
        }
        for m in case.milestones.iter_mut() {
            match m.id {
                None => {
                    let row = sqlx::query(
                        "INSERT INTO milestones (org, case_id, kind, name, due_on, meeting_month, done_on,
                            escalation_step, superseded, counsellor_attends, discuss_at_meeting)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    )
                    .bind(org.clone())
                    .bind(id)
                    .bind(m.kind.as_str())
                    .bind(m.name.clone())
                    .bind(m.due_on.to_string())
                    .bind(m.meeting_month.clone())
                    .bind(date_text(m.done_on))
                    .bind(i64::from(m.escalation_step))
                    .bind(i64::from(m.superseded))
                    .bind(i64::from(m.counsellor_attends))
                    .bind(i64::from(m.discuss_at_meeting))
                    .fetch_one(self.conn())
                    .await?;
                    m.id = Some(row.try_get("id")?);
                }
                Some(_) if unchanged_milestone(m) => {}
                Some(mid) => {
                    sqlx::query(
                        "UPDATE milestones SET due_on = $1, meeting_month = $2, done_on = $3, escalation_step = $4,
                            superseded = $5 WHERE org = $6 AND id = $7",
                    )
                    .bind(m.due_on.to_string())
                    .bind(m.meeting_month.clone())
                    .bind(date_text(m.done_on))
                    .bind(i64::from(m.escalation_step))
                    .bind(i64::from(m.superseded))
                    .bind(org.clone())
                    .bind(mid)
                    .execute(self.conn())
                    .await?;
                }
            }
        }
        for c in case.concerns.iter_mut() {
            match c.id {
                None => {
                    let row = sqlx::query(
                        "INSERT INTO concerns (org, case_id, statement, urgent, raised_at, mail_id, resolved_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(org.clone())
                    .bind(id)
                    .bind(c.statement.clone())
                    .bind(i64::from(c.urgent))
                    .bind(ts(c.raised_at))
                    .bind(c.mail_id)
                    .bind(c.resolved_at.map(ts))
                    .fetch_one(self.conn())
                    .await?;
                    c.id = Some(row.try_get("id")?);
                }
                Some(_) if unchanged_concern(c) => {}
                Some(cid) => {
                    sqlx::query("UPDATE concerns SET resolved_at = $1 WHERE org = $2 AND id = $3")
                        .bind(c.resolved_at.map(ts))
                        .bind(org.clone())
                        .bind(cid)
                        .execute(self.conn())
                        .await?;
                }
            }
        }
        Ok(id)
    }

    /// Append events to a case's audit trail (one statement). A bulk transaction holds them back
    /// and writes them with the batch's (see [`Tx::write_held`]): nothing reads them before the
    /// commit.
    pub async fn add_events(&mut self, case_id: i64, events: &[CaseEvent]) -> Result<()> {
        if self.held.events_too {
            let held = events.iter().map(|e| (case_id, e.clone()));
            self.held.events.extend(held);
            Ok(())
        } else {
            let rows: Vec<(i64, &CaseEvent)> = events.iter().map(|e| (case_id, e)).collect();
            self.insert_events(&rows).await
        }
    }

    /// Write the events held back by [`Tx::add_events`] (see [`Tx::write_held`]).
    pub(super) async fn write_events(&mut self) -> Result<()> {
        let events = std::mem::take(&mut self.held.events);
        let rows: Vec<(i64, &CaseEvent)> =
            events.iter().map(|(case_id, e)| (*case_id, e)).collect();
        self.insert_events(&rows).await
    }

    async fn insert_events(&mut self, events: &[(i64, &CaseEvent)]) -> Result<()> {
        // 6 values a row: 500 rows stay far below either database's limit on parameters.
        const ROWS: usize = 500;
        let org = self.org.clone();
        for chunk in events.chunks(ROWS) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("($1, {})", placeholders(2 + 6 * n, 6)))
                .collect();
            let sql = format!(
                "INSERT INTO case_events (org, case_id, at, kind, detail, cause_kind, cause_ref) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(&org);
            for (case_id, e) in chunk {
                let (kind, reference) = e.cause.columns();
                query = query
                    .bind(*case_id)
                    .bind(ts(e.at))
                    .bind(e.kind.clone())
                    .bind(e.detail.to_string())
                    .bind(kind)
                    .bind(reference);
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Commit the case side of a mail's effects: every changed case, its children and events.
    /// The notices stay in `effects.notices` for the caller to queue in this same transaction.
    /// `before` are the cases as this transaction read them before the change.
    pub async fn apply_effects(
        &mut self,
        effects: &mut Effects,
        before: &BTreeMap<String, Case>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        for change in effects.changes.iter_mut() {
            let was = before.get(&change.case.case_ref);
            let id = self
                .save_case_since(&mut change.case, was, change.counsellor_changed, at)
                .await?;
            self.add_events(id, &change.events).await?;
        }
        Ok(())
    }

    /// Record that escalation step `step` (1-based) of a milestone was sent.
    pub async fn mark_escalated(&mut self, milestone_id: i64, step: u32) -> Result<()> {
        let org = self.org.clone();
        sqlx::query(
            "UPDATE milestones SET escalation_step = $1 WHERE org = $2 AND id = $3 AND escalation_step < $1",
        )
        .bind(i64::from(step))
        .bind(org)
        .bind(milestone_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Load what a decision names (through `cache`, the cases this transaction read or wrote
    /// before), reserve a reference for a referral, apply the decision and commit its case
    /// effects in this transaction. The caller records the mail's outcome, queues
    /// `effects.notices` and puts the changed cases in the cache before committing.
    pub async fn apply_decision(
        &mut self,
        config: &Config,
        decision: &Decision,
        mail_id: i64,
        received_at: DateTime<Utc>,
        now: DateTime<Utc>,
        cache: &mut CaseCache,
    ) -> std::result::Result<Effects, ApplyError> {
        let mut cases = BTreeMap::new();
        let names = decision
            .case_ref
            .iter()
            .chain(decision.conclusions.keys())
            .chain(decision.facts.conclusions.keys());
        for r in names {
            if let Some(c) = self.case_cached(r, cache).await? {
                cases.insert(c.case_ref.clone(), c);
            }
        }
        // A preventive request opens a new case unless it names an open one (a relapse of a
        // closed case is a new, linked episode).
        let referral = match decision.kind {
            MailKind::Referral | MailKind::ReferralIncomplete => cases.is_empty(),
            MailKind::PreventiveRequest => cases.values().all(|c| c.status.is_closed()),
            _ => false,
        };
        let tz = config.organisation.time_zone;
        let (new_reference, earlier) = match (referral, decision.partner.as_deref()) {
            (true, Some(partner)) => {
                let local = received_at.with_timezone(&tz).date_naive();
                let year = chrono::Datelike::year(&local);
                let reference = self
                    .next_case_reference(&config.organisation.case_reference, year)
                    .await?;
                let org = self.org.clone();
                let earlier =
                    referrals_in_month(self.conn(), &org, partner, Month::of(local), tz).await?;
                (Some(reference), earlier)
            }
            _ => (None, 0),
        };
        let input = crate::case::Input {
            config,
            decision,
            mail_id,
            received_at,
            now,
            cases: &cases,
            new_reference,
            referrals_this_month: earlier,
        };
        let mut effects = crate::case::apply(&input)?;
        self.apply_effects(&mut effects, &cases, now).await?;
        // What this mail changed, so that a correction of its decision can undo it.
        for change in &effects.changes {
            let before = cases.get(&change.case.case_ref).filter(|_| !change.created);
            self.record_undo(mail_id, before, &change.case, now).await?;
        }
        Ok(effects)
    }

    /// Import cases (all or none: the caller rolls back on any error). Imported references
    /// advance the counter; rows without a reference get the next one.
    pub async fn import_case(
        &mut self,
        format: &ReferenceFormat,
        case: &mut Case,
        events: &[CaseEvent],
        at: DateTime<Utc>,
    ) -> Result<i64> {
        if case.case_ref.is_empty() {
            let year = chrono::Datelike::year(&case.referred_at);
            case.case_ref = self.next_case_reference(format, year).await?;
        } else if let Some((year, n)) = parse_reference(format, &case.case_ref) {
            self.advance_case_counter(year, n).await?;
        }
        let id = self.save_case(case, true, at).await?;
        self.add_events(id, events).await?;
        Ok(id)
    }
}
