//! `doorstroom mails [--quarantined] [--json]` and `doorstroom mails retry ID`.

use crate::config::{Config, Mailbox};
use crate::context::Context;
use crate::intake::maildir::Maildir;
use crate::intake::pipeline;
use crate::store::{MailState, NewMail};

pub async fn list(config: Config, quarantined: bool, json: bool) -> anyhow::Result<()> {
    let store = crate::context::open_store(&config).await?;
    let mails = store.list_mails(quarantined, 500).await?;
    if json {
        for mail in &mails {
            crate::outln!("{}", serde_json::to_string(mail)?);
        }
    } else if mails.is_empty() {
        crate::outln!(
            "{}",
            if quarantined {
                "no quarantined mails"
            } else {
                "no mails yet"
            }
        );
    } else {
        crate::outln!(
            "{:>6}  {:<20}  {:<12}  {:<22}  {:<14}  reason",
            "id",
            "received",
            "state",
            "kind",
            "case"
        );
        for m in &mails {
            crate::outln!(
                "{:>6}  {:<20}  {:<12}  {:<22}  {:<14}  {}",
                m.id,
                m.received_at.format("%Y-%m-%d %H:%M:%S"),
                format!("{:?}", m.state).to_lowercase(),
                m.kind.as_deref().unwrap_or("-"),
                m.case_ref.as_deref().unwrap_or("-"),
                m.reason.as_deref().unwrap_or("")
            );
        }
    }
    store.close().await;
    Ok(())
}

/// Decide a quarantined mail again (after a config fix); a Maildir mail that is now processed
/// moves from the quarantine folder to the processed folder.
pub async fn retry(config: Config, id: i64) -> anyhow::Result<()> {
    let store = crate::context::open_store(&config).await?;
    let mail = store.mail(id).await?;
    if mail.state != MailState::Quarantined {
        anyhow::bail!(
            "mail {id} is not quarantined (it is {:?}); only quarantined mails can be retried",
            mail.state
        );
    }
    let raw = store.blob(&mail.sha256).await?.ok_or_else(|| {
        anyhow::anyhow!("the raw bytes of mail {id} were purged; it cannot be decided again")
    })?;
    let ctx = Context::fixed(store.clone(), config)?;
    store.requeue_mail(id).await?;
    let loaded = ctx.loaded();
    let config = ctx.config();
    let new = NewMail {
        source: mail.source.clone(),
        source_key: mail.source_key.clone(),
        message_id: mail.message_id.clone(),
        received_at: mail.received_at,
    };
    let handled = pipeline::handle(&ctx, &loaded, &new, &raw, &format!("mail {id}")).await?;
    let kind = handled.decision.as_ref().map_or("?", |d| d.kind.as_str());
    if handled.state == MailState::Processed {
        if let Mailbox::Maildir(m) = &config.mailbox {
            let maildir = Maildir::new(m.path.join(format!(".{}", m.quarantine)));
            if let Some(entry) = maildir.find(&mail.source_key)? {
                Maildir::new(&m.path).move_to(&entry, &m.processed)?;
            }
        }
        crate::outln!("mail {id}: now {kind}, processed");
    } else {
        crate::outln!(
            "mail {id}: still quarantined as {kind}: {}",
            handled.reason.unwrap_or_default()
        );
    }
    store.close().await;
    Ok(())
}

/// `mails move ID --case REF` and `mails redecide ID --kind KIND`: the corrections a
/// coordinator makes by answering a notice, typed by an admin. Applied exactly as an answer by
/// mail is (see `intake::correct`), with the command line as the cause of the case events.
pub async fn steer(
    config: Config,
    id: i64,
    command: crate::understand::answer::Command,
    typed: &str,
) -> anyhow::Result<()> {
    use crate::intake::correct::{self, CorrectError, Steering};
    let store = crate::context::open_store(&config).await?;
    let ctx = Context::fixed(store.clone(), config)?;
    let loaded = ctx.loaded();
    let commands = [command];
    let steering = Steering {
        mail_id: id,
        commands: &commands,
        by: "admin",
        cause: crate::case::Cause::Admin {
            command: typed.to_string(),
        },
        answer: None,
        words: typed,
    };
    let mut open = ctx.intake_cache.lock().await;
    let mut tx = store.begin().await?;
    tx.revalidate(&mut open).await?;
    match correct::apply(&mut tx, &mut open, &loaded, &steering).await {
        Ok(applied) => {
            tx.commit_cached(&mut open).await?;
            crate::outln!(
                "mail {id}: {} in {} -> {} in {}",
                applied.original_kind.as_deref().unwrap_or("-"),
                applied.original_case.as_deref().unwrap_or("-"),
                applied.corrected_kind.as_deref().unwrap_or("-"),
                applied.corrected_case.as_deref().unwrap_or("-"),
            );
            for line in &applied.lines {
                crate::outln!("  {line}");
            }
            drop(open);
            store.close().await;
            Ok(())
        }
        Err(CorrectError::Refused(refusal)) => {
            tx.rollback().await?;
            store.close().await;
            anyhow::bail!("mail {id}: nothing changed: {}", refusal.english())
        }
        Err(CorrectError::Intake(e)) => {
            tx.rollback().await?;
            store.close().await;
            Err(e.into())
        }
    }
}

