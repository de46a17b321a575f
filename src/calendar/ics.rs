//! The calendar invitation of one partner's meeting: iCalendar text (RFC 5545) with an iTIP
//! method (RFC 5546), `REQUEST` to invite or update and `CANCEL` to drop a called meeting.
//!
//! Outlook, Gmail and Thunderbird show a `text/calendar; method=REQUEST` part as an invitation
//! when it carries: a `VTIMEZONE` for every `TZID` used, one `VEVENT` with a `UID` that stays the
//! same for every update of that meeting, a `SEQUENCE` that rises with every update, an
//! `ORGANIZER` and the `ATTENDEE`s. Lines are folded at 75 octets and text values escaped.
//!
//! Pure: the caller passes `DTSTAMP` (now) and the sequence number it stored; this module never
//! reads a clock, stores anything or sends mail.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc, Weekday};
use chrono_tz::{OffsetName, Tz};

use super::meeting::{MeetingMode, MonthSchedule};
use super::Month;
use crate::config::{Organisation, Partner};

/// Someone on the invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: Option<String>,
    pub email: String,
}

/// One meeting as an invitation; [`request`] and [`cancel`] render it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Stable per organisation, partner and month: see [`meeting_uid`].
    pub uid: String,
    /// 0 for the first invitation; the caller raises it for every update and for the cancel.
    pub sequence: u32,
    /// When this version was made (`now`).
    pub dtstamp: DateTime<Utc>,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
    pub summary: String,
    pub description: String,
    pub location: String,
    /// The Teams link, when online.
    pub url: Option<String>,
    /// The shared mailbox: replies come back there and are recorded.
    pub organizer: Attendee,
    pub attendees: Vec<Attendee>,
}

/// `meeting-2026-12-caw-antwerpen@woonhaven.example`: the same for every version of one
/// partner's meeting in one month, and different across landlords (their mail domain).
pub fn meeting_uid(month: Month, partner_id: &str, mail_domain: &str) -> String {
    format!("meeting-{month}-{partner_id}@{mail_domain}")
}

impl Invitation {
    /// The invitation of `partner`'s meeting of `schedule`'s month, in Dutch, from the shared
    /// mailbox, to the partner's agenda addresses and the coordinators.
    pub fn for_meeting(
        organisation: &Organisation,
        partner: &Partner,
        schedule: &MonthSchedule,
        mode: &MeetingMode,
        sequence: u32,
        dtstamp: DateTime<Utc>,
    ) -> Invitation {
        let mail_domain = organisation
            .shared_mailbox
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d);
        let (location, url, how) = match mode {
            MeetingMode::Online { link } => (
                format!("Microsoft Teams: {link}"),
                Some(link.clone()),
                format!("Deelnemen via Microsoft Teams: {link}"),
            ),
            MeetingMode::OnSite { place } => (place.clone(), None, format!("Plaats: {place}")),
        };
        let description = format!(
            "Structureel overleg versnelde doorstroom tussen {} en {}.\n{how}\n\nDe agenda \
             staat in de bijhorende e-mail.",
            organisation.name, partner.name
        );
        let attendees = partner
            .agenda_to
            .iter()
            .map(|email| Attendee {
                name: Some(partner.name.clone()),
                email: email.clone(),
            })
            .chain(organisation.coordinators.iter().map(|p| Attendee {
                name: Some(p.name.clone()),
                email: p.email.clone(),
            }))
            .collect();
        Invitation {
            uid: meeting_uid(schedule.month, &partner.id, mail_domain),
            sequence,
            dtstamp,
            start: schedule.meeting_start,
            end: schedule.meeting_end,
            summary: format!(
                "Structureel overleg versnelde doorstroom – {} – {}",
                partner.name,
                dutch_month(schedule.month)
            ),
            description,
            location,
            url,
            organizer: Attendee {
                name: Some(organisation.name.clone()),
                email: organisation.shared_mailbox.clone(),
            },
            attendees,
        }
    }
}

/// "december 2026".
fn dutch_month(month: Month) -> String {
    super::dutch_month(month.year(), month.month())
}

/// `METHOD:REQUEST`: invite, or update an invitation already sent (with a higher sequence).
pub fn request(invitation: &Invitation) -> String {
    render(invitation, Method::Request)
}

