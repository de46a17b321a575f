//! `doorstroom ingest PATH…`: process .eml files and Maildirs once, exactly as the daemon would,
//! and say per mail what was decided and done. Files are not moved: ingest replays, it does not
//! tidy an admin's export.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;

use crate::config::Config;
use crate::context::Context;
use crate::intake::maildir::Maildir;
use crate::intake::pipeline::{self, Handled, Incoming};
use crate::store::{sha256_hex, NewMail};

/// One mail to replay: where it is, which source it counts as, and its key there.
struct Found {
    path: PathBuf,
    source: String,
    /// A Maildir mail's key, as the daemon keys it; `None` for a file, which is recognised by
    /// its content (ingesting the same file twice is a no-op).
    key: Option<String>,
}

/// The mails a path stands for, in processing order: a Maildir's waiting mails oldest first, a
/// folder's `.eml` files by name, or the file itself.
fn expand(path: &Path) -> anyhow::Result<Vec<Found>> {
    let file = |path: PathBuf| Found {
        path,
        source: "file".to_string(),
        key: None,
    };
    if Maildir::is_maildir(path) {
        let source = format!("maildir:{}", path.display());
        let entries = Maildir::new(path)
            .pending()
            .with_context(|| format!("cannot read the Maildir {}", path.display()))?;
        return Ok(entries
            .into_iter()
            .map(|e| Found {
                path: e.path,
                source: source.clone(),
                key: Some(e.key),
            })
            .collect());
    }
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        return Ok(files.into_iter().map(file).collect());
    }
    if !path.exists() {
        anyhow::bail!("{} does not exist", path.display());
    }
    Ok(vec![file(path.to_path_buf())])
}

pub async fn run(config: Config, paths: &[PathBuf], json: bool) -> anyhow::Result<bool> {
    // Every path is checked before the first mail is processed.
    let mut files = Vec::new();
    for path in paths {
        files.extend(expand(path)?);
    }
    let store = crate::context::open_store(&config).await?;
    let ctx = Context::fixed(store.clone(), config).context("mail templates")?;
    let loaded = ctx.loaded();
    let mut all_ok = true;
    // In batches, as the daemon handles a Maildir: the same decisions, a transaction per batch.
    for batch in crate::intake::batches(&files, |found| crate::intake::file_size(&found.path)) {
        let mut incoming = Vec::with_capacity(batch.len());
        for found in batch {
            let raw = std::fs::read(&found.path)
                .with_context(|| format!("cannot read {}", found.path.display()))?;
            incoming.push(Incoming {
                source: NewMail {
                    source: found.source.clone(),
                    source_key: found.key.clone().unwrap_or_else(|| sha256_hex(&raw)),
                    // Taken from the parsed mail by `pipeline::prepare`.
                    message_id: None,
                    // A lone .eml file has no arrival time: it counts as received now.
                    received_at: match found.key {
                        Some(_) => pipeline::file_arrival(&found.path),
                        None => Utc::now(),
                    },
                },
                raw,
                file: found.path.display().to_string(),
            });
        }
        let shown: Vec<String> = incoming.iter().map(|m| m.file.clone()).collect();
        match pipeline::handle_batch(&ctx, &loaded, incoming).await {
            Ok(results) => {
                for (shown, result) in shown.iter().zip(results) {
                    match result {
                        Ok(handled) => print(shown, &handled, json)?,
                        Err(e) => {
                            all_ok = false;
                            eprintln!("{shown}: not processed: {e}");
                        }
                    }
                }
            }
            Err(e) => {
                all_ok = false;
                for shown in &shown {
                    eprintln!("{shown}: not processed: {e}");
                }
            }
        }
    }
    store.close().await;
    Ok(all_ok)
}

fn print(file: &str, handled: &Handled, json: bool) -> anyhow::Result<()> {
    if json {
        let mut object = match &handled.decision {
            Some(decision) => serde_json::to_value(decision)?,
            // Decided before, or not decidable at all (quarantined with the reason).
            None => match &handled.reason {
                Some(reason) => serde_json::json!({ "file": file, "reasons": [reason] }),
                None => serde_json::json!({ "file": file }),
            },
        };
        if let Some(map) = object.as_object_mut() {
            map.insert("file".into(), file.into());
            map.insert("mail_id".into(), handled.mail_id.into());
            map.insert("state".into(), serde_json::to_value(handled.state)?);
            map.insert("new".into(), handled.new.into());
            map.insert("done".into(), serde_json::to_value(&handled.done)?);
        }
        crate::outln!("{}", serde_json::to_string(&object)?);
    } else {
        let kind = handled
            .decision
            .as_ref()
            .map_or("(decided before)", |d| d.kind.as_str());
        let case = handled
            .decision
            .as_ref()
            .and_then(|d| d.case_ref.as_deref())
            .unwrap_or("-");
        crate::outln!(
            "{file}: mail {} {kind}, case {case}; {}",
            handled.mail_id,
            handled.done.join("; ")
        );
    }
    Ok(())
}
