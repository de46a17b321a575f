//! One mail through intake: stored → decided with its effects (one transaction) → moved.
//!
//! The same code serves the daemon's sources and `doorstroom ingest`, so that replaying an
//! exported mailbox decides exactly what the daemon would have.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::limits::Limits;
use crate::config::MaildirMailbox;
use crate::context::{Context, Loaded};
use crate::outbox::queue::queue_notices;
use crate::store::mails::MailOutcome;
use crate::store::{CaseCache, MailBytes, MailRecord, MailState, NewMail, Tx};
use crate::understand::parse::Parsed;
use crate::understand::{self, MessageId};

#[cfg(test)]
use super::commit::unplaced_notice;
use super::commit::{commit_decision, unplaced};
pub use super::commit::{declined_notice, scope_of, Handled, IntakeError};
use super::maildir::Maildir;
use super::probe::{abort_if_told, abort_if_told_parsing, killed_if_told, Probe, Verdict};

/// The Message-ID of a raw mail, read from its headers only: for a caller that stores a mail
/// without handing it to [`prepare`], which takes it from the one parse it makes.
pub fn message_id(raw: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::default().parse_headers(raw)?;
    parsed
        .message_id()
        .and_then(MessageId::parse)
        .map(|id| id.as_str().to_string())
}

/// When a mail arrived, as its mailbox recorded it (IMAP INTERNALDATE, a Maildir file's
/// modification time), else now. Triage and the case rules count from it (the meeting a concern
/// is for, the month of a referral's quota), so a mail read late, in a backfill or after an
/// outage, is decided as it would have been on arrival. Never in the future.
pub fn arrival(recorded: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    recorded.filter(|t| *t <= now).unwrap_or(now)
}

/// The modification time of a Maildir file: when it was delivered.
pub fn file_arrival(path: &std::path::Path) -> DateTime<Utc> {
    arrival(
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from),
    )
}

/// A mail as a source hands it to intake.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its `message_id` may be left `None`: [`prepare`] fills it in from the parsed mail, so
    /// that no source parses a mail a second time for its Message-ID.
    pub source: NewMail,
    pub raw: Vec<u8>,
    /// How `doorstroom ingest --json` names the mail (the path given); empty for a mailbox.
    pub file: String,
}

/// Decide one mail and commit the decision with its effects: [`handle_batch`] for one.
pub async fn handle(
    ctx: &Context,
    loaded: &Loaded,
    source: &NewMail,
    raw: &[u8],
    file: &str,
) -> Result<Handled, IntakeError> {
    let one = Incoming {
        source: source.clone(),
        raw: raw.to_vec(),
        file: file.to_string(),
    };
    handle_batch(ctx, loaded, vec![one])
        .await?
        .pop()
        .unwrap_or_else(|| Err(IntakeError::Io("a batch of one mail gave no result".into())))
}

/// A batch of mails read and parsed, ready for [`handle_prepared`]. Parsing needs no database,
/// so a source can prepare its next batch while the one before is being decided.
pub struct Prepared {
    mails: Vec<Incoming>,
    /// Per mail: the hash of its bytes, and what the parser made of it or the message of a
    /// parser panic.
    parsed: Vec<(String, Result<Parsed, String>)>,
}

/// Hash and parse a batch over all cores, off the async runtime, each mail within `limits`.
pub async fn prepare(mails: Vec<Incoming>, limits: &Limits) -> Result<Prepared, IntakeError> {
    prepare_setting_aside(mails, limits, HashMap::new()).await
}

/// [`prepare`], except that the mails at the indexes of `set_aside` are not parsed at all:
/// they stopped the daemon while being read (see [`super::probe`]), and are quarantined with
/// the reason given.
pub async fn prepare_setting_aside(
    mails: Vec<Incoming>,
    limits: &Limits,
    set_aside: HashMap<usize, String>,
) -> Result<Prepared, IntakeError> {
    // An empty inbox is the common case: no thread for it.
    if mails.is_empty() {
        return Ok(Prepared {
            mails,
            parsed: Vec::new(),
        });
    }
    let limits = limits.clone();
    tokio::task::spawn_blocking(move || {
        let mut mails = mails;
        let parsed = parse_all(&mails, &limits, &set_aside);
        for (mail, (_, parsed)) in mails.iter_mut().zip(&parsed) {
            if let (None, Ok(parsed)) = (&mail.source.message_id, parsed) {
                mail.source.message_id =
                    parsed.message_id.as_ref().map(|id| id.as_str().to_string());
            }
        }
        Prepared { mails, parsed }
    })
    .await
    .map_err(|e| IntakeError::Io(format!("the parser task failed: {e}")))
}

