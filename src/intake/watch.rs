//! Watching the shared mailbox over IMAP: new mail is seen within a second through IDLE (RFC
//! 2177) or in the reply to any command (every EXISTS, EXPUNGE or VANISHED means "look again",
//! never a comparison of counts), IDLE is not trusted alone (a full pass runs at least every
//! `resync_interval`), and a lost connection is routine: reconnect with exponential backoff and
//! jitter, and catch up.
//!
//! Every pass handles *all* mail in the inbox, oldest UID first: handled mail leaves the inbox,
//! so whatever is there still needs handling. Mail a crash left committed but not moved is
//! recognised by its `UIDVALIDITY/UID` (or, after the mailbox was recreated, by its bytes) and
//! only moved. No flag is ever set, `\Seen` included: fetching uses `BODY.PEEK[]`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::imap::{Credentials, IdleOutcome, ImapError, ImapServer, ImapSession, MAX_IDLE};
use super::pipeline::{self, IntakeError};
use super::probe::{Probe, Verdict};
use crate::config::{Auth, ImapMailbox};
use crate::context::Context;
use crate::oauth::{OauthError, TokenProvider};
use crate::store::{MailState, NewMail};

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Oauth(#[from] OauthError),
    #[error("cannot read the IMAP password: {0}")]
    Secret(std::io::Error),
}

impl WatchError {
    /// Permanent errors need an admin (wrong password, missing folder); the watcher keeps
    /// retrying slowly so that a fixed password file is picked up without a restart.
    pub fn is_transient(&self) -> bool {
        match self {
            WatchError::Imap(e) => e.is_transient(),
            WatchError::Intake(e) => e.is_transient(),
            WatchError::Oauth(e) => e.is_transient(),
            WatchError::Secret(_) => false,
        }
    }
}

/// Exponential backoff with jitter: 1 s, 2 s, 4 s … up to `max`, each ±25 %.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            next: min,
            min,
            max,
        }
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }

    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = rand::random::<f64>() * 0.5 + 0.75;
        base.mul_f64(jitter)
    }
}

