//! The case (dossier) as a value: its fields, its status graph and the events that record every
//! change with its cause.
//!
//! Status moves only through the named [`Transition`]s; anything else is an [`IllegalTransition`]
//! with a message a coordinator can read. Nothing here reads a clock or a database: the caller
//! passes `at` and stores the returned [`CaseEvent`].

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{DocumentKind, MilestoneKind};
use crate::config::{Programme, ReferenceFormat};

/// Where a case is in its life. The JSON and database names are the snake_case variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// aanmelding received, a required document is missing.
    ReferredIncomplete,
    /// aanmelding with every required document.
    ReferredComplete,
    /// toewijzing: a dwelling is allocated, the lease has not started yet.
    Allocated,
    /// The lease started: the milestone plan runs.
    InGuidance,
    /// verlenging: guidance runs past the planned final evaluation; discussed every month.
    Extended,
    /// stopzetting: guidance stopped by agreement; the eindverslag may still be due.
    Stopped,
    ClosedPositive,
    ClosedNegative,
    /// Guidance moved to an organisation outside this installation.
    Transferred,
    /// Personal data removed by retention; only anonymous figures remain.
    Anonymised,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::ReferredIncomplete,
        Status::ReferredComplete,
        Status::Allocated,
        Status::InGuidance,
        Status::Extended,
        Status::Stopped,
        Status::ClosedPositive,
        Status::ClosedNegative,
        Status::Transferred,
        Status::Anonymised,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::ReferredIncomplete => "referred_incomplete",
            Status::ReferredComplete => "referred_complete",
            Status::Allocated => "allocated",
            Status::InGuidance => "in_guidance",
            Status::Extended => "extended",
            Status::Stopped => "stopped",
            Status::ClosedPositive => "closed_positive",
            Status::ClosedNegative => "closed_negative",
            Status::Transferred => "transferred",
            Status::Anonymised => "anonymised",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How staff call it, in the mails they get (a dossier asked for by mail).
    pub fn dutch(self) -> &'static str {
        match self {
            Status::ReferredIncomplete => "aangemeld, onvolledig",
            Status::ReferredComplete => "aangemeld",
            Status::Allocated => "toegewezen",
            Status::InGuidance => "in begeleiding",
            Status::Extended => "verlengd",
            Status::Stopped => "stopgezet",
            Status::ClosedPositive => "positief afgesloten",
            Status::ClosedNegative => "negatief afgesloten",
            Status::Transferred => "overgedragen",
            Status::Anonymised => "geanonimiseerd",
        }
    }

    /// Guidance is running: milestones count and escalate.
    pub fn is_guided(self) -> bool {
        matches!(self, Status::InGuidance | Status::Extended)
    }

    /// Not yet ended: the case belongs on the partner's overview.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::ReferredIncomplete
                | Status::ReferredComplete
                | Status::Allocated
                | Status::InGuidance
                | Status::Extended
        )
    }

    /// Guidance has ended one way or another (stopped counts: only the report is still due).
    pub fn is_closed(self) -> bool {
        !self.is_open()
    }

    /// Apply a named transition, or say why it is not allowed.
    pub fn apply(self, transition: Transition) -> Result<Status, IllegalTransition> {
        if transition.allowed_from().contains(&self) {
            Ok(transition.target())
        } else {
            Err(IllegalTransition {
                from: self,
                transition,
            })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The only ways a status changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The last missing document of the referral arrived.
    Complete,
    /// A dwelling was allocated. Allowed from an incomplete referral too: paperwork may follow
    /// the allocation, and the missing documents stay visible on the case.
    Allocate,
    /// The lease started.
    StartGuidance,
    /// The partner takes on guidance the landlord asked for (preventive guidance, `002` §4.3):
    /// guidance starts without an allocation.
    TakeOn,
    /// verlenging by a multiple of the programme's step (again from `extended`).
    Extend,
    /// stopzetting by agreement.
    Stop,
    ClosePositive,
    CloseNegative,
    /// Guidance moved to an organisation outside this installation.
    Transfer,
    Anonymise,
}

impl Transition {
    pub const ALL: [Transition; 10] = [
        Transition::Complete,
        Transition::Allocate,
        Transition::StartGuidance,
        Transition::TakeOn,
        Transition::Extend,
        Transition::Stop,
        Transition::ClosePositive,
        Transition::CloseNegative,
        Transition::Transfer,
        Transition::Anonymise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Complete => "complete",
            Transition::Allocate => "allocate",
            Transition::StartGuidance => "start_guidance",
            Transition::TakeOn => "take_on",
            Transition::Extend => "extend",
            Transition::Stop => "stop",
            Transition::ClosePositive => "close_positive",
            Transition::CloseNegative => "close_negative",
            Transition::Transfer => "transfer",
            Transition::Anonymise => "anonymise",
        }
    }

    pub fn target(self) -> Status {
        match self {
            Transition::Complete => Status::ReferredComplete,
            Transition::Allocate => Status::Allocated,
            Transition::StartGuidance | Transition::TakeOn => Status::InGuidance,
            Transition::Extend => Status::Extended,
            Transition::Stop => Status::Stopped,
            Transition::ClosePositive => Status::ClosedPositive,
            Transition::CloseNegative => Status::ClosedNegative,
            Transition::Transfer => Status::Transferred,
            Transition::Anonymise => Status::Anonymised,
        }
    }

    /// The graph, written once: the statuses each transition may leave from.
    pub fn allowed_from(self) -> &'static [Status] {
        use Status::*;
        match self {
            Transition::Complete => &[ReferredIncomplete],
            Transition::Allocate => &[ReferredIncomplete, ReferredComplete],
            Transition::StartGuidance => &[Allocated],
            Transition::TakeOn => &[ReferredIncomplete, ReferredComplete],
            Transition::Extend => &[InGuidance, Extended],
            Transition::Stop => &[Allocated, InGuidance, Extended],
            Transition::ClosePositive => &[InGuidance, Extended, Stopped],
            Transition::CloseNegative => &[
                ReferredIncomplete,
                ReferredComplete,
                Allocated,
                InGuidance,
                Extended,
                Stopped,
            ],
            Transition::Transfer => &[Allocated, InGuidance, Extended, Stopped],
            Transition::Anonymise => &[Stopped, ClosedPositive, ClosedNegative, Transferred],
        }
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition the graph does not allow from the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot {transition} a case that is {from} (allowed from: {})",
    allowed(*transition)
)]
pub struct IllegalTransition {
    pub from: Status,
    pub transition: Transition,
}