/// Handle a batch of mails in source order: [`prepare`], then [`handle_prepared`].
pub async fn handle_batch(
    ctx: &Context,
    loaded: &Loaded,
    mails: Vec<Incoming>,
) -> Result<Vec<Result<Handled, IntakeError>>, IntakeError> {
    handle_prepared(ctx, loaded, prepare(mails, &loaded.config.limits).await?).await
}

/// Handle a prepared batch of mails in source order, as the daemon does on every pass:
///
/// 1. the raw bytes of every mail are stored (one transaction): from here on nothing is lost;
/// 2. each mail not decided before is decided against the register as the mails before it left
///    it, and its decision, case effects and outgoing mails are written; all commit at once.
///    Should one mail fail for good half-way through its writes, the batch is undone and
///    decided again with a savepoint per mail, to which that mail alone is undone (a savepoint
///    for every mail of every batch would cost a round trip each, for a failure that is rare).
///
/// The outer error is transient and undoes the whole batch (every mail stays undecided in the
/// inbox and is tried again); the inner ones belong to one mail, which is left for a person
/// while the mails behind it go on. Mails decided before (a restart after a crash) come back as
/// they are, to be moved.
pub async fn handle_prepared(
    ctx: &Context,
    loaded: &Loaded,
    prepared: Prepared,
) -> Result<Vec<Result<Handled, IntakeError>>, IntakeError> {
    let Prepared { mails, parsed } = prepared;
    let mut tx = ctx.store.begin_bulk().await?;
    let batch: Vec<MailBytes> = mails
        .iter()
        .zip(&parsed)
        .map(|(mail, (sha256, _))| MailBytes {
            mail: &mail.source,
            raw: &mail.raw,
            sha256,
        })
        .collect();
    let records = tx.record_mails(&batch).await?;
    drop(batch); // it borrows `parsed`, which the loop below takes
    let records: Vec<MailRecord> = records.into_iter().map(|(record, _)| record).collect();
    // A mail of this batch was begun before and never finished: the daemon stopped while
    // deciding it (killed, or aborted by that very mail). Then each mail is decided on its
    // own, its attempt counted first, so that a poison mail is found and set aside.
    let retried = records
        .iter()
        .any(|r| r.state == MailState::Stored && r.attempts > 0);
    if !retried {
        let stored: Vec<i64> = records
            .iter()
            .filter(|r| r.state == MailState::Stored)
            .map(|r| r.id)
            .collect();
        tx.count_attempts(&stored).await?;
    }
    tx.commit().await?;

    let parsed: Vec<Result<Parsed, String>> = parsed.into_iter().map(|(_, p)| p).collect();
    let mut open = ctx.intake_cache.lock().await;
    if retried {
        let results = decide_one_by_one(ctx, loaded, &mails, &records, parsed, &mut open).await;
        drop(open);
        return results;
    }
    // What could not be read stays unread should the batch be decided again.
    let unread: HashMap<usize, String> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().err().map(|e| (i, e.clone())))
        .collect();
    let results = match decide_batch(ctx, loaded, &mails, &records, parsed, &mut open, false)
        .await?
    {
        Some(results) => results,
        None => {
            tracing::info!(
                mails = mails.len(),
                "a mail of the batch failed half-way: deciding the batch again, a savepoint per mail"
            );
            // The parsed mails went into the undone attempt: parsing is deterministic.
            let parsed = prepare_again(&mails, &loaded.config.limits, unread).await?;
            decide_batch(ctx, loaded, &mails, &records, parsed, &mut open, true)
                .await?
                .ok_or_else(|| IntakeError::Io("a savepoint did not hold a failed mail".into()))?
        }
    };
    drop(open);
    // The batch's mail and documents are in the write-ahead log: copied to the database file
    // on another connection while the next batch is decided.
    ctx.store.checkpoint_soon();

    let mut queued = false;
    for handled in results.iter().flatten().filter(|h| h.new) {
        queued |= !handled.done.is_empty();
        let kind = handled.decision.as_ref().map_or("-", |d| d.kind.as_str());
        tracing::info!(
            mail = handled.mail_id,
            kind,
            case = handled.case_ref.as_deref().unwrap_or("-"),
            "mail decided: {}",
            if handled.done.is_empty() {
                "nothing to do".to_string()
            } else {
                handled.done.join(", ")
            }
        );
    }
    if queued {
        ctx.outbox_wake.notify_one();
    }
    Ok(results)
}

