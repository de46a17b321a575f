//! A case handed over to another partner mid-plan (issue 29, `003` §4), over the real mail stack:
//! the old partner announces it in everyday Flemish, the case keeps its reference and its plan,
//! the new partner gets an introduction and the next agenda, and the old partner gets nothing
//! about the case any more, also not when it answers an old thread.

use doorstroom::store::MailState;

use crate::steer::{case_of, decided, event_kinds, mail, referral, world};

const OLD: &str = "caw-antwerpen";
const NEW: &str = "ocmw-antwerpen";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_mid_plan_keeps_the_plan_and_privacy_follows_the_case() {
    let w = world().await;
    let config = w.config.clone();
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[crate::mailstack::SHARED_MAILBOX],
            &referral(1, "Jan Peeters", OLD),
        )
        .await;
    let case_ref = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");
    // The lease started in October: the plan runs, its first evaluation is done.
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    doorstroom::commands::cases::case(
        config.clone(),
        &case_ref,
        &words(&["set", "lease-start", "2026-10-01"]),
        None,
        None,
        false,
    )
    .await
    .expect("lease start");
    doorstroom::commands::cases::case(
        config.clone(),
        &case_ref,
        &words(&["done", "evaluation", "2026-11-26"]),
        None,
        None,
        false,
    )
    .await
    .expect("evaluation done");
    let before = w.store.case(&case_ref).await.unwrap().expect("case");
    assert_eq!(before.partner, OLD);
    let next_before = before
        .milestones
        .iter()
        .find(|m| m.is_pending())
        .cloned()
        .expect("a next milestone");
    let outbox_before = w.store.list_outbox(false, 1000).await.unwrap();
    let last_before = outbox_before.iter().map(|r| r.id).max().unwrap_or(0);

    // The old partner announces it.
    let announce = "handover-1@caw-antwerpen.example";
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[crate::mailstack::SHARED_MAILBOX],
            &mail(
                "els.wouters@caw-antwerpen.example",
                "pass",
                announce,
                "",
                &format!("Overdracht begeleiding {case_ref}"),
                "Beste,\n\nWij kunnen de begeleiding van Jan Peeters niet verderzetten. Vanaf 1 december volgt OCMW Antwerpen de begeleiding op; de nieuwe woonbegeleider is Karin Dubois, karin.dubois@ocmw-antwerpen.example.\n\nMet vriendelijke groeten,\nEls Wouters",
            ),
        )
        .await;
    let m = decided(&w.store, announce).await;
    assert_eq!(m.kind.as_deref(), Some("handover"), "{m:?}");
    assert_eq!(m.state, MailState::Processed);

    let after = w.store.case(&case_ref).await.unwrap().expect("case");
    assert_eq!(after.case_ref, case_ref, "the case keeps its reference");
    assert_eq!(after.partner, NEW);
    assert_eq!(
        after.counsellor.email.as_deref(),
        Some("karin.dubois@ocmw-antwerpen.example")
    );
    assert_eq!(after.status, before.status);
    assert_eq!(
        after.milestones, before.milestones,
        "nothing recomputed, nothing done lost"
    );
    assert_eq!(
        after.milestones.iter().find(|m| m.is_pending()),
        Some(&next_before),
        "the next milestone stays"
    );
    assert!(event_kinds(&w.store, &case_ref)
        .await
        .contains(&"handover".to_string()));
    let periods = w.store.counsellor_history(after.id.unwrap()).await.unwrap();
    assert_eq!(
        periods
            .iter()
            .map(|p| p.partner.as_str())
            .collect::<Vec<_>>(),
        [OLD, NEW]
    );
    assert!(periods[0].valid_to.is_some() && periods[1].valid_to.is_none());

    // The new partner gets an introduction; nobody of the old one gets anything more.
    let new_partner = config.partner(NEW).unwrap().clone();
    let old_partner = config.partner(OLD).unwrap().clone();
    let rows = w.store.list_outbox(false, 1000).await.unwrap();
    let intro = rows
        .iter()
        .find(|r| r.kind == "handover_intro")
        .expect("an introduction to the new partner");
    assert!(!intro.recipients.is_empty());
    assert!(intro.recipients.iter().all(|r| new_partner.owns_address(r)));
    assert!(rows.iter().any(|r| r.kind == "handover_notice"
        && r.recipients
            .iter()
            .any(|a| a == crate::mailstack::COORDINATOR)));

    // The next agenda: the case is on the new partner's only.
    let out = tempfile::tempdir().unwrap();
    doorstroom::commands::agenda::run(config.clone(), "2027-01", None, true, Some(out.path()))
        .await
        .expect("agenda renders");
    let mut on_agenda = 0;
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains(&case_ref) {
            continue;
        }
        on_agenda += 1;
        let parsed = mail_parser::MessageParser::default()
            .parse(text.as_bytes())
            .unwrap();
        for a in parsed.to().unwrap().iter().filter_map(|a| a.address()) {
            assert!(
                !old_partner.owns_address(a),
                "{a} of the old partner got {case_ref} on its agenda ({})",
                path.display()
            );
        }
    }
    assert!(on_agenda >= 1, "the case is on the new partner's agenda");

    // Later the old partner answers an old thread about the case: recorded, the coordinator
    // told, no case data back.
    let late = "handover-late@caw-antwerpen.example";
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[crate::mailstack::SHARED_MAILBOX],
            &mail(
                "els.wouters@caw-antwerpen.example",
                "pass",
                late,
                "In-Reply-To: <steer-ref-1@caw-antwerpen.example>\r\n",
                &format!("Re: [{case_ref}] huisbezoek"),
                "Dag,\n\nWanneer gaat het huisbezoek door?\n\nEls",
            ),
        )
        .await;
    let m = decided(&w.store, late).await;
    assert_eq!(m.kind.as_deref(), Some("cross_partner"), "{m:?}");
    // Wait for the coordinator's notice, then look at everything queued since the handover.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = w.store.list_outbox(false, 1000).await.unwrap();
        if rows.iter().any(|r| r.kind == "cross_partner_notice") {
            for r in rows.iter().filter(|r| r.id > last_before) {
                for a in &r.recipients {
                    assert!(
                        !old_partner.owns_address(a),
                        "{a} of the old partner got `{}` about {:?} after the handover",
                        r.kind,
                        r.case_ref
                    );
                }
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no cross_partner_notice"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    w.daemon.stop().await;
}
