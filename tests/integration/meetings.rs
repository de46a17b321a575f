//! The monthly meeting cycle on SQLite and PostgreSQL with a controlled clock: the agenda of each
//! partner composed from its stored cases only, queued once per partner and month, a skipped
//! meeting called by a new case to discuss (SEQUENCE raised), a dropped one cancelled, requests
//! after the deadline left for next month, and the conclusions reminder once.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use doorstroom::calendar::{MeetingCalendar, Month};
use doorstroom::case::model::{Case, Concern, Milestone};
use doorstroom::case::{MilestoneKind, Status};
use doorstroom::context::Context;
use doorstroom::jobs::{self, agenda, Job};
use doorstroom::store::meetings::MeetingState;
use doorstroom::store::outbox::OutboxRow;
use doorstroom::store::Store;

use crate::db::{self, BOTH};
use crate::outbox::config;

/// December 2026 in the example config: agenda Wed 16/12 09:00, meeting Wed 23/12 10:00 (moved
/// off the Christmas closing days), requests until 23/12 00:00 (all Brussels, UTC+1).
fn dec() -> Month {
    "2026-12".parse().unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn guided(case_ref: &str, partner: &str, candidate: &str) -> Case {
    let mut case = Case::new(
        case_ref.into(),
        partner,
        if partner == "caw-antwerpen" {
            "vivendo"
        } else {
            "woonhaven"
        },
        candidate,
        utc(2026, 5, 1, 9, 0),
    );
    case.status = Status::InGuidance;
    case.lease_start = Some(date(2026, 6, 1));
    case.milestones.push(Milestone {
        id: None,
        kind: MilestoneKind::HomeVisit,
        name: "huisbezoek na 9 maanden".into(),
        due_on: date(2027, 3, 1),
        meeting_month: None,
        done_on: None,
        escalation_step: 0,
        superseded: false,
        counsellor_attends: true,
        discuss_at_meeting: false,
    });
    case
}

pub fn concern(statement: &str, at: DateTime<Utc>) -> Concern {
    Concern {
        id: None,
        statement: statement.into(),
        urgent: false,
        raised_at: at,
        mail_id: None,
        resolved_at: None,
    }
}

pub async fn save(store: &Store, case: &mut Case, at: DateTime<Utc>) {
    let mut tx = store.begin().await.unwrap();
    tx.save_case(case, false, at).await.unwrap();
    tx.commit().await.unwrap();
}

async fn agenda_rows(store: &Store) -> Vec<OutboxRow> {
    let mut rows: Vec<OutboxRow> = store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "agenda")
        .collect();
    rows.sort_by_key(|r| r.id);
    rows
}

async fn text(store: &Store, row: &OutboxRow) -> String {
    String::from_utf8_lossy(&store.outbox_message(row.id).await.unwrap()).into_owned()
}

