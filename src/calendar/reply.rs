//! Reading an attendee's calendar reply (`METHOD:REPLY`, RFC 5546 §3.2.3): which meeting it
//! answers and what the attendee said. Replies are recorded on the meeting, never answered.
//!
//! Pure: raw mail bytes in, a [`Reply`] out. Lenient on purpose: clients differ (Outlook's
//! replies may lack the UID), so what is missing stays `None` and the caller falls back on the
//! sender's partner and the event's start.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use mail_parser::{MessageParser, MimeHeaders};

use super::Month;

/// What a calendar reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub uid: Option<String>,
    /// The attendee's address, lowercase, without `mailto:`.
    pub attendee: Option<String>,
    /// `ACCEPTED`, `DECLINED`, `TENTATIVE`, …; `NEEDS-ACTION` when the client wrote none.
    pub partstat: String,
    /// `DTSTART` when written in UTC (`…Z`); local times are left out.
    pub start: Option<DateTime<Utc>>,
}

impl Reply {
    /// The (month, partner id) of a UID made by [`super::ics::meeting_uid`].
    pub fn meeting_key(&self) -> Option<(Month, String)> {
        let uid = self.uid.as_deref()?;
        let rest = uid.strip_prefix("meeting-")?;
        let (local, _domain) = rest.rsplit_once('@')?;
        let month: Month = local.get(..7)?.parse().ok()?;
        let partner = local.get(8..)?;
        (!partner.is_empty() && local.as_bytes().get(7) == Some(&b'-'))
            .then(|| (month, partner.to_string()))
    }

    /// The (month, partner id) of the meeting this reply answers: found by our UID, or, for
    /// clients that drop it, by the sender's partner and the month of the event's start in the
    /// landlord's time zone. `None`: a reply to no meeting we can name.
    pub fn answered_meeting(
        &self,
        sender_partner: Option<&str>,
        tz: Tz,
    ) -> Option<(Month, String)> {
        self.meeting_key().or_else(|| {
            let partner = sender_partner?;
            let start = self.start?;
            Some((
                Month::of(start.with_timezone(&tz).date_naive()),
                partner.to_string(),
            ))
        })
    }
}

/// The reply in `raw`'s first `text/calendar` part, if it has one with a VEVENT.
pub fn parse(raw: &[u8]) -> Option<Reply> {
    let message = MessageParser::default().parse(raw)?;
    let ics = message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        (ct.ctype().eq_ignore_ascii_case("text")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("calendar")))
        .then(|| part.text_contents().map(str::to_string))
        .flatten()
    })?;
    parse_ics(&ics)
}

/// The reply in iCalendar text.
pub fn parse_ics(ics: &str) -> Option<Reply> {
    // Unfold (RFC 5545 §3.1): a line starting with a space or tab continues the previous one.
    let mut lines: Vec<String> = Vec::new();
    for line in ics.split('\n').map(|l| l.trim_end_matches('\r')) {
        match (line.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(more), Some(last)) => last.push_str(more),
            _ => lines.push(line.to_string()),
        }
    }
    let mut in_event = false;
    let mut seen_event = false;
    let mut reply = Reply {
        uid: None,
        attendee: None,
        partstat: "NEEDS-ACTION".into(),
        start: None,
    };
    for line in &lines {
        let Some((head, value)) = line.split_once(':') else {
            continue;
        };
        let mut params = head.split(';');
        let name = params.next().unwrap_or_default().to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" if value.eq_ignore_ascii_case("VEVENT") => {
                in_event = true;
                seen_event = true;
            }
            "END" if value.eq_ignore_ascii_case("VEVENT") => in_event = false,
            "UID" if in_event => reply.uid = Some(value.trim().to_string()),
            "ATTENDEE" if in_event && reply.attendee.is_none() => {
                let address = value.trim();
                let address = address
                    .get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                    .map_or(address, |_| &address[7..]);
                reply.attendee = Some(address.to_ascii_lowercase());
                if let Some(p) = params.find_map(|p| {
                    p.split_once('=')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("PARTSTAT"))
                        .map(|(_, v)| v.trim_matches('"').to_ascii_uppercase())
                }) {
                    reply.partstat = p;
                }
            }
            "DTSTART" if in_event => {
                reply.start = value
                    .trim()
                    .strip_suffix('Z')
                    .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S").ok())
                    .map(|t| Utc.from_utc_datetime(&t));
            }
            _ => {}
        }
    }
    seen_event.then_some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlook_acceptance_without_uid_gives_attendee_partstat_and_start() {
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/048-calendar-accepted.eml"
        ))
        .unwrap();
        let reply = parse(&raw).unwrap();
        assert_eq!(reply.uid, None);
        assert_eq!(
            reply.attendee.as_deref(),
            Some("els.wouters@caw-antwerpen.example")
        );
        assert_eq!(reply.partstat, "ACCEPTED");
        assert_eq!(
            reply.start,
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap())
        );
        assert_eq!(reply.meeting_key(), None);
    }

    #[test]
    fn a_folded_reply_with_our_uid_names_its_partner_and_month() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:meeting-2026-12-ocmw-\r\n antwerpen@woonhaven.example\r\nATTENDEE;CN=\"Team\";PARTSTAT=declined:MAILTO:Team@OCMW-antwerpen.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let reply = parse_ics(ics).unwrap();
        assert_eq!(reply.partstat, "DECLINED");
        assert_eq!(
            reply.attendee.as_deref(),
            Some("team@ocmw-antwerpen.example")
        );
        assert_eq!(
            reply.meeting_key(),
            Some(("2026-12".parse().unwrap(), "ocmw-antwerpen".to_string()))
        );
    }

    #[test]
    fn text_without_an_event_is_no_reply() {
        assert_eq!(parse_ics("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), None);
        assert_eq!(parse(b"Subject: x\r\n\r\nhello"), None);
    }
}
