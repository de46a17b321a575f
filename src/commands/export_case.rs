//! `doorstroom export-case REF [--out DIR]`: everything held on one person (a subject access
//! request) as a folder: `case.json` (the case with its documents' metadata, milestones and
//! concerns, the events, the counsellor history, the list of mails), `documents/` (the stored
//! attachment bytes) and `mails/` (the raw `.eml` of every mail of the case, received and sent).
//!
//! Read-only. Bytes that retention already dropped are listed in `case.json` as missing, never
//! silently left out.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::Config;
use crate::store::Store;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub dir: PathBuf,
    pub documents: usize,
    pub mails: usize,
    /// Files listed in `case.json` whose bytes are no longer held.
    pub missing: usize,
}

/// A file name that is safe in any folder: no path separators or control characters.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        "bestand".into()
    } else {
        cleaned
    }
}

/// Write the export of `case_ref` into `out/<REF>/`. Fails when the case is unknown or the
/// folder exists already (an export never overwrites an earlier one).
pub async fn export_case(store: &Store, case_ref: &str, out: &Path) -> anyhow::Result<Exported> {
    let case = store.case(case_ref).await?.ok_or_else(|| {
        anyhow::anyhow!("case {case_ref} is not in the register (see `doorstroom cases`)")
    })?;
    let dir = out.join(safe_name(&case.case_ref));
    anyhow::ensure!(
        !dir.exists(),
        "{} exists already; choose another --out",
        dir.display()
    );
    std::fs::create_dir_all(dir.join("documents"))?;
    std::fs::create_dir_all(dir.join("mails"))?;
    let id = case.id.unwrap_or_default();
    let events = store.case_events(id).await?;
    let counsellors = store.counsellor_history(id).await?;
    let mut result = Exported {
        dir: dir.clone(),
        ..Exported::default()
    };

    let mut documents = Vec::new();
    for d in &case.documents {
        let file = format!("{}-{}", d.id.unwrap_or_default(), safe_name(&d.filename));
        let bytes = match &d.sha256 {
            Some(sha) => store.blob(sha).await?,
            None => None,
        };
        let written = match bytes {
            Some(b) => {
                std::fs::write(dir.join("documents").join(&file), b)?;
                result.documents += 1;
                true
            }
            None => {
                result.missing += 1;
                false
            }
        };
        documents
            .push(json!({"document": d, "file": written.then(|| format!("documents/{file}"))}));
    }

    let mut mails = Vec::new();
    for (mail_id, received_at, kind, state) in store.mails_of_case(&case.case_ref).await? {
        let record = store.mail(mail_id).await?;
        let file = format!("in-{mail_id}.eml");
        let written = match store.blob(&record.sha256).await? {
            Some(raw) => {
                std::fs::write(dir.join("mails").join(&file), raw)?;
                result.mails += 1;
                true
            }
            None => {
                result.missing += 1;
                false
            }
        };
        mails.push(json!({
            "direction": "in", "id": mail_id, "received_at": received_at, "kind": kind,
            "state": state, "message_id": record.message_id,
            "file": written.then(|| format!("mails/{file}")),
        }));
    }
    for (out_id, message_id, state) in store.outbox_of_case(&case.case_ref).await? {
        let raw = store.outbox_message(out_id).await?;
        let file = format!("out-{out_id}.eml");
        let written = !raw.is_empty();
        if written {
            std::fs::write(dir.join("mails").join(&file), raw)?;
            result.mails += 1;
        } else {
            result.missing += 1;
        }
        mails.push(json!({
            "direction": "out", "id": out_id, "state": state, "message_id": message_id,
            "file": written.then(|| format!("mails/{file}")),
        }));
    }

    let body = json!({
        "case": case,
        "documents": documents,
        "events": events,
        "counsellors": counsellors,
        "mails": mails,
    });
    std::fs::write(dir.join("case.json"), serde_json::to_vec_pretty(&body)?)?;
    Ok(result)
}

pub async fn run(config: Config, case_ref: &str, out: &Path) -> anyhow::Result<()> {
    let store = crate::context::open_store(&config).await?;
    let exported = export_case(&store, case_ref, out).await;
    store.close().await;
    let e = exported?;
    crate::outln!(
        "{}: {} document(s), {} mail(s){}",
        e.dir.display(),
        e.documents,
        e.mails,
        if e.missing > 0 {
            format!(
                "; {} file(s) no longer held (retention), listed in case.json",
                e.missing
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
