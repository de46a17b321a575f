//! The vocabulary every layer speaks: which roles, documents, milestone kinds and mail kinds exist,
//! how the agenda shows a candidate, and the "nth-to-last weekday" rule of the meeting.
//!
//! These are plain names (with their config spellings and Dutch words), not behaviour: the config
//! validates against them, so they sit here, at the bottom of the layers, and the domain modules
//! take them from here (re-exported where they have always been named: [`crate::case::Role`],
//! [`crate::understand::MailKind`], [`crate::calendar::agenda::CandidateDisplay`],
//! [`crate::calendar::NthLastWeekday`]). What they do lives with the domain
//! ([`crate::calendar::NthLastWeekday::in_month`], [`crate::calendar::agenda::CandidateDisplay::show`]).
//! Never imports anything above `config`.

use chrono::Weekday;
use serde::{Deserialize, Serialize};

/// A document that can be on a case. The Dutch names are what partners call them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// ondertekend addendum: the signed addendum of the referral.
    Addendum,
    /// (uitgebreid) sociaal verslag: the extended social report of the referral.
    SocialReport,
    /// begeleidingsovereenkomst: the guidance agreement signed before the lease.
    GuidanceAgreement,
    /// eindverslag: the final report when guidance stops.
    FinalReport,
    /// Anything else a partner attaches.
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::Addendum,
        DocumentKind::SocialReport,
        DocumentKind::GuidanceAgreement,
        DocumentKind::FinalReport,
        DocumentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Addendum => "addendum",
            DocumentKind::SocialReport => "social_report",
            DocumentKind::GuidanceAgreement => "guidance_agreement",
            DocumentKind::FinalReport => "final_report",
            DocumentKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The Dutch name used in mails ("het ondertekend addendum ontbreekt").
    pub fn dutch(self) -> &'static str {
        match self {
            DocumentKind::Addendum => "ondertekend addendum",
            DocumentKind::SocialReport => "uitgebreid sociaal verslag",
            DocumentKind::GuidanceAgreement => "begeleidingsovereenkomst",
            DocumentKind::FinalReport => "eindverslag",
            DocumentKind::Other => "ander document",
        }
    }
}

/// Who must be told about something. Decisions and escalation steps speak in roles; the outbox
/// resolves a role to addresses for one case, and refuses any address outside that case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// contactpersoon versnelde doorstroom at the landlord.
    Coordinator,
    /// sociaal assistent responsible for the tenant.
    SocialAssistant,
    /// the referring partner organisation (its configured addresses).
    Partner,
    /// the partner's counsellor (woonbegeleider) on this case.
    Counsellor,
    /// `organisation.admins`: operational alerts (the coordinators when there is no admin).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::SocialAssistant => "social_assistant",
            Role::Partner => "partner",
            Role::Counsellor => "counsellor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Role::Coordinator,
            Role::SocialAssistant,
            Role::Partner,
            Role::Counsellor,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What kind of step in the guidance timeline a milestone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneKind {
    /// gesprek na toewijzing / driehoeksgesprek: social assistant, candidate and counsellor.
    Talk,
    /// evaluatie op het structureel overleg (after 1, 4, 10 months).
    Evaluation,
    /// huisbezoek (home visit, counsellor attends).
    HomeVisit,
    /// eindevaluatie at home: close positively or extend.
    FinalEvaluation,
    /// evaluatie van het persoonlijk begeleidingsplan (Dutch variant, yearly).
    PlanEvaluation,
    /// verlenging inschrijving (e.g. WoningNet) that must not lapse.
    RegistrationRenewal,
    /// einde begeleiding volgens de richtlijn (e.g. 18 months).
    GuidanceEnd,
}

