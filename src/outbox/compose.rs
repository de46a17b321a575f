//! Composing: a rendered notice and its resolved recipients → the exact RFC 5322 bytes that will
//! be sent (and stored in the outbox row, so that a retry sends the very same message).
//!
//! Owns the headers: `From` the shared mailbox under the landlord's name, `Reply-To` the shared
//! mailbox, the case tag in the subject, threading (`In-Reply-To`, `References`, RFC 5322
//! §3.6.4), `Auto-Submitted` (RFC 3834 §5), `X-Auto-Response-Suppress` (Exchange), urgency, and a
//! deterministic `Message-ID`. Never decides who may receive a mail: recipients arrive checked by
//! [`super::guard`]. Pure apart from lettre's random MIME boundary.

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sha2::{Digest, Sha256};

use super::{Answering, Notice, Rendered};
use crate::config::Config;
use crate::understand::MessageId;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// An address that is not a valid mailbox (a bug upstream or a bad config value).
    #[error("invalid address `{address}`: {message}")]
    Address { address: String, message: String },
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Everything one message is made of.
pub struct Composition<'a> {
    pub notice: &'a Notice,
    /// Checked by the guard; the `To` of the message.
    pub recipients: &'a [String],
    pub rendered: &'a Rendered,
    /// The mail being answered, when this message answers its sender.
    pub answering: Option<&'a Answering>,
    /// The candidate's initials (`J.P.`) when the mail is about a case: an answer names them in
    /// its subject, so that two acknowledgements of one day can be told apart.
    pub initials: Option<String>,
    /// The `Date` header (written in the organisation's time zone).
    pub now: DateTime<Utc>,
    /// A calendar invitation or cancellation sent along (the meeting agenda), if any.
    pub calendar: Option<&'a CalendarPart>,
}

/// An iCalendar object sent as a `text/calendar; method=…` part next to the text and HTML:
/// how Outlook, Gmail and Thunderbird recognise an invitation (RFC 6047 §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarPart {
    /// The iTIP method inside the object: `REQUEST` or `CANCEL`.
    pub method: &'static str,
    /// The complete `BEGIN:VCALENDAR … END:VCALENDAR` text, CRLF line ends.
    pub ics: String,
}

/// A composed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub message_id: String,
    /// The full subject, with the case tag.
    pub subject: String,
    pub bytes: Vec<u8>,
}

/// The Message-ID of one effect: derived from (organisation, effect key) only, under the
/// landlord's mail domain, so that the same effect always has the same Message-ID (queueing
/// twice, retrying, and the exactly-once check after a crash all rely on it) and replies thread
/// back (their `In-Reply-To` names it).
pub fn message_id_for(config: &Config, effect_key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(config.organisation.id.as_bytes());
    hash.update([0]);
    hash.update(effect_key.as_bytes());
    let digest = hex::encode(hash.finalize());
    format!("<{}.doorstroom@{}>", &digest[..32], config.mail_domain())
}

/// Was this Message-ID minted by `doorstroom` for this landlord? (See
/// [`Config::is_own_message_id`], which triage uses to recognise our own copies.)
pub fn is_own_message_id(config: &Config, message_id: &str) -> bool {
    config.is_own_message_id(message_id)
}

/// The subject with the case tag in front (`[VD-2026-0007] Aanmelding ontvangen`), exactly once
/// even when the template wrote it already.
pub fn tagged_subject(case_ref: Option<&str>, subject: &str) -> String {
    match case_ref {
        Some(r) if !subject.contains(&format!("[{r}]")) => format!("[{r}] {subject}"),
        _ => subject.to_string(),
    }
}

/// Prefixes mail clients put before a subject they answer or forward (Dutch and English
/// Outlook, Thunderbird, Gmail), compared case-insensitively.
const ANSWER_PREFIXES: &[&str] = &["re:", "aw:", "antw:", "antwoord:", "fw:", "fwd:", "doorst:"];