/// `METHOD:CANCEL` with `STATUS:CANCELLED`: the called meeting is dropped. Same UID, and a
/// sequence higher than the last request's.
pub fn cancel(invitation: &Invitation) -> String {
    render(invitation, Method::Cancel)
}

#[derive(Clone, Copy)]
enum Method {
    Request,
    Cancel,
}

fn render(inv: &Invitation, method: Method) -> String {
    let tz = inv.start.timezone();
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "PRODID:-//doorstroom//versnelde doorstroom//NL".into(),
        "VERSION:2.0".into(),
        "CALSCALE:GREGORIAN".into(),
        match method {
            Method::Request => "METHOD:REQUEST".into(),
            Method::Cancel => "METHOD:CANCEL".into(),
        },
    ];
    lines.extend(vtimezone(tz, inv.start.with_timezone(&Utc)));
    lines.push("BEGIN:VEVENT".into());
    lines.push(format!("UID:{}", text(&inv.uid)));
    lines.push(format!("SEQUENCE:{}", inv.sequence));
    lines.push(format!("DTSTAMP:{}", inv.dtstamp.format("%Y%m%dT%H%M%SZ")));
    lines.push(format!(
        "DTSTART;TZID={}:{}",
        param(tz.name()),
        inv.start.format("%Y%m%dT%H%M%S")
    ));
    lines.push(format!(
        "DTEND;TZID={}:{}",
        param(tz.name()),
        inv.end.with_timezone(&tz).format("%Y%m%dT%H%M%S")
    ));
    lines.push(format!("SUMMARY:{}", text(&inv.summary)));
    lines.push(format!("DESCRIPTION:{}", text(&inv.description)));
    lines.push(format!("LOCATION:{}", text(&inv.location)));
    if let Some(url) = &inv.url {
        lines.push(format!("URL:{}", uri(url)));
        // Outlook shows its "Join" button only for this property (it does not read URL).
        if is_teams_link(url) {
            lines.push(format!("X-MICROSOFT-SKYPETEAMSMEETINGURL:{}", uri(url)));
        }
    }
    lines.push(format!(
        "ORGANIZER{}:mailto:{}",
        cn(&inv.organizer),
        uri(&inv.organizer.email)
    ));
    for a in &inv.attendees {
        let rsvp = match method {
            Method::Request => ";RSVP=TRUE",
            Method::Cancel => "",
        };
        lines.push(format!(
            "ATTENDEE{};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION{rsvp}:mailto:{}",
            cn(a),
            uri(&a.email)
        ));
    }
    match method {
        Method::Request => {
            lines.push("STATUS:CONFIRMED".into());
            lines.push("TRANSP:OPAQUE".into());
        }
        Method::Cancel => {
            lines.push("STATUS:CANCELLED".into());
            lines.push("TRANSP:TRANSPARENT".into());
        }
    }
    lines.push("END:VEVENT".into());
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for line in lines {
        out.push_str(&fold(&line));
    }
    out
}

