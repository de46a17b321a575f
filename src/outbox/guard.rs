//! The privacy guard, in one place: who may receive a mail about a case.
//!
//! Roles become addresses here and nowhere else, and every address is checked before anything
//! is rendered or queued: it must be the landlord's own staff ([`Config::is_staff`]) or belong to
//! the partner that owns the case ([`crate::config::Partner::owns_address`]). A mail about case X
//! to anyone else is refused and logged as a bug (error level, case reference only); a mail about
//! no case goes to staff only, or to the one partner it is about (the conclusions of a meeting).
//! The same check makes sure no case data reaches an unknown sender: an acknowledgement goes to
//! the sender only if the sender belongs to the case's partner.
//!
//! Loop safety that needs no database is here too (RFC 3834 §2): automated mail is never
//! answered, and neither is our own address. The limits that need history (one acknowledgement
//! per sender per case per day, the per-recipient rate) live in the store and the sender.
//!
//! Pure: values in, a list of addresses or a refusal out.

use super::{Answering, CaseInfo, Notice};
use crate::case::Role;
use crate::config::Config;

/// The people of one case, as stored: what roles resolve to. Built from the case row (never from
/// the mail being answered, except `sender`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseContacts {
    /// The case the mail is about.
    pub case_ref: Option<String>,
    /// The partner whose addresses may receive it: the case's partner, or for a mail about no
    /// single case (conclusions) the partner it is meant for.
    pub partner: Option<String>,
    pub social_assistant: Option<String>,
    pub counsellor: Option<String>,
    /// The sender of the mail being answered.
    pub sender: Option<String>,
}

impl CaseContacts {
    /// The contacts of a stored case (its partner wins over `partner`), or of the partner a
    /// case-less mail is about.
    pub fn new(
        case: Option<&CaseInfo>,
        partner: Option<&str>,
        answering: Option<&Answering>,
    ) -> CaseContacts {
        CaseContacts {
            case_ref: case.map(|c| c.case_ref.clone()),
            partner: case
                .map(|c| c.partner.clone())
                .or_else(|| partner.map(str::to_string)),
            social_assistant: case.and_then(|c| c.social_assistant.clone()),
            counsellor: case.and_then(|c| c.counsellor_email.clone()),
            sender: answering.map(|a| a.sender.clone()),
        }
    }
}

/// Why a notice gets no mail. [`GuardError::is_bug`] tells a programming error (the domain asked
/// for something that must never happen) from a deliberate no (loop safety).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// An address outside the case's partner and outside the staff. Never sent.
    #[error("privacy guard: {refused} recipient(s) of `{template}` about {} belong neither to the staff nor to the case's partner", case_ref.as_deref().unwrap_or("no case"))]
    Privacy {
        template: String,
        case_ref: Option<String>,
        refused: usize,
    },
    /// The notice names a case that is not the case given (or none was given).
    #[error("privacy guard: `{template}` names case {notice_case:?} but was prepared with case {given_case:?}")]
    CaseMismatch {
        template: String,
        notice_case: Option<String>,
        given_case: Option<String>,
    },
    /// `to_sender` without a mail being answered.
    #[error("`{template}` answers the sender but there is no mail being answered")]
    NoSender { template: String },
    /// The mail being answered was written by a machine (RFC 3834 §2).
    #[error("not answering automated mail ({kind})")]
    AutomatedMail { kind: &'static str },
    /// The mail being answered came from our own address: answering it would loop.
    #[error("not answering our own address")]
    OwnAddress,
    /// Every role resolved to nobody.
    #[error("`{template}` has no recipient")]
    NoRecipients { template: String },
}

impl GuardError {
    /// A bug in the code that produced the notice, as opposed to loop safety doing its job.
    pub fn is_bug(&self) -> bool {
        matches!(
            self,
            GuardError::Privacy { .. }
                | GuardError::CaseMismatch { .. }
                | GuardError::NoSender { .. }
        )
    }

    /// Log a refusal once: bugs at error level, loop safety at info; case references only.
    pub fn log(&self, notice: &Notice) {
        let case = notice.case_ref.as_deref().unwrap_or("-");
        if self.is_bug() {
            tracing::error!(template = %notice.template, case, "BUG: mail refused and not queued: {self}");
        } else {
            tracing::info!(template = %notice.template, case, "no mail: {self}");
        }
    }
}

