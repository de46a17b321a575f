//! `doorstroom outbox [--failed] [--json]`, `outbox retry ID`, `outbox show ID`: what was sent or
//! is about to be, for the admin. Reads and changes rows through the store; sends nothing itself
//! (a retried mail leaves with the daemon's next sender pass).

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::store::outbox::{OutboxRow, OutboxState};
use crate::store::{Store, StoreError};

/// `doorstroom outbox retry ID` / `show ID`.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Queue a failed mail again (with a fresh retry window).
    Retry {
        /// The mail id from `doorstroom outbox --failed`.
        id: i64,
    },
    /// Print one mail exactly as it is (or was) sent.
    Show {
        /// The mail id from `doorstroom outbox`.
        id: i64,
    },
}

pub async fn run(
    config: &Config,
    action: Option<OutboxAction>,
    failed: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(
        &config.database.url,
        &config.organisation.id,
        config.database.max_connections,
    )
    .await
    .context("cannot open the database")?;
    let code = match action {
        None => list(&store, failed, json).await?,
        Some(OutboxAction::Show { id }) => show(&store, id, json).await?,
        Some(OutboxAction::Retry { id }) => retry(&store, id).await?,
    };
    store.close().await;
    Ok(code)
}

async fn list(store: &Store, failed: bool, json: bool) -> anyhow::Result<ExitCode> {
    let rows = store.list_outbox(failed, 200).await?;
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        crate::outln!(
            "{}",
            if failed {
                "no failed mails"
            } else {
                "the outbox is empty"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    crate::outln!(
        "{:>6}  {:<8} {:>3}  {:<16}  {:<24}  {:<13}  {:<34}  SUBJECT",
        "ID",
        "STATE",
        "TRY",
        "WHEN",
        "KIND",
        "CASE",
        "TO"
    );
    for r in &rows {
        crate::outln!(
            "{:>6}  {:<8} {:>3}  {:<16}  {:<24}  {:<13}  {:<34}  {}",
            r.id,
            r.state.as_str(),
            r.attempts,
            when(r).format("%Y-%m-%d %H:%M"),
            r.kind,
            r.case_ref.as_deref().unwrap_or("-"),
            shorten(&r.recipients.join(", "), 34),
            r.subject
        );
        if let (Some(e), OutboxState::Failed | OutboxState::Queued | OutboxState::Cancelled) =
            (&r.last_error, r.state)
        {
            crate::outln!("{:>6}  └ {e}", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// When it was sent, or when it will next be tried.
fn when(r: &OutboxRow) -> chrono::DateTime<Utc> {
    match r.state {
        OutboxState::Sent => r.sent_at.unwrap_or(r.created_at),
        OutboxState::Sending => r.sending_since.unwrap_or(r.created_at),
        OutboxState::Queued | OutboxState::Failed | OutboxState::Cancelled => r.next_attempt_at,
    }
}

fn shorten(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}

async fn show(store: &Store, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let row = match store.outbox_row(id).await {
        Ok(row) => row,
        Err(StoreError::NotFound(_)) => {
            eprintln!("doorstroom: no outbox mail {id}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let message = store.outbox_message(id).await?;
    let text = String::from_utf8_lossy(&message);
    if json {
        let value = serde_json::json!({ "mail": row, "message": text });
        crate::outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        crate::outln!(
            "# outbox mail {} ({}), {} attempt(s), kind {}, case {}",
            row.id,
            row.state.as_str(),
            row.attempts,
            row.kind,
            row.case_ref.as_deref().unwrap_or("-")
        );
        if let Some(e) = &row.last_error {
            crate::outln!("# last error: {e}");
        }
        crate::out!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn retry(store: &Store, id: i64) -> anyhow::Result<ExitCode> {
    if store.retry_outbox(id, Utc::now()).await? {
        crate::outln!("outbox mail {id} is queued again; the daemon sends it on its next pass");
        return Ok(ExitCode::SUCCESS);
    }
    match store.outbox_row(id).await {
        Ok(row) => eprintln!(
            "doorstroom: outbox mail {id} is {}, not failed: nothing to retry",
            row.state.as_str()
        ),
        Err(StoreError::NotFound(_)) => eprintln!("doorstroom: no outbox mail {id}"),
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::FAILURE)
}
