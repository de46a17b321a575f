//! The whole decision path on arbitrary bytes: triage against the corpus register, then `apply`
//! against cases in the status the first byte picks. Neither may panic; an error is a
//! permanent one for the mail (quarantine), and the effects never address a partner other
//! than the one whose case it is.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use doorstroom::case::{apply, Case, Input, Status};
use doorstroom::config::Config;
use doorstroom::understand::{triage, Register, RegisteredCase};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = include_str!("../../tests/corpus/doorstroom-noauth.toml");
        Config::parse(text, Path::new("tests/corpus/doorstroom-noauth.toml"))
            .unwrap_or_else(|e| panic!("corpus config: {e}"))
    })
}

fn register() -> &'static Register {
    static REGISTER: OnceLock<Register> = OnceLock::new();
    REGISTER.get_or_init(|| {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/corpus/register.json")).unwrap();
        let cases: Vec<RegisteredCase> = serde_json::from_value(json["cases"].clone()).unwrap();
        Register {
            cases: cases.into_iter().map(std::sync::Arc::new).collect(),
            ..Register::default()
        }
    })
}

const STATUSES: [Status; 9] = [
    Status::ReferredIncomplete,
    Status::ReferredComplete,
    Status::Allocated,
    Status::InGuidance,
    Status::Extended,
    Status::Stopped,
    Status::ClosedPositive,
    Status::ClosedNegative,
    Status::Transferred,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mail)) = data.split_first() else {
        return;
    };
    let decision = triage(mail, register(), config());
    let now = Utc.with_ymd_and_hms(2026, 11, 17, 10, 0, 0).unwrap();
    let mut cases = BTreeMap::new();
    for registered in &register().cases {
        let mut case = Case::new(
            registered.case_ref.clone(),
            &registered.partner,
            "vivendo",
            &registered.candidate,
            now - chrono::Duration::days(90),
        );
        case.id = Some(1);
        case.status = STATUSES[usize::from(pick) % STATUSES.len()];
        cases.insert(registered.case_ref.clone(), case);
    }
    let input = Input {
        config: config(),
        decision: &decision,
        mail_id: 1,
        received_at: now,
        now,
        cases: &cases,
        new_reference: Some("VD-2026-0099".into()),
        referrals_this_month: u32::from(pick >> 4),
    };
    if let Ok(fx) = apply(&input) {
        // A case's change stays that case's partner's, except a transfer (`003` §4: the
        // partner that can no longer guide hands over): told by the case's own partner, and
        // recorded as a `transfer` event. (The first finding of this target, kept in
        // seeds/decide/, was this rule stated without the exception.)
        for change in &fx.changes {
            if let Some(before) = cases.get(&change.case.case_ref) {
                if before.partner != change.case.partner {
                    assert_eq!(
                        decision.partner.as_deref(),
                        Some(before.partner.as_str()),
                        "moved by another partner: {:?}",
                        decision.reasons
                    );
                    assert!(
                        change.events.iter().any(|e| e.kind == "transfer"),
                        "moved without a transfer event: {:?}",
                        decision.reasons
                    );
                }
            }
        }
    }
});
