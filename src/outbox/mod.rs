//! Outbox: every mail `doorstroom` sends, composed from templates and delivered exactly once.
//!
//! Other modules never build mails: they produce [`Notice`] values (which template, about which
//! case, for which roles, with which data). The outbox resolves roles to addresses through the
//! privacy guard, renders the template, and queues the mail as a row in the same transaction as
//! the change that caused it; a sender task delivers queued rows.

use serde::{Deserialize, Serialize};

use crate::case::Role;

/// A mail to send, before it has addresses or text: the value domain code produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The template in `mail-templates/` (file stem, e.g. `referral_ack`), which is also the
    /// mail's kind in the outbox.
    pub template: String,
    /// The case this mail is about; recipients are checked against it.
    pub case_ref: Option<String>,
    /// Who receives it, by role; resolved for the case by the privacy guard.
    pub to: Vec<Role>,
    /// Also send to the sender of the mail being answered (acknowledgements), if the guard
    /// allows it for this case.
    pub to_sender: bool,
    /// `Importance: high` (urgent concerns, told at once).
    pub urgent: bool,
    /// The template's data; only what this template may show.
    pub data: serde_json::Value,
    /// Distinguishes notices of the same template about the same case and cause, so that one
    /// effect is queued once (e.g. the escalation step, the agenda month).
    pub dedupe: String,
}
