//! The programmes with rules of their own, and the entry point that gives them their turn:
//! [`apply`]. Every programme gets what [`super::apply`] does for any case; a programme that
//! opens its cases and reads its partners' answers its own way implements
//! [`ProgrammeRules`] in a file of its own and is listed in [`RULES`], so that the next such
//! programme is one new file and one line here, not edits in the engine.
//!
//! Pure like the rest of [`crate::case`]: no clock, no I/O.

use super::apply::{self, Effects, Input, ProgrammeRules};
use super::model::CaseError;
use super::preventive::Preventive;

/// Every programme kind with rules of its own.
pub static RULES: &[&dyn ProgrammeRules] = &[&Preventive];

/// Apply one decision: the single place where a mail changes cases. A mail about a case of a
/// programme with rules of its own is read by those rules first; a mail of the kind that opens
/// such a programme's cases goes to them; everything else is handled as for any case. Errors are
/// permanent: the mail goes to quarantine with the message.
pub fn apply(input: &Input<'_>) -> Result<Effects, CaseError> {
    let mut fx = Effects::default();
    if let Some(case) = apply::known_case(input) {
        if let Some(rules) = RULES.iter().find(|r| r.owns(input.config, case)) {
            if rules.case_mail(input, case.clone(), &mut fx)? {
                fx.case_ref = Some(case.case_ref.clone());
                apply::confirm_if_unsure(input, &mut fx);
                return Ok(fx);
            }
        }
    }
    let mut fx = match RULES.iter().find(|r| r.opened_by() == input.decision.kind) {
        Some(rules) => {
            rules.open(input, &mut fx)?;
            fx
        }
        None => apply::general(input, fx)?,
    };
    if fx.case_ref.is_none() {
        fx.case_ref = fx.changes.first().map(|c| c.case.case_ref.clone());
    }
    apply::confirm_if_unsure(input, &mut fx);
    Ok(fx)
}