#[tokio::test]
async fn each_partner_gets_one_agenda_of_its_own_cases_at_the_agenda_time() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "agenda").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let t0 = utc(2026, 12, 1, 9, 0);
        let mut quiet = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
        save(&store, &mut quiet, t0).await;
        let mut worrying = guided("VD-2026-0002", "caw-antwerpen", "Fatima El Amrani");
        worrying.concerns.push(concern(
            "Mevrouw El Amrani heeft de huur twee maanden niet betaald",
            t0,
        ));
        worrying.milestones.push(Milestone {
            id: None,
            kind: MilestoneKind::HomeVisit,
            name: "huisbezoek na 6 maanden".into(),
            due_on: date(2026, 12, 1),
            meeting_month: None,
            done_on: None,
            escalation_step: 1,
            superseded: false,
            counsellor_attends: true,
            discuss_at_meeting: false,
        });
        save(&store, &mut worrying, t0).await;
        let mut other = guided("VD-2026-0003", "ocmw-antwerpen", "Kevin De Smet");
        save(&store, &mut other, t0).await;

        // Composition from the store: only CAW's cases, the worrying one to discuss.
        let config = ctx.config();
        let caw = config.partner("caw-antwerpen").unwrap();
        let (_, composed) =
            agenda::compose_from_store(&store, &config, caw, dec(), utc(2026, 12, 16, 8, 1))
                .await
                .unwrap();
        let overview: Vec<&str> = composed
            .overview
            .iter()
            .map(|o| o.case_ref.as_str())
            .collect();
        assert_eq!(overview, ["VD-2026-0001", "VD-2026-0002"], "{backend:?}");
        assert_eq!(composed.to_discuss.len(), 1, "{backend:?}");
        let statement = &composed.to_discuss[0].statement;
        assert!(
            statement.contains(
                "Zorg gemeld op 01/12/2026: Mevrouw F.E.A. heeft de huur twee maanden niet betaald"
            ),
            "the concern with its date, the name quoted in it redacted: {statement}"
        );
        assert!(
            statement.contains("Huisbezoek na 6 maanden niet gebeurd (voorzien op 01/12/2026), gemeld aan de woonbegeleider na 7 dagen"),
            "{statement}"
        );
        assert_eq!(
            composed.to_discuss[0].candidate, "F.E.A.",
            "initials by default"
        );
        assert!(!composed.skipped);

        // Before the agenda time nothing goes out; at 09:01 Brussels one agenda per partner.
        let ran = jobs::run_due(&ctx, utc(2026, 12, 16, 7, 59)).await;
        assert!(
            ran.iter()
                .any(|(j, r)| *j == Job::Agenda && r == "ok: nothing due"),
            "{ran:?}"
        );
        jobs::run_due(&ctx, utc(2026, 12, 16, 8, 1)).await;
        let rows = agenda_rows(&store).await;
        assert_eq!(rows.len(), 2, "{backend:?}: {rows:?}");
        // Called: the invitation goes to the partner and to the coordinator (an attendee).
        let caw_row = rows
            .iter()
            .find(|r| {
                r.recipients
                    == [
                        "teamwonen@caw-antwerpen.example",
                        "an.peeters@woonhaven.example",
                    ]
            })
            .unwrap();
        let ocmw_row = rows
            .iter()
            .find(|r| r.recipients == ["woonbegeleiding@ocmw-antwerpen.example"])
            .unwrap();
        let caw_mail = text(&store, caw_row).await;
        assert!(caw_mail.contains("VD-2026-0002") && !caw_mail.contains("VD-2026-0003"));
        assert!(
            caw_mail.contains("Mevrouw F.E.A. heeft de huur"),
            "{caw_mail}"
        );
        assert!(
            !caw_mail.contains("Amrani") && !caw_mail.contains("Fatima"),
            "initials everywhere in the mail: {caw_mail}"
        );
        assert!(
            caw_mail.contains("method=REQUEST"),
            "called: invitation attached"
        );
        assert!(caw_mail.contains("SEQUENCE:0"));
        assert!(!caw_mail.contains("later dan gepland"), "on time");
        let ocmw_mail = text(&store, ocmw_row).await;
        assert!(ocmw_mail.contains("VD-2026-0003") && !ocmw_mail.contains("VD-2026-0002"));
        assert!(
            !ocmw_mail.contains("text/calendar"),
            "skipped: no invitation"
        );
        assert!(ocmw_mail.contains("gaat daarom niet door"));
        let ocmw = store
            .meeting("ocmw-antwerpen", "2026-12")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ocmw.state, MeetingState::Skipped);

        // Later passes the same day, and a restart (a new context on the same store): nothing new.
        jobs::run_due(&ctx, utc(2026, 12, 16, 8, 31)).await;
        let again = Context::fixed(store.clone(), config.as_ref().clone()).unwrap();
        jobs::run_due(&again, utc(2026, 12, 16, 9, 1)).await;
        assert_eq!(
            agenda_rows(&store).await.len(),
            2,
            "{backend:?}: exactly once"
        );

        // OCMW names a case before the deadline: the next pass calls the meeting.
        let mut other = store.case("VD-2026-0003").await.unwrap().unwrap();
        other
            .concerns
            .push(concern("weigert huisbezoek", utc(2026, 12, 17, 9, 0)));
        save(&store, &mut other, utc(2026, 12, 17, 9, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 17, 9, 16)).await;
        let rows = agenda_rows(&store).await;
        assert_eq!(rows.len(), 3, "{backend:?}");
        let update = text(&store, &rows[2]).await;
        assert!(update.contains("Bijgewerkte agenda"), "{update}");
        assert!(update.contains("method=REQUEST") && update.contains("SEQUENCE:1"));
        let ocmw = store
            .meeting("ocmw-antwerpen", "2026-12")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ocmw.state, ocmw.sequence), (MeetingState::Called, 1));
        assert_eq!(ocmw.called_for, ["VD-2026-0003"]);

        // Its concern is resolved before the meeting: the called meeting is cancelled.
        let mut other = store.case("VD-2026-0003").await.unwrap().unwrap();
        for c in &mut other.concerns {
            c.resolved_at = Some(utc(2026, 12, 18, 9, 0));
        }
        save(&store, &mut other, utc(2026, 12, 18, 9, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 18, 9, 16)).await;
        let rows = agenda_rows(&store).await;
        assert_eq!(rows.len(), 4, "{backend:?}");
        let cancel = text(&store, &rows[3]).await;
        assert!(
            cancel.contains("method=CANCEL") && cancel.contains("SEQUENCE:2"),
            "{cancel}"
        );
        assert!(cancel.contains("Geannuleerd"));

        // A new case to discuss after the deadline (23/12 00:00 Brussels) calls nothing.
        let mut other = store.case("VD-2026-0003").await.unwrap().unwrap();
        other
            .concerns
            .push(concern("te laat gemeld", utc(2026, 12, 22, 23, 30)));
        save(&store, &mut other, utc(2026, 12, 22, 23, 30)).await;
        jobs::run_due(&ctx, utc(2026, 12, 22, 23, 31)).await;
        assert_eq!(
            agenda_rows(&store).await.len(),
            4,
            "{backend:?}: after the deadline"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_fresh_install_after_the_agenda_day_sends_no_late_agenda_for_that_month() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "agenda-fresh").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let mut case = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
        save(&store, &mut case, utc(2026, 12, 1, 9, 0)).await;
        // First started on Friday 18/12, two days after December's agenda day.
        jobs::run_due(&ctx, utc(2026, 12, 18, 7, 0)).await;
        assert!(
            agenda_rows(&store).await.is_empty(),
            "{backend:?}: nothing was missed"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_daemon_down_on_the_agenda_day_sends_it_once_and_says_it_is_late() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "agenda-late").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let mut case = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
        save(&store, &mut case, utc(2026, 12, 1, 9, 0)).await;
        // Running on Monday 14/12, down from Tuesday to Friday 18/12 (the agenda day is 16/12).
        jobs::run_due(&ctx, utc(2026, 12, 14, 8, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 18, 7, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 18, 7, 30)).await;
        let rows: Vec<OutboxRow> = agenda_rows(&store)
            .await
            .into_iter()
            .filter(|r| {
                r.recipients
                    .contains(&"teamwonen@caw-antwerpen.example".to_string())
            })
            .collect();
        assert_eq!(rows.len(), 1, "{backend:?}");
        assert!(text(&store, &rows[0]).await.contains("later dan gepland"));
        store.close().await;
    }
}