/// Attempts at deciding a mail on its own that did not finish, after which it is set aside for
/// a person (where no child process can judge it, see [`super::probe`]).
pub const MAX_ATTEMPTS_ALONE: i64 = 2;

/// The same for a mail that a child process decided without harm: only a daemon stopped this
/// often while deciding it on its own (in its effects, not in triage) sets it aside.
pub const MAX_ATTEMPTS_PROBED: i64 = 10;

/// The same bytes again in one batch (a mail copied in the mailbox, or given twice to `ingest`)
/// are the mail at its first place: not decided again, only moved, in the state that place left
/// it (quarantined when deciding it failed).
fn again_in_batch(record: &MailRecord, first: Option<&Result<Handled, IntakeError>>) -> Handled {
    let state = match first {
        Some(Ok(handled)) => handled.state,
        _ => MailState::Quarantined,
    };
    Handled {
        mail_id: record.id,
        new: false,
        state,
        decision: None,
        case_ref: None,
        done: vec!["the same mail again in this batch; only moved".into()],
        reason: None,
    }
}

/// Decide the mails of a batch one at a time, each attempt counted and committed before it
/// begins. A mail that was begun on its own before and never finished is a suspect: the daemon
/// binary first decides it in a child process ([`super::probe`]), and quarantines it at once
/// when that child dies, or decides it as usual when the child finishes (so a daemon killed
/// from outside, at random moments, never sets an innocent mail aside). Where no child can
/// judge it, a mail begun with its batch and then [`MAX_ATTEMPTS_ALONE`] times on its own is
/// quarantined without being decided again. Either way the mails behind it go on. (A mail is
/// begun with a batch once at most: a batch holding a mail begun before is always decided one
/// at a time.)
async fn decide_one_by_one(
    ctx: &Context,
    loaded: &Loaded,
    mails: &[Incoming],
    records: &[MailRecord],
    parsed: Vec<Result<Parsed, String>>,
    open: &mut CaseCache,
) -> Result<Vec<Result<Handled, IntakeError>>, IntakeError> {
    tracing::warn!(
        mails = mails.len(),
        "a mail of this batch was begun before and never finished: deciding one at a time"
    );
    // The mails that were in progress on their own when the daemon stopped come last: a
    // daemon killed from outside at a random moment then hits another mail next time, while a
    // poison mail stops it again whenever it is decided.
    let suspect = |r: &MailRecord| r.state == MailState::Stored && r.attempts > 1;
    let order: Vec<usize> = (0..records.len())
        .filter(|&i| !suspect(&records[i]))
        .chain((0..records.len()).filter(|&i| suspect(&records[i])))
        .collect();
    let mut parsed: Vec<Option<Result<Parsed, String>>> = parsed.into_iter().map(Some).collect();
    let mut slots: Vec<Option<Result<Handled, IntakeError>>> =
        (0..records.len()).map(|_| None).collect();
    let mut first_place: HashMap<i64, usize> = HashMap::new();
    for i in order {
        let record = &records[i];
        // The same mail twice in the batch: decided at its first place, then only moved.
        if let Some(&first) = first_place.get(&record.id) {
            slots[i] = Some(Ok(again_in_batch(record, slots[first].as_ref())));
            continue;
        }
        first_place.insert(record.id, i);
        let parsed = parsed[i]
            .take()
            .unwrap_or_else(|| Err("the parser gave no result".into()));
        // Begun on its own before and never finished: judged in a child process first, where
        // the daemon binary can run one.
        let mut ceiling = MAX_ATTEMPTS_ALONE;
        if suspect(record) {
            if let Some(binary) = &ctx.probe_binary {
                match Probe::new(binary, &loaded.config.source)
                    .judge(&mails[i].raw)
                    .await
                {
                    Verdict::Poison(why) => {
                        let reason = format!(
                            "quarantined: deciding this mail stopped intake (poison mail): {why}; it is not tried again"
                        );
                        tracing::error!(mail = record.id, "{reason}");
                        let mut tx = ctx.store.begin_bulk().await?;
                        let handled = undecidable(&mut tx, loaded, record, &reason).await?;
                        tx.commit().await?;
                        slots[i] = Some(Ok(handled));
                        continue;
                    }
                    Verdict::Innocent => {
                        tracing::info!(
                            mail = record.id,
                            "a mail begun before was decided in a child process without harm: deciding it"
                        );
                        ceiling = MAX_ATTEMPTS_PROBED;
                    }
                    Verdict::Unknown(why) => {
                        tracing::warn!(mail = record.id, "counting attempts only: {why}");
                    }
                }
            }
        }
        let mut tx = ctx.store.begin_bulk().await?;
        if record.state == MailState::Stored && record.attempts > ceiling {
            let reason = format!(
                "quarantined: deciding this mail stopped intake {} times, {ceiling} of them on its own (poison mail); it is not tried again",
                record.attempts
            );
            tracing::error!(mail = record.id, "{reason}");
            let handled = undecidable(&mut tx, loaded, record, &reason).await?;
            tx.commit().await?;
            slots[i] = Some(Ok(handled));
            continue;
        }
        if record.state == MailState::Stored {
            tx.count_attempts(&[record.id]).await?;
        }
        tx.commit().await?;
        let decided = decide_batch(
            ctx,
            loaded,
            &mails[i..=i],
            &records[i..=i],
            vec![parsed],
            open,
            true,
        )
        .await?
        .ok_or_else(|| IntakeError::Io("a savepoint did not hold a failed mail".into()))?;
        slots[i] = decided.into_iter().next();
    }
    let results: Vec<Result<Handled, IntakeError>> = slots
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(IntakeError::Io("a mail was not decided".into()))))
        .collect();
    ctx.store.checkpoint_soon();
    if results
        .iter()
        .flatten()
        .any(|h| h.new && !h.done.is_empty())
    {
        ctx.outbox_wake.notify_one();
    }
    Ok(results)
}