/// Resolve a notice's roles to addresses for one case and check every one of them.
///
/// Roles that resolve to nobody fall back to someone who can act: a case without a social
/// assistant → the coordinators; a case without a counsellor address → the partner's addresses.
pub fn resolve(
    config: &Config,
    notice: &Notice,
    contacts: &CaseContacts,
    answering: Option<&Answering>,
) -> Result<Vec<String>, GuardError> {
    let same_case = match (&notice.case_ref, &contacts.case_ref) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    if !same_case {
        return Err(GuardError::CaseMismatch {
            template: notice.template.clone(),
            notice_case: notice.case_ref.clone(),
            given_case: contacts.case_ref.clone(),
        });
    }
    let partner = contacts
        .partner
        .as_deref()
        .and_then(|id| config.partner(id));
    let coordinators = || {
        config
            .organisation
            .coordinators
            .iter()
            .map(|p| p.email.clone())
            .collect::<Vec<_>>()
    };
    let partner_addresses = || {
        partner.map_or_else(Vec::new, |p| {
            if p.agenda_to.is_empty() {
                p.addresses.clone()
            } else {
                p.agenda_to.clone()
            }
        })
    };
    let mut wanted: Vec<String> = Vec::new();
    for role in &notice.to {
        match role {
            Role::Coordinator => wanted.extend(coordinators()),
            Role::SocialAssistant => match &contacts.social_assistant {
                Some(sa) => wanted.push(sa.clone()),
                None => wanted.extend(coordinators()),
            },
            Role::Partner => wanted.extend(partner_addresses()),
            Role::Counsellor => match &contacts.counsellor {
                Some(c) => wanted.push(c.clone()),
                None => wanted.extend(partner_addresses()),
            },
            Role::Admin if config.organisation.admins.is_empty() => wanted.extend(coordinators()),
            Role::Admin => wanted.extend(config.organisation.admins.iter().cloned()),
        }
    }
    if notice.to_sender {
        let (Some(answering), Some(sender)) = (answering, contacts.sender.as_deref()) else {
            return Err(GuardError::NoSender {
                template: notice.template.clone(),
            });
        };
        if answering.kind.is_automated() {
            return Err(GuardError::AutomatedMail {
                kind: answering.kind.as_str(),
            });
        }
        if is_own_address(config, sender) {
            return Err(GuardError::OwnAddress);
        }
        wanted.push(sender.to_string());
    }

    let mut recipients: Vec<String> = Vec::new();
    for address in wanted {
        let address = address.trim().to_ascii_lowercase();
        if !address.is_empty() && !recipients.contains(&address) {
            recipients.push(address);
        }
    }
    // Our own mailbox never receives a mail in To: it gets the Bcc copy anyway, and a mail to
    // ourselves would come back in as input.
    recipients.retain(|a| !is_own_address(config, a));
    let refused = recipients
        .iter()
        .filter(|a| !may_receive(config, partner, a))
        .count();
    if refused > 0 {
        return Err(GuardError::Privacy {
            template: notice.template.clone(),
            case_ref: notice.case_ref.clone(),
            refused,
        });
    }
    if recipients.is_empty() {
        return Err(GuardError::NoRecipients {
            template: notice.template.clone(),
        });
    }
    Ok(recipients)
}

/// The rule itself: staff, or an address of the partner the mail is about.
pub fn may_receive(
    config: &Config,
    partner: Option<&crate::config::Partner>,
    address: &str,
) -> bool {
    config.is_staff(address) || partner.is_some_and(|p| p.owns_address(address))
}