/// The subject of an answer: the partner's own subject after one `Re: ` (so that Outlook's
/// conversation view and Thunderbird keep it in the partner's thread), then the case tag and
/// the candidate's initials, each once (`Re: Aanmelding Jan Peeters [VD-2026-0007] J.P.`).
/// Without a subject of the partner, the template's subject with the tag in front.
pub fn answer_subject(
    theirs: &str,
    case_ref: Option<&str>,
    initials: Option<&str>,
    ours: &str,
) -> String {
    let mut rest = theirs.trim();
    // `RE: AW: Re: x` → `x`.
    while let Some(p) = ANSWER_PREFIXES.iter().find(|p| {
        rest.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    }) {
        rest = rest[p.len()..].trim_start();
    }
    if rest.is_empty() {
        return tagged_subject(case_ref, ours);
    }
    let mut subject = format!("Re: {rest}");
    if let Some(r) = case_ref.filter(|r| !rest.contains(*r)) {
        subject.push_str(&format!(" [{r}]"));
    }
    if let Some(i) = initials.filter(|i| !i.is_empty() && !rest.contains(*i)) {
        subject.push_str(&format!(" {i}"));
    }
    subject
}

/// RFC 5322 §3.3 date-time in the organisation's zone (`Fri, 04 Dec 2026 18:50:00 +0100`):
/// lettre only writes UTC, which partners' clients show as the wrong hour in the raw source
/// and some list views.
fn local_date(config: &Config, now: DateTime<Utc>) -> String {
    now.with_timezone(&config.organisation.time_zone)
        .format("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

/// Replace the `Date:` line lettre wrote (in UTC) by the local one, in the header section only.
fn with_local_date(mut bytes: Vec<u8>, date: &str) -> Vec<u8> {
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let mut at = 0;
    while at < head_end {
        let line_end = bytes[at..head_end]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(head_end, |p| at + p);
        if bytes[at..line_end].starts_with(b"Date: ") {
            let line = format!("Date: {date}");
            bytes.splice(at..line_end, line.into_bytes());
            return bytes;
        }
        at = line_end + 2;
    }
    bytes
}

fn header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string())
}

fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, ComposeError> {
    let parsed = address
        .parse()
        .map_err(|e: lettre::address::AddressError| ComposeError::Address {
            address: address.to_string(),
            message: e.to_string(),
        })?;
    Ok(Mailbox::new(name.map(str::to_string), parsed))
}