/// Decide the stored mails of a batch in one transaction and commit it. `careful`: each mail
/// under a savepoint, and a mail that fails for good is undone alone and handed back as its
/// error; otherwise such a failure undoes the whole transaction and gives `None`, for the
/// caller to decide the batch again carefully.
async fn decide_batch(
    ctx: &Context,
    loaded: &Loaded,
    mails: &[Incoming],
    records: &[MailRecord],
    parsed: Vec<Result<Parsed, String>>,
    open: &mut CaseCache,
    careful: bool,
) -> Result<Option<Vec<Result<Handled, IntakeError>>>, IntakeError> {
    let mut tx = ctx.store.begin_bulk().await?;
    tx.revalidate(open).await?;
    let mut results: Vec<Result<Handled, IntakeError>> = Vec::with_capacity(mails.len());
    // The same bytes twice in one batch (a mail copied in the mailbox, or given twice to
    // `ingest`) are one mail: decided at its first place, then only moved.
    let mut first_place: HashMap<i64, usize> = HashMap::new();
    for ((mail, record), parsed) in mails.iter().zip(records).zip(parsed) {
        if let Some(&first) = first_place.get(&record.id) {
            results.push(Ok(again_in_batch(record, results.get(first))));
            continue;
        }
        first_place.insert(record.id, results.len());
        if record.state != MailState::Stored {
            results.push(Ok(Handled {
                mail_id: record.id,
                new: false,
                state: record.state,
                decision: None,
                case_ref: record.case_ref.clone(),
                done: vec!["decided before; only moved".into()],
                reason: record.reason.clone(),
            }));
            continue;
        }
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(panic) => {
                let reason = format!("cannot read the mail: the parser failed ({panic})");
                results.push(Ok(undecidable(&mut tx, loaded, record, &reason).await?));
                continue;
            }
        };
        if careful {
            tx.begin_step().await?;
        }
        match decide(&mut tx, open, loaded, record, parsed, mail, careful).await {
            Ok(handled) => results.push(Ok(handled)),
            Err(e) if e.is_transient() => return Err(e),
            Err(e) if careful => {
                // Never left `stored`: the mail goes to quarantine with the reason, and the
                // coordinator is told.
                tx.rollback_to_savepoint().await?;
                let reason = format!("cannot decide the mail: {e}");
                tracing::warn!(mail = record.id, "mail quarantined: {reason}");
                results.push(Ok(undecidable(&mut tx, loaded, record, &reason).await?));
            }
            Err(e) => {
                tracing::debug!(mail = record.id, "undoing the batch: {e}");
                tx.rollback().await?;
                return Ok(None);
            }
        }
    }
    match tx.write_held().await.map_err(IntakeError::from) {
        Ok(()) => {}
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            // A mail of the batch was decided already (a concurrent instance): found again
            // mail by mail.
            tracing::debug!("undoing the batch: {e}");
            tx.rollback().await?;
            return Ok(None);
        }
    }
    tx.commit_cached(open).await?;
    Ok(Some(results))
}