#[tokio::test]
async fn the_coordinator_is_reminded_once_when_no_conclusions_came_after_a_meeting() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "conclusions").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let t0 = utc(2026, 11, 1, 9, 0);
        let mut case = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
        case.concerns.push(concern("huurachterstal", t0));
        save(&store, &mut case, t0).await;
        // November: agenda Thu 19/11, meeting Thu 26/11; 3 working days later is Tue 1/12.
        jobs::run_due(&ctx, utc(2026, 11, 19, 8, 1)).await;
        let config = ctx.config();
        let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
        let due = calendar
            .conclusions_reminder_at(date(2026, 11, 26))
            .unwrap();
        assert_eq!(due.date_naive(), date(2026, 12, 1));
        let reminders = |store: Store| async move {
            store
                .list_outbox(false, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.kind == "conclusions_reminder")
                .collect::<Vec<_>>()
        };
        jobs::run_due(&ctx, utc(2026, 11, 30, 8, 0)).await;
        assert!(
            reminders(store.clone()).await.is_empty(),
            "{backend:?}: not yet"
        );
        jobs::run_due(&ctx, utc(2026, 12, 1, 8, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 2, 8, 0)).await;
        let sent = reminders(store.clone()).await;
        assert_eq!(sent.len(), 1, "{backend:?}: once");
        assert_eq!(sent[0].recipients, ["an.peeters@woonhaven.example"]);
        assert!(sent[0].subject.contains("CAW Antwerpen"));
        store.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// End to end on real Dovecot + Postfix, with a controlled clock.

