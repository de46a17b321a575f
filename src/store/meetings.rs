//! The monthly meeting of each partner: its state (skipped, called, cancelled), the iCalendar
//! sequence of the last invitation sent, the agenda's Message-ID, the cases it was called for,
//! the calendar replies of attendees and the conclusions reminder.
//!
//! The row is written in the transaction that queues the agenda, invitation or cancellation it
//! describes (see [`crate::jobs::agenda`]): the row and the mail commit together, so each goes
//! out once per partner and month. Never decides anything: the agenda job does, and which meeting a
//! calendar reply answers is the calendar's rule ([`crate::calendar::reply`]); here it is recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_text, parse_ts, ts, Result, Store, StoreError, Tx};
use crate::config::Config;

/// Whether a partner's meeting of a month takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingState {
    /// Nothing to discuss: the agenda said so, no invitation went out.
    Skipped,
    /// The meeting takes place: an invitation went out (`sequence` is its SEQUENCE).
    Called,
    /// Called, then dropped before it took place: a `METHOD:CANCEL` went out.
    Cancelled,
}

impl MeetingState {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Skipped => "skipped",
            MeetingState::Called => "called",
            MeetingState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<MeetingState> {
        match s {
            "skipped" => Some(MeetingState::Skipped),
            "called" => Some(MeetingState::Called),
            "cancelled" => Some(MeetingState::Cancelled),
            _ => None,
        }
    }
}

/// One calendar reply of an attendee (`METHOD:REPLY`), recorded and never answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingResponse {
    pub attendee: String,
    /// `ACCEPTED`, `DECLINED`, `TENTATIVE`, … as the attendee's client wrote it.
    pub partstat: String,
    pub at: DateTime<Utc>,
    pub mail_id: Option<i64>,
}

/// One partner's meeting of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    pub partner: String,
    /// `YYYY-MM`.
    pub month: String,
    pub state: MeetingState,
    /// SEQUENCE of the last invitation (or cancellation) sent; 0 when none was sent yet.
    pub sequence: u32,
    pub agenda_message_id: Option<String>,
    /// Case references on the last agenda sent (to discuss and other guidance).
    pub called_for: Vec<String>,
    pub responses: Vec<MeetingResponse>,
    pub reminded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "partner, month, state, sequence, agenda_message_id, called_for, \
                       responses, reminded_at, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Meeting> {
    let state: String = row.try_get("state")?;
    let json = |column: &str| -> Result<String> { Ok(row.try_get::<String, _>(column)?) };
    Ok(Meeting {
        partner: row.try_get("partner")?,
        month: row.try_get("month")?,
        state: MeetingState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown meeting state `{state}`")))?,
        sequence: u32::try_from(row.try_get::<i64, _>("sequence")?)
            .map_err(|_| StoreError::Corrupt("meeting sequence out of range".into()))?,
        agenda_message_id: opt_text(row, "agenda_message_id")?,
        called_for: serde_json::from_str(&json("called_for")?)
            .map_err(|e| StoreError::Corrupt(format!("meeting called_for: {e}")))?,
        responses: serde_json::from_str(&json("responses")?)
            .map_err(|e| StoreError::Corrupt(format!("meeting responses: {e}")))?,
        reminded_at: opt_text(row, "reminded_at")?
            .map(|t| parse_ts(&t))
            .transpose()?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
    })
}