/// `mails corrections [--json]`: every correction, original decision → corrected.
pub async fn corrections(
    config: Config,
    json: bool,
    export: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store = crate::context::open_store(&config).await?;
    let corrections = store.corrections().await?;
    if let Some(dir) = export {
        let written = export_corrections(&store, &corrections, dir).await;
        store.close().await;
        let written = written?;
        eprintln!(
            "wrote {written} corrected mail(s) with their decisions into {}",
            dir.display()
        );
    } else {
        store.close().await;
    }
    if json {
        for c in &corrections {
            crate::outln!("{}", serde_json::to_string(c)?);
        }
        return Ok(());
    }
    if corrections.is_empty() {
        crate::outln!("no corrections yet");
        return Ok(());
    }
    crate::outln!(
        "{:>5}  {:<16}  {:>6}  {:<30}  {:<14}  original -> corrected",
        "id",
        "at",
        "mail",
        "by",
        "action"
    );
    let side = |kind: &Option<String>, case: &Option<String>| {
        format!(
            "{} {}",
            kind.as_deref().unwrap_or("-"),
            case.as_deref().unwrap_or("-")
        )
    };
    for c in &corrections {
        crate::outln!(
            "{:>5}  {:<16}  {:>6}  {:<30}  {:<14}  {} -> {}",
            c.id,
            c.at.format("%Y-%m-%d %H:%M"),
            c.mail_id,
            c.by,
            c.action,
            side(&c.original_kind, &c.original_case),
            side(&c.corrected_kind, &c.corrected_case),
        );
    }
    Ok(())
}

/// The keys of a decision the golden corpus (`tests/corpus/NNN-name.json`) compares.
const CORPUS_KEYS: &[&str] = &[
    "kind",
    "partner",
    "case_ref",
    "documents",
    "missing",
    "must_auto_reply",
    "notify",
    "candidate",
    "cir",
];

/// Write each corrected mail (its latest correction) as `NNN-correction.eml` and the decision it
/// has now as `NNN-correction.json`; a mail whose bytes were purged is skipped. Returns how many
/// were written.
async fn export_corrections(
    store: &crate::store::Store,
    corrections: &[crate::store::Correction],
    dir: &std::path::Path,
) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut latest: std::collections::BTreeMap<i64, &crate::store::Correction> = Default::default();
    for c in corrections {
        latest.insert(c.mail_id, c);
    }
    let mut written = 0;
    for (n, (mail_id, _)) in latest.iter().enumerate() {
        let mail = store.mail(*mail_id).await?;
        let Some(raw) = store.blob(&mail.sha256).await? else {
            eprintln!("mail {mail_id}: its bytes were purged; not exported");
            continue;
        };
        let decision = mail.decision.unwrap_or_default();
        let expected: serde_json::Map<String, serde_json::Value> = CORPUS_KEYS
            .iter()
            .filter_map(|k| decision.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
        let stem = dir.join(format!("{:03}-correction", n + 1));
        std::fs::write(stem.with_extension("eml"), &raw)
            .with_context(|| format!("cannot write {}.eml", stem.display()))?;
        std::fs::write(
            stem.with_extension("json"),
            serde_json::to_string_pretty(&expected)? + "\n",
        )
        .with_context(|| format!("cannot write {}.json", stem.display()))?;
        written += 1;
    }
    Ok(written)
}
