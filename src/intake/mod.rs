//! Intake: reading the shared mailbox exactly once per mail.
//!
//! Every source (IMAP, Maildir, .eml files given to `doorstroom ingest`) goes through the same
//! [`pipeline`]: store the raw bytes first, triage, commit the decision together with its case
//! effects and outgoing mails in one transaction, and only then move the mail out of the inbox.
//! A crash anywhere leaves either an untouched inbox mail (redone) or a committed mail that is
//! only moved on restart. Intake never decides what a mail means (that is
//! [`crate::understand`]) and never sends mail itself (that is [`crate::outbox`]).

mod commit;
pub mod correct;
pub mod imap;
pub mod maildir;
pub mod pipeline;
pub mod probe;
pub mod question;
pub mod staff;
pub mod watch;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, Mailbox, MaildirMailbox};
use crate::context::Context;
use maildir::Maildir;
pub use pipeline::{Handled, IntakeError};

/// Cut `items` (mails, or files of mail) into consecutive batches of at most
/// [`imap::FETCH_BATCH`] items and [`imap::FETCH_BYTES`] bytes by `size`; an item larger than
/// that is a batch of its own. A batch is what intake holds in memory at once, and one
/// transaction.
pub fn batches<T>(items: &[T], size: impl Fn(&T) -> u64) -> Vec<&[T]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let size = size(item);
        if i > start && (i - start == imap::FETCH_BATCH || bytes + size > imap::FETCH_BYTES) {
            batches.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < items.len() {
        batches.push(&items[start..]);
    }
    batches
}

/// The size of a file, for [`batches`]; 0 when it cannot be read (reading it then says why).
pub fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Run the configured mailbox's intake until `stop` is cancelled.
pub async fn run(ctx: Context, stop: CancellationToken) -> anyhow::Result<()> {
    let config = ctx.config();
    match &config.mailbox {
        Mailbox::Maildir(m) => run_maildir(ctx.clone(), m.clone(), stop).await,
        Mailbox::Imap(m) => watch::run(ctx.clone(), m.clone(), stop).await,
    }
}

/// The name of a mailbox as a source of mails (and as the resource its lease is on).
pub fn source_name(mailbox: &Mailbox) -> String {
    match mailbox {
        Mailbox::Maildir(m) => maildir_source(m),
        Mailbox::Imap(m) => format!("imap:{}@{}:{}/{}", imap_user(m), m.host, m.port, m.inbox),
    }
}

fn imap_user(m: &crate::config::ImapMailbox) -> &str {
    match &m.auth {
        crate::config::Auth::Password { user, .. } | crate::config::Auth::Oauth2 { user, .. } => {
            user
        }
    }
}

/// The source name of a Maildir in the `mails` table.
pub fn maildir_source(m: &MaildirMailbox) -> String {
    format!("maildir:{}", m.path.display())
}