fn allowed(t: Transition) -> String {
    t.allowed_from()
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a case changed: every event names exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cause {
    /// The mail (row id in `mails`) whose decision was applied.
    Mail { id: i64 },
    /// A periodic job and its slot (e.g. `escalation`, `2026-12-03`).
    Job { name: String, slot: String },
    /// An admin command, as typed.
    Admin { command: String },
    /// An import file.
    Import { file: String },
    /// A staff member's answer (by mail) about mail `mail` (row id in `mails`): a correction.
    Staff { by: String, mail: i64 },
}

impl Cause {
    /// `(cause_kind, cause_ref)` as stored in `case_events`.
    pub fn columns(&self) -> (&'static str, String) {
        match self {
            Cause::Mail { id } => ("mail", id.to_string()),
            Cause::Job { name, slot } => ("job", format!("{name}:{slot}")),
            Cause::Admin { command } => ("admin", command.clone()),
            Cause::Import { file } => ("import", file.clone()),
            Cause::Staff { by, mail } => ("staff", format!("{mail}:{by}")),
        }
    }

    pub fn from_columns(kind: &str, reference: &str) -> Option<Cause> {
        Some(match kind {
            "mail" => Cause::Mail {
                id: reference.parse().ok()?,
            },
            "job" => {
                let (name, slot) = reference.split_once(':').unwrap_or((reference, ""));
                Cause::Job {
                    name: name.into(),
                    slot: slot.into(),
                }
            }
            "admin" => Cause::Admin {
                command: reference.into(),
            },
            "import" => Cause::Import {
                file: reference.into(),
            },
            "staff" => {
                let (mail, by) = reference.split_once(':')?;
                Cause::Staff {
                    by: by.into(),
                    mail: mail.parse().ok()?,
                }
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Mail { id } => write!(f, "mail #{id}"),
            Cause::Job { name, slot } => write!(f, "job {name} ({slot})"),
            Cause::Admin { command } => write!(f, "admin: {command}"),
            Cause::Import { file } => write!(f, "import {file}"),
            Cause::Staff { by, mail } => write!(f, "{by} about mail #{mail}"),
        }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    /// `created`, `status`, `document`, `counsellor`, `lease_start`, `milestone_done`, `concern`,
    /// `extension`, `outcome`, `transfer`, `discuss_again`, ...
    pub kind: String,
    pub detail: serde_json::Value,
    pub cause: Cause,
}

/// The partner's counsellor (woonbegeleider) on a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counsellor {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Counsellor {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "email": self.email, "phone": self.phone})
    }
}

/// Where a handover of the guidance stands before it takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverState {
    /// `handover_pending`: the new organisation is not a configured partner yet. The old
    /// partner keeps the case, and nothing goes to the new organisation, until the config
    /// names it.
    Pending,
    /// The new organisation is a partner, and the handover date has not come yet.
    Planned,
}

/// A handover of the guidance to another organisation (overdracht, `003` §4) that has not taken
/// effect yet. When it does, the case's partner and counsellor change and this is cleared; the
/// reference, the milestone plan and the history stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedHandover {
    /// The partner id that takes over; for an organisation not in the config, the id the
    /// coordinator is asked to add.
    pub to: String,
    /// The organisation as the mail or the command named it.
    pub name: String,
    /// A mail domain of the organisation, when known (for the config block of a new partner).
    pub domain: Option<String>,
    /// From this day the new organisation guides.
    pub from: NaiveDate,
    /// The new counsellor, as far as known.
    pub counsellor: Counsellor,
    pub state: HandoverState,
    /// Who announced it: `old_partner`, `new_partner`, `staff` or `admin`.
    pub announced_by: String,
}

