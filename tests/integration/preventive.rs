//! Preventive guidance (`002`) through the store, on SQLite and PostgreSQL: a staff request opens
//! a case flagged as other guidance, the partner's answer updates it, closing records the outcome
//! and a relapse opens a new episode linked to the closed case (`previous_case`).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use doorstroom::case::{GoalsMet, Status};
use doorstroom::store::{CaseCache, NewMail, Store};
use doorstroom::understand::{Decision, Facts, MailKind};

use crate::db::{self, BOTH};
use crate::setup::example_config as config;

const STAFF: &str = "bram.janssens@woonhaven.example";
const COUNSELLOR: &str = "els.wouters@caw-antwerpen.example";

fn decision(kind: MailKind, case_ref: Option<&str>, sender: &str, body: &str) -> Decision {
    Decision {
        file: String::new(),
        kind,
        partner: Some("caw-antwerpen".into()),
        case_ref: case_ref.map(str::to_string),
        candidate: Some("Rik Smolders".into()),
        cir: None,
        documents: Vec::new(),
        missing: Vec::new(),
        must_auto_reply: true,
        notify: Vec::new(),
        lease_start: None,
        conclusions: BTreeMap::new(),
        new_contact: None,
        handover: None,
        duplicate_of: None,
        confidence: 1.0,
        confidence_reasons: Vec::new(),
        reasons: Vec::new(),
        facts: Facts {
            sender: Some(sender.into()),
            from_staff: sender == STAFF,
            subject: "Preventieve woonbegeleiding Rik Smolders".into(),
            body_text: body.into(),
            ..Facts::default()
        },
    }
}

async fn apply(store: &Store, d: &Decision, key: &str) -> doorstroom::case::Effects {
    let new = NewMail {
        source: "file".into(),
        source_key: key.into(),
        message_id: Some(format!("<{key}@example>")),
        received_at: Utc::now(),
    };
    let id = store.record_mail(&new, key.as_bytes()).await.unwrap().0.id;
    let at = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let mut tx = store.begin().await.unwrap();
    let fx = tx
        .apply_decision(&config(), d, id, at, at, &mut CaseCache::default())
        .await
        .unwrap_or_else(|e| panic!("apply {key}: {e}"));
    tx.commit().await.unwrap();
    fx
}

#[tokio::test]
async fn a_request_taken_on_closed_and_relapsed_is_two_linked_episodes() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "preventive").await;
        let request = decision(MailKind::PreventiveRequest, None, STAFF, "Huurachterstal.");
        let fx = apply(&store, &request, "request").await;
        let first = fx.case_ref.clone().unwrap();
        let case = store.case(&first).await.unwrap().unwrap();
        assert_eq!(
            (case.programme.as_str(), case.other_guidance, case.status),
            ("preventive", true, Status::ReferredComplete),
            "{backend:?}"
        );
        assert_eq!(case.social_assistant.as_deref(), Some(STAFF));
        assert_eq!(fx.notices[0].template, "preventive_request_ack");
        let month = doorstroom::case::quota::Month::of(case.referred_at.date_naive());
        let tz = config().organisation.time_zone;
        assert_eq!(
            store
                .referrals_in_month("caw-antwerpen", month, tz)
                .await
                .unwrap(),
            0,
            "a preventive request is no referral under the monthly contingent ({backend:?})"
        );

        let yes = decision(
            MailKind::ReplyToCase,
            Some(&first),
            COUNSELLOR,
            "Wij nemen de begeleiding op.",
        );
        apply(&store, &yes, "taken-on").await;
        let case = store.case(&first).await.unwrap().unwrap();
        assert_eq!(case.status, Status::InGuidance, "{backend:?}");
        assert_eq!(case.counsellor.email.as_deref(), Some(COUNSELLOR));
        assert!(!case.milestones.is_empty(), "evaluations are planned");

        let done = decision(
            MailKind::ReplyToCase,
            Some(&first),
            COUNSELLOR,
            "Doelen behaald en de uithuiszetting is vermeden. We sluiten het dossier af.",
        );
        apply(&store, &done, "closed").await;
        let case = store.case(&first).await.unwrap().unwrap();
        assert_eq!(
            (case.status, case.goals_met, case.eviction_avoided),
            (Status::ClosedPositive, Some(GoalsMet::Yes), Some(true)),
            "{backend:?}"
        );

        let relapse = decision(
            MailKind::PreventiveRequest,
            Some(&first),
            STAFF,
            "Opnieuw huurachterstal.",
        );
        let fx = apply(&store, &relapse, "relapse").await;
        let second = fx.case_ref.clone().unwrap();
        assert_ne!(second, first);
        let case = store.case(&second).await.unwrap().unwrap();
        assert_eq!(
            case.previous_case.as_deref(),
            Some(first.as_str()),
            "{backend:?}"
        );
        assert_eq!(case.status, Status::ReferredComplete);
    }
}

