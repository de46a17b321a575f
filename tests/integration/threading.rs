//! Answers thread in the partner's mail client: from the raw bytes of a partner's mail, through
//! intake, to the headers of the acknowledgement queued for it (`In-Reply-To`, `References`,
//! the partner's own subject with the case tag and the candidate's initials), and the mail reads
//! as written to a person (greeting by name, contact line, signature separator, local `Date`).

use chrono::Utc;
use doorstroom::context::Context;
use doorstroom::intake::pipeline::{self, Incoming};
use doorstroom::store::NewMail;

use crate::db::{self, BOTH};
use crate::outbox::config;

/// A complete referral in a thread the partner started earlier (`References` has a root).
fn referral() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/mail/01-referral-complete.eml");
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8(raw).unwrap();
    text.replacen(
        "Message-ID: <01-referral-complete@example.mail>",
        "Message-ID: <01-referral-complete@example.mail>\r\n\
         In-Reply-To: <root-1@caw-antwerpen.example>\r\n\
         References: <root-1@caw-antwerpen.example>",
        1,
    )
    .into_bytes()
}

/// The raw value of a header, unfolded.
fn header(m: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    m.headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .and_then(|h| {
            m.raw_message()
                .get(h.offset_start() as usize..h.offset_end() as usize)
        })
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(|v| v.replace("\r\n ", " ").trim().to_string())
}

#[tokio::test]
async fn an_acknowledgement_threads_under_the_partners_mail_from_raw_bytes_through_intake() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "threading").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let raw = referral();
        let incoming = Incoming {
            source: NewMail {
                source: "threading-test".into(),
                source_key: "1".into(),
                message_id: pipeline::message_id(&raw),
                received_at: Utc::now(),
            },
            raw,
            file: "1".into(),
        };
        let handled = pipeline::handle_batch(&ctx, &ctx.loaded(), vec![incoming])
            .await
            .expect("no database trouble");
        let case_ref = handled[0]
            .as_ref()
            .expect("decided")
            .case_ref
            .clone()
            .expect("the referral opened a case");

        let queued = store.outbox_queued(100).await.unwrap();
        let ack = queued
            .iter()
            .find(|r| r.kind == "referral_ack")
            .unwrap_or_else(|| panic!("{backend:?}: no acknowledgement in {queued:?}"));
        let bytes = store.outbox_message(ack.id).await.unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(
            header(&m, "In-Reply-To").as_deref(),
            Some("<01-referral-complete@example.mail>"),
            "{backend:?}"
        );
        assert_eq!(
            header(&m, "References").as_deref(),
            Some("<root-1@caw-antwerpen.example> <01-referral-complete@example.mail>"),
            "{backend:?}"
        );
        assert_eq!(
            m.subject(),
            Some(
                format!("Re: Aanmelding versnelde doorstroom - Jan Claes [{case_ref}] J.C.")
                    .as_str()
            ),
            "{backend:?}"
        );
        let date = header(&m, "Date").unwrap();
        assert!(
            date.ends_with("+0100") || date.ends_with("+0200"),
            "Date in Brussels time: {date}"
        );
        let text = m.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.starts_with("Beste Els Wouters,"), "{text}");
        assert!(
            text.contains("\n-- \n"),
            "signature separator with its space: {text:?}"
        );
        assert!(
            text.contains("An Peeters") && text.contains("03 123 45 67"),
            "contact line: {text}"
        );
        let html = m.body_html(0).unwrap();
        assert!(html.contains("Beste Els Wouters,"), "{html}");
        assert!(html.contains("03 123 45 67"), "{html}");
    }
}