/// Watch a local Maildir: a pass over `new/` and `cur/` every second (cheap: one directory
/// listing), plus the full pass at start.
async fn run_maildir(
    ctx: Context,
    m: MaildirMailbox,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let maildir = Maildir::new(&m.path);
    let created = maildir
        .ensure(&[&m.processed, &m.quarantine])
        .map_err(|e| anyhow::anyhow!("cannot create the Maildir {}: {e}", m.path.display()))?;
    if created {
        if let Some(seed) = &m.seed_from {
            match maildir.seed(seed) {
                Ok(n) => {
                    tracing::info!(count = n, from = %seed.display(), "seeded the new Maildir with example mails")
                }
                Err(e) => tracing::warn!(from = %seed.display(), "cannot seed the Maildir: {e}"),
            }
        }
    }
    tracing::info!(maildir = %m.path.display(), "watching the Maildir");
    let since = chrono::Utc::now();
    ctx.store
        .set_health("intake.connected_since", &since.to_rfc3339(), since)
        .await?;
    let mut backoff = Duration::from_secs(1);
    loop {
        match pipeline::maildir_pass(&ctx, &maildir, &m, &stop).await {
            Ok(handled) => {
                backoff = Duration::from_secs(1);
                if handled > 0 {
                    // As after an IMAP pass: parsing decoded every attachment in memory.
                    crate::memory::release_freed();
                }
            }
            Err(e) => {
                tracing::warn!(
                    "Maildir pass failed, retrying in {} s: {e}",
                    backoff.as_secs()
                );
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(backoff) => {}
        }
    }
}

/// `check --connect` for the mailbox side: what was tried and how it went.
pub async fn probe(config: &Config) -> Vec<(&'static str, Result<String, String>)> {
    let mailbox = match &config.mailbox {
        Mailbox::Maildir(m) => {
            if Maildir::is_maildir(&m.path) {
                Ok(format!("Maildir {} exists", m.path.display()))
            } else {
                Ok(format!(
                    "Maildir {} will be created at start",
                    m.path.display()
                ))
            }
        }
        Mailbox::Imap(m) => probe_imap(m).await,
    };
    vec![("mailbox", mailbox)]
}

/// How many of the newest inbox mails `check --connect` judges.
pub const TRUST_PREVIEW: usize = 20;

/// What the trust anchor would decide for the newest [`TRUST_PREVIEW`] mails in the inbox, one
/// line each, newest last; read-only (`EXAMINE`, `BODY.PEEK[HEADER]`), so nothing in the
/// mailbox changes. A Maildir gives nothing here (its mails are read by `triage`).
pub async fn preview_trust(config: &Config) -> Result<Vec<String>, String> {
    let Mailbox::Imap(m) = &config.mailbox else {
        return Ok(Vec::new());
    };
    let tokens = match &m.auth {
        crate::config::Auth::Oauth2 { oauth2, .. } => {
            Some(crate::oauth::TokenProvider::new(oauth2.clone()))
        }
        crate::config::Auth::Password { .. } => None,
    };
    let mut imap = watch::sign_in(m, tokens.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    imap.examine(&m.inbox).await.map_err(|e| e.to_string())?;
    let uids = imap.uid_search_all().await.map_err(|e| e.to_string())?;
    let newest = &uids[uids.len().saturating_sub(TRUST_PREVIEW)..];
    let headers = imap.fetch_headers(newest).await.map_err(|e| e.to_string());
    imap.logout().await;
    Ok(headers?
        .iter()
        .map(|mail| {
            let (from, trust) = crate::understand::trust::judge_headers(&mail.bytes, config);
            format!(
                "UID {} from {}: {} ({})",
                mail.uid,
                from.as_deref().unwrap_or("(no From)"),
                trust.label(),
                trust.reason()
            )
        })
        .collect())
}

async fn probe_imap(m: &crate::config::ImapMailbox) -> Result<String, String> {
    let tokens = match &m.auth {
        crate::config::Auth::Oauth2 { oauth2, .. } => {
            Some(crate::oauth::TokenProvider::new(oauth2.clone()))
        }
        crate::config::Auth::Password { .. } => None,
    };
    let mut imap = watch::sign_in(m, tokens.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let folder = imap.select(&m.inbox).await.map_err(|e| e.to_string())?;
    let moves = if imap.has_capability("MOVE") {
        "MOVE"
    } else {
        "no MOVE (COPY + EXPUNGE)"
    };
    let idle = if imap.has_capability("IDLE") {
        "IDLE"
    } else {
        "no IDLE (polling)"
    };
    imap.logout().await;
    Ok(format!(
        "signed in to {}:{}, {} has {} mail(s), UIDVALIDITY {}; {idle}, {moves}",
        m.host, m.port, m.inbox, folder.exists, folder.uid_validity
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let small = vec![30_000u64; 450];
        let lens: Vec<usize> = batches(&small, |&s| s).iter().map(|b| b.len()).collect();
        assert_eq!(lens, [imap::FETCH_BATCH, imap::FETCH_BATCH, 50]);

        let mb = 1 << 20;
        let large = [10 * mb, 5 * mb, 2 * mb, 40 * mb, mb];
        let cut: Vec<&[u64]> = batches(&large, |&s| s);
        let expected: [&[u64]; 4] = [&[10 * mb, 5 * mb], &[2 * mb], &[40 * mb], &[mb]];
        assert_eq!(cut, expected, "16 MB at most; a larger mail alone");
        assert!(batches(&[] as &[u64], |&s| s).is_empty());
    }
}
