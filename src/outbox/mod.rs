//! Outbox: every mail `doorstroom` sends, composed from templates and delivered exactly once.
//!
//! Other modules never build mails: they produce [`Notice`] values (which template, about which
//! case, for which roles, with which data). The outbox resolves roles to addresses through the
//! privacy guard, renders the template, and queues the mail as a row in the same transaction as
//! the change that caused it; a sender task delivers queued rows.
//!
//! | file | owns | never does |
//! | --- | --- | --- |
//! | [`templates`] | the built-in templates with the admin's overrides, the `datum` filters, rendering with sample data at start | I/O after start-up |
//! | [`guard`] | roles → addresses for one case, the privacy rule, loop safety that needs no database | queueing, rendering |
//! | [`compose`] | a rendered notice → the exact RFC 5322 bytes, headers and Message-ID | deciding recipients |
//! | [`send`] | the sender task, the SMTP and file transports, retries, exactly-once | composing or guarding |
//!
//! The one entry point for domain code is [`Outbox::prepare`]: notice + case → an
//! [`OutgoingMail`] (guarded, rendered, composed) that the caller queues with
//! [`crate::store::Tx::queue`] in the transaction of its cause. Anything refused there is never
//! queued; a privacy refusal is logged as a bug at error level with the case reference only.

pub mod compose;
pub mod guard;
pub mod queue;
pub mod send;
pub mod templates;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::understand::{MailKind, MessageId};

/// The value domain code produces lives with the domain ([`crate::case::notice`]).
pub use crate::case::notice::Notice;
/// The row the store queues is the store's type ([`crate::store::outbox`]).
pub use crate::store::outbox::OutgoingMail;
pub use compose::{message_id_for, CalendarPart, ComposeError};
pub use guard::{CaseContacts, GuardError};
pub use templates::{Rendered, TemplateError, Templates};

/// The case a notice is about, as the store knows it: what the guard checks recipients against
/// and what templates may show (`case.*`). The caller fills it from the case row, never from the
/// mail being answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseInfo {
    pub case_ref: String,
    /// The partner id that owns the case: the only partner whose addresses may receive it.
    pub partner: String,
    /// The candidate's full name (kandidaat-huurder).
    pub candidate: String,
    /// The programme id.
    pub programme: String,
    pub status: String,
    pub lease_start: Option<NaiveDate>,
    /// The social assistant's address.
    pub social_assistant: Option<String>,
    pub counsellor_name: Option<String>,
    pub counsellor_email: Option<String>,
    pub counsellor_phone: Option<String>,
}

/// The mail being answered, when a notice answers one (acknowledgements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answering {
    /// The verified sender (lowercase), as triage saw it.
    pub sender: String,
    /// Its Message-ID, for `In-Reply-To`.
    pub message_id: Option<MessageId>,
    /// Its `References` (or, without them, its `In-Reply-To`), oldest first, so that ours
    /// continue the thread (RFC 5322 §3.6.4).
    pub references: Vec<MessageId>,
    /// What triage decided it is: automated mail is never answered (RFC 3834 §2).
    pub kind: MailKind,
    /// Its subject as the partner wrote it: our answer keeps it (`Re: …`) so that it lands in
    /// the partner's conversation.
    pub subject: String,
}

/// Why a notice was not turned into a mail. None of these is queued.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Privacy or loop safety said no (see [`GuardError`] for which are bugs).
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// The templates of one installation, loaded and checked once: what domain code asks to turn a
/// [`Notice`] into an [`OutgoingMail`].
#[derive(Debug)]
pub struct Outbox {
    templates: Templates,
}

impl Outbox {
    /// Load and check every template (see [`Templates::load`]).
    pub fn load(config: &Config) -> Result<Outbox, TemplateError> {
        Ok(Outbox {
            templates: Templates::load(config)?,
        })
    }