/// Parse a batch again (after an undone attempt took the parsed mails), off the async runtime;
/// the mails that could not be read the first time (`set_aside`) are not read again.
async fn prepare_again(
    mails: &[Incoming],
    limits: &Limits,
    set_aside: HashMap<usize, String>,
) -> Result<Vec<Result<Parsed, String>>, IntakeError> {
    let mails = mails.to_vec();
    let limits = limits.clone();
    let parsed = tokio::task::spawn_blocking(move || parse_all(&mails, &limits, &set_aside))
        .await
        .map_err(|e| IntakeError::Io(format!("the parser task failed: {e}")))?;
    Ok(parsed.into_iter().map(|(_, p)| p).collect())
}

/// Hash and parse every mail, spreading them over the cores. Parsing is total; should it panic
/// all the same, that mail alone is set aside with the panic's message. (A mail decided before,
/// found again after a crash, is parsed for nothing: rare, and it keeps parsing free of the
/// database.)
fn parse_all(
    mails: &[Incoming],
    limits: &Limits,
    set_aside: &HashMap<usize, String>,
) -> Vec<(String, Result<Parsed, String>)> {
    let parse = |i: usize| {
        let raw = &mails[i].raw;
        if let Some(reason) = set_aside.get(&i) {
            return (crate::store::sha256_hex(raw), Err(reason.clone()));
        }
        let parsed = std::panic::catch_unwind(|| {
            abort_if_told_parsing(raw);
            let mut parsed = understand::parse::parse_within(raw, limits);
            parsed.hash_attachments();
            parsed
        })
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser panicked".into())
        });
        (crate::store::sha256_hex(raw), parsed)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(mails.len());
    if threads <= 1 {
        return (0..mails.len()).map(parse).collect();
    }
    // Thread t takes mails t, t + threads, …: referrals with attachments are spread evenly.
    let mut out: Vec<Option<(String, Result<Parsed, String>)>> =
        (0..mails.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..mails.len())
                        .step_by(threads)
                        .map(|i| (i, parse(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            // `parse` catches panics, so a worker cannot fail.
            for (i, parsed) in worker.join().unwrap_or_default() {
                out[i] = Some(parsed);
            }
        }
    });
    out.into_iter()
        .enumerate()
        .map(|(i, p)| {
            p.unwrap_or_else(|| {
                let sha256 = crate::store::sha256_hex(&mails[i].raw);
                (sha256, Err("the parser gave no result".into()))
            })
        })
        .collect()
}