/// Build the message. The `Bcc` copy to the shared mailbox (the proof of delivery, see
/// [`super::send`]) is added to the envelope at send time, never to the headers.
pub fn compose(config: &Config, c: &Composition<'_>) -> Result<Composed, ComposeError> {
    let org = &config.organisation;
    let message_id = message_id_for(config, &c.notice.effect_key());
    let subject = match c.answering {
        Some(a) => answer_subject(
            &a.subject,
            c.notice.case_ref.as_deref(),
            c.initials.as_deref(),
            &c.rendered.subject,
        ),
        None => tagged_subject(c.notice.case_ref.as_deref(), &c.rendered.subject),
    };
    let from = mailbox(&org.shared_mailbox, Some(&org.name))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .reply_to(from)
        .subject(subject.clone())
        .message_id(Some(message_id.clone()))
        .date(std::time::SystemTime::from(c.now))
        // RFC 3834 §5: an answer to a mail is `auto-replied`, anything else we start is
        // `auto-generated`; either way, well-behaved responders do not answer it.
        .raw_header(header(
            "Auto-Submitted",
            if c.answering.is_some() {
                "auto-replied"
            } else {
                "auto-generated"
            },
        ))
        // Exchange / Outlook: no out-of-office, read receipts or delivery reports back.
        .raw_header(header("X-Auto-Response-Suppress", "All"));
    if c.notice.urgent {
        builder = builder
            .raw_header(header("Importance", "high"))
            .raw_header(header("X-Priority", "1"));
    }
    for r in c.recipients {
        builder = builder.to(mailbox(r, None)?);
    }
    if let Some(a) = c.answering {
        // Only well-formed ids ever become a MessageId, so nothing from a partner's headers
        // can inject one of ours.
        if let Some(id) = &a.message_id {
            builder = builder.in_reply_to(id.to_string());
            // RFC 5322 §3.6.4: the parent's References (or its In-Reply-To) followed by the
            // parent's Message-ID. Capped so that a long thread cannot grow the header forever.
            let mut refs: Vec<&str> = a
                .references
                .iter()
                .map(MessageId::as_str)
                .filter(|r| *r != id.as_str())
                .collect();
            refs.push(id.as_str());
            let keep = refs.len().saturating_sub(20);
            builder = builder.references(refs[keep..].join(" "));
        }
    }
    let mut body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(c.rendered.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(c.rendered.html.clone()),
        );
    if let Some(calendar) = c.calendar {
        // The last alternative is the richest: clients that understand calendars show the
        // invitation, the others the HTML.
        let content_type = ContentType::parse(&format!(
            "text/calendar; charset=utf-8; method={}",
            calendar.method
        ))
        .map_err(|e| ComposeError::Build(format!("calendar content type: {e}")))?;
        body = body.singlepart(
            SinglePart::builder()
                .header(content_type)
                .body(calendar.ics.clone()),
        );
    }
    let message = builder
        .multipart(body)
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed {
        message_id,
        subject,
        bytes: with_local_date(message.formatted(), &local_date(config, c.now)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_tag_is_added_once() {
        assert_eq!(
            tagged_subject(Some("VD-2026-0007"), "Aanmelding ontvangen"),
            "[VD-2026-0007] Aanmelding ontvangen"
        );
        assert_eq!(
            tagged_subject(Some("VD-2026-0007"), "[VD-2026-0007] x"),
            "[VD-2026-0007] x"
        );
        assert_eq!(tagged_subject(None, "Dagoverzicht"), "Dagoverzicht");
    }

    #[test]
    fn an_answer_keeps_the_partners_subject_and_adds_the_tag_and_initials_once() {
        let ours = "Aanmelding ontvangen";
        for (theirs, want) in [
            (
                "Aanmelding versnelde doorstroom",
                "Re: Aanmelding versnelde doorstroom [VD-2026-0007] J.P.",
            ),
            (
                "RE: AW: Antw: Aanmelding versnelde doorstroom",
                "Re: Aanmelding versnelde doorstroom [VD-2026-0007] J.P.",
            ),
            (
                "Re: [VD-2026-0007] J.P. addendum",
                "Re: [VD-2026-0007] J.P. addendum",
            ),
            ("", "[VD-2026-0007] Aanmelding ontvangen"),
            ("Re:", "[VD-2026-0007] Aanmelding ontvangen"),
        ] {
            assert_eq!(
                answer_subject(theirs, Some("VD-2026-0007"), Some("J.P."), ours),
                want,
                "{theirs:?}"
            );
        }
    }

    #[test]
    fn the_date_header_is_written_in_the_organisations_zone() {
        let config = crate::outbox::testing::config();
        let winter = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 4, 17, 50, 0).unwrap();
        let summer = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 7, 4, 17, 50, 0).unwrap();
        assert_eq!(
            local_date(&config, winter),
            "Fri, 04 Dec 2026 18:50:00 +0100"
        );
        assert_eq!(
            local_date(&config, summer),
            "Sat, 04 Jul 2026 19:50:00 +0200"
        );
        let raw = b"From: a@b\r\nDate: Fri, 04 Dec 2026 17:50:00 +0000\r\nSubject: x\r\n\r\nDate: body\r\n";
        let out = with_local_date(raw.to_vec(), "Fri, 04 Dec 2026 18:50:00 +0100");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From: a@b\r\nDate: Fri, 04 Dec 2026 18:50:00 +0100\r\nSubject: x\r\n\r\nDate: body\r\n"
        );
    }
}