    pub fn from_templates(templates: Templates) -> Outbox {
        Outbox { templates }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Guard, render and compose one notice. `case` must be the stored case named by
    /// `notice.case_ref` (the caller looked it up); `partner` names the partner of a mail that
    /// is about no single case (the conclusions of a meeting), otherwise it is taken from the
    /// case. Refusals are logged here, once, at the level they deserve.
    pub fn prepare(
        &self,
        config: &Config,
        notice: &Notice,
        case: Option<&CaseInfo>,
        partner: Option<&str>,
        answering: Option<&Answering>,
        now: DateTime<Utc>,
    ) -> Result<OutgoingMail, PrepareError> {
        self.prepare_with_calendar(config, notice, case, partner, answering, None, now)
    }

    /// [`Outbox::prepare`] with a calendar invitation or cancellation sent along (the meeting
    /// agenda of [`crate::jobs::agenda`]).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare_with_calendar(
        &self,
        config: &Config,
        notice: &Notice,
        case: Option<&CaseInfo>,
        partner: Option<&str>,
        answering: Option<&Answering>,
        calendar: Option<&CalendarPart>,
        now: DateTime<Utc>,
    ) -> Result<OutgoingMail, PrepareError> {
        if let (Some(c), Some(p)) = (case, partner) {
            if c.partner != p {
                // The caller believes the case belongs to another partner: a bug, never a mail.
                let e = GuardError::Privacy {
                    template: notice.template.clone(),
                    case_ref: notice.case_ref.clone(),
                    refused: 1,
                };
                e.log(notice);
                return Err(e.into());
            }
        }
        let contacts = CaseContacts::new(case, partner, answering);
        let recipients = match guard::resolve(config, notice, &contacts, answering) {
            Ok(r) => r,
            Err(e) => {
                e.log(notice);
                return Err(e.into());
            }
        };
        // Sentences naming who got the mail are made from the real recipient list, never from
        // what the notice asked for (a case without a social assistant goes to the coordinator).
        let mut data = notice.data.clone();
        if let serde_json::Value::Object(map) = &mut data {
            map.insert(
                "sent_to".into(),
                serde_json::json!(recipients
                    .iter()
                    .map(|r| describe_recipient(config, case, r))
                    .collect::<Vec<_>>()),
            );
        }
        let rendered = self
            .templates
            .render_notice(config, &notice.template, case, &data)?;
        let ack_key = ack_key(config, notice, answering, now);
        let mail = compose::compose(
            config,
            &compose::Composition {
                notice,
                recipients: &recipients,
                rendered: &rendered,
                answering: answering.filter(|_| notice.to_sender),
                initials: case.map(|c| templates::initials(&c.candidate)),
                now,
                calendar,
            },
        )?;
        let (cause_kind, cause_ref) = notice
            .dedupe
            .split_once(':')
            .map_or(("job", notice.dedupe.as_str()), |(k, r)| (k, r));
        Ok(OutgoingMail {
            message_id: mail.message_id,
            dedupe_key: notice.effect_key(),
            ack_key,
            kind: notice.template.clone(),
            case_ref: notice.case_ref.clone(),
            recipients,
            subject: mail.subject,
            urgent: notice.urgent,
            cause_kind: cause_kind.to_string(),
            cause_ref: cause_ref.to_string(),
            bytes: mail.bytes,
        })
    }
}

/// One recipient as a Dutch reader knows them: `Bram Janssens (sociaal assistent)`, `An Peeters
/// (contactpersoon versnelde doorstroom)`, `Lotte Wouters (woonbegeleider)`; anyone else by
/// address.
pub fn describe_recipient(config: &Config, case: Option<&CaseInfo>, address: &str) -> String {
    let same = |a: &str| a.eq_ignore_ascii_case(address);
    let org = &config.organisation;
    if let Some(p) = org.coordinators.iter().find(|p| same(&p.email)) {
        return format!("{} (contactpersoon versnelde doorstroom)", p.name);
    }
    if let Some(p) = config.social_assistants.iter().find(|p| same(&p.email)) {
        return format!("{} (sociaal assistent)", p.name);
    }
    if let Some(c) = case.filter(|c| c.counsellor_email.as_deref().is_some_and(same)) {
        return match &c.counsellor_name {
            Some(name) => format!("{name} (woonbegeleider)"),
            None => format!("{address} (woonbegeleider)"),
        };
    }
    if case.is_some_and(|c| c.social_assistant.as_deref().is_some_and(same)) {
        return format!("{address} (sociaal assistent)");
    }
    address.to_string()
}

