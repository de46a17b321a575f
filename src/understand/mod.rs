//! Understanding a mail: `triage(raw bytes, register, config) -> Decision`.
//!
//! The pure core of the product (no I/O, no clock, never panics on any bytes): it decides what a
//! mail is, which partner and case it concerns, what it carries, and who must be told, the way a
//! careful coordinator reading the shared mailbox would. The daemon, `doorstroom ingest` and
//! `doorstroom triage` all call [`triage`]; the [`Register`] it reads is a plain value the store
//! fills.

//!
//! # Layout
//! - [`parse`]: bytes → readable parts (mail-parser underneath), [`html`], [`encoded`], [`tnef`]
//! - [`attachments`]: what a document is, from its name and its content (PDF, DOCX text)
//! - [`text`]: new vs quoted text, inline forwards, keywords, names, CIR, contact details
//! - [`dates`]: Dutch dates in all usual forms
//! - [`trust`]: is the sender who they say (the trust anchor: our own server's verdict), or us
//! - [`thread`]: which case (tag, thread, candidate name)
//! - [`classify`]: the decision, its reasons and who must be told
//! - [`reasons`]: those reasons in Dutch, where a coordinator reads them

pub mod answer;
pub mod attachments;
pub mod classify;
pub mod dates;
pub mod encoded;
pub mod handover;
pub mod html;
pub mod message_id;
pub mod parse;
pub mod reasons;
pub mod text;
pub mod thread;
pub mod tnef;
pub mod trust;

/// The keyword lists are config (the `[triage]` table); classification reads them from there.
pub use crate::config::keywords;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::config::{DocumentKind, Role};
pub use message_id::MessageId;

pub use crate::config::vocabulary::MailKind;

/// One decision per case in the conclusions of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Conclusion {
    /// Guidance ends well (positief afsluiten).
    ClosePositive,
    /// verlenging by this many months (a multiple of the programme's step).
    Extend { months: u32 },
    /// Discuss again at the next meeting.
    DiscussAgain,
    /// Closed otherwise (stopgezet, negatief).
    Closed,
}

impl Conclusion {
    /// The decision text of the `triage --json` contract: `close_positive`, `extend_6_months`,
    /// `discuss_again`, `closed`.
    pub fn as_text(self) -> String {
        match self {
            Conclusion::ClosePositive => "close_positive".into(),
            Conclusion::Extend { months } => format!("extend_{months}_months"),
            Conclusion::DiscussAgain => "discuss_again".into(),
            Conclusion::Closed => "closed".into(),
        }
    }
}

/// New contact details of a counsellor (woonbegeleider).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Guidance moving to another organisation (overdracht, `003` §4), as a mail or a staff answer
/// tells it. The case code decides what follows (at once, from a date, or waiting for the
/// config when the organisation is not a partner yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverFact {
    /// The configured partner that takes over, when the mail names one or writes as one.
    pub to_partner: Option<String>,
    /// The organisation as the mail names it: for one not in the config, what the coordinator
    /// is asked to add.
    pub organisation: Option<String>,
    /// A mail domain of that organisation, when the mail shows one (an address in the text).
    pub domain: Option<String>,
    /// From when the new organisation guides ("vanaf 1 maart"); none: at once.
    pub from: Option<NaiveDate>,
    /// The new counsellor, when the mail names one.
    pub counsellor: Option<Contact>,
    /// Who announced it: `old_partner`, `new_partner` or `staff`.
    pub announced_by: String,
}

/// An attachment as triage saw it: enough to store it and to say what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub kind: DocumentKind,
    pub size: usize,
    /// Why this attachment was judged to be this kind, or why it is unusable.
    pub note: Option<String>,
    /// Empty, truncated or unreadable: present but not usable as the required document.
    pub unusable: bool,
    /// The SHA-256 of the bytes; empty when not worked out (triage alone, a decision read back
    /// from JSON): the store then hashes the bytes itself.
    #[serde(skip)]
    pub sha256: String,
    /// The decoded bytes, kept so that intake can store the document on the case; shared, not
    /// copied, with the case's document.
    #[serde(skip)]
    pub bytes: std::sync::Arc<Vec<u8>>,
}