/// A document on a case, with who sent it when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: Option<i64>,
    pub kind: DocumentKind,
    pub filename: String,
    pub sha256: Option<String>,
    pub size: u64,
    pub mail_id: Option<i64>,
    pub sender: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Present but empty or unreadable: does not count as the required document.
    pub usable: bool,
    pub note: Option<String>,
    /// The bytes of a document not stored yet (shared with the attachment triage saw, not
    /// copied); empty once stored.
    #[serde(skip)]
    pub bytes: std::sync::Arc<Vec<u8>>,
}

/// A step in the guidance timeline, planned from the lease start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub id: Option<i64>,
    pub kind: MilestoneKind,
    pub name: String,
    pub due_on: NaiveDate,
    /// `YYYY-MM` of the monthly meeting where it is discussed (None: not a meeting item).
    pub meeting_month: Option<String>,
    pub done_on: Option<NaiveDate>,
    /// How many escalation steps were sent already.
    pub escalation_step: u32,
    /// Replaced by a recomputed plan; kept for the history.
    pub superseded: bool,
    pub counsellor_attends: bool,
    pub discuss_at_meeting: bool,
}

impl Milestone {
    pub fn is_pending(&self) -> bool {
        self.done_on.is_none() && !self.superseded
    }
}

/// A concern (zorg) noted for the next meeting, with its short problem statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concern {
    pub id: Option<i64>,
    pub statement: String,
    pub urgent: bool,
    pub raised_at: DateTime<Utc>,
    pub mail_id: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Were the guidance goals met (`002` §5.5)?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalsMet {
    Yes,
    Partly,
    No,
}

impl GoalsMet {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalsMet::Yes => "yes",
            GoalsMet::Partly => "partly",
            GoalsMet::No => "no",
        }
    }

    pub fn parse(s: &str) -> Option<GoalsMet> {
        match s {
            "yes" => Some(GoalsMet::Yes),
            "partly" => Some(GoalsMet::Partly),
            "no" => Some(GoalsMet::No),
            _ => None,
        }
    }
}

/// The dossier of one referred candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Row id once stored.
    pub id: Option<i64>,
    /// `VD-2026-0007`; never reused.
    pub case_ref: String,
    pub partner: String,
    pub programme: String,
    pub status: Status,
    pub candidate: String,
    /// Centraal Inschrijvingsregister number.
    pub cir: Option<String>,
    /// The landlord's social assistant (mail address) responsible for the tenant.
    pub social_assistant: Option<String>,
    pub counsellor: Counsellor,
    /// ingang huurovereenkomst: every milestone counts from it.
    pub lease_start: Option<NaiveDate>,
    pub referred_at: DateTime<Utc>,
    /// Planned end of guidance, moved by extensions.
    pub guidance_end: Option<NaiveDate>,
    /// Sum of all extensions (verlengingen), in months.
    pub extension_months: u32,
    pub stopped_on: Option<NaiveDate>,
    /// The eindverslag is expected by this date (a stop without it).
    pub report_due: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub goals_met: Option<GoalsMet>,
    pub eviction_avoided: Option<bool>,
    /// Guidance the landlord asked of the partner outside accelerated allocation.
    pub other_guidance: bool,
    /// The closed case this one continues (a relapse reopened within the aftercare period).
    pub previous_case: Option<String>,
    /// A handover to another organisation announced but not in effect yet.
    pub handover: Option<PlannedHandover>,
    pub documents: Vec<Document>,
    pub milestones: Vec<Milestone>,
    pub concerns: Vec<Concern>,
}