#[tokio::test]
async fn a_declined_request_is_closed_with_the_motivation_in_its_history() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "preventive-declined").await;
        let request = decision(MailKind::PreventiveRequest, None, STAFF, "Huurachterstal.");
        let reference = apply(&store, &request, "request").await.case_ref.unwrap();
        let no = decision(
            MailKind::ReplyToCase,
            Some(&reference),
            COUNSELLOR,
            "We kunnen de begeleiding niet opstarten: er loopt al budgetbegeleiding bij het OCMW.",
        );
        let fx = apply(&store, &no, "declined").await;
        assert_eq!(fx.notices[0].template, "preventive_answer_notice");
        let case = store.case(&reference).await.unwrap().unwrap();
        assert_eq!(case.status, Status::ClosedNegative, "{backend:?}");
        let events = store.case_events(case.id.unwrap()).await.unwrap();
        let declined = events.iter().find(|e| e.kind == "declined").unwrap();
        assert!(declined.detail["motivation"]
            .as_str()
            .unwrap()
            .contains("budgetbegeleiding"));
    }
}

/// The subject of a raw mail, decoded (RFC 2047).
fn subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_real_mail_stack_a_request_in_cc_opens_a_case_confirmed_and_the_acceptance_updates_it(
) {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::db::Db;
    use crate::mailstack::{MailStack, SHARED_MAILBOX};
    use crate::setup;

    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, Db::Sqlite, &dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let loaded = doorstroom::context::Loaded::new(config.clone()).expect("templates");
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(loaded));
    let token = shutdown.clone();
    let daemon = tokio::spawn(async move {
        let _keep = tx;
        doorstroom::daemon::run(rx, token).await
    });

    let request = format!(
        "From: Bram Janssens <{STAFF}>\r\nTo: Els Wouters <{COUNSELLOR}>\r\nCc: {SHARED_MAILBOX}\r\n\
         Subject: Vraag preventieve woonbegeleiding - Rik Smolders\r\n\
         Message-ID: <pwb-e2e-1@woonhaven.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n\
         Beste Els,\r\n\r\nGraag preventieve woonbegeleiding voor onderstaande huurder.\r\n\r\n\
         Huurder: Rik Smolders\r\nProbleem: huurachterstal van vier maanden.\r\n\
         Reeds gezette stappen: twee aanmaningen.\r\nVraag: kunnen jullie een begeleiding opstarten?\r\n"
    );
    stack
        .submit(STAFF, &[COUNSELLOR, SHARED_MAILBOX], request.as_bytes())
        .await;
    let ack = stack
        .wait_for_mail(
            STAFF,
            "INBOX",
            // The confirmation answers the request: it keeps the request's subject, with the
            // case tag added.
            |m| {
                let s = subject(&m.bytes);
                s.starts_with("Re: Vraag preventieve woonbegeleiding") && s.contains("[VD-")
            },
            Duration::from_secs(45),
        )
        .await;
    let ack_subject = subject(&ack.bytes);
    assert!(ack_subject.contains("Rik Smolders"), "{ack_subject}");

    let answer = format!(
        "From: Els Wouters <{COUNSELLOR}>\r\nTo: Bram Janssens <{STAFF}>\r\nCc: {SHARED_MAILBOX}\r\n\
         Subject: RE: Vraag preventieve woonbegeleiding - Rik Smolders\r\n\
         Message-ID: <pwb-e2e-2@caw-antwerpen.example>\r\nIn-Reply-To: <pwb-e2e-1@woonhaven.example>\r\n\
         References: <pwb-e2e-1@woonhaven.example>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0100\r\n\r\n\
         Dag Bram,\r\n\r\nVoor Rik Smolders nemen wij de begeleiding op. Ik ben zijn woonbegeleider.\r\n\r\nEls\r\n"
    );
    stack
        .submit(COUNSELLOR, &[STAFF, SHARED_MAILBOX], answer.as_bytes())
        .await;
    // Bram is in To of the answer: the outbox does not tell him again, so wait for the answer
    // to be handled and read the case.
    stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "Verwerkt",
            |m| String::from_utf8_lossy(&m.bytes).contains("pwb-e2e-2@"),
            Duration::from_secs(45),
        )
        .await;
    shutdown.cancel();
    daemon
        .await
        .expect("daemon task")
        .expect("daemon ends cleanly");

    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    let cases = store
        .cases(&doorstroom::store::CaseFilter::default())
        .await
        .unwrap();
    assert_eq!(cases.len(), 1, "one case for the request and its answer");
    let case = &cases[0];
    assert_eq!(case.programme, "preventive");
    assert!(case.other_guidance);
    assert_eq!(case.candidate, "Rik Smolders");
    assert_eq!(case.status, Status::InGuidance);
    assert_eq!(case.counsellor.email.as_deref(), Some(COUNSELLOR));
}