/// Decide one stored mail and write its decision, case effects and outgoing mails in `tx`.
/// `careful`: inside the savepoint the caller opened, to which a decision that cannot be applied
/// is undone and the mail quarantined instead; otherwise that failure is returned, for the
/// caller to undo the batch. `open` holds the open cases the batch has read so far.
async fn decide(
    tx: &mut Tx,
    open: &mut CaseCache,
    loaded: &Loaded,
    mail: &MailRecord,
    parsed: Parsed,
    incoming: &Incoming,
    careful: bool,
) -> Result<Handled, IntakeError> {
    let config = &loaded.config;
    abort_if_told(mail.message_id.as_deref());
    killed_if_told(mail);
    let mut scope = scope_of(&parsed, config);
    scope.copies_of = mail.message_id.clone().map(|id| (id, mail.id));
    let register = tx.register_scoped(&scope, open).await?;
    // Staff steering by mail: read what only the mail itself says (who wrote it, as our trust
    // anchor judges it) before triage takes the parsed mail.
    let staff = super::staff::StaffSender::of(&parsed, config);
    let mut decision = understand::classify::decide(parsed, &register, config);
    decision.file = incoming.file.clone();
    if let Some(staff) = staff {
        if let Some(handled) =
            super::correct::staff_mail(tx, open, loaded, mail, &decision, &staff).await?
        {
            if careful {
                tx.write_held().await?;
            }
            return Ok(handled);
        }
    }
    commit_decision(tx, open, loaded, mail, decision, &incoming.raw, careful).await
}

/// A mail that cannot be decided (the parser failed on it, or deciding it failed for good):
/// written as quarantined with `reason`, and the coordinator told once, in `tx`. The mails
/// behind it go on.
async fn undecidable(
    tx: &mut Tx,
    loaded: &Loaded,
    mail: &MailRecord,
    reason: &str,
) -> Result<Handled, IntakeError> {
    let config = &loaded.config;
    let now = Utc::now();
    let kind = understand::MailKind::Malformed;
    let notice = unplaced(
        mail.id,
        "",
        "een onbekende afzender",
        kind,
        &format!("mail #{}", mail.id),
        reason,
    );
    let done = queue_notices(tx, config, &loaded.outbox, &[notice], &[], None, now).await?;
    let json = serde_json::json!({ "kind": kind.as_str(), "reasons": [reason] });
    tx.finish_mail(
        mail,
        &MailOutcome {
            state: MailState::Quarantined,
            kind: kind.as_str(),
            partner: None,
            case_ref: None,
            body_hash: None,
            decision: &json,
            reason: Some(reason),
            at: now,
        },
    );
    tx.write_held().await?;
    Ok(Handled {
        mail_id: mail.id,
        new: true,
        state: MailState::Quarantined,
        decision: None,
        case_ref: None,
        done,
        reason: Some(reason.to_string()),
    })
}

