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