/// The shared mailbox, the address every mail of ours comes from.
pub fn is_own_address(config: &Config, address: &str) -> bool {
    address
        .trim()
        .eq_ignore_ascii_case(&config.organisation.shared_mailbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Partner;
    use crate::outbox::testing::{answering, config, notice, sample_case};
    use crate::understand::MailKind;

    fn contacts(case: &CaseInfo, sender: Option<&str>) -> CaseContacts {
        let a = sender.map(|s| answering(s, MailKind::Referral));
        CaseContacts::new(Some(case), None, a.as_ref())
    }

    #[test]
    fn an_acknowledgement_goes_to_a_sender_of_the_cases_own_partner() {
        let config = config();
        let case = sample_case("caw-antwerpen");
        let n = notice("referral_ack", Some(&case.case_ref), &[], true);
        let a = answering("lotte.wouters@caw-antwerpen.example", MailKind::Referral);
        let got = resolve(&config, &n, &contacts(&case, Some(&a.sender)), Some(&a));
        assert_eq!(got, Ok(vec!["lotte.wouters@caw-antwerpen.example".into()]));
    }

    #[test]
    fn an_acknowledgement_to_another_partners_sender_is_a_refused_bug() {
        let config = config();
        let case = sample_case("caw-antwerpen");
        let n = notice("referral_ack", Some(&case.case_ref), &[], true);
        let a = answering("k.jacobs@ocmw-antwerpen.example", MailKind::Referral);
        let err = resolve(&config, &n, &contacts(&case, Some(&a.sender)), Some(&a)).unwrap_err();
        assert!(matches!(err, GuardError::Privacy { refused: 1, .. }));
        assert!(err.is_bug());
    }

    #[test]
    fn an_unknown_sender_gets_no_case_data() {
        let config = config();
        let case = sample_case("caw-antwerpen");
        let n = notice("concern_ack", Some(&case.case_ref), &[], true);
        let a = answering("iemand@gmail.example", MailKind::Concern);
        assert!(matches!(
            resolve(&config, &n, &contacts(&case, Some(&a.sender)), Some(&a)),
            Err(GuardError::Privacy { .. })
        ));
    }

    #[test]
    fn automated_mail_and_our_own_address_are_never_answered() {
        let config = config();
        let case = sample_case("caw-antwerpen");
        let n = notice("reply_ack", Some(&case.case_ref), &[], true);
        for kind in [
            MailKind::AutoReply,
            MailKind::Bounce,
            MailKind::Bulk,
            MailKind::CalendarResponse,
        ] {
            let a = answering("lotte.wouters@caw-antwerpen.example", kind);
            let err = resolve(&config, &n, &contacts(&case, Some(&a.sender)), Some(&a));
            assert!(
                matches!(err, Err(GuardError::AutomatedMail { .. })),
                "{kind:?}"
            );
        }
        let own = config.organisation.shared_mailbox.to_uppercase();
        let a = answering(&own, MailKind::ReplyToCase);
        let err = resolve(&config, &n, &contacts(&case, Some(&own)), Some(&a)).unwrap_err();
        assert_eq!(err, GuardError::OwnAddress);
        assert!(!err.is_bug());
    }

    #[test]
    fn roles_resolve_with_fallbacks_and_without_duplicates() {
        let config = config();
        let mut case = sample_case("caw-antwerpen");
        let n = notice(
            "concern_notice",
            Some(&case.case_ref),
            &[Role::SocialAssistant, Role::Coordinator],
            false,
        );
        let got = resolve(&config, &n, &contacts(&case, None), None).unwrap();
        assert_eq!(
            got,
            vec![
                "bram.janssens@woonhaven.example".to_string(),
                "an.peeters@woonhaven.example".to_string()
            ]
        );
        // No social assistant on the case: the coordinator is told (once).
        case.social_assistant = None;
        let got = resolve(&config, &n, &contacts(&case, None), None).unwrap();
        assert_eq!(got, vec!["an.peeters@woonhaven.example".to_string()]);
        // No counsellor address: the partner's own mailbox.
        case.counsellor_email = None;
        let n = notice(
            "escalation",
            Some(&case.case_ref),
            &[Role::Counsellor],
            false,
        );
        let got = resolve(&config, &n, &contacts(&case, None), None).unwrap();
        assert_eq!(got, vec!["teamwonen@caw-antwerpen.example".to_string()]);
    }

    #[test]
    fn a_counsellor_outside_the_partner_is_refused() {
        let config = config();
        let mut case = sample_case("caw-antwerpen");
        case.counsellor_email = Some("lotte@ocmw-antwerpen.example".into());
        let n = notice(
            "final_report_reminder",
            Some(&case.case_ref),
            &[Role::Counsellor],
            false,
        );
        assert!(matches!(
            resolve(&config, &n, &contacts(&case, None), None),
            Err(GuardError::Privacy { .. })
        ));
    }

    #[test]
    fn a_notice_prepared_with_the_wrong_case_is_refused() {
        let config = config();
        let case = sample_case("caw-antwerpen");
        let n = notice(
            "concern_notice",
            Some("VD-2026-0099"),
            &[Role::Coordinator],
            false,
        );
        assert!(matches!(
            resolve(&config, &n, &contacts(&case, None), None),
            Err(GuardError::CaseMismatch { .. })
        ));
        let n = notice(
            "concern_notice",
            Some("VD-2026-0099"),
            &[Role::Coordinator],
            false,
        );
        assert!(matches!(
            resolve(&config, &n, &CaseContacts::default(), None),
            Err(GuardError::CaseMismatch { .. })
        ));
    }

    #[test]
    fn a_mail_about_no_case_goes_to_staff_or_the_one_partner_it_is_about() {
        let config = config();
        let n = notice("conclusions_confirmation", None, &[Role::Partner], false);
        let got = resolve(
            &config,
            &n,
            &CaseContacts::new(None, Some("ocmw-antwerpen"), None),
            None,
        );
        assert_eq!(
            got,
            Ok(vec!["woonbegeleiding@ocmw-antwerpen.example".to_string()])
        );
        // Without a partner, a partner role resolves to nobody.
        assert!(matches!(
            resolve(&config, &n, &CaseContacts::default(), None),
            Err(GuardError::NoRecipients { .. })
        ));
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        /// A random world: partners with distinct domains, cases spread over them with
        /// counsellors that sometimes live at the wrong partner or nowhere, senders from
        /// anywhere, notices with any roles.
        #[derive(Debug, Clone)]
        struct World {
            partners: usize,
            cases: Vec<(usize, Option<Addr>, bool)>,
            notices: Vec<(usize, Vec<Role>, bool, Addr, MailKind)>,
        }

        /// An address by who it belongs to.
        #[derive(Debug, Clone, Copy)]
        enum Addr {
            Partner(usize, u8),
            Staff(u8),
            Stranger(u8),
            Own,
        }

        fn addr(a: Addr) -> String {
            match a {
                Addr::Partner(p, n) => format!("p{n}@partner{p}.example"),
                Addr::Staff(n) => format!("staff{n}@woonhaven.example"),
                Addr::Stranger(n) => format!("x{n}@elders.example"),
                Addr::Own => "versneldedoorstroom@woonhaven.example".into(),
            }
        }

        fn any_addr(partners: usize) -> impl Strategy<Value = Addr> {
            prop_oneof![
                4 => (0..partners, 0..4u8).prop_map(|(p, n)| Addr::Partner(p, n)),
                1 => (0..4u8).prop_map(Addr::Staff),
                2 => (0..4u8).prop_map(Addr::Stranger),
                1 => Just(Addr::Own),
            ]
        }

        fn role() -> impl Strategy<Value = Role> {
            prop_oneof![
                Just(Role::Coordinator),
                Just(Role::SocialAssistant),
                Just(Role::Partner),
                Just(Role::Counsellor)
            ]
        }

        fn kind() -> impl Strategy<Value = MailKind> {
            prop_oneof![
                4 => Just(MailKind::Referral),
                2 => Just(MailKind::Concern),
                2 => Just(MailKind::ReplyToCase),
                1 => Just(MailKind::AutoReply),
                1 => Just(MailKind::Bounce),
                1 => Just(MailKind::CrossPartner),
            ]
        }

        fn world() -> impl Strategy<Value = World> {
            (1usize..5).prop_flat_map(|partners| {
                let case = (
                    0..partners,
                    proptest::option::of(any_addr(partners)),
                    any::<bool>(),
                );
                (Just(partners), proptest::collection::vec(case, 1..8)).prop_flat_map(
                    move |(partners, cases)| {
                        let n = cases.len();
                        let notice = (
                            0..n,
                            proptest::collection::vec(role(), 0..4),
                            any::<bool>(),
                            any_addr(partners),
                            kind(),
                        );
                        (
                            Just(partners),
                            Just(cases),
                            proptest::collection::vec(notice, 1..12),
                        )
                            .prop_map(|(partners, cases, notices)| World {
                                partners,
                                cases,
                                notices,
                            })
                    },
                )
            })
        }

        fn partner(i: usize) -> Partner {
            Partner {
                id: format!("partner{i}"),
                name: format!("Partner {i}"),
                domains: vec![format!("partner{i}.example")],
                addresses: vec![],
                agenda_to: vec![format!("agenda@partner{i}.example")],
                monthly_quota: None,
                programme: "vivendo".into(),
                teams_link: None,
                meeting_place: None,
            }
        }

        /// One step of a random history: a handover of case `case` to `to`, asked on day `day`
        /// to take effect `delay` days later, or a notice about `case` on `day`.
        #[derive(Debug, Clone)]
        enum Step {
            Handover {
                case: usize,
                to: usize,
                day: u32,
                delay: u32,
            },
            Notice {
                case: usize,
                day: u32,
                roles: Vec<Role>,
                to_sender: bool,
                sender: Addr,
            },
        }

        fn history(partners: usize, cases: usize) -> impl Strategy<Value = Vec<Step>> {
            let step = prop_oneof![
                1 => (0..cases, 0..partners, 0..60u32, 0..10u32)
                    .prop_map(|(case, to, day, delay)| Step::Handover { case, to, day, delay }),
                3 => (0..cases, 0..60u32, proptest::collection::vec(role(), 0..4), any::<bool>(), any_addr(partners))
                    .prop_map(|(case, day, roles, to_sender, sender)| Step::Notice { case, day, roles, to_sender, sender }),
            ];
            proptest::collection::vec(step, 1..30)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]
            /// Over random handovers and traffic, a partner receives a case only on the days
            /// it guides it: before a handover takes effect the old partner, from its date the
            /// new one, and never both.
            #[test]
            fn no_partner_receives_a_case_outside_the_periods_it_guided_it(
                (partners, starts, steps) in (2usize..5).prop_flat_map(|p| {
                    (Just(p), proptest::collection::vec(0..p, 1..4)).prop_flat_map(move |(p, starts)| {
                        let n = starts.len();
                        (Just(p), Just(starts), history(p, n))
                    })
                })
            ) {
                use crate::case::handover;
                use crate::case::model::{Case, Cause, HandoverState, PlannedHandover, Status};
                let mut config = config();
                config.partners = (0..partners).map(partner).collect();
                let outbox = crate::outbox::testing::outbox(&config);
                let day0 = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
                let mut cases: Vec<Case> = starts.iter().enumerate().map(|(i, p)| {
                    let mut c = Case::new(format!("VD-2027-{:04}", i + 1), &format!("partner{p}"), "vivendo", "Jan Peeters", chrono::Utc::now());
                    c.status = Status::InGuidance;
                    c.social_assistant = Some("bram.janssens@woonhaven.example".into());
                    c
                }).collect();
                // The oracle: per case, the days from which each partner guides it.
                let mut periods: Vec<Vec<(u32, String)>> = cases.iter().map(|c| vec![(0, c.partner.clone())]).collect();
                let mut steps = steps;
                steps.sort_by_key(|s| match s { Step::Handover { day, .. } | Step::Notice { day, .. } => *day });
                let cause = Cause::Admin { command: "proptest".into() };
                for step in steps {
                    let day = match &step { Step::Handover { day, .. } | Step::Notice { day, .. } => *day };
                    let today = day0 + chrono::Days::new(u64::from(day));
                    let at = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
                    // What the daily pass does first: handovers whose date came.
                    for (i, c) in cases.iter_mut().enumerate() {
                        if handover::due(c, &config, today) == Some(handover::Due::TakeEffect) {
                            let from = c.handover.as_ref().unwrap().from;
                            handover::take_effect(c, at, &cause).unwrap();
                            let from_day = u32::try_from((from - day0).num_days()).unwrap();
                            periods[i].push((from_day.max(day), c.partner.clone()));
                        }
                    }
                    match step {
                        Step::Handover { case, to, delay, .. } => {
                            let c = &mut cases[case];
                            let wanted = PlannedHandover {
                                to: format!("partner{to}"),
                                name: format!("Partner {to}"),
                                domain: None,
                                from: today + chrono::Days::new(u64::from(delay)),
                                counsellor: Default::default(),
                                state: HandoverState::Planned,
                                announced_by: "admin".into(),
                            };
                            let before = c.partner.clone();
                            match handover::request(c, &config, wanted, today, at, &cause) {
                                Ok((handover::Outcome::Done, _)) => {
                                    prop_assert_ne!(&before, &c.partner);
                                    periods[case].push((day, c.partner.clone()));
                                }
                                Ok(_) => prop_assert_eq!(&before, &c.partner, "moved before its date"),
                                Err(_) => prop_assert_eq!(format!("partner{to}"), before),
                            }
                        }
                        Step::Notice { case, roles, to_sender, sender, .. } => {
                            let c = &cases[case];
                            let guiding = periods[case].iter().rev().find(|(from, _)| *from <= day).map(|(_, p)| p.clone()).unwrap();
                            prop_assert_eq!(&guiding, &c.partner);
                            let info = CaseInfo::of(c);
                            let n = notice("concern_ack", Some(&c.case_ref), &roles, to_sender);
                            let a = answering(&addr(sender), MailKind::Concern);
                            let Ok(mail) = outbox.prepare(&config, &n, Some(&info), None, Some(&a), chrono::Utc::now()) else { continue };
                            for r in &mail.recipients {
                                for p in config.partners.iter().filter(|p| p.id != guiding) {
                                    prop_assert!(!p.owns_address(r), "{} of {} got {} on day {} while {} guided it", r, p.id, c.case_ref, day, guiding);
                                }
                                prop_assert!(config.is_staff(r) || config.partner(&guiding).unwrap().owns_address(r));
                            }
                        }
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn no_partner_ever_receives_another_partners_case(w in world()) {
                let mut config = config();
                config.partners = (0..w.partners).map(partner).collect();
                let outbox = crate::outbox::testing::outbox(&config);
                let cases: Vec<CaseInfo> = w.cases.iter().enumerate().map(|(i, (p, counsellor, sa))| {
                    let mut c = sample_case(&format!("partner{p}"));
                    c.case_ref = format!("VD-2026-{:04}", i + 1);
                    c.counsellor_email = counsellor.map(addr);
                    c.social_assistant = sa.then(|| "bram.janssens@woonhaven.example".to_string());
                    c
                }).collect();
                let now = chrono::Utc::now();
                for (case_index, roles, to_sender, sender, kind) in &w.notices {
                    let case = &cases[*case_index];
                    let n = notice("concern_ack", Some(&case.case_ref), roles, *to_sender);
                    let a = answering(&addr(*sender), *kind);
                    let prepared = outbox.prepare(&config, &n, Some(case), None, Some(&a), now);
                    // Not vacuous: a plain acknowledgement to a sender of the case's own partner
                    // always goes out, to that sender alone.
                    let own_sender = matches!(sender, Addr::Partner(p, _) if format!("partner{p}") == case.partner);
                    if *to_sender && roles.is_empty() && own_sender && !kind.is_automated() {
                        let mail = prepared.as_ref().map_err(|e| e.to_string());
                        prop_assert_eq!(mail.map(|m| m.recipients.clone()), Ok(vec![addr(*sender)]));
                    }
                    let Ok(mail) = prepared else {
                        continue;
                    };
                    let owner = config.partner(&case.partner).unwrap();
                    for r in &mail.recipients {
                        // Staff, or the case's own partner: nobody else, ever.
                        prop_assert!(config.is_staff(r) || owner.owns_address(r), "{r} got {}", case.case_ref);
                        for other in config.partners.iter().filter(|p| p.id != case.partner) {
                            prop_assert!(!other.owns_address(r), "{r} of {} got {}", other.id, case.case_ref);
                        }
                        prop_assert!(!r.ends_with("@elders.example"), "unknown {r} got case data");
                    }
                    if *to_sender {
                        prop_assert!(!kind.is_automated(), "answered automated mail");
                        prop_assert!(!matches!(sender, Addr::Own), "answered ourselves");
                    }
                    // The composed message is addressed to exactly the checked recipients.
                    let parsed = mail_parser::MessageParser::default().parse(&mail.bytes).unwrap();
                    let mut to: Vec<String> = parsed.to().unwrap().iter()
                        .filter_map(|a| a.address()).map(|a| a.to_string()).collect();
                    to.sort();
                    let mut want = mail.recipients.clone();
                    want.sort();
                    prop_assert_eq!(to, want);
                    prop_assert!(parsed.cc().is_none() && parsed.bcc().is_none());
                }
            }
        }
    }
}