/// The key of the acknowledgement `notice` is, if it is one: a notice to the sender of the mail
/// it answers. One per sender, case and day (the landlord's day) is queued (loop safety), in
/// each of three slots: the answer to an urgent concern and the answer to the mail that
/// completes a referral (`completed` in its data) have a slot of their own, and so has a
/// notice naming an `ack_slot` in its data (the confirmation of one staff answer), so that the
/// partner always hears what matters even after an ordinary acknowledgement that day.
pub fn ack_key(
    config: &Config,
    notice: &Notice,
    answering: Option<&Answering>,
    now: DateTime<Utc>,
) -> Option<String> {
    let answering = answering.filter(|_| notice.to_sender)?;
    let slot = if notice.urgent {
        ":urgent".to_string()
    } else if notice.data.get("completed") == Some(&serde_json::Value::Bool(true)) {
        ":completed".to_string()
    } else if let Some(slot) = notice.data.get("ack_slot").and_then(|s| s.as_str()) {
        // An answer to one staff member's mail (a correction's confirmation): one per mail.
        format!(":{slot}")
    } else {
        String::new()
    };
    Some(format!(
        "ack:{}:{}:{}{slot}",
        notice.case_ref.as_deref().unwrap_or("-"),
        answering.sender,
        now.with_timezone(&config.organisation.time_zone)
            .date_naive()
    ))
}