impl Case {
    /// Whether the case's own fields (the case row, without documents, milestones and concerns)
    /// are those of `other`. Every field is named, so that a new one is not forgotten here.
    pub fn same_row(&self, other: &Case) -> bool {
        let Case {
            id,
            case_ref,
            partner,
            programme,
            status,
            candidate,
            cir,
            social_assistant,
            counsellor,
            lease_start,
            referred_at,
            guidance_end,
            extension_months,
            stopped_on,
            report_due,
            closed_at,
            goals_met,
            eviction_avoided,
            other_guidance,
            previous_case,
            handover,
            documents: _,
            milestones: _,
            concerns: _,
        } = self;
        *id == other.id
            && *case_ref == other.case_ref
            && *partner == other.partner
            && *programme == other.programme
            && *status == other.status
            && *candidate == other.candidate
            && *cir == other.cir
            && *social_assistant == other.social_assistant
            && *counsellor == other.counsellor
            && *lease_start == other.lease_start
            && *referred_at == other.referred_at
            && *guidance_end == other.guidance_end
            && *extension_months == other.extension_months
            && *stopped_on == other.stopped_on
            && *report_due == other.report_due
            && *closed_at == other.closed_at
            && *goals_met == other.goals_met
            && *eviction_avoided == other.eviction_avoided
            && *other_guidance == other.other_guidance
            && *previous_case == other.previous_case
            && *handover == other.handover
    }

    /// A fresh referral, not stored yet.
    pub fn new(
        case_ref: String,
        partner: &str,
        programme: &str,
        candidate: &str,
        referred_at: DateTime<Utc>,
    ) -> Case {
        Case {
            id: None,
            case_ref,
            partner: partner.into(),
            programme: programme.into(),
            status: Status::ReferredIncomplete,
            candidate: candidate.into(),
            cir: None,
            social_assistant: None,
            counsellor: Counsellor::default(),
            lease_start: None,
            referred_at,
            guidance_end: None,
            extension_months: 0,
            stopped_on: None,
            report_due: None,
            closed_at: None,
            goals_met: None,
            eviction_avoided: None,
            other_guidance: false,
            previous_case: None,
            handover: None,
            documents: Vec::new(),
            milestones: Vec::new(),
            concerns: Vec::new(),
        }
    }

    /// Move the status by a named transition and return the event recording it.
    pub fn transition(
        &mut self,
        transition: Transition,
        at: DateTime<Utc>,
        cause: &Cause,
    ) -> Result<CaseEvent, CaseError> {
        let from = self.status;
        let to = from
            .apply(transition)
            .map_err(|source| CaseError::Illegal {
                case_ref: self.case_ref.clone(),
                source,
            })?;
        self.status = to;
        if to.is_closed() && to != Status::Stopped && self.closed_at.is_none() {
            self.closed_at = Some(at);
        }
        Ok(self.event(
            at,
            "status",
            serde_json::json!({"from": from, "to": to, "transition": transition}),
            cause,
        ))
    }

    /// An event about this case (no status change).
    pub fn event(
        &self,
        at: DateTime<Utc>,
        kind: &str,
        detail: serde_json::Value,
        cause: &Cause,
    ) -> CaseEvent {
        CaseEvent {
            at,
            kind: kind.into(),
            detail,
            cause: cause.clone(),
        }
    }

