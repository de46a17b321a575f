//! Who steers by mail: the staff sender of a mail as our trust anchor judges it
//! ([`StaffSender`]), and why a correction or a question is refused ([`Refusal`]). Shared by
//! corrections ([`super::correct`]) and questions ([`super::question`]).

use chrono::{DateTime, Utc};

use super::commit::Handled;
use crate::config::Config;
use crate::store::mails::MailOutcome;
use crate::store::{MailRecord, MailState, Tx};
use crate::understand::parse::Parsed;
use crate::understand::trust::{self, Trust};
use crate::understand::Decision;

/// The outer sender of a mail when it is one of our staff, with what our trust anchor says.
#[derive(Debug, Clone)]
pub struct StaffSender {
    pub address: String,
    /// The trust anchor verified the address (`trust = "none"` accepts, never verifies).
    pub verified: bool,
    /// The anchor's verdict, for the log.
    pub verdict: String,
}

impl StaffSender {
    /// `Some` when the From of `parsed` is staff (never the shared mailbox itself).
    pub fn of(parsed: &Parsed, config: &Config) -> Option<StaffSender> {
        let address = parsed.from.as_ref()?.address.trim().to_ascii_lowercase();
        if address == config.organisation.shared_mailbox || !config.is_staff(&address) {
            return None;
        }
        let verdict = trust::assess(parsed, &address, config);
        Some(StaffSender {
            address,
            verified: matches!(verdict, Trust::Verified(_)),
            verdict: verdict.reason().to_string(),
        })
    }
}

/// Why a correction was not applied: said to the staff member in Dutch, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("uw adres werd niet geverifieerd door onze mailserver, dus er werd niets veranderd")]
    NotVerified,
    #[error("mail #{0} is niet bekend")]
    UnknownMail(i64),
    #[error("dossier {0} bestaat niet")]
    UnknownCase(String),
    #[error("dossier {0} hoort bij een andere partner dan de afzender van de mail")]
    OtherPartner(String),
    #[error("{0}")]
    Conflict(String),
    #[error("mail #{0} staat niet in quarantaine")]
    NotQuarantined(i64),
    #[error("mail #{0} wordt nog verwerkt; probeer het over een minuut opnieuw")]
    NotDecided(i64),
    #[error("de inhoud van mail #{0} werd al gewist (bewaartermijn), dus ze kan niet opnieuw beslist worden")]
    Purged(i64),
    #[error("{0} is geen medewerker van de organisatie")]
    NotStaff(String),
    #[error("mail #{0} hoort bij geen dossier; noem ook het dossier (dossier VD-…)")]
    NoCase(i64),
    #[error("een nieuw dossier kan enkel uit de mail van een gekende partner")]
    NoPartner,
    #[error("dit antwoord werd al toegepast")]
    AlreadyApplied,
    #[error("zo kan mail #{0} niet verwerkt worden ({1}); noem ook het dossier (dossier VD-…) of een andere soort")]
    Cannot(i64, String),
}

impl Refusal {
    /// The same in English, for the command line and the log.
    pub fn english(&self) -> String {
        match self {
            Refusal::NotVerified => "the sender is not verified by the trust anchor".into(),
            Refusal::UnknownMail(id) => format!("mail {id} is not known"),
            Refusal::UnknownCase(r) => {
                format!("case {r} is not in the register (see `doorstroom cases --search`)")
            }
            Refusal::OtherPartner(r) => {
                format!("case {r} belongs to another partner than the mail's sender")
            }
            Refusal::Conflict(why) => format!("the commands contradict each other ({why})"),
            Refusal::NotQuarantined(id) => format!("mail {id} is not quarantined"),
            Refusal::NotDecided(id) => format!("mail {id} is still being decided"),
            Refusal::Purged(id) => format!("the raw bytes of mail {id} were purged"),
            Refusal::NotStaff(a) => format!("{a} is not one of the staff"),
            Refusal::NoCase(id) => format!("mail {id} belongs to no case; name one"),
            Refusal::NoPartner => "a new case needs a mail from a known partner".into(),
            Refusal::AlreadyApplied => "this answer was applied before".into(),
            Refusal::Cannot(id, why) => format!("mail {id} cannot be applied so: {why}"),
        }
    }
}

/// Write a staff mail (an answer or a question, `kind`) as processed in `tx`, with `json` as its
/// stored decision, and say what was done with it.
#[allow(clippy::too_many_arguments)] // each is one column of the mail row or of what intake reports
pub(super) fn finish_staff_mail(
    tx: &mut Tx,
    mail: &MailRecord,
    kind: &str,
    decision: &Decision,
    json: &serde_json::Value,
    case_ref: Option<String>,
    done: Vec<String>,
    now: DateTime<Utc>,
) -> Handled {
    tx.finish_mail(
        mail,
        &MailOutcome {
            state: MailState::Processed,
            kind,
            partner: None,
            case_ref: case_ref.as_deref(),
            body_hash: Some(decision.facts.body_hash.as_str()).filter(|h| !h.is_empty()),
            decision: json,
            reason: None,
            at: now,
        },
    );
    Handled {
        mail_id: mail.id,
        new: true,
        state: MailState::Processed,
        decision: Some(decision.clone()),
        case_ref,
        done,
        reason: None,
    }
}