/// One pass over a Maildir inbox: finish moves a crash interrupted, then handle every waiting
/// mail in delivery order, a batch at a time. One bad mail never blocks the ones behind it.
pub async fn maildir_pass(
    ctx: &Context,
    maildir: &Maildir,
    m: &MaildirMailbox,
    stop: &CancellationToken,
) -> Result<usize, IntakeError> {
    let source = super::maildir_source(m);
    let loaded = ctx.loaded();
    let pending = maildir
        .pending()
        .map_err(|e| IntakeError::Io(format!("cannot list {}: {e}", m.path.display())))?;
    let mut handled = 0;
    for batch in super::batches(&pending, |entry| super::file_size(&entry.path)) {
        if stop.is_cancelled() {
            break;
        }
        let mut entries = Vec::with_capacity(batch.len());
        let mut incoming = Vec::with_capacity(batch.len());
        for entry in batch {
            match std::fs::read(&entry.path) {
                Ok(raw) => {
                    incoming.push(Incoming {
                        source: NewMail {
                            source: source.clone(),
                            source_key: entry.key.clone(),
                            // Taken from the parsed mail by `prepare`.
                            message_id: None,
                            received_at: file_arrival(&entry.path),
                        },
                        raw,
                        file: entry.path.display().to_string(),
                    });
                    entries.push(entry);
                }
                // Moved or removed by someone else between the listing and now: not ours.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(IntakeError::Io(format!(
                        "cannot read {}: {e}",
                        entry.path.display()
                    )))
                }
            }
        }
        let mut moved = Vec::with_capacity(entries.len());
        let mut failed = None;
        for (entry, result) in entries
            .iter()
            .zip(handle_batch(ctx, &loaded, incoming).await?)
        {
            let done = match result {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(file = %entry.path.display(), "mail left in the inbox: {e}");
                    continue;
                }
            };
            let folder = match done.state {
                MailState::Quarantined => &m.quarantine,
                _ => &m.processed,
            };
            if let Err(e) = maildir.move_to(entry, folder) {
                failed = Some(IntakeError::Io(format!(
                    "cannot move {} to {folder}: {e}",
                    entry.path.display()
                )));
                break;
            }
            moved.push(done.mail_id);
        }
        // What was moved is recorded as moved, also when a later move failed.
        ctx.store.mark_all_moved(&moved).await?;
        handled += moved.len();
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::*;
    use crate::case::model::{Case, Status};
    use crate::understand::{Conclusion, Contact, Decision, Facts, MailKind};

    /// Every kind, in declaration order. The match below fails to compile when a kind is added,
    /// so that a new kind cannot skip the walk.
    const KINDS: [MailKind; 22] = [
        MailKind::Referral,
        MailKind::ReferralIncomplete,
        MailKind::ContactChange,
        MailKind::Concern,
        MailKind::UrgentConcern,
        MailKind::FinalReport,
        MailKind::DiscussionRequest,
        MailKind::LeaseStart,
        MailKind::MeetingConclusions,
        MailKind::ReplyToCase,
        MailKind::Handover,
        MailKind::PreventiveRequest,
        MailKind::AutoReply,
        MailKind::Bounce,
        MailKind::Bulk,
        MailKind::CalendarResponse,
        MailKind::SpamOrSpoof,
        MailKind::CrossPartner,
        MailKind::UnknownSender,
        MailKind::Malformed,
        MailKind::Duplicate,
        MailKind::OwnCopy,
    ];

    fn _every_kind_is_walked(kind: MailKind) {
        use MailKind::*;
        match kind {
            Referral | ReferralIncomplete | ContactChange | Concern | UrgentConcern
            | FinalReport | DiscussionRequest | LeaseStart | MeetingConclusions | ReplyToCase
            | Handover | PreventiveRequest | AutoReply | Bounce | Bulk | CalendarResponse
            | SpamOrSpoof | CrossPartner | UnknownSender | Malformed | Duplicate | OwnCopy => {}
        }
    }

    /// A decision of `kind` as triage gives it, about `case_ref` (or none), with the facts its
    /// kind carries.
    fn decision(kind: MailKind, case_ref: Option<&str>) -> Decision {
        let mut conclusions = BTreeMap::new();
        if let Some(r) = case_ref {
            conclusions.insert(r.to_string(), Conclusion::DiscussAgain);
        }
        Decision {
            file: String::new(),
            kind,
            partner: Some("caw-antwerpen".into()),
            case_ref: case_ref.map(str::to_string),
            candidate: Some("Jan Peeters".into()),
            cir: None,
            documents: Vec::new(),
            missing: Vec::new(),
            must_auto_reply: !kind.is_automated() && !kind.is_quarantined(),
            notify: vec![crate::case::Role::Coordinator],
            lease_start: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
            conclusions: conclusions
                .iter()
                .map(|(k, c): (&String, &Conclusion)| (k.clone(), c.as_text()))
                .collect(),
            new_contact: Some(Contact {
                name: None,
                email: None,
                phone: Some("0486 55 44 33".into()),
            }),
            handover: None,
            duplicate_of: None,
            confidence: 1.0,
            confidence_reasons: Vec::new(),
            reasons: vec!["test".into()],
            facts: Facts {
                sender: Some("lotte.wouters@caw-antwerpen.example".into()),
                subject: "Nieuw gsm-nummer".into(),
                body_text: "Ik heb een nieuw gsm-nummer: 0486 55 44 33".into(),
                conclusions,
                ..Facts::default()
            },
        }
    }

    #[test]
    fn a_partner_declining_the_meeting_is_told_to_the_coordinators_and_nothing_else_is() {
        use crate::store::meetings::{Meeting, MeetingResponse, MeetingState};
        let config = crate::outbox::testing::config();
        let at = Utc.with_ymd_and_hms(2026, 12, 17, 10, 0, 0).unwrap();
        let meeting = Meeting {
            partner: "caw-antwerpen".into(),
            month: "2026-12".into(),
            state: MeetingState::Called,
            sequence: 0,
            agenda_message_id: None,
            called_for: vec!["VD-2026-0007".into()],
            responses: Vec::new(),
            reminded_at: None,
            created_at: at,
            updated_at: at,
        };
        let answer = |attendee: &str, partstat: &str| MeetingResponse {
            attendee: attendee.into(),
            partstat: partstat.into(),
            at,
            mail_id: Some(7),
        };
        let notice = declined_notice(
            &config,
            &meeting,
            &answer("teamwonen@caw-antwerpen.example", "DECLINED"),
            7,
        )
        .expect("a decline is told");
        assert_eq!(notice.template, "meeting_declined");
        assert_eq!(notice.to, [crate::case::Role::Coordinator]);
        assert_eq!(notice.data["partner_name"], "CAW Antwerpen");
        assert_eq!(notice.data["cases"][0], "VD-2026-0007");
        assert!(notice.data["meeting_date"]
            .as_str()
            .is_some_and(|d| d.starts_with("2026-12-")));
        assert_eq!(notice.dedupe, "mail:7:meeting_declined");
        for (who, partstat) in [
            ("teamwonen@caw-antwerpen.example", "ACCEPTED"),
            ("teamwonen@caw-antwerpen.example", "TENTATIVE"),
            ("an.peeters@woonhaven.example", "DECLINED"),
        ] {
            assert!(
                declined_notice(&config, &meeting, &answer(who, partstat), 7).is_none(),
                "{who} {partstat}"
            );
        }
    }

    #[test]
    fn every_kind_of_mail_with_or_without_its_case_has_an_effect_a_person_sees() {
        let config = crate::outbox::testing::config();
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        let mut case = Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
        );
        case.status = Status::InGuidance;
        let listed: Vec<MailKind> = crate::jobs::digest::LISTED_KINDS.to_vec();
        let mut silent = Vec::new();
        for kind in KINDS {
            for found in [true, false] {
                let case_ref = found.then_some("VD-2026-0001");
                let d = decision(kind, case_ref);
                let cases: BTreeMap<String, Case> = if found {
                    BTreeMap::from([(case.case_ref.clone(), case.clone())])
                } else {
                    BTreeMap::new()
                };
                let applied = crate::case::apply(&crate::case::Input {
                    config: &config,
                    decision: &d,
                    mail_id: 7,
                    received_at: at,
                    now: at,
                    cases: &cases,
                    new_reference: Some("VD-2026-0100".into()),
                    referrals_this_month: 0,
                });
                // Told by mail (an acknowledgement to the sender alone does not count: it may be
                // skipped), or shown in the digest: a new case, a concern this mail raised.
                let told = applied.as_ref().is_ok_and(|fx| {
                    fx.notices.iter().any(|n| !n.to.is_empty())
                        || fx.changes.iter().any(|c| {
                            c.created
                                || c.case
                                    .concerns
                                    .iter()
                                    .any(|x| x.id.is_none() && x.mail_id == Some(7))
                        })
                });
                let failure = applied.as_ref().err().map(|e| e.to_string());
                let unplaced =
                    unplaced_notice(&config, &d, 7, failure.as_deref(), applied.is_err()).is_some();
                let in_digest = kind.is_quarantined() || listed.contains(&kind);
                // Our own copy is the proof that a mail went to people: that mail, in the
                // outbox and in their inboxes, is what they see.
                let ours = kind == MailKind::OwnCopy;
                if !(told || unplaced || in_digest || ours) {
                    silent.push(format!("{kind:?} (case found: {found}): {applied:?}"));
                }
            }
        }
        assert!(silent.is_empty(), "silent mails:\n{}", silent.join("\n"));
    }
}
