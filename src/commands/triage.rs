//! `doorstroom triage --config C [--json] FILE…`: what doorstroom would decide about mail files,
//! against the case register in the configured database, writing nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::intake::pipeline::scope_of;
use crate::store::{RegisterScope, Store};
use crate::understand::classify::decide;
use crate::understand::parse::{parse_within, Parsed};
use crate::understand::{Decision, Register};

/// Files read, parsed and looked up together: the register lookups of a batch take a few
/// queries, not a round trip per mail, and no more than a batch of parsed mails is held.
const BATCH: usize = crate::store::LOOKUP_CHUNK;

/// Decide each file in order and print one JSON object per line (`--json`) or a short summary.
/// Each mail is parsed once, and decided against the part of the register it can reach
/// (`intake::pipeline::scope_of`), as the daemon decides it: the register is never read whole.
pub fn run(config: &Config, files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = runtime.block_on(async {
        Store::open(
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
        })
    })?;
    let mut failed = false;
    for batch in files.chunks(BATCH) {
        let mut mails: Vec<(&PathBuf, Parsed)> = Vec::with_capacity(batch.len());
        for file in batch {
            match std::fs::read(file) {
                Ok(raw) => mails.push((file, parse_within(&raw, &config.limits))),
                Err(e) => {
                    eprintln!("doorstroom: cannot read {}: {e}", file.display());
                    failed = true;
                }
            }
        }
        // Duplicates need the earlier copies with the same Message-ID (none is excepted: the
        // mail at hand is not stored).
        let scopes: Vec<RegisterScope> = mails
            .iter()
            .map(|(_, parsed)| {
                let mut scope = scope_of(parsed, config);
                scope.copies_of = parsed
                    .message_id
                    .as_ref()
                    .map(|id| (id.as_str().to_string(), -1));
                scope
            })
            .collect();
        let registers = runtime
            .block_on(store.registers_scoped(&scopes))
            .context("cannot read the case register")?;
        for ((file, parsed), register) in mails.into_iter().zip(registers) {
            let mut decision = decide(parsed, &register, config);
            decision.file = file.display().to_string();
            if json {
                crate::outln!("{}", serde_json::to_string(&decision)?);
            } else {
                crate::out!("{}", summary(&decision, &register));
            }
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
