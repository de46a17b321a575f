//! Preventive guidance (`002`) through the store, on SQLite and PostgreSQL: a staff request opens
//! a case flagged as other guidance, the partner's answer updates it, closing records the outcome
//! and a relapse opens a new episode linked to the closed case (`previous_case`).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use doorstroom::case::{GoalsMet, Status};
use doorstroom::config::Config;
use doorstroom::store::{NewMail, Store};
use doorstroom::understand::{Decision, Facts, MailKind};

use crate::db::{self, BOTH};

const STAFF: &str = "bram.janssens@woonhaven.example";
const COUNSELLOR: &str = "els.wouters@caw-antwerpen.example";

fn config() -> Config {
    Config::load(Path::new("config/doorstroom.example.toml")).expect("example config")
}

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
        duplicate_of: None,
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
        .apply_decision(&config(), d, id, at, at)
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