/// Watch the IMAP inbox until `stop`.
pub async fn run(ctx: Context, m: ImapMailbox, stop: CancellationToken) -> anyhow::Result<()> {
    let tokens = match &m.auth {
        Auth::Oauth2 { oauth2, .. } => Some(TokenProvider::new(oauth2.clone())),
        Auth::Password { .. } => None,
    };
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
    loop {
        match session(&ctx, &m, tokens.as_ref(), &stop, &mut backoff).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let delay = backoff.next_delay();
                if e.is_transient() {
                    tracing::warn!(host = %m.host, "IMAP session ended, reconnecting in {} s: {e}", delay.as_secs());
                } else {
                    tracing::error!(host = %m.host, "IMAP needs an admin, retrying in {} s: {e}", delay.as_secs());
                    if let (Some(tokens), WatchError::Imap(ImapError::AuthFailed { .. })) =
                        (&tokens, &e)
                    {
                        tokens.invalidate().await;
                    }
                }
                let _ = ctx
                    .store
                    .set_health("intake.error", &e.to_string(), Utc::now())
                    .await;
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

pub(super) async fn sign_in(
    m: &ImapMailbox,
    tokens: Option<&TokenProvider>,
) -> Result<ImapSession, WatchError> {
    let server = ImapServer::new(&m.host, m.port, m.tls);
    match &m.auth {
        Auth::Password { user, password } => {
            let password = password.reveal().map_err(WatchError::Secret)?;
            Ok(ImapSession::connect(
                &server,
                Credentials::Login {
                    user,
                    password: &password,
                },
            )
            .await?)
        }
        Auth::Oauth2 { user, .. } => {
            let tokens = tokens.expect("a token provider exists for OAuth2 mailboxes");
            let token = tokens.token(Utc::now()).await?;
            Ok(ImapSession::connect(
                &server,
                Credentials::XOauth2 {
                    user,
                    access_token: &token,
                },
            )
            .await?)
        }
    }
}

/// The shared mailbox searched for the proof copies of sent mails
/// ([`crate::outbox::send::MailboxCopies`]): one short IMAP session per question, looking in the
/// inbox and intake's two folders. Only IMAP mailboxes are searched.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedMailboxCopies;

impl crate::outbox::send::MailboxCopies for SharedMailboxCopies {
    fn has_copy<'a>(
        &'a self,
        config: &'a crate::config::Config,
        message_id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<bool>, String>> {
        Box::pin(async move {
            let crate::config::Mailbox::Imap(m) = &config.mailbox else {
                return Ok(None);
            };
            let tokens = match &m.auth {
                Auth::Oauth2 { oauth2, .. } => Some(TokenProvider::new(oauth2.clone())),
                Auth::Password { .. } => None,
            };
            let search = async {
                let mut imap = sign_in(m, tokens.as_ref()).await?;
                let folders = [
                    m.inbox.as_str(),
                    m.processed.as_str(),
                    m.quarantine.as_str(),
                ];
                let found = imap.holds_message_id(&folders, message_id).await;
                imap.logout().await;
                Ok::<_, WatchError>(found?)
            };
            search
                .await
                .map(Some)
                .map_err(|e| format!("searching the shared mailbox: {e}"))
        })
    }
}

/// One connected session: passes and IDLE until `stop` or an error.
async fn session(
    ctx: &Context,
    m: &ImapMailbox,
    tokens: Option<&TokenProvider>,
    stop: &CancellationToken,
    backoff: &mut Backoff,
) -> Result<(), WatchError> {
    let mut imap = sign_in(m, tokens).await?;
    imap.ensure_folder(&m.processed).await?;
    imap.ensure_folder(&m.quarantine).await?;
    let mut folder = imap.select(&m.inbox).await?;
    backoff.reset();
    let now = Utc::now();
    ctx.store
        .set_health("intake.connected_since", &now.to_rfc3339(), now)
        .await
        .map_err(IntakeError::from)?;
    ctx.store
        .set_health("intake.error", "", now)
        .await
        .map_err(IntakeError::from)?;
    tracing::info!(host = %m.host, folder = %m.inbox, uidvalidity = folder.uid_validity, "watching the IMAP inbox");
    let source = super::source_name(&crate::config::Mailbox::Imap(m.clone()));
    let mut held = Held {
        skip: HashSet::new(),
        suspects: parsing_when_stopped(ctx).await?,
    };
    let mut last_full = Instant::now();
    loop {
        let handled = pass(
            ctx,
            &mut imap,
            m,
            &source,
            folder.uid_validity,
            &mut held,
            stop,
        )
        .await?;
        if handled > 0 {
            // Parsing decodes every attachment in memory; give that back before waiting.
            crate::memory::release_freed();
        }
        if stop.is_cancelled() {
            imap.logout().await;
            return Ok(());
        }
        let wait = m
            .resync_interval
            .min(MAX_IDLE)
            .saturating_sub(last_full.elapsed())
            .max(Duration::from_secs(1));
        // The `intake phase: …` events name the watch loop's states for benches that deliver
        // mail in each of them (benches/arrival_races.rs).
        tracing::debug!("intake phase: idling");
        tokio::select! {
            outcome = imap.idle(wait) => {
                // Benchmarks time the path from this wake-up to the commit (`benches/intake_latency.rs`).
                if outcome? == IdleOutcome::Changed {
                    tracing::debug!("IDLE: the server reported a change of the inbox, looking again");
                }
            }
            _ = stop.cancelled() => return Ok(()),
        }
        if last_full.elapsed() >= m.resync_interval {
            // The safety net: select again (a recreated mailbox shows a new UIDVALIDITY here).
            let again = imap.select(&m.inbox).await?;
            if again.uid_validity != folder.uid_validity {
                tracing::warn!(
                    old = folder.uid_validity,
                    new = again.uid_validity,
                    "the inbox's UIDVALIDITY changed: resyncing by content, nothing is processed twice"
                );
                held.skip.clear();
            }
            folder = again;
            last_full = Instant::now();
        }
    }
}

/// Mails decided but not marked moved: a crash came between commit and move, or between the
/// move and its record. Those still in the inbox are moved by the pass; those no longer there
/// were moved before the crash, and are recorded as such now.
async fn settle_moves(
    ctx: &Context,
    source: &str,
    uid_validity: u32,
    in_inbox: &[u32],
) -> Result<(), WatchError> {
    let inbox: HashSet<u32> = in_inbox.iter().copied().collect();
    let waiting = ctx
        .store
        .mails_awaiting_move(source)
        .await
        .map_err(IntakeError::from)?;
    let gone: Vec<i64> = waiting
        .iter()
        .filter(|mail| {
            let still_there = mail
                .source_key
                .split_once('/')
                .filter(|(validity, _)| *validity == uid_validity.to_string())
                .and_then(|(_, uid)| uid.parse::<u32>().ok())
                .is_some_and(|uid| inbox.contains(&uid));
            !still_there
        })
        .map(|mail| mail.id)
        .collect();
    record_moved(ctx, &gone).await?;
    Ok(())
}

/// Handle every mail in the inbox, oldest first, in batches (bounded memory on a backfill).
async fn pass(
    ctx: &Context,
    imap: &mut ImapSession,
    m: &ImapMailbox,
    source: &str,
    uid_validity: u32,
    held: &mut Held,
    stop: &CancellationToken,
) -> Result<usize, WatchError> {
    let loaded = ctx.loaded();
    let in_inbox = imap.uid_search_all().await?;
    settle_moves(ctx, source, uid_validity, &in_inbox).await?;
    let uids: Vec<u32> = in_inbox
        .into_iter()
        .filter(|u| !held.skip.contains(u))
        .collect();
    let total = uids.len();
    let backfill = total > 100;
    if backfill {
        tracing::info!(
            mails = total,
            "backfill: handling the mails waiting in the inbox"
        );
    }
    let started = Instant::now();
    let mut done = 0;
    // Three batches in flight: while one is decided, the one before is moved out of the inbox
    // and the one after is fetched and parsed. The mailbox, the parser and the database work
    // side by side, and at most two batches of mail are held in memory.
    // One UID at a time (the IDLE path) needs no sizes to be bounded. A mail whose size the
    // server does not give is fetched all the same (counted as small).
    let sizes = if uids.len() > 1 {
        imap.sizes(&uids).await?
    } else {
        HashMap::new()
    };
    let mut batches = super::batches(&uids, |uid| sizes.get(uid).copied().unwrap_or(0)).into_iter();
    let mut next = fetch_next(
        ctx,
        imap,
        &mut batches,
        source,
        uid_validity,
        &mut held.suspects,
    )
    .await?;
    let mut decided = Moves::default();
    while !next.uids.is_empty() && !stop.is_cancelled() {
        let Batch { uids, prepared } = next;
        let previous = std::mem::take(&mut decided);
        tracing::debug!(mails = uids.len(), "intake phase: deciding");
        let (mailbox, handled) = tokio::join!(
            async {
                let moved = previous.apply(imap, m).await?;
                let next = fetch_next(
                    ctx,
                    imap,
                    &mut batches,
                    source,
                    uid_validity,
                    &mut held.suspects,
                )
                .await?;
                Ok::<_, WatchError>((moved, next))
            },
            pipeline::handle_prepared(ctx, &loaded, prepared),
        );
        // The batch just decided is moved while the next one is decided. A crash before its move
        // leaves it decided in the inbox, which the next pass only moves.
        let (moved, fetched) = mailbox?;
        done += record_moved(ctx, &moved).await?;
        let handled = handled?;
        for (uid, result) in uids.iter().zip(handled) {
            match result {
                Ok(handled) => decided.add(*uid, &handled),
                Err(e) => {
                    tracing::error!(uid, "mail left in the inbox for a person: {e}");
                    held.skip.insert(*uid);
                }
            }
        }
        if backfill {
            progress(done, total, started.elapsed());
        }
        next = fetched;
    }
    let moved = decided.apply(imap, m).await?;
    done += record_moved(ctx, &moved).await?;
    if backfill && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!();
    }
    Ok(done)
}

/// What one session holds back from its passes.
struct Held {
    /// Mails that failed permanently in this session: not retried every pass (they stay in the
    /// inbox, untouched, for a person; a new session tries them again).
    skip: HashSet<u32>,
    /// Mails a previous process was parsing when it stopped: judged first (see [`PARSING`]).
    suspects: HashSet<String>,
}

/// A batch of mails fetched and parsed, with their UIDs.
struct Batch {
    uids: Vec<u32>,
    prepared: pipeline::Prepared,
}

/// Fetch and parse the mails of the next batch that are still there (someone may have moved a
/// whole batch away since the search); empty only when no batch is left. The batch is named in
/// the [`PARSING`] mark while it is parsed, and a mail a parse was cut off on is judged first.
async fn fetch_next(
    ctx: &Context,
    imap: &mut ImapSession,
    batches: &mut std::vec::IntoIter<&[u32]>,
    source: &str,
    uid_validity: u32,
    suspects: &mut HashSet<String>,
) -> Result<Batch, WatchError> {
    let mut fetched = Vec::new();
    for batch in batches.by_ref() {
        tracing::debug!(mails = batch.len(), "intake phase: fetching");
        fetched = imap.fetch_raw(batch).await?;
        if !fetched.is_empty() {
            break;
        }
    }
    let uids = fetched.iter().map(|m| m.uid).collect();
    let incoming: Vec<pipeline::Incoming> = fetched
        .into_iter()
        .map(|mail| pipeline::Incoming {
            source: NewMail {
                source: source.to_string(),
                source_key: format!("{uid_validity}/{}", mail.uid),
                // Taken from the parsed mail by `prepare`.
                message_id: None,
                received_at: pipeline::arrival(mail.received_at),
            },
            raw: mail.bytes,
            file: String::new(),
        })
        .collect();
    if incoming.is_empty() {
        let prepared = pipeline::prepare(incoming, &ctx.config().limits).await?;
        return Ok(Batch { uids, prepared });
    }
    let set_aside = judge_suspects(ctx, &incoming, suspects).await;
    let keys: Vec<&str> = incoming
        .iter()
        .map(|m| m.source.source_key.as_str())
        .collect();
    mark_parsing(ctx, &keys.join(" ")).await?;
    let prepared =
        pipeline::prepare_setting_aside(incoming, &ctx.config().limits, set_aside).await?;
    mark_parsing(ctx, "").await?;
    Ok(Batch { uids, prepared })
}

/// Health key: the source keys of the batch being parsed now (empty when none is). A process
/// that dies while parsing (a crash in a parser that no `catch_unwind` holds, before the mail
/// is even stored) leaves it behind; the next session has those mails judged in a child process
/// ([`super::probe`]) before it reads them itself, so such a mail cannot stop intake in a loop.
pub const PARSING: &str = "intake.parsing";

async fn mark_parsing(ctx: &Context, keys: &str) -> Result<(), WatchError> {
    ctx.store
        .set_health(PARSING, keys, Utc::now())
        .await
        .map_err(|e| WatchError::from(IntakeError::from(e)))
}

/// The mails a previous process was parsing when it stopped.
async fn parsing_when_stopped(ctx: &Context) -> Result<HashSet<String>, WatchError> {
    let health = ctx
        .store
        .health()
        .await
        .map_err(|e| WatchError::from(IntakeError::from(e)))?;
    let keys: HashSet<String> = health
        .get(PARSING)
        .map(|(keys, _)| keys.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if !keys.is_empty() {
        tracing::warn!(
            mails = keys.len(),
            "the last process stopped while parsing a batch: its mails are judged in a child process first"
        );
    }
    Ok(keys)
}

/// Judge the mails of `incoming` that a previous process was parsing when it stopped, each in a
/// child process: those that kill the child too are set aside unread (quarantined with the
/// reason), the others are read as usual.
async fn judge_suspects(
    ctx: &Context,
    incoming: &[pipeline::Incoming],
    suspects: &mut HashSet<String>,
) -> HashMap<usize, String> {
    let mut set_aside = HashMap::new();
    if suspects.is_empty() {
        return set_aside;
    }
    let config = ctx.config();
    for (i, mail) in incoming.iter().enumerate() {
        let key = &mail.source.source_key;
        if !suspects.remove(key) {
            continue;
        }
        let Some(binary) = &ctx.probe_binary else {
            continue;
        };
        match Probe::new(binary, &config.source).judge(&mail.raw).await {
            Verdict::Poison(why) => {
                tracing::error!(
                    key,
                    "mail set aside unread: it stopped the daemon while being read: {why}"
                );
                set_aside.insert(
                    i,
                    format!("it stopped the daemon while being read (poison mail): {why}"),
                );
            }
            Verdict::Innocent => {
                tracing::info!(key, "a mail that was being read when the daemon stopped was read in a child process without harm");
            }
            Verdict::Unknown(why) => {
                tracing::warn!(key, "reading a suspect mail as usual: {why}");
            }
        }
    }
    set_aside
}

/// Decided mails waiting to leave the inbox: (UID, mail id) per folder.
#[derive(Debug, Default)]
struct Moves {
    processed: Vec<(u32, i64)>,
    quarantine: Vec<(u32, i64)>,
}

impl Moves {
    fn add(&mut self, uid: u32, handled: &pipeline::Handled) {
        let to = match handled.state {
            MailState::Quarantined => &mut self.quarantine,
            _ => &mut self.processed,
        };
        to.push((uid, handled.mail_id));
    }

    /// One UID MOVE per folder; returns the ids of the mails the server moved.
    async fn apply(self, imap: &mut ImapSession, m: &ImapMailbox) -> Result<Vec<i64>, ImapError> {
        let mut moved = Vec::new();
        for (moving, folder) in [
            (self.processed, &m.processed),
            (self.quarantine, &m.quarantine),
        ] {
            if moving.is_empty() {
                continue;
            }
            let (uids, ids): (Vec<u32>, Vec<i64>) = moving.into_iter().unzip();
            tracing::debug!(mails = uids.len(), "intake phase: moving");
            imap.move_uids(&uids, folder).await?;
            moved.extend(ids);
        }
        Ok(moved)
    }
}

/// Record the moves the server confirmed; returns how many.
async fn record_moved(ctx: &Context, ids: &[i64]) -> Result<usize, WatchError> {
    ctx.store
        .mark_all_moved(ids)
        .await
        .map_err(IntakeError::from)?;
    Ok(ids.len())
}

/// Backfill progress: a bar redrawn in place on a terminal, a log line every batch otherwise.
fn progress(done: usize, total: usize, elapsed: Duration) {
    let per_s = (done as f64 / elapsed.as_secs_f64().max(0.001)).round();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        const WIDTH: usize = 40;
        let filled = (done * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        eprint!(
            "\rbackfill [{}{}] {done}/{total} mails, {per_s}/s ",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled)
        );
    } else {
        tracing::info!(done, total, per_s, "backfill progress");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let delays: Vec<f64> = (0..6).map(|_| b.next_delay().as_secs_f64()).collect();
        for (d, base) in delays.iter().zip([1.0, 2.0, 4.0, 8.0, 8.0, 8.0]) {
            assert!(*d >= base * 0.75 && *d <= base * 1.25, "{delays:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1250));
    }
}