impl Store {
    pub async fn meeting(&self, partner: &str, month: &str) -> Result<Option<Meeting>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM meetings WHERE org = $1 AND partner = $2 AND month = $3"
        ))
        .bind(&self.org)
        .bind(partner)
        .bind(month)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every partner's meeting of `month`.
    pub async fn meetings_in(&self, month: &str) -> Result<Vec<Meeting>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM meetings WHERE org = $1 AND month = $2 ORDER BY partner"
        ))
        .bind(&self.org)
        .bind(month)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many conclusions were recorded on `partner`'s cases at or after `since` (the
    /// `conclusion` events the conclusions mail writes), counting a conclusion from a mail by
    /// when that mail was received (an event is stamped when it was processed, which may be
    /// later, or earlier under a test's controlled clock).
    pub async fn conclusions_since(&self, partner: &str, since: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM case_events e JOIN cases c ON c.id = e.case_id
             LEFT JOIN mails m ON e.cause_kind = 'mail' AND CAST(m.id AS TEXT) = e.cause_ref
                               AND m.org = $1
             WHERE e.org = $1 AND c.org = $1 AND c.partner = $2 AND e.kind = 'conclusion'
               AND (e.at >= $3 OR m.received_at >= $3)",
        )
        .bind(&self.org)
        .bind(partner)
        .bind(ts(since))
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Record an attendee's calendar reply on the meeting it answers; `false` when no such
    /// meeting was recorded (a reply to something we never sent).
    pub async fn record_meeting_response(
        &self,
        partner: &str,
        month: &str,
        response: &MeetingResponse,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let Some(mut meeting) = tx.meeting(partner, month).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        meeting.responses.push(response.clone());
        tx.save_meeting(&meeting, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Tx {
    pub async fn meeting(&mut self, partner: &str, month: &str) -> Result<Option<Meeting>> {
        let org = self.org.clone();
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM meetings WHERE org = $1 AND partner = $2 AND month = $3"
        ))
        .bind(org)
        .bind(partner)
        .bind(month)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Insert or overwrite the row of `meeting.partner` and `meeting.month`.
    pub async fn save_meeting(&mut self, meeting: &Meeting, now: DateTime<Utc>) -> Result<()> {
        let org = self.org.clone();
        let called_for = serde_json::to_string(&meeting.called_for)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let responses = serde_json::to_string(&meeting.responses)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO meetings (org, partner, month, state, sequence, agenda_message_id,
                                   called_for, responses, reminded_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (org, partner, month) DO UPDATE SET
                 state = excluded.state, sequence = excluded.sequence,
                 agenda_message_id = excluded.agenda_message_id,
                 called_for = excluded.called_for, responses = excluded.responses,
                 reminded_at = excluded.reminded_at, updated_at = excluded.updated_at",
        )
        .bind(org)
        .bind(&meeting.partner)
        .bind(&meeting.month)
        .bind(meeting.state.as_str())
        .bind(i64::from(meeting.sequence))
        .bind(meeting.agenda_message_id.as_deref())
        .bind(called_for)
        .bind(responses)
        .bind(meeting.reminded_at.map(ts))
        .bind(ts(meeting.created_at))
        .bind(ts(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Record an attendee's calendar reply (a `calendar_response` mail) on the meeting it answers
    /// ([`crate::calendar::reply::Reply::answered_meeting`]), in the transaction that decides the
    /// mail; never answered. Returns what was done, for the mail's log line, and the meeting
    /// with the reply when it was recorded (so that a decline can be told to the coordinators).
    pub async fn record_calendar_reply(
        &mut self,
        config: &Config,
        sender_partner: Option<&str>,
        raw: &[u8],
        mail_id: i64,
        received_at: DateTime<Utc>,
    ) -> Result<(String, Option<(Meeting, MeetingResponse)>)> {
        let Some(reply) = crate::calendar::reply::parse(raw) else {
            return Ok(("calendar reply without an event: not recorded".into(), None));
        };
        let Some((month, partner)) =
            reply.answered_meeting(sender_partner, config.organisation.time_zone)
        else {
            return Ok((
                "calendar reply to no meeting we know: not recorded".into(),
                None,
            ));
        };
        let Some(mut meeting) = self.meeting(&partner, &month.to_string()).await? else {
            return Ok((
                format!(
                    "calendar reply for {partner} {month}, a meeting never announced: not recorded"
                ),
                None,
            ));
        };
        let response = MeetingResponse {
            attendee: reply.attendee.unwrap_or_default(),
            partstat: reply.partstat.clone(),
            at: received_at,
            mail_id: Some(mail_id),
        };
        meeting.responses.push(response.clone());
        self.save_meeting(&meeting, received_at).await?;
        Ok((
            format!(
                "calendar reply ({}) recorded on the meeting of {partner} {month}",
                reply.partstat
            ),
            Some((meeting, response)),
        ))
    }
}
