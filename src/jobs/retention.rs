//! Retention: personal data is not kept longer than the config allows (`[retention]`).
//!
//! - Cases that ended (stopped, closed, transferred) more than `anonymise_after_months` ago are
//!   anonymised: the `Anonymise` transition, recorded as an event with its cause, the personal
//!   fields blanked and the personal data around the case removed (see
//!   [`crate::store::Tx::anonymise_case_data`]); the anonymous figures of the yearly report stay.
//! - Raw mail bytes are dropped `keep_raw_mail_days` after the mail was decided (its decision,
//!   hash and case links stay, so figures and the audit trail survive).
//!
//! The same [`plan`] serves the daily job and `doorstroom purge --dry-run`, so the dry run shows
//! exactly what the job would do.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::case::model::{Case, CaseError, CaseEvent, Cause, Counsellor, Status, Transition};
use crate::case::plan::add_months;
use crate::config::Config;
use crate::context::Context;
use crate::store::{CaseFilter, Store};

/// The day a case's guidance ended, for retention: its closing date, or the stop date.
pub fn ended_on(case: &Case, tz: chrono_tz::Tz) -> Option<NaiveDate> {
    match case.status {
        Status::Stopped => case
            .stopped_on
            .or(case.closed_at.map(|t| t.with_timezone(&tz).date_naive())),
        Status::ClosedPositive | Status::ClosedNegative | Status::Transferred => case
            .closed_at
            .map(|t| t.with_timezone(&tz).date_naive())
            .or(case.stopped_on),
        _ => None,
    }
}

/// A case retention will anonymise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub case_ref: String,
    pub status: Status,
    pub ended_on: NaiveDate,
}

