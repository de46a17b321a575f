//! Intake reads only the part of the case register a mail can reach
//! (`intake::pipeline::scope_of`, `Store::register_scoped`): on every corpus mail, triage on the
//! register cut down to that scope decides exactly as triage on the full register.

use doorstroom::intake::pipeline::scope_of;
use doorstroom::store::RegisterScope;
use doorstroom::understand::{classify, parse, triage, Register};
use serde_json::Value;

use crate::corpus;

/// What `Store::register_scoped` returns for `scope`, computed from an in-memory register.
fn cut(full: &Register, scope: &RegisterScope) -> Register {
    let threads: std::collections::HashMap<String, String> = full
        .threads
        .iter()
        .filter(|(id, _)| scope.message_ids.contains(id))
        .map(|(id, case)| (id.clone(), case.clone()))
        .collect();
    let named: Vec<String> = scope
        .case_refs
        .iter()
        .chain(threads.values())
        .map(|r| r.to_uppercase())
        .collect();
    let cases = full
        .cases
        .iter()
        .filter(|c| {
            (c.open && (scope.all_open || scope.partners.contains(&c.partner)))
                || named.contains(&c.case_ref.to_uppercase())
        })
        .cloned()
        .collect();
    Register {
        cases,
        threads,
        earlier: full.earlier.clone(),
    }
}

#[test]
fn triage_on_the_scoped_register_decides_every_corpus_mail_as_on_the_full_one() {
    let with_auth = corpus::config("doorstroom.toml");
    let without_auth = corpus::config("doorstroom-noauth.toml");
    let full = corpus::register();
    let mut differ = Vec::new();
    let mut smaller = 0;
    for (name, raw, expected) in corpus::fixtures() {
        let config = match expected.get("_config").and_then(Value::as_str) {
            Some("noauth") => &without_auth,
            _ => &with_auth,
        };
        let parsed = parse::parse(&raw);
        let scoped = cut(&full, &scope_of(&parsed, config));
        if scoped.cases.len() < full.cases.len() {
            smaller += 1;
        }
        let a = serde_json::to_value(triage(&raw, &full, config)).expect("json");
        let b = serde_json::to_value(classify::decide(parsed, &scoped, config)).expect("json");
        if a != b {
            differ.push(format!("{name}:\n  full:   {a}\n  scoped: {b}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(
        smaller > 10,
        "the scope cuts the register down ({smaller} mails)"
    );
}
