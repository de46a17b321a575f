//! The case (dossier) of one referred candidate: its status, documents, milestones and history.
//!
//! Pure domain code: values in, values out. No I/O, no clock (callers pass `now`), no SQL.
//! Applying a triage [`crate::understand::Decision`] to the register yields the changes to store
//! and the mails to queue; the caller commits them in one transaction.

pub mod admin;
pub mod apply;
pub mod escalation;
pub mod handover;
pub mod import;
pub mod model;
pub mod notice;
pub mod plan;
pub mod preventive;
pub mod programmes;
pub mod quota;
pub mod report;
pub mod search;
pub mod undo;

/// The vocabulary of cases lives in [`crate::config::vocabulary`] (config validates it); re-exported
/// here where domain code has always named it.
pub use crate::config::vocabulary::{DocumentKind, MilestoneKind, Role};
pub use apply::{CaseChange, Effects, Input, ProgrammeRules};
pub use model::{
    Case, CaseError, CaseEvent, Cause, Concern, Counsellor, Document, GoalsMet, IllegalTransition,
    Milestone, Status, Transition,
};
pub use notice::Notice;
pub use programmes::apply;