/// Cases whose guidance ended at least `months` months before `today`. Pure.
pub fn due_for_anonymising(
    cases: &[Case],
    months: u32,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Vec<Due> {
    cases
        .iter()
        .filter_map(|c| {
            let ended = ended_on(c, tz)?;
            (add_months(ended, months) <= today).then(|| Due {
                case_ref: c.case_ref.clone(),
                status: c.status,
                ended_on: ended,
            })
        })
        .collect()
}

/// Anonymise a case value: the transition (its event returned) and the personal fields of the
/// case itself blanked. Pure; the store removes the rest.
pub fn anonymise(
    case: &mut Case,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Result<CaseEvent, CaseError> {
    // Anonymising is not an end of guidance: the report's figures keep the real closing date
    // (none for a stopped case, which ended on its stop date).
    let closed_at = case.closed_at;
    let event = case.transition(Transition::Anonymise, at, cause)?;
    case.closed_at = closed_at;
    case.candidate = String::new();
    case.cir = None;
    case.counsellor = Counsellor::default();
    Ok(event)
}

/// What a retention pass at `now` would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub anonymise: Vec<Due>,
    /// Raw mails decided before this are emptied.
    pub raw_mail_before: DateTime<Utc>,
    pub raw_mails: i64,
}

pub async fn plan(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<Plan> {
    let tz = config.organisation.time_zone;
    let today = now.with_timezone(&tz).date_naive();
    let cases = store.cases(&CaseFilter::default()).await?;
    let raw_mail_before =
        now - chrono::Duration::days(i64::from(config.retention.keep_raw_mail_days));
    Ok(Plan {
        anonymise: due_for_anonymising(&cases, config.retention.anonymise_after_months, today, tz),
        raw_mail_before,
        raw_mails: store.count_purgeable_raw_mail(raw_mail_before).await?,
    })
}

/// Carry out a plan: each case in a transaction of its own (one that fails is logged and left
/// for the next pass), then the raw mail. Returns (cases anonymised, raw mails emptied).
pub async fn apply(
    store: &Store,
    plan: &Plan,
    now: DateTime<Utc>,
    cause: &Cause,
) -> anyhow::Result<(usize, u64)> {
    let mut anonymised = 0;
    for due in &plan.anonymise {
        let mut tx = store.begin().await?;
        let Some(mut case) = tx.case(&due.case_ref).await? else {
            tx.rollback().await?;
            continue;
        };
        let event = match anonymise(&mut case, now, cause) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(case = %due.case_ref, "not anonymised: {e}");
                tx.rollback().await?;
                continue;
            }
        };
        let id = tx.save_case(&mut case, false, now).await?;
        tx.anonymise_case_data(id, &case.case_ref).await?;
        tx.add_events(id, &[event]).await?;
        tx.commit().await?;
        tracing::info!(case = %case.case_ref, "case anonymised");
        anonymised += 1;
    }
    let purged = store.purge_raw_mail(plan.raw_mail_before).await?;
    Ok((anonymised, purged))
}

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let config = ctx.config();
    let plan = plan(&ctx.store, &config, now).await?;
    let cause = Cause::Job {
        name: "retention".into(),
        slot: now
            .with_timezone(&config.organisation.time_zone)
            .date_naive()
            .to_string(),
    };
    let (anonymised, purged) = apply(&ctx.store, &plan, now, &cause).await?;
    Ok(format!(
        "anonymised {anonymised} case(s); dropped the raw bytes of {purged} mail(s) decided before {}",
        plan.raw_mail_before.date_naive()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn closed(status: Status, closed: DateTime<Utc>) -> Case {
        let mut c = Case::new(
            "VD-2024-0001".into(),
            "caw",
            "003",
            "Jan Peeters",
            Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap(),
        );
        c.status = status;
        c.closed_at = Some(closed);
        c
    }

    #[test]
    fn a_case_closed_on_15_march_2024_is_anonymised_from_15_march_2026_with_24_months() {
        let tz = chrono_tz::Europe::Brussels;
        let c = closed(
            Status::ClosedPositive,
            Utc.with_ymd_and_hms(2024, 3, 15, 10, 0, 0).unwrap(),
        );
        let cases = std::slice::from_ref(&c);
        assert!(due_for_anonymising(cases, 24, d(2026, 3, 14), tz).is_empty());
        assert_eq!(
            due_for_anonymising(cases, 24, d(2026, 3, 15), tz)[0].ended_on,
            d(2024, 3, 15)
        );
    }

    #[test]
    fn open_and_anonymised_cases_are_left_alone() {
        let tz = chrono_tz::Europe::Brussels;
        let long_ago = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        let cases = [
            closed(Status::InGuidance, long_ago),
            closed(Status::Anonymised, long_ago),
        ];
        assert!(due_for_anonymising(&cases, 24, d(2026, 3, 15), tz).is_empty());
    }

    #[test]
    fn a_stopped_case_counts_from_its_stop_date() {
        let tz = chrono_tz::Europe::Brussels;
        let mut c = closed(
            Status::Stopped,
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        );
        c.closed_at = None;
        c.stopped_on = Some(d(2024, 2, 29));
        assert!(due_for_anonymising(std::slice::from_ref(&c), 24, d(2026, 2, 27), tz).is_empty());
        // 29 February + 24 months = 28 February 2026 (the last day of the month).
        assert_eq!(due_for_anonymising(&[c], 24, d(2026, 2, 28), tz).len(), 1);
    }

    #[test]
    fn anonymising_blanks_the_person_and_records_the_transition() {
        let mut c = closed(
            Status::ClosedNegative,
            Utc.with_ymd_and_hms(2024, 3, 15, 10, 0, 0).unwrap(),
        );
        c.cir = Some("CIR-1".into());
        c.counsellor.name = Some("Lies".into());
        let cause = Cause::Job {
            name: "retention".into(),
            slot: "2026-03-15".into(),
        };
        let e = anonymise(&mut c, Utc::now(), &cause).unwrap();
        assert_eq!(c.status, Status::Anonymised);
        assert_eq!(e.detail["to"], "anonymised");
        assert!(c.candidate.is_empty() && c.cir.is_none() && c.counsellor.name.is_none());
        assert!(anonymise(&mut c, Utc::now(), &cause).is_err());
    }
}