use std::time::Duration;

use doorstroom::intake::pipeline;
use doorstroom::outbox::send::Sender;
use doorstroom::store::NewMail;
use mail_parser::MimeHeaders;

use crate::mailstack::{MailStack, COORDINATOR, SHARED_MAILBOX};
use crate::setup;

const CAW_AGENDA: &str = "teamwonen@caw-antwerpen.example";
const OCMW_AGENDA: &str = "woonbegeleiding@ocmw-antwerpen.example";

/// The `text/calendar` part of a received mail, decoded.
fn calendar_part(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        (ct.ctype() == "text" && ct.subtype() == Some("calendar"))
            .then(|| part.text_contents().map(str::to_string))
            .flatten()
    })
}

/// The plain-text body of a received mail, decoded.
fn body_text(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

/// A mail submitted over SMTP to the shared mailbox, read back from its INBOX over IMAP and
/// handled by the intake pipeline as received at `at`.
async fn deliver_and_handle(
    stack: &MailStack,
    ctx: &Context,
    from: &str,
    message_id: &str,
    raw: String,
    at: DateTime<Utc>,
) -> pipeline::Handled {
    stack.submit(from, &[SHARED_MAILBOX], raw.as_bytes()).await;
    let got = stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "INBOX",
            |m| String::from_utf8_lossy(&m.bytes).contains(message_id),
            Duration::from_secs(20),
        )
        .await;
    let source = NewMail {
        source: "imap:INBOX".into(),
        source_key: format!("test/{message_id}"),
        message_id: Some(format!("<{message_id}>")),
        received_at: at,
    };
    pipeline::handle(ctx, &ctx.loaded(), &source, &got.bytes, message_id)
        .await
        .unwrap_or_else(|e| panic!("pipeline: {e}"))
}

