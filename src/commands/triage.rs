//! `doorstroom triage --config C [--json] FILE…`: what doorstroom would decide about mail files,
//! against the case register in the configured database, writing nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::store::Store;
use crate::understand::{triage, Decision, Register};

/// Decide each file in order and print one JSON object per line (`--json`) or a short summary.
pub fn run(config: &Config, files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (register, store) = runtime.block_on(async {
        let store = Store::open(
            &config.database.url,
            &config.organisation.id,
            config.database.max_connections,
        )
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                crate::config::redact_url(&config.database.url)
            )
        })?;
        let register = store
            .register()
            .await
            .context("cannot read the case register")?;
        anyhow::Ok((register, store))
    })?;
    let mut failed = false;
    for file in files {
        let raw = match std::fs::read(file) {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!("doorstroom: cannot read {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let mut register = register.clone();
        // Duplicates need the earlier copies with the same Message-ID.
        let message_id = crate::understand::parse::parse(&raw).message_id;
        if let Some(id) = message_id {
            register.earlier = runtime
                .block_on(store.earlier_mails(id.as_str(), -1))
                .context("cannot read earlier mails")?;
        }
        let mut decision = triage(&raw, &register, config);
        decision.file = file.display().to_string();
        if json {
            crate::outln!("{}", serde_json::to_string(&decision)?);
        } else {
            crate::out!("{}", summary(&decision, &register));
        }
    }
    runtime.block_on(store.close());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A few lines per mail for an admin's terminal.
pub fn summary(d: &Decision, _register: &Register) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", d.file, d.kind.as_str());
    let mut facts = Vec::new();
    if let Some(p) = &d.partner {
        facts.push(format!("partner {p}"));
    }
    if let Some(c) = &d.case_ref {
        facts.push(format!("case {c}"));
    }
    if let Some(c) = &d.candidate {
        facts.push(format!("candidate {c}"));
    }
    if !d.documents.is_empty() {
        let docs: Vec<&str> = d.documents.iter().map(|k| k.as_str()).collect();
        facts.push(format!("documents {}", docs.join(", ")));
    }
    if !d.missing.is_empty() {
        let docs: Vec<&str> = d.missing.iter().map(|k| k.as_str()).collect();
        facts.push(format!("missing {}", docs.join(", ")));
    }
    if let Some(date) = d.lease_start {
        facts.push(format!("lease start {date}"));
    }
    if let Some(dup) = &d.duplicate_of {
        facts.push(format!("duplicate of {dup}"));
    }
    if !facts.is_empty() {
        let _ = writeln!(s, "  {}", facts.join("; "));
    }
    let notify: Vec<&str> = d.notify.iter().map(|r| r.as_str()).collect();
    let _ = writeln!(
        s,
        "  notify: {}; acknowledgement to sender: {}",
        if notify.is_empty() {
            "nobody".to_string()
        } else {
            notify.join(", ")
        },
        if d.must_auto_reply { "yes" } else { "no" }
    );
    let _ = writeln!(
        s,
        "  confidence: {:.2}{}",
        d.confidence,
        if d.confidence_reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", d.confidence_reasons.join("; "))
        }
    );
    for (case, decision) in &d.conclusions {
        let _ = writeln!(s, "  conclusion {case}: {decision}");
    }
    for reason in &d.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
    s
}
