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
        worrying
            .concerns
            .push(concern("huur twee maanden niet betaald", t0));
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
            statement.contains("Zorg gemeld: huur twee maanden niet betaald"),
            "{statement}"
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
        let caw_row = rows
            .iter()
            .find(|r| r.recipients == ["teamwonen@caw-antwerpen.example"])
            .unwrap();
        let ocmw_row = rows
            .iter()
            .find(|r| r.recipients == ["woonbegeleiding@ocmw-antwerpen.example"])
            .unwrap();
        let caw_mail = text(&store, caw_row).await;
        assert!(caw_mail.contains("VD-2026-0002") && !caw_mail.contains("VD-2026-0003"));
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
        other.concerns.push(concern(
            "Op vraag van de partner: weigert huisbezoek",
            utc(2026, 12, 17, 9, 0),
        ));
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
async fn a_daemon_down_on_the_agenda_day_sends_it_once_and_says_it_is_late() {
    for backend in BOTH {
        let (store, _dir) = db::open(backend, "agenda-late").await;
        let ctx = Context::fixed(store.clone(), config()).unwrap();
        let mut case = guided("VD-2026-0001", "caw-antwerpen", "Jan Peeters");
        save(&store, &mut case, utc(2026, 12, 1, 9, 0)).await;
        // Down from Tuesday to Friday 18/12.
        jobs::run_due(&ctx, utc(2026, 12, 18, 7, 0)).await;
        jobs::run_due(&ctx, utc(2026, 12, 18, 7, 30)).await;
        let rows: Vec<OutboxRow> = agenda_rows(&store)
            .await
            .into_iter()
            .filter(|r| r.recipients == ["teamwonen@caw-antwerpen.example"])
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
