//! A batch of mails is decided in one transaction (again with a savepoint per mail when one fails
//! for good): a mail that cannot be applied is quarantined without undoing the mails before it,
//! and a reply finds the case its referral opened earlier in the same batch.

use chrono::Utc;
use doorstroom::context::Context;
use doorstroom::intake::pipeline::{self, Incoming};
use doorstroom::store::{MailState, NewMail};

use crate::db::{self, BOTH};
use crate::outbox::config;

fn example(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/mail")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mail(message_id: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\n\
         To: Versnelde doorstroom <versneldedoorstroom@woonhaven.example>\r\n\
         Subject: {subject}\r\nDate: Mon, 16 Nov 2026 10:12:00 +0100\r\n\
         Message-ID: {message_id}\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=\"utf-8\"\r\n\r\n{body}\r\n\r\nMet vriendelijke groeten,\r\nEls Wouters\r\n"
    )
    .into_bytes()
}

fn incoming(key: &str, raw: Vec<u8>) -> Incoming {
    Incoming {
        source: NewMail {
            source: "batch-test".into(),
            source_key: key.into(),
            message_id: pipeline::message_id(&raw),
            received_at: Utc::now(),
        },
        raw,
        file: key.into(),
    }
}

/// A referral, a concern about a case that does not exist (it cannot be applied), a reply to the
/// referral, and a second referral.
fn batch() -> Vec<Incoming> {
    vec![
        incoming("1", example("01-referral-complete.eml")),
        incoming(
            "2",
            mail(
                "<unknown-ref@example.mail>",
                "Zorgen begeleiding VD-2026-0999",
                "",
                "In dossier VD-2026-0999 loopt de begeleiding moeizaam: er is geen medewerking.",
            ),
        ),
        incoming(
            "3",
            mail(
                "<reply-1@example.mail>",
                "RE: Aanmelding versnelde doorstroom - Jan Claes",
                "In-Reply-To: <01-referral-complete@example.mail>\r\n\
                 References: <01-referral-complete@example.mail>\r\n",
                "Dank voor uw bericht. Het huisbezoek is gepland.",
            ),
        ),
        incoming("4", example("02-referral-incomplete.eml")),
    ]
}

#[tokio::test]
async fn one_mail_that_cannot_be_applied_leaves_the_rest_of_its_batch_standing() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "batch").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let results = pipeline::handle_batch(&ctx, &ctx.loaded(), batch())
            .await
            .expect("no database trouble");
        let handled: Vec<_> = results
            .into_iter()
            .map(|r| r.expect("every mail gets a decision"))
            .collect();

        let first_case = handled[0]
            .case_ref
            .clone()
            .expect("the referral opened a case");
        assert_eq!(handled[0].state, MailState::Processed, "{backend:?}");
        assert_eq!(handled[1].state, MailState::Quarantined, "{backend:?}");
        assert!(
            handled[1]
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("cannot apply the decision")),
            "{:?}",
            handled[1].reason
        );
        assert_eq!(
            handled[2].case_ref.as_deref(),
            Some(first_case.as_str()),
            "the reply found the case opened earlier in the batch ({backend:?})"
        );
        assert_eq!(handled[3].state, MailState::Processed);
        assert_ne!(handled[3].case_ref, handled[0].case_ref);

        // Committed as decided: both cases, every mail's row, nothing of the failed apply.
        let cases = store.cases(&Default::default()).await.unwrap();
        assert_eq!(cases.len(), 2, "{backend:?}");
        for (h, state) in handled.iter().zip([
            MailState::Processed,
            MailState::Quarantined,
            MailState::Processed,
            MailState::Processed,
        ]) {
            assert_eq!(store.mail(h.mail_id).await.unwrap().state, state);
        }
        assert!(store.case("VD-2026-0999").await.unwrap().is_none());

        // The batch was decided a second time, a savepoint per mail, after the failing mail
        // undid the first attempt: the outbox holds what the batch without that mail queues,
        // and one mail more, telling the coordinator about the mail that could not be placed.
        let (alone, _alone_dir) = db::open(backend, "batch-without").await;
        let alone_ctx = Context::fixed(alone.clone(), config()).unwrap();
        let mut without = batch();
        without.remove(1);
        pipeline::handle_batch(&alone_ctx, &alone_ctx.loaded(), without)
            .await
            .expect("no database trouble");
        let kinds = |rows: Vec<doorstroom::store::outbox::OutboxRow>| {
            let mut kinds: Vec<String> = rows.into_iter().map(|r| r.kind).collect();
            kinds.sort();
            kinds
        };
        let mut expected = kinds(alone.list_outbox(false, 100).await.unwrap());
        expected.push("unplaced_mail".into());
        expected.sort();
        assert_eq!(
            kinds(store.list_outbox(false, 100).await.unwrap()),
            expected,
            "{backend:?}"
        );
    }
}