impl MilestoneKind {
    pub const ALL: [MilestoneKind; 7] = [
        MilestoneKind::Talk,
        MilestoneKind::Evaluation,
        MilestoneKind::HomeVisit,
        MilestoneKind::FinalEvaluation,
        MilestoneKind::PlanEvaluation,
        MilestoneKind::RegistrationRenewal,
        MilestoneKind::GuidanceEnd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneKind::Talk => "talk",
            MilestoneKind::Evaluation => "evaluation",
            MilestoneKind::HomeVisit => "home_visit",
            MilestoneKind::FinalEvaluation => "final_evaluation",
            MilestoneKind::PlanEvaluation => "plan_evaluation",
            MilestoneKind::RegistrationRenewal => "registration_renewal",
            MilestoneKind::GuidanceEnd => "guidance_end",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a mail is. The JSON names are part of the `triage --json` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// aanmelding with every required document.
    Referral,
    /// aanmelding with a required document missing, empty or unreadable.
    ReferralIncomplete,
    /// New counsellor or new contact details.
    ContactChange,
    /// Cooperation, results, damage, liveability (`003` §5).
    Concern,
    /// Safety of anyone involved: told at once.
    UrgentConcern,
    /// Stop of guidance and/or eindverslag.
    FinalReport,
    /// A partner answers the agenda mail to have a case discussed.
    DiscussionRequest,
    /// Staff tells the start date of the lease.
    LeaseStart,
    /// After the monthly meeting: a decision per case.
    MeetingConclusions,
    /// Adds to a known case (e.g. completes a missing document).
    ReplyToCase,
    /// Guidance moves to another organisation (`003` §4): the old partner announces it
    /// ("wij kunnen de begeleiding niet verderzetten, vanaf 1 maart volgt …"), or the new one
    /// ("wij nemen de begeleiding over"). The case keeps its reference and its plan.
    Handover,
    /// Staff ask a partner (landlord's shared mailbox in Cc) for preventive guidance of a tenant
    /// threatened with eviction (`002` §5.2): opens a case in the programme opened by it.
    PreventiveRequest,
    AutoReply,
    Bounce,
    Bulk,
    CalendarResponse,
    SpamOrSpoof,
    /// An authenticated partner writes about another partner's case.
    CrossPartner,
    UnknownSender,
    Malformed,
    /// Same mail delivered twice.
    Duplicate,
    /// A copy of a mail `doorstroom` sent itself, come back to the shared mailbox (the outbox
    /// puts it in every envelope as proof of sending): filed, never quarantined, never answered.
    OwnCopy,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Referral => "referral",
            MailKind::ReferralIncomplete => "referral_incomplete",
            MailKind::ContactChange => "contact_change",
            MailKind::Concern => "concern",
            MailKind::UrgentConcern => "urgent_concern",
            MailKind::FinalReport => "final_report",
            MailKind::DiscussionRequest => "discussion_request",
            MailKind::LeaseStart => "lease_start",
            MailKind::MeetingConclusions => "meeting_conclusions",
            MailKind::ReplyToCase => "reply_to_case",
            MailKind::Handover => "handover",
            MailKind::PreventiveRequest => "preventive_request",
            MailKind::AutoReply => "auto_reply",
            MailKind::Bounce => "bounce",
            MailKind::Bulk => "bulk",
            MailKind::CalendarResponse => "calendar_response",
            MailKind::SpamOrSpoof => "spam_or_spoof",
            MailKind::CrossPartner => "cross_partner",
            MailKind::UnknownSender => "unknown_sender",
            MailKind::Malformed => "malformed",
            MailKind::Duplicate => "duplicate",
            MailKind::OwnCopy => "own_copy",
        }
    }

    /// Mail that goes to the quarantine folder instead of the processed folder: nothing can be
    /// done with it without a person looking.
    pub fn is_quarantined(self) -> bool {
        matches!(
            self,
            MailKind::Malformed | MailKind::SpamOrSpoof | MailKind::UnknownSender
        )
    }

    /// Mail written by a machine: never answered (RFC 3834 §2).
    pub fn is_automated(self) -> bool {
        matches!(
            self,
            MailKind::AutoReply
                | MailKind::Bounce
                | MailKind::Bulk
                | MailKind::CalendarResponse
                | MailKind::OwnCopy
        )
    }
}

/// How the agenda names a candidate (`[meeting] candidate_display`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateDisplay {
    /// "J.P." for Jan Peeters: the default, the least personal data that still lets the
    /// counsellor recognise the case next to its reference.
    #[default]
    Initials,
    /// The full name as recorded on the case.
    Name,
}

/// The `n`th-to-last `weekday` of a month: `n = 1` is the last Thursday, `n = 2` the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NthLastWeekday {
    pub n: u32,
    pub weekday: Weekday,
}