/// Shared test fixtures: the example config, its templates, a case, notices.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::config::Role;

    /// The shipped example config, with the shipped templates.
    pub fn config() -> Config {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("config/doorstroom.example.toml");
        let text = std::fs::read_to_string(&path).expect("example config");
        Config::parse(&text, &path).expect("example config is valid")
    }

    pub fn outbox(config: &Config) -> Outbox {
        Outbox::load(config).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn sample_case(partner: &str) -> CaseInfo {
        CaseInfo {
            case_ref: "VD-2026-0007".into(),
            partner: partner.into(),
            candidate: "Jan Peeters".into(),
            programme: "vivendo".into(),
            status: "guidance".into(),
            lease_start: NaiveDate::from_ymd_opt(2026, 12, 1),
            social_assistant: Some("bram.janssens@woonhaven.example".into()),
            counsellor_name: Some("Lotte Wouters".into()),
            counsellor_email: Some(format!("lotte.wouters@{partner}.example")),
            counsellor_phone: None,
        }
    }

    pub fn answering(sender: &str, kind: MailKind) -> Answering {
        Answering {
            sender: sender.to_ascii_lowercase(),
            message_id: MessageId::parse("<ref-1@caw-antwerpen.example>"),
            references: MessageId::parse("<root@caw-antwerpen.example>")
                .into_iter()
                .collect(),
            kind,
            subject: "Aanmelding versnelde doorstroom".into(),
        }
    }

    /// A notice with the sample data of its template.
    pub fn notice(template: &str, case_ref: Option<&str>, to: &[Role], to_sender: bool) -> Notice {
        let data = templates::samples()
            .into_iter()
            .find(|(name, _, _)| *name == template)
            .map(|(_, _, data)| data)
            .unwrap_or_default();
        Notice {
            template: template.into(),
            case_ref: case_ref.map(str::to_string),
            to: to.to_vec(),
            to_sender,
            urgent: false,
            data,
            dedupe: "mail:1".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::config::Role;

    #[test]
    fn a_case_prepared_for_another_partner_is_a_refused_bug() {
        let config = config();
        let outbox = outbox(&config);
        let case = sample_case("caw-antwerpen");
        let n = notice(
            "conclusions_confirmation",
            Some(&case.case_ref),
            &[Role::Partner],
            false,
        );
        let err = outbox
            .prepare(
                &config,
                &n,
                Some(&case),
                Some("ocmw-antwerpen"),
                None,
                Utc::now(),
            )
            .unwrap_err();
        assert!(
            matches!(err, PrepareError::Guard(GuardError::Privacy { .. })),
            "{err}"
        );
    }

    #[test]
    fn an_urgent_alert_names_only_who_really_got_it() {
        let config = config();
        let outbox = outbox(&config);
        let mut case = sample_case("caw-antwerpen");
        let n = notice(
            "urgent_alert",
            Some(&case.case_ref),
            &[Role::SocialAssistant, Role::Coordinator],
            false,
        );
        let with_sa = outbox
            .prepare(&config, &n, Some(&case), None, None, Utc::now())
            .unwrap();
        let text = String::from_utf8_lossy(&with_sa.bytes).replace("=\r\n", "");
        assert!(
            text.contains("Bram Janssens (sociaal assistent) en An Peeters (contactpersoon"),
            "{text}"
        );
        assert!(!text.contains("nog geen sociaal assistent"), "{text}");

        case.social_assistant = None;
        let without = outbox
            .prepare(&config, &n, Some(&case), None, None, Utc::now())
            .unwrap();
        assert_eq!(without.recipients, ["an.peeters@woonhaven.example"]);
        let text = String::from_utf8_lossy(&without.bytes).replace("=\r\n", "");
        assert!(
            text.contains("ging naar An Peeters (contactpersoon"),
            "{text}"
        );
        assert!(!text.contains("sociaal assistent) en"), "{text}");
        assert!(
            text.contains("nog geen sociaal assistent toegewezen"),
            "{text}"
        );
    }

    #[test]
    fn a_completed_referral_and_an_urgent_concern_each_have_an_answer_slot_of_their_own() {
        let config = config();
        let now = Utc::now();
        let a = answering("lotte.wouters@caw-antwerpen.example", MailKind::ReplyToCase);
        let routine = notice("reply_ack", Some("VD-2026-0007"), &[], true);
        let mut completed = routine.clone();
        completed.data["completed"] = serde_json::json!(true);
        let mut urgent = notice("concern_ack", Some("VD-2026-0007"), &[], true);
        urgent.urgent = true;
        let concern = notice("concern_ack", Some("VD-2026-0007"), &[], true);
        let key = |n: &Notice| ack_key(&config, n, Some(&a), now).unwrap();
        assert_eq!(key(&routine), key(&concern), "one ordinary answer a day");
        assert_ne!(key(&routine), key(&completed));
        assert_ne!(key(&routine), key(&urgent));
        assert_ne!(key(&completed), key(&urgent));
    }

    #[test]
    fn each_staff_answer_is_confirmed_however_many_that_day() {
        let config = config();
        let now = Utc::now();
        let a = answering("an.peeters@woonhaven.example", MailKind::ReplyToCase);
        let confirm = |mail: i64| {
            let mut n = notice("staff_answer", None, &[], true);
            n.data["ack_slot"] = serde_json::json!(format!("staff:{mail}"));
            ack_key(&config, &n, Some(&a), now).unwrap()
        };
        assert_ne!(confirm(41), confirm(42), "one confirmation per answer");
        assert_eq!(confirm(42), confirm(42), "the same answer confirmed once");
    }

    #[test]
    fn the_effect_key_tells_templates_and_cases_apart() {
        let a = notice("referral_ack", Some("VD-2026-0007"), &[], true);
        let b = notice(
            "referral_notice",
            Some("VD-2026-0007"),
            &[Role::Coordinator],
            false,
        );
        assert_ne!(a.effect_key(), b.effect_key(), "one mail, two effects");
        let config = config();
        assert_eq!(
            message_id_for(&config, &a.effect_key()),
            message_id_for(&config, &a.clone().effect_key())
        );
        assert!(compose::is_own_message_id(
            &config,
            &message_id_for(&config, &a.effect_key())
        ));
        assert!(!compose::is_own_message_id(
            &config,
            "<abc@caw-antwerpen.example>"
        ));
    }
}