/// A Microsoft Teams meeting link: https on `teams.microsoft.com` or `teams.live.com` (or a
/// subdomain of either, as government tenants have).
pub fn is_teams_link(url: &str) -> bool {
    let Some(rest) = url.trim().strip_prefix("https://") else {
        return false;
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host.rsplit_once('@').map_or(host.as_str(), |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    ["teams.microsoft.com", "teams.live.com"]
        .iter()
        .any(|t| host == *t || host.ends_with(&format!(".{t}")))
}

/// `;CN="…"` or nothing.
fn cn(a: &Attendee) -> String {
    a.name
        .as_deref()
        .map(param)
        .filter(|n| !n.is_empty())
        .map(|n| format!(";CN=\"{n}\""))
        .unwrap_or_default()
}

/// A parameter value (RFC 5545 §3.2): no control characters and no DQUOTE, which cannot be
/// escaped there; the caller quotes it.
fn param(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect::<String>()
        .trim()
        .to_string()
}

/// A URI value (mailto address, link): never a line break or space inside.
fn uri(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks as `\n`.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    for c in normalised.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded (RFC 5545 §3.1): no physical line longer than 75 octets without its
/// CRLF, continuation lines start with one space, and a UTF-8 character is never split.
fn fold(line: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LIMIT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
    out
}

/// A change of UTC offset: the first instant of the new offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
}

fn offset_at(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// Every offset change of `tz` in `[from, to)`, found by probing daily and bisecting to the
/// minute (chrono-tz does not expose its transition table).
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut day = from;
    while day < to {
        let next = day + Duration::days(1);
        let (a, b) = (offset_at(tz, day), offset_at(tz, next));
        if a != b {
            // Bisect whole minutes after `day`: offsets change on the minute.
            let (mut lo, mut hi) = (0_i64, 24 * 60);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if offset_at(tz, day + Duration::minutes(mid)) == a {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = day + Duration::minutes(hi);
            out.push(Transition {
                at: hi,
                from: a,
                to: b,
            });
        }
        day = next;
    }
    out
}

/// The last Sunday of a month at 01:00 UTC: when the EU changes its clocks.
fn eu_change(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let last = super::last_day_of_month(year, month)?;
    let back = last.weekday().num_days_from_sunday();
    let sunday = last - Duration::days(i64::from(back));
    debug_assert_eq!(sunday.weekday(), Weekday::Sun);
    Some(sunday.and_hms_opt(1, 0, 0)?.and_utc())
}

fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

fn abbreviation(tz: Tz, at: DateTime<Utc>) -> Option<String> {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .abbreviation()
        .map(str::to_string)
}

/// The `VTIMEZONE` of `tz` around the instant `around`.
///
/// Zones that follow the EU rule (Europe/Brussels and its neighbours) get the compact yearly
/// RRULE form every client knows. Any other zone gets its actual transitions from the year
/// before to the year after as dated observances, which is exact for the event without claiming
/// a rule chrono-tz cannot tell us.
fn vtimezone(tz: Tz, around: DateTime<Utc>) -> Vec<String> {
    let year = around.year();
    let window_start = NaiveDate::from_ymd_opt(year - 1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(around);
    let window_end = NaiveDate::from_ymd_opt(year + 2, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(around);
    let found = transitions(tz, window_start, window_end);
    let mut lines = vec![
        "BEGIN:VTIMEZONE".into(),
        format!("TZID:{}", param(tz.name())),
    ];

    let observance = |lines: &mut Vec<String>,
                      kind: &str,
                      start_local: String,
                      from: i32,
                      to: i32,
                      name: Option<String>,
                      rrule: Option<&str>| {
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{start_local}"));
        if let Some(rrule) = rrule {
            lines.push(format!("RRULE:{rrule}"));
        }
        lines.push(format!("TZOFFSETFROM:{}", utc_offset(from)));
        lines.push(format!("TZOFFSETTO:{}", utc_offset(to)));
        if let Some(name) = name {
            lines.push(format!("TZNAME:{}", text(&name)));
        }
        lines.push(format!("END:{kind}"));
    };
    let local = |at: DateTime<Utc>, offset: i32| {
        (at + Duration::seconds(i64::from(offset)))
            .format("%Y%m%dT%H%M%S")
            .to_string()
    };

    if let Some((standard, daylight)) = follows_eu_rule(&found, year) {
        // DTSTART of an observance is its first onset, in the local time before it.
        let onset = |month: u32, from: i32| {
            eu_change(1970, month).map_or_else(String::new, |at| local(at, from))
        };
        let summer = window_start + Duration::days(200);
        let winter = window_start;
        observance(
            &mut lines,
            "DAYLIGHT",
            onset(3, standard),
            standard,
            daylight,
            abbreviation(tz, summer),
            Some("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
        );
        observance(
            &mut lines,
            "STANDARD",
            onset(10, daylight),
            daylight,
            standard,
            abbreviation(tz, winter),
            Some("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
        );
    } else {
        // The offset in force at the window start, then each change as dated observance.
        let first = offset_at(tz, window_start);
        observance(
            &mut lines,
            "STANDARD",
            local(window_start, first),
            first,
            first,
            abbreviation(tz, window_start),
            None,
        );
        for t in &found {
            let kind = if t.to > t.from {
                "DAYLIGHT"
            } else {
                "STANDARD"
            };
            observance(
                &mut lines,
                kind,
                local(t.at, t.from),
                t.from,
                t.to,
                abbreviation(tz, t.at),
                None,
            );
        }
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

/// `(standard, daylight)` offsets when the transitions found are exactly the EU rule's (last
/// Sunday of March and of October at 01:00 UTC, one hour apart) for the three years probed.
fn follows_eu_rule(found: &[Transition], year: i32) -> Option<(i32, i32)> {
    if found.len() != 6 {
        return None;
    }
    let standard = found[0].from;
    let daylight = standard + 3600;
    let mut expected = Vec::new();
    for y in year - 1..=year + 1 {
        expected.push(Transition {
            at: eu_change(y, 3)?,
            from: standard,
            to: daylight,
        });
        expected.push(Transition {
            at: eu_change(y, 10)?,
            from: daylight,
            to: standard,
        });
    }
    (found == expected.as_slice()).then_some((standard, daylight))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::MeetingCalendar;
    use crate::config::{ClosedDayShift, MeetingRule, Person, ReferenceFormat};
    use chrono::{NaiveTime, Weekday};

    fn organisation() -> Organisation {
        Organisation {
            id: "woonhaven".into(),
            name: "Woonhaven Antwerpen".into(),
            shared_mailbox: "versneldedoorstroom@woonhaven.example".into(),
            time_zone: chrono_tz::Europe::Brussels,
            coordinators: vec![Person {
                name: "An Peeters".into(),
                email: "an.peeters@woonhaven.example".into(),
                phone: None,
            }],
            admins: vec![],
            staff_domains: vec![],
            trust: crate::config::TrustAnchor::None { chosen: false },
            case_reference: ReferenceFormat {
                prefix: "VD".into(),
                width: 4,
            },
            office_address: Some("Jan Van Rijswijcklaan 1, 2018 Antwerpen".into()),
        }
    }

    fn partner() -> Partner {
        Partner {
            id: "caw-antwerpen".into(),
            name: "CAW Antwerpen".into(),
            domains: vec!["caw-antwerpen.example".into()],
            addresses: vec![],
            agenda_to: vec!["teamwonen@caw-antwerpen.example".into()],
            monthly_quota: None,
            programme: "vivendo".into(),
            teams_link: Some(
                "https://teams.example/l/meetup-join/19%3ameeting_caw-antwerpen-structureel-overleg%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d".into(),
            ),
            meeting_place: None,
        }
    }

    fn schedule(tz: Tz, year: i32, month: u32) -> MonthSchedule {
        let rule = MeetingRule {
            meeting: crate::calendar::NthLastWeekday {
                n: 1,
                weekday: Weekday::Thu,
            },
            agenda: crate::calendar::NthLastWeekday {
                n: 2,
                weekday: Weekday::Thu,
            },
            agenda_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            meeting_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            duration_minutes: 90,
            online: true,
            teams_link: None,
            closing_days: vec![(
                NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            )],
            on_closing_day: ClosedDayShift::PreviousWorkingDay,
            conclusions_reminder_working_days: 3,
            candidate_display: Default::default(),
        };
        MeetingCalendar::new(&rule, tz)
            .month(Month::new(year, month).unwrap())
            .unwrap()
    }

    fn invitation(sequence: u32) -> Invitation {
        let p = partner();
        let mode = MeetingMode::Online {
            link: p.teams_link.clone().unwrap(),
        };
        Invitation::for_meeting(
            &organisation(),
            &p,
            &schedule(chrono_tz::Europe::Brussels, 2026, 12),
            &mode,
            sequence,
            DateTime::parse_from_rfc3339("2026-12-16T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    /// Unfold (RFC 5545 §3.1) for assertions on logical lines.
    fn unfold(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_uid_is_stable_per_organisation_partner_and_month() {
        let month = Month::new(2026, 12).unwrap();
        assert_eq!(
            meeting_uid(month, "caw-antwerpen", "woonhaven.example"),
            "meeting-2026-12-caw-antwerpen@woonhaven.example"
        );
        assert_eq!(invitation(0).uid, invitation(3).uid);
    }

    #[test]
    fn a_request_carries_method_tzid_times_sequence_and_rsvp() {
        let ics = request(&invitation(2));
        let lines = unfold(&ics);
        for expected in [
            "METHOD:REQUEST",
            "UID:meeting-2026-12-caw-antwerpen@woonhaven.example",
            "SEQUENCE:2",
            "DTSTAMP:20261216T080000Z",
            // December 2026: moved off the Christmas closing to Wednesday 23 December.
            "DTSTART;TZID=Europe/Brussels:20261223T100000",
            "DTEND;TZID=Europe/Brussels:20261223T113000",
            "ORGANIZER;CN=\"Woonhaven Antwerpen\":mailto:versneldedoorstroom@woonhaven.example",
            "ATTENDEE;CN=\"CAW Antwerpen\";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:teamwonen@caw-antwerpen.example",
            "STATUS:CONFIRMED",
            "TZID:Europe/Brussels",
        ] {
            assert!(lines.iter().any(|l| l == expected), "missing {expected}\n{ics}");
        }
    }

    #[test]
    fn a_teams_link_gets_outlooks_join_property_and_another_link_does_not() {
        for (link, teams) in [
            (
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
                true,
            ),
            ("https://teams.live.com/meet/9312345", true),
            ("https://gov.teams.microsoft.us/l/meetup-join/x", false),
            ("https://dod.teams.microsoft.com/l/x", true),
            ("https://teams.microsoft.com.evil.example/l/x", false),
            ("http://teams.microsoft.com/l/x", false),
            ("https://meet.jit.si/overleg", false),
            ("https://teams.example/caw", false),
        ] {
            assert_eq!(is_teams_link(link), teams, "{link}");
        }
        let mut inv = invitation(0);
        inv.url = Some("https://teams.microsoft.com/l/meetup-join/abc".into());
        let lines = unfold(&request(&inv));
        assert!(
            lines.contains(
                &"X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/abc"
                    .to_string()
            ),
            "{lines:?}"
        );
        inv.url = Some("https://meet.jit.si/overleg".into());
        let ics = request(&inv);
        assert!(!ics.contains("X-MICROSOFT-SKYPETEAMSMEETINGURL"), "{ics}");
    }

    #[test]
    fn brussels_gets_the_eu_rules_in_its_vtimezone() {
        let lines = vtimezone(
            chrono_tz::Europe::Brussels,
            DateTime::parse_from_rfc3339("2026-12-23T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        let expected = [
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Brussels",
            "BEGIN:DAYLIGHT",
            "DTSTART:19700329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "END:STANDARD",
            "END:VTIMEZONE",
        ];
        assert_eq!(lines, expected);
    }

    #[test]
    fn a_zone_outside_the_eu_rule_gets_its_dated_transitions() {
        let lines = vtimezone(
            chrono_tz::America::New_York,
            DateTime::parse_from_rfc3339("2026-12-23T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        // 2025–2027: six changes plus the opening observance.
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("DTSTART:")).count(),
            7
        );
        assert!(lines.contains(&"DTSTART:20260308T020000".to_string()));
        assert!(lines.contains(&"DTSTART:20261101T020000".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("RRULE")));
    }

    #[test]
    fn a_cancel_keeps_the_uid_and_says_cancelled() {
        let ics = cancel(&invitation(3));
        let lines = unfold(&ics);
        for expected in [
            "METHOD:CANCEL",
            "STATUS:CANCELLED",
            "SEQUENCE:3",
            "UID:meeting-2026-12-caw-antwerpen@woonhaven.example",
        ] {
            assert!(lines.iter().any(|l| l == expected), "missing {expected}");
        }
        assert!(!ics.contains("RSVP=TRUE"));
    }

    #[test]
    fn long_lines_are_folded_at_75_octets_without_splitting_characters() {
        let mut inv = invitation(0);
        inv.description = "é".repeat(100) + "; a, b\\c\nnext";
        let ics = request(&inv);
        for physical in ics.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{} octets: {physical}",
                physical.len()
            );
        }
        let lines = unfold(&ics);
        let description = lines
            .iter()
            .find(|l| l.starts_with("DESCRIPTION:"))
            .unwrap();
        assert!(
            description.ends_with("\\; a\\, b\\\\c\\nnext"),
            "{description}"
        );
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn parameter_values_cannot_break_out_of_their_quotes() {
        let mut inv = invitation(0);
        inv.attendees[0].name = Some("Team \"Wonen\";\r\nX-EVIL:1".into());
        let ics = request(&inv);
        assert!(ics.contains("CN=\"Team Wonen;X-EVIL:1\""), "{ics}");
        assert!(!unfold(&ics).iter().any(|l| l.starts_with("X-EVIL")));
    }

    /// Checks the invitation with an independent parser: Python's `icalendar` package
    /// (scripts/test installs it). Skipped, with a line on stderr, only without python3.
    #[test]
    fn python_icalendar_parses_request_and_cancel_and_agrees_on_the_instants() {
        if std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: python3 is not installed; the iCalendar output was not checked by an independent parser");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // Local times around the EU changes of 2026 and 2027, with their UTC offsets in hours.
        let brussels = r#"[[[2026, 7, 1, 12], 2], [[2026, 12, 1, 12], 1],
                           [[2027, 3, 28, 1, 59], 1], [[2027, 3, 28, 3, 0], 2],
                           [[2027, 10, 31, 3, 30], 1]]"#;
        let cases = [
            (
                "request.ics",
                request(&invitation(1)),
                "REQUEST",
                1,
                "2026-12-23T09:00:00+00:00",
                "Europe/Brussels",
                brussels,
            ),
            (
                "cancel.ics",
                cancel(&invitation(2)),
                "CANCEL",
                2,
                "2026-12-23T09:00:00+00:00",
                "Europe/Brussels",
                brussels,
            ),
        ];
        // Summer time too: June 2027's meeting (Thursday 24 June 10:00 CEST = 08:00 UTC).
        let mut summer = invitation(0);
        let june = schedule(chrono_tz::Europe::Brussels, 2027, 6);
        summer.start = june.meeting_start;
        summer.end = june.meeting_end;
        let summer = (
            "summer.ics",
            request(&summer),
            "REQUEST",
            0,
            "2027-06-24T08:00:00+00:00",
            "Europe/Brussels",
            brussels,
        );
        // A zone outside the EU rule gets dated observances: New York, 10:00 EST on Wednesday
        // 23 December 2026 (moved off the closing like Brussels) = 15:00 UTC; DST there from
        // 8 March to 1 November 2026.
        let mut new_york = invitation(0);
        let december = schedule(chrono_tz::America::New_York, 2026, 12);
        new_york.start = december.meeting_start;
        new_york.end = december.meeting_end;
        let new_york = (
            "new_york.ics",
            request(&new_york),
            "REQUEST",
            0,
            "2026-12-23T15:00:00+00:00",
            "America/New_York",
            r#"[[[2026, 3, 8, 1, 59], -5], [[2026, 3, 8, 3, 0], -4], [[2026, 7, 1, 12], -4],
                [[2026, 11, 1, 2, 30], -5], [[2027, 1, 15, 12], -5]]"#,
        );
        let script = r#"
import sys, datetime
import icalendar
import json
path, method, seq, start_utc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tzid, probes = sys.argv[5], json.loads(sys.argv[6])
cal = icalendar.Calendar.from_ical(open(path, 'rb').read())
assert str(cal['METHOD']) == method, cal['METHOD']
events = cal.walk('VEVENT')
assert len(events) == 1
ev = events[0]
assert str(ev['UID']) == 'meeting-2026-12-caw-antwerpen@woonhaven.example', ev['UID']
assert int(ev['SEQUENCE']) == seq, ev['SEQUENCE']
assert ev['DTSTART'].params['TZID'] == tzid, ev['DTSTART'].params
assert ev['DTEND'].params['TZID'] == tzid
assert str(cal.walk('VTIMEZONE')[0]['TZID']) == tzid
if method == 'CANCEL':
    assert str(ev['STATUS']) == 'CANCELLED'
# Our VTIMEZONE, read by icalendar itself (not its own zoneinfo for the same name), must give
# the instants chrono-tz gives.
tz = cal.walk('VTIMEZONE')[0].to_tz(lookup_tzid=False)
local = ev['DTSTART'].dt.replace(tzinfo=None)
got = local.replace(tzinfo=tz).astimezone(datetime.timezone.utc).isoformat()
assert got == start_utc, (got, start_utc)
for probe, offset in probes:
    o = datetime.datetime(*probe, tzinfo=tz).utcoffset()
    assert o == datetime.timedelta(hours=offset), (probe, o)
print('ok')
"#;
        for (name, ics, method, seq, start, tzid, probes) in
            cases.into_iter().chain([summer, new_york])
        {
            let path = dir.path().join(name);
            std::fs::write(&path, &ics).unwrap();
            let out = std::process::Command::new("python3")
                .arg("-c")
                .arg(script)
                .arg(&path)
                .arg(method)
                .arg(seq.to_string())
                .arg(start)
                .arg(tzid)
                .arg(probes)
                .output()
                .unwrap();
            assert!(
                out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
                "{name}: python icalendar rejected it (is `icalendar` installed? scripts/test \
                 installs it with pip)\nstdout: {}\nstderr: {}\n{ics}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
