//! A bounce that comes back into the shared mailbox for a mail we sent: intake marks the
//! outgoing row failed and tells the coordinators, in the bounce's own transaction, once.

use chrono::Utc;
use doorstroom::context::Context;
use doorstroom::intake::pipeline;
use doorstroom::store::NewMail;

use crate::db::{self, BOTH};
use crate::outbox::config;

fn dsn(message_id: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mail.woonhaven.example>\r\n\
To: versneldedoorstroom@woonhaven.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <dsn-1@mail.woonhaven.example>\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
The mail could not be delivered: 550 5.1.1 mailbox unavailable.\r\n\
--b\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.woonhaven.example\r\n\
\r\n\
Final-Recipient: rfc822; oud.adres@caw-antwerpen.example\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
--b\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: versneldedoorstroom@woonhaven.example\r\n\
To: oud.adres@caw-antwerpen.example\r\n\
Subject: Herinnering\r\n\
Message-ID: {message_id}\r\n\
--b--\r\n"
    )
}

#[tokio::test]
async fn a_bounce_of_our_mail_marks_it_failed_and_tells_the_coordinators_once() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "bounce").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        // One of our mails, delivered: a health alert is the simplest mail to queue.
        store
            .set_health("intake.error", "down", Utc::now())
            .await
            .unwrap();
        // In working hours (Tuesday 10:00 in Brussels): an alert is not held.
        let tuesday = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        doorstroom::jobs::health::run_once(&ctx, tuesday)
            .await
            .unwrap();
        let row = store.outbox_queued(10).await.unwrap().remove(0);
        assert!(store.claim_outbox(row.id, Utc::now()).await.unwrap());
        assert!(store.mark_outbox_sent(row.id, Utc::now()).await.unwrap());

        let raw = dsn(&row.message_id);
        let loaded = ctx.loaded();
        for key in ["dsn-1", "dsn-1-again"] {
            let new = NewMail {
                source: "file".into(),
                source_key: key.into(),
                message_id: pipeline::message_id(raw.as_bytes()),
                received_at: Utc::now(),
            };
            pipeline::handle(&ctx, &loaded, &new, raw.as_bytes(), key)
                .await
                .unwrap();
        }
        let after = store.outbox_row(row.id).await.unwrap();
        assert_eq!(after.state.as_str(), "failed", "{backend:?}");
        assert!(after.last_error.unwrap_or_default().contains("Undelivered"));
        let notices = store
            .list_outbox(false, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "bounce_notice")
            .count();
        assert_eq!(notices, 1, "{backend:?}: the coordinators are told once");
    }
}
