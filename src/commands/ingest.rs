//! `doorstroom ingest PATH…`: process .eml files and Maildirs once, exactly as the daemon would,
//! and say per mail what was decided and done. Files are not moved: ingest replays, it does not
//! tidy an admin's export.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;

use crate::config::Config;
use crate::context::Context;
use crate::intake::maildir::Maildir;
use crate::intake::pipeline::{self, Handled};
use crate::store::{sha256_hex, NewMail};

/// The mails a path stands for, in processing order: a Maildir's waiting mails oldest first, a
/// folder's `.eml` files by name, or the file itself.
fn expand(path: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    if Maildir::is_maildir(path) {
        let source = format!("maildir:{}", path.display());
        let entries = Maildir::new(path)
            .pending()
            .with_context(|| format!("cannot read the Maildir {}", path.display()))?;
        return Ok(entries
            .into_iter()
            .map(|e| (e.path, source.clone()))
            .collect());
    }
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        return Ok(files.into_iter().map(|p| (p, "file".to_string())).collect());
    }
    if !path.exists() {
        anyhow::bail!("{} does not exist", path.display());
    }
    Ok(vec![(path.to_path_buf(), "file".to_string())])
}

pub async fn run(config: Config, paths: &[PathBuf], json: bool) -> anyhow::Result<bool> {
    let store = crate::daemon::open_store(&config).await?;
    let ctx = Context::fixed(store.clone(), config).context("mail templates")?;
    let loaded = ctx.loaded();
    let mut all_ok = true;
    for path in paths {
        for (file, source) in expand(path)? {
            let raw =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            // Files are recognised by content, so that ingesting the same file twice is a no-op.
            let key = match source.as_str() {
                "file" => sha256_hex(&raw),
                _ => file
                    .file_name()
                    .map(|n| {
                        n.to_string_lossy()
                            .split(":2,")
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .unwrap_or_default(),
            };
            let new = NewMail {
                source,
                source_key: key,
                message_id: pipeline::message_id(&raw),
                received_at: Utc::now(),
            };
            let shown = file.display().to_string();
            match pipeline::handle(&ctx, &loaded, &new, &raw, &shown).await {
                Ok(handled) => print(&shown, &handled, json)?,
                Err(e) => {
                    all_ok = false;
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
            None => serde_json::json!({ "file": file }),
        };
        if let Some(map) = object.as_object_mut() {
            map.insert("file".into(), file.into());
            map.insert("mail_id".into(), handled.mail_id.into());
            map.insert("state".into(), serde_json::to_value(handled.state)?);
            map.insert("new".into(), handled.new.into());
            map.insert("done".into(), serde_json::to_value(&handled.done)?);
        }
        println!("{}", serde_json::to_string(&object)?);
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
        println!(
            "{file}: mail {} {kind}, case {case}; {}",
            handled.mail_id,
            handled.done.join("; ")
        );
    }
    Ok(())
}