/// Python's `icalendar` (an independent parser) reads `ics` as one VEVENT with this method,
/// sequence and UID.
fn check_with_python(ics: &str, method: &str, sequence: u32, uid: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invite.ics");
    std::fs::write(&path, ics).unwrap();
    let script = r#"
import sys
import icalendar
path, method, seq, uid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cal = icalendar.Calendar.from_ical(open(path, 'rb').read())
assert str(cal['METHOD']) == method, cal['METHOD']
events = cal.walk('VEVENT')
assert len(events) == 1, events
ev = events[0]
assert str(ev['UID']) == uid, ev['UID']
assert int(ev['SEQUENCE']) == seq, ev['SEQUENCE']
assert ev['DTSTART'].params['TZID'] == 'Europe/Brussels'
assert len(cal.walk('VTIMEZONE')) == 1
print('ok')
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(method)
        .arg(sequence.to_string())
        .arg(uid)
        .output()
        .expect("python3 (scripts/test installs python3-icalendar)");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "python icalendar rejected it\nstdout: {}\nstderr: {}\n{ics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agenda_reply_call_and_conclusions_end_to_end_over_smtp_and_imap() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = setup::imap_config(&stack, crate::db::Db::Sqlite, &dir);
    let store = doorstroom::daemon::open_store(&config).await.unwrap();
    let ctx = Context::fixed(store.clone(), config).unwrap();
    let sender = Sender::from_config(store.clone(), ctx.config(), ctx.outbox(), None);

    // CAW has one quiet case (its meeting is skipped), OCMW one with a concern (called).
    let t0 = utc(2026, 12, 1, 9, 0);
    let mut quiet = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
    save(&store, &mut quiet, t0).await;
    let mut worrying = guided("VD-2026-0002", "ocmw-antwerpen", "Fatima El Amrani");
    worrying
        .concerns
        .push(concern("huurachterstal van twee maanden", t0));
    save(&store, &mut worrying, t0).await;

    // The agenda day, 09:01 Brussels: the job queues, the sender delivers through Postfix.
    let agenda_time = utc(2026, 12, 16, 8, 1);
    jobs::run_due(&ctx, agenda_time).await;
    sender.run_once(agenda_time).await.unwrap();
    let caw = stack
        .wait_for_mail(CAW_AGENDA, "INBOX", |_| true, Duration::from_secs(20))
        .await;
    let caw_text = body_text(&caw.bytes);
    assert!(caw_text.contains("VD-2026-0001"), "{caw_text}");
    assert!(
        !caw_text.contains("VD-2026-0002"),
        "only CAW's own cases: {caw_text}"
    );
    assert!(caw_text.contains("gaat daarom niet door"), "{caw_text}");
    assert!(
        calendar_part(&caw.bytes).is_none(),
        "a skipped meeting has no invitation"
    );
    let ocmw = stack
        .wait_for_mail(OCMW_AGENDA, "INBOX", |_| true, Duration::from_secs(20))
        .await;
    let ocmw_text = body_text(&ocmw.bytes);
    assert!(ocmw_text.contains("VD-2026-0002") && !ocmw_text.contains("VD-2026-0001"));
    let invite = calendar_part(&ocmw.bytes).expect("OCMW's meeting is called: invitation");
    check_with_python(
        &invite,
        "REQUEST",
        0,
        "meeting-2026-12-ocmw-antwerpen@woonhaven.example",
    );
    let agenda_id = mail_parser::MessageParser::default()
        .parse(&caw.bytes[..])
        .and_then(|m| m.message_id().map(str::to_string))
        .expect("agenda Message-ID");

    // CAW answers the agenda on Thursday, naming a case: the pipeline notes it, the next pass
    // calls the meeting with an updated agenda and invitation.
    let reply_id = "reply-1@caw-antwerpen.example";
    let reply = format!(
        "From: Els Wouters <els.wouters@caw-antwerpen.example>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Re: Geen structureel overleg in december 2026\r\nMessage-ID: <{reply_id}>\r\n\
         In-Reply-To: <{agenda_id}>\r\nReferences: <{agenda_id}>\r\n\
         Date: Thu, 17 Dec 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Beste,\r\n\r\nGraag zouden we toch VD-2026-0001 (Jan Peeters) bespreken op het overleg: \
         hij komt afspraken niet na.\r\n\r\nGroeten,\r\nEls\r\n"
    );
    let handled = deliver_and_handle(
        &stack,
        &ctx,
        "els.wouters@caw-antwerpen.example",
        reply_id,
        reply,
        utc(2026, 12, 17, 9, 0),
    )
    .await;
    let decision = handled.decision.as_ref().expect("decided");
    assert_eq!(decision.kind.as_str(), "discussion_request", "{handled:?}");
    let call_time = utc(2026, 12, 17, 9, 16);
    jobs::run_due(&ctx, call_time).await;
    sender.run_once(call_time).await.unwrap();
    let updated = stack
        .wait_for_mail(
            CAW_AGENDA,
            "INBOX",
            |m| calendar_part(&m.bytes).is_some(),
            Duration::from_secs(20),
        )
        .await;
    let updated_text = body_text(&updated.bytes);
    assert!(updated_text.contains("gaat door"), "{updated_text}");
    assert!(
        updated_text.contains("komt afspraken niet na"),
        "{updated_text}"
    );
    assert!(
        updated_text.contains("VD-2026-0001 (J.P.): Op vraag van de partner:"),
        "{updated_text}"
    );
    let ics = calendar_part(&updated.bytes).unwrap();
    check_with_python(
        &ics,
        "REQUEST",
        1,
        "meeting-2026-12-caw-antwerpen@woonhaven.example",
    );
    let meeting = store
        .meeting("caw-antwerpen", "2026-12")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((meeting.state, meeting.sequence), (MeetingState::Called, 1));

    // OCMW's calendar accepts the invitation: recorded on its meeting, never answered.
    let accept_id = "accept-1@ocmw-antwerpen.example";
    let before = store.list_outbox(false, 100).await.unwrap().len();
    let accept = format!(
        "From: Team Wonen <{OCMW_AGENDA}>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Geaccepteerd: Structureel overleg\r\nMessage-ID: <{accept_id}>\r\n\
         Date: Thu, 17 Dec 2026 11:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\n\
         UID:meeting-2026-12-ocmw-antwerpen@woonhaven.example\r\nSEQUENCE:0\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OCMW_AGENDA}\r\nDTSTART:20261223T090000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let handled = deliver_and_handle(
        &stack,
        &ctx,
        OCMW_AGENDA,
        accept_id,
        accept,
        utc(2026, 12, 17, 10, 0),
    )
    .await;
    assert_eq!(
        handled.decision.as_ref().map(|d| d.kind.as_str()),
        Some("calendar_response"),
        "{handled:?}"
    );
    let ocmw_meeting = store
        .meeting("ocmw-antwerpen", "2026-12")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ocmw_meeting.responses.len(), 1, "{handled:?}");
    assert_eq!(ocmw_meeting.responses[0].partstat, "ACCEPTED");
    assert_eq!(ocmw_meeting.responses[0].attendee, OCMW_AGENDA);
    assert_eq!(
        store.list_outbox(false, 100).await.unwrap().len(),
        before,
        "a calendar reply is never answered"
    );

    // CAW's calendar declines its called meeting: recorded, and the coordinator told at once.
    let decline_id = "decline-1@caw-antwerpen.example";
    let decline = format!(
        "From: Team Wonen <{CAW_AGENDA}>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Geweigerd: Structureel overleg\r\nMessage-ID: <{decline_id}>\r\n\
         Date: Thu, 17 Dec 2026 11:30:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\n\
         UID:meeting-2026-12-caw-antwerpen@woonhaven.example\r\nSEQUENCE:1\r\n\
         ATTENDEE;PARTSTAT=DECLINED:mailto:teamwonen@caw-antwerpen.example\r\nDTSTART:20261223T090000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    deliver_and_handle(
        &stack,
        &ctx,
        "teamwonen@caw-antwerpen.example",
        decline_id,
        decline,
        utc(2026, 12, 17, 10, 30),
    )
    .await;
    let told: Vec<_> = store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "meeting_declined")
        .collect();
    assert_eq!(told.len(), 1, "one notice of the decline");
    assert_eq!(told[0].recipients, [COORDINATOR]);
    let body = text(&store, &told[0]).await;
    assert!(body.contains("teamwonen@caw-antwerpen.example"), "{body}");
    assert!(
        body.contains("VD-2026-0001"),
        "the cases on the agenda: {body}"
    );

    // After the meeting the coordinator mails the conclusions: the case is updated.
    let conclusions_id = "conclusions-1@woonhaven.example";
    let conclusions = format!(
        "From: An Peeters <{COORDINATOR}>\r\nTo: {SHARED_MAILBOX}\r\n\
         Subject: Conclusies structureel overleg CAW Antwerpen 23 december 2026\r\n\
         Message-ID: <{conclusions_id}>\r\nDate: Wed, 23 Dec 2026 14:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Beste collega's,\r\n\r\nHierbij de conclusies van het structureel overleg van 23 december:\r\n\r\n\
         - VD-2026-0001 (Jan Peeters): opnieuw bespreken op het volgende overleg.\r\n\r\n\
         Met vriendelijke groeten,\r\nAn Peeters\r\n"
    );
    let handled = deliver_and_handle(
        &stack,
        &ctx,
        COORDINATOR,
        conclusions_id,
        conclusions,
        utc(2026, 12, 23, 13, 0),
    )
    .await;
    assert_eq!(
        handled.decision.as_ref().map(|d| d.kind.as_str()),
        Some("meeting_conclusions"),
        "{handled:?}"
    );
    let case = store.case("VD-2026-0001").await.unwrap().unwrap();
    let events = store.case_events(case.id.unwrap()).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "conclusion"),
        "the conclusion is recorded on the case: {events:?}"
    );
    assert!(
        store
            .conclusions_since("caw-antwerpen", utc(2026, 12, 23, 9, 0))
            .await
            .unwrap()
            > 0
    );
    // … so no reminder goes to the coordinator for CAW; OCMW sent none: reminded once, three
    // working days after the meeting (past the Christmas closing days: January 2027).
    let config = ctx.config();
    let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let due = calendar
        .conclusions_reminder_at(date(2026, 12, 23))
        .unwrap()
        .with_timezone(&Utc);
    assert!(due > utc(2027, 1, 1, 0, 0), "{due}");
    jobs::run_due(&ctx, due - chrono::Duration::days(1)).await;
    jobs::run_due(&ctx, due + chrono::Duration::hours(8)).await;
    jobs::run_due(
        &ctx,
        due + chrono::Duration::days(1) + chrono::Duration::hours(8),
    )
    .await;
    let reminders: Vec<_> = store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "conclusions_reminder")
        .collect();
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert!(
        reminders[0].subject.contains("OCMW"),
        "{}",
        reminders[0].subject
    );
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// `doorstroom agenda`, the binary.