    /// Kinds of the usable documents on the case.
    pub fn document_kinds(&self) -> Vec<DocumentKind> {
        let mut kinds: Vec<DocumentKind> = self
            .documents
            .iter()
            .filter(|d| d.usable)
            .map(|d| d.kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The programme's required documents not (usably) on the case.
    pub fn missing_documents(&self, programme: &Programme) -> Vec<DocumentKind> {
        let have = self.document_kinds();
        programme
            .required_documents
            .iter()
            .copied()
            .filter(|k| !have.contains(k))
            .collect()
    }

    pub fn has_final_report(&self) -> bool {
        self.documents
            .iter()
            .any(|d| d.usable && d.kind == DocumentKind::FinalReport)
    }

    /// Open concerns, oldest first.
    pub fn open_concerns(&self) -> impl Iterator<Item = &Concern> {
        self.concerns.iter().filter(|c| c.resolved_at.is_none())
    }

    /// The database `outcome` column: positive | negative | transferred.
    pub fn outcome(&self) -> Option<&'static str> {
        match self.status {
            Status::ClosedPositive => Some("positive"),
            Status::ClosedNegative => Some("negative"),
            Status::Transferred => Some("transferred"),
            _ => None,
        }
    }
}

/// Something asked of a case that cannot be done. Permanent: retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    #[error("case {case_ref}: {source}")]
    Illegal {
        case_ref: String,
        source: IllegalTransition,
    },
    #[error("case {0} is not in the register")]
    UnknownCase(String),
    #[error("partner `{0}` is not in the config")]
    UnknownPartner(String),
    #[error("programme `{0}` is not in the config")]
    UnknownProgramme(String),
    #[error("an extension must be a positive multiple of {step} months, not {months}")]
    BadExtension { months: u32, step: u32 },
    #[error("case {case_ref} has no lease start yet, so it has no milestone plan")]
    NoLeaseStart { case_ref: String },
    #[error("case {case_ref} has no pending milestone `{kind}`")]
    NoSuchMilestone { case_ref: String, kind: String },
    #[error("the mail does not say which {0}")]
    Missing(&'static str),
    #[error("case {case_ref} is {status}: only running guidance can be handed over")]
    HandoverClosed { case_ref: String, status: Status },
    #[error("case {case_ref} is guided by {partner} already")]
    HandoverSamePartner { case_ref: String, partner: String },
    #[error("case {case_ref} belongs to another partner than the sender's ({sender_partner})")]
    WrongPartner {
        case_ref: String,
        sender_partner: String,
    },
}

/// Split a reference of this format into (year, number): `VD-2026-0007` → (2026, 7).
pub fn parse_reference(format: &ReferenceFormat, reference: &str) -> Option<(i32, u32)> {
    let rest = reference.strip_prefix(&format.prefix)?.strip_prefix('-')?;
    let (year, number) = rest.split_once('-')?;
    if year.len() != 4 || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((year.parse().ok()?, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_row_is_the_same_whatever_the_children_and_not_when_a_field_moves() {
        let case = Case::new(
            "VD-2026-0001".into(),
            "caw",
            "vivendo",
            "Jan Peeters",
            Utc::now(),
        );
        let mut other = case.clone();
        other.concerns.push(Concern {
            id: None,
            statement: "huurachterstal".into(),
            urgent: false,
            raised_at: Utc::now(),
            mail_id: None,
            resolved_at: None,
        });
        assert!(case.same_row(&other), "a child is not the row");
        other.counsellor.email = Some("els@caw.example".into());
        assert!(!case.same_row(&other), "the counsellor is");
        let mut stopped = case.clone();
        stopped.status = Status::Stopped;
        assert!(!case.same_row(&stopped));
    }

    #[test]
    fn a_complete_referral_cannot_be_completed_again() {
        let err = Status::ReferredComplete
            .apply(Transition::Complete)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot complete a case that is referred_complete (allowed from: referred_incomplete)"
        );
    }

    #[test]
    fn the_happy_path_from_referral_to_anonymised() {
        let path = [
            Transition::Complete,
            Transition::Allocate,
            Transition::StartGuidance,
            Transition::Extend,
            Transition::Extend,
            Transition::ClosePositive,
            Transition::Anonymise,
        ];
        let mut s = Status::ReferredIncomplete;
        for t in path {
            s = s.apply(t).unwrap();
        }
        assert_eq!(s, Status::Anonymised);
    }

    #[test]
    fn references_split_into_year_and_number() {
        let f = ReferenceFormat {
            prefix: "VD".into(),
            width: 4,
        };
        assert_eq!(parse_reference(&f, "VD-2026-0007"), Some((2026, 7)));
        assert_eq!(parse_reference(&f, "XX-2026-0007"), None);
        assert_eq!(parse_reference(&f, "VD-26-0007"), None);
        assert_eq!(parse_reference(&f, "VD-2026-"), None);
    }

    fn any_status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }
    fn any_transition() -> impl Strategy<Value = Transition> {
        prop::sample::select(Transition::ALL.to_vec())
    }

    proptest! {
        /// Whatever sequence of transitions is attempted, the status only ever moves along the
        /// graph, anonymised is final, and nothing returns to a referral status.
        #[test]
        fn transitions_follow_the_graph(start in any_status(), ts in prop::collection::vec(any_transition(), 0..30)) {
            let mut s = start;
            for t in ts {
                match s.apply(t) {
                    Ok(next) => {
                        prop_assert!(t.allowed_from().contains(&s));
                        prop_assert_eq!(next, t.target());
                        prop_assert_ne!(s, Status::Anonymised);
                        if !matches!(s, Status::ReferredIncomplete) {
                            prop_assert_ne!(next, Status::ReferredIncomplete);
                        }
                        if s.is_closed() {
                            prop_assert!(next.is_closed(), "{s} → {next} reopened a closed case");
                        }
                        s = next;
                    }
                    Err(e) => {
                        prop_assert!(!t.allowed_from().contains(&s));
                        prop_assert_eq!(e.from, s);
                    }
                }
            }
        }
    }
}