/// What triage decided about one mail. Serialises to the `triage --json` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The path given on the command line (`triage`, `ingest`); empty for the daemon.
    pub file: String,
    pub kind: MailKind,
    /// The partner id, from the verified sender.
    pub partner: Option<String>,
    pub case_ref: Option<String>,
    pub candidate: Option<String>,
    pub cir: Option<String>,
    /// Kinds of the usable documents present.
    pub documents: Vec<DocumentKind>,
    /// Required documents missing, empty or unreadable.
    pub missing: Vec<DocumentKind>,
    /// Does the sender get an acknowledgement? Never for automated mail, spam, spoofs or unknown
    /// senders.
    pub must_auto_reply: bool,
    /// Who must be told, even if they were in Cc already (the outbox avoids sending twice).
    pub notify: Vec<Role>,
    pub lease_start: Option<NaiveDate>,
    /// case reference → decision text (see [`Conclusion::as_text`]).
    pub conclusions: BTreeMap<String, String>,
    pub new_contact: Option<Contact>,
    /// A handover of the guidance to another organisation (kind `handover`, or the staff word
    /// `overdracht:`); absent, and not printed, for every other mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<HandoverFact>,
    /// Message-ID of the earlier copy when this mail is a duplicate.
    pub duplicate_of: Option<String>,
    /// Human-readable: why this kind, which header, word or attachment decided.
    pub reasons: Vec<String>,
    /// How sure triage is of this decision, 0.0–1.0 (two decimals). Below the `[triage]`
    /// `confidence_threshold` the mail is handled as far as is safe and the coordinator is asked
    /// to confirm it.
    #[serde(serialize_with = "two_decimals", default = "certain")]
    pub confidence: f64,
    /// What lowered [`Decision::confidence`], in the order it was found; empty at 1.0.
    #[serde(default)]
    pub confidence_reasons: Vec<String>,
    /// Everything else the case code needs, not part of the printed contract.
    #[serde(skip)]
    pub facts: Facts,
}

/// Decisions stored before confidence existed read back as certain.
fn certain() -> f64 {
    1.0
}

fn two_decimals<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((value.clamp(0.0, 1.0) * 100.0).round() / 100.0)
}

/// Facts of a mail beyond the printed contract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub message_id: Option<MessageId>,
    pub in_reply_to: Vec<MessageId>,
    /// The mail's `References`, oldest first: an answer continues the thread with them.
    pub references: Vec<MessageId>,
    pub subject: String,
    /// The sender's address (lowercase), after unwrapping a forward when the forwarder is trusted.
    pub sender: Option<String>,
    /// The sender's display name, when the mail gives one ("Els Wouters").
    pub sender_name: Option<String>,
    /// The sender's phone as their signature gives it ("GSM 0470 12 34 56"): kept on a new
    /// case's counsellor, so that alerts can say how to reach them.
    pub sender_phone: Option<String>,
    /// Addresses in To and Cc, lowercase.
    pub recipients: Vec<String>,
    /// The sender is one of the landlord's own staff.
    pub from_staff: bool,
    /// The short problem statement for the agenda (concerns, discussion requests).
    pub statement: Option<String>,
    /// Good news about the case in the partner's own words (`[triage] good_news_words`): an
    /// update for its social assistant, not a new concern.
    pub good_news: Vec<String>,
    pub stop_date: Option<NaiveDate>,
    /// Structured conclusions, same keys as [`Decision::conclusions`].
    pub conclusions: BTreeMap<String, Conclusion>,
    pub attachments: Vec<Attachment>,
    /// The readable text of the mail body (for the case history and the digest).
    pub body_text: String,
    /// What this copy of the mail holds (a SHA-256 of the normalised body, then the
    /// attachments' hashes: [`classify::content_fingerprint`]), for duplicate detection across
    /// relays.
    pub body_hash: String,
    /// A bounce: the Message-IDs it names as the returned mail (the enclosed message, the DSN's
    /// headers, In-Reply-To). Intake marks the ones we sent as bounced.
    pub bounced: Vec<MessageId>,
    /// A spoof: the partner whose address the From claims (never in `Decision::partner`, which
    /// only a verified sender sets). Intake keeps it for the digest's count of spoof attempts.
    pub claimed_partner: Option<String>,
}

/// A case as triage needs to know it: enough to recognise it, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCase {
    pub case_ref: String,
    pub partner: String,
    pub candidate: String,
    pub cir: Option<String>,
    pub counsellor_email: Option<String>,
    pub social_assistant: Option<String>,
    pub open: bool,
}

/// The case register triage reads: a plain value filled by the store.
#[derive(Debug, Clone, Default)]
pub struct Register {
    /// Shared, so that intake builds a register per mail from the open cases it read once.
    pub cases: Vec<Arc<RegisteredCase>>,
    /// Message-IDs of mails `doorstroom` sent or received → the case they belong to, so that a
    /// reply (In-Reply-To / References) threads to its case.
    pub threads: HashMap<String, String>,
    /// Earlier mails with the same Message-ID as the one being triaged: (body hash, Message-ID).
    /// The caller fills this for the mail at hand only.
    pub earlier: Vec<(String, String)>,
}

impl Register {
    pub fn case(&self, case_ref: &str) -> Option<&RegisteredCase> {
        self.cases
            .iter()
            .find(|c| c.case_ref.eq_ignore_ascii_case(case_ref))
            .map(Arc::as_ref)
    }
}

/// Decide what one mail is. Pure, total: any bytes give a decision, never a panic.
pub fn triage(raw: &[u8], register: &Register, config: &Config) -> Decision {
    let parsed = parse::parse_within(raw, &config.limits);
    classify::decide(parsed, register, config)
}