#[tokio::test]
async fn the_agenda_command_renders_without_sending_and_queues_once_without_dry_run() {
    use crate::outbox::{doorstroom, write_config};
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path());
    let config = doorstroom::config::Config::load(&path).unwrap();
    let store = doorstroom::daemon::open_store(&config).await.unwrap();
    let t0 = utc(2026, 12, 1, 9, 0);
    let mut worrying = guided("VD-2026-0002", "ocmw-antwerpen", "Fatima El Amrani");
    worrying.concerns.push(concern("huurachterstal", t0));
    save(&store, &mut worrying, t0).await;

    // --dry-run to stdout: both partners, the called one with its .ics; nothing stored.
    let (code, out, err) = doorstroom(&path, &["agenda", "--month", "2026-12", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("===== caw-antwerpen-2026-12.eml ====="),
        "{out}"
    );
    assert!(
        out.contains("===== ocmw-antwerpen-2026-12.ics ====="),
        "{out}"
    );
    assert!(
        !out.contains("caw-antwerpen-2026-12.ics"),
        "skipped: no invitation"
    );
    assert!(out.contains("BEGIN:VCALENDAR"));
    assert!(store.list_outbox(false, 10).await.unwrap().is_empty());
    assert!(store
        .meeting("ocmw-antwerpen", "2026-12")
        .await
        .unwrap()
        .is_none());

    // --out DIR, one partner.
    let out_dir = dir.path().join("agenda");
    let (code, out, err) = doorstroom(
        &path,
        &[
            "agenda",
            "--month",
            "2026-12",
            "--partner",
            "ocmw-antwerpen",
            "--dry-run",
            "--out",
        ]
        .into_iter()
        .chain([out_dir.to_str().unwrap()])
        .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{err}");
    let eml = std::fs::read_to_string(out_dir.join("ocmw-antwerpen-2026-12.eml")).unwrap();
    assert!(eml.contains("VD-2026-0002") && eml.contains("text/calendar"));
    let ics = std::fs::read_to_string(out_dir.join("ocmw-antwerpen-2026-12.ics")).unwrap();
    check_with_python(
        &ics,
        "REQUEST",
        0,
        "meeting-2026-12-ocmw-antwerpen@woonhaven.example",
    );
    assert!(!out_dir.join("caw-antwerpen-2026-12.eml").exists());
    assert!(out.contains("ocmw-antwerpen-2026-12.ics"), "{out}");

    // Without --dry-run: queued now, once.
    let (code, out, err) = doorstroom(
        &path,
        &[
            "agenda",
            "--month",
            "2026-12",
            "--partner",
            "ocmw-antwerpen",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("agenda with invitation"), "{out}");
    let (code, out, _) = doorstroom(
        &path,
        &[
            "agenda",
            "--month",
            "2026-12",
            "--partner",
            "ocmw-antwerpen",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("nothing to send"), "{out}");
    assert_eq!(agenda_rows(&store).await.len(), 1);
    let (code, _, err) = doorstroom(&path, &["agenda", "--month", "2026-13", "--dry-run"]);
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM"), "{err}");
    store.close().await;
}
