//! The case (dossier) of one referred candidate: its status, documents, milestones and history.
//!
//! Pure domain code: values in, values out. No I/O, no clock (callers pass `now`), no SQL.
//! Applying a triage [`crate::understand::Decision`] to the register yields the changes to store
//! and the mails to queue; the caller commits them in one transaction.

pub mod admin;
pub mod apply;
pub mod escalation;
pub mod import;
pub mod model;
pub mod plan;
pub mod preventive;
pub mod quota;
pub mod report;

pub use apply::{apply, CaseChange, Effects, Input};
pub use model::{
    Case, CaseError, CaseEvent, Cause, Concern, Counsellor, Document, GoalsMet, IllegalTransition,
    Milestone, Status, Transition,
};

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
