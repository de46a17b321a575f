//! [`Notice`]: a mail to send, before it has addresses or text. Domain code (this module's
//! siblings, the jobs, intake) produces notices; the outbox ([`crate::outbox`]) resolves their
//! roles to addresses, renders and queues them. A plain value, so that producing one needs
//! nothing above [`crate::case`].

use serde::{Deserialize, Serialize};

use crate::config::Role;

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

impl Notice {
    /// The outbox row's unique key: the same template about the same case for the same cause is
    /// one effect. The `dedupe` of a notice alone is not unique: one mail (`mail:42`) causes
    /// both an acknowledgement and a notice to the coordinator.
    pub fn effect_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.template,
            self.case_ref.as_deref().unwrap_or("-"),
            self.dedupe
        )
    }
}
