//! Preventive housing guidance (`002`): guidance the landlord itself asks of a partner for a
//! tenant threatened with eviction, as one more programme on the same case engine.
//!
//! Owns what is particular to it: the staff request that opens a case (and a relapse that opens a
//! new, linked episode within the aftercare period), the partner's answer (taking it on, or
//! declining with its motivation), the action plan of which only the housing goals are kept, and
//! the closing with its outcome (goals met, eviction avoided). Which programme this is comes from
//! the config (`opened_by = "preventive_request"`), never from an id written here.
//!
//! Pure like the rest of [`crate::case`]: no clock, no I/O.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::apply::{
    ack, add_documents, cause, new_case, notice, programme, today, CaseChange, Effects, Input,
    ProgrammeRules,
};
use super::model::{Case, CaseError, GoalsMet, Status, Transition};
use super::{plan, Role};
use crate::config::{Config, Programme};
use crate::understand::{text, MailKind};

/// The rules of the preventive programme, plugged into [`crate::case::apply()`] through
/// [`ProgrammeRules`] (listed in [`super::programmes::RULES`]).
pub struct Preventive;

impl ProgrammeRules for Preventive {
    fn opened_by(&self) -> MailKind {
        MailKind::PreventiveRequest
    }

    fn open(&self, input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
        request(input, fx)
    }

    /// Answers about a preventive case (taking it on, declining, the action plan, closing) are
    /// read here; anything not recognised is handled as for any case.
    fn case_mail(
        &self,
        input: &Input<'_>,
        case: Case,
        fx: &mut Effects,
    ) -> Result<bool, CaseError> {
        let answer = matches!(
            input.decision.kind,
            MailKind::ReplyToCase | MailKind::Concern | MailKind::FinalReport
        );
        Ok(answer && partner_mail(input, case, fx)?)
    }
}

/// The programme a preventive request opens, if one is configured.
pub fn request_programme(config: &Config) -> Option<&Programme> {
    Preventive.programme(config)
}

/// Is this case in the programme opened by preventive requests?
pub fn is_preventive(config: &Config, case: &Case) -> bool {
    Preventive.owns(config, case)
}

/// May a closed case be reopened as a linked episode at `now` (`002` §5.6)?
pub fn reopenable(programme: &Programme, case: &Case, now: DateTime<Utc>) -> bool {
    let (Some(months), Some(closed)) = (programme.reopen_within_months, case.closed_at) else {
        return false;
    };
    case.status.is_closed()
        && case.status != Status::Anonymised
        && plan::add_months(closed.date_naive(), months) >= now.date_naive()
}

/// A staff request for preventive guidance: opens a case for the partner the mail was addressed
/// to and confirms to the sender. A request naming an open case only adds to it; one naming a
/// closed case opens a new episode, linked to it when still within the aftercare period.
fn request(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let programme = request_programme(input.config).ok_or_else(|| {
        CaseError::UnknownProgramme("(a programme with opened_by = \"preventive_request\")".into())
    })?;
    let named = super::apply::known_case(input);
    if let Some(open) = named.filter(|c| c.status.is_open()) {
        return super::apply::reply(input, open.clone(), fx);
    }
    let (mut case, partner) = new_case(input, Some(&programme.id))?;
    let (reference, candidate) = (case.case_ref.clone(), case.candidate.clone());
    case.other_guidance = programme.other_guidance;
    // The staff member who asked answers for the case on the landlord's side: reminders and the
    // partner's answer go to them.
    case.social_assistant = d.facts.sender.clone();
    let linked = named.filter(|old| {
        old.programme == programme.id && reopenable(programme, old, input.received_at)
    });
    case.previous_case = linked.map(|c| c.case_ref.clone());
    let mut events = vec![case.event(
        input.now,
        "created",
        json!({
            "partner": partner.id,
            "programme": programme.id,
            "candidate": candidate,
            "cir": d.cir,
            "request": d.facts.statement,
            "previous_case": case.previous_case,
        }),
        &cause(input),
    )];
    if let Some(old) = named.filter(|_| linked.is_none()) {
        events.push(case.event(
            input.now,
            "not_reopened",
            json!({"case": old.case_ref, "why": "outside the aftercare period or not closed"}),
            &cause(input),
        ));
    }
    add_documents(input, &mut case, &mut events);
    if case.missing_documents(programme).is_empty() {
        events.push(case.transition(Transition::Complete, input.now, &cause(input))?);
    }
    let data = json!({
        "candidate": candidate,
        "partner": partner.name,
        "answer_within_days": programme.answer_within_days,
        "previous_case": case.previous_case,
    });
    fx.notices
        .extend(ack(input, "preventive_request_ack", &reference, data));
    fx.case_ref = Some(reference);
    fx.changes.push(CaseChange {
        case,
        created: true,
        events,
        counsellor_changed: false,
    });
    Ok(())
}

/// The partner's text without what it quotes: answers are judged on their own words.
fn own_words(body: &str) -> String {
    let mut out = Vec::new();
    for line in body.lines() {
        let t = line.trim_start();
        let lower = t.to_lowercase();
        if lower.starts_with("van:")
            || lower.starts_with("from:")
            || lower.starts_with("-----")
            || (lower.starts_with("op ") && lower.contains("schreef"))
        {
            break;
        }
        if !t.starts_with('>') {
            out.push(line);
        }
    }
    out.join("\n")
}

/// A mail of the partner (or staff) about a preventive case. Returns false when it is none of
/// the answers this module reads, so the ordinary handling applies.
fn partner_mail(input: &Input<'_>, mut case: Case, fx: &mut Effects) -> Result<bool, CaseError> {
    let d = input.decision;
    let kw = &input.config.triage;
    let own = own_words(&d.facts.body_text);
    let words = text::normalise(&format!("{}\n{own}", d.facts.subject));
    let programme = programme(input, &case)?.clone();
    let awaiting = matches!(
        case.status,
        Status::ReferredIncomplete | Status::ReferredComplete
    );
    let mut events = Vec::new();
    let plan_words = text::matches(&words, &kw.action_plan, false);
    if awaiting && !text::matches(&words, &kw.decline, false).is_empty() {
        let motivation = text::statement(&own).unwrap_or_else(|| own.trim().to_string());
        events.push(case.transition(Transition::CloseNegative, input.now, &cause(input))?);
        events.push(case.event(
            input.now,
            "declined",
            json!({"motivation": motivation}),
            &cause(input),
        ));
        fx.notices.push(notice(
            input,
            "preventive_answer_notice",
            Some(&case.case_ref),
            vec![Role::SocialAssistant],
            json!({"candidate": case.candidate, "taken_on": false, "motivation": motivation}),
        ));
    } else if awaiting
        && (!text::matches(&words, &kw.take_on, false).is_empty() || !plan_words.is_empty())
    {
        take_on(input, &mut case, &programme, &mut events)?;
        if !plan_words.is_empty() {
            action_plan(input, &case, &own, &mut events);
        }
        fx.notices.push(notice(
            input,
            "preventive_answer_notice",
            Some(&case.case_ref),
            vec![Role::SocialAssistant],
            json!({"candidate": case.candidate, "taken_on": true, "motivation": null}),
        ));
    } else if case.status.is_guided() && !plan_words.is_empty() {
        action_plan(input, &case, &own, &mut events);
    } else if case.status.is_guided() && !text::matches(&words, &kw.closing, false).is_empty() {
        let (goals, avoided) = outcome(&words);
        case.goals_met = goals;
        case.eviction_avoided = avoided;
        let positive = avoided == Some(true) && goals != Some(GoalsMet::No);
        let t = if positive {
            Transition::ClosePositive
        } else {
            Transition::CloseNegative
        };
        events.push(case.transition(t, input.now, &cause(input))?);
        events.push(case.event(
            input.now,
            "outcome",
            json!({"goals_met": goals, "eviction_avoided": avoided}),
            &cause(input),
        ));
    } else {
        return Ok(false);
    }
    fx.changes.push(CaseChange {
        case,
        created: false,
        events,
        counsellor_changed: false,
    });
    Ok(true)
}

/// The partner takes the request on: guidance starts today and the programme's milestones
/// (periodic evaluation) are planned from that date.
fn take_on(
    input: &Input<'_>,
    case: &mut Case,
    programme: &Programme,
    events: &mut Vec<super::CaseEvent>,
) -> Result<(), CaseError> {
    events.push(case.transition(Transition::TakeOn, input.now, &cause(input))?);
    let d = input.decision;
    if !d.facts.from_staff && case.counsellor.email.is_none() {
        case.counsellor.email = d.facts.sender.clone();
    }
    let start = today(input);
    plan::set_lease_start(case, programme, start);
    events.push(case.event(
        input.now,
        "taken_on",
        json!({"guidance_start": start.to_string(), "counsellor": case.counsellor.to_json()}),
        &cause(input),
    ));
    Ok(())
}

/// The action plan (handelingsplan): only the goals about housing and the landlord's conditions
/// are kept; the history says how many others were left out (`002` §5.3).
fn action_plan(input: &Input<'_>, case: &Case, own: &str, events: &mut Vec<super::CaseEvent>) {
    let (kept, left_out) = housing_goals(own, &input.config.triage.housing_goal);
    let mut detail = json!({"goals": kept, "left_out": left_out});
    if left_out > 0 {
        detail["note"] = json!(format!(
            "{left_out} doel(en) zonder verband met het wonen niet bewaard (002 §5.3)"
        ));
    }
    events.push(case.event(input.now, "action_plan", detail, &cause(input)));
}

/// The goal lines of an action plan (bullets or numbered lines), split into those that concern
/// housing (kept) and the number of others (not kept).
pub fn housing_goals(text_: &str, housing_words: &[String]) -> (Vec<String>, usize) {
    let mut kept = Vec::new();
    let mut left_out = 0;
    for line in text_.lines() {
        let t = line.trim();
        let goal = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| t.strip_prefix("• "))
            .or_else(|| {
                let digits = t.chars().take_while(char::is_ascii_digit).count();
                (digits > 0)
                    .then(|| {
                        t[digits..]
                            .strip_prefix(". ")
                            .or(t[digits..].strip_prefix(") "))
                    })
                    .flatten()
            });
        let Some(goal) = goal.map(str::trim).filter(|g| !g.is_empty()) else {
            continue;
        };
        if text::matches(&text::normalise(goal), housing_words, false).is_empty() {
            left_out += 1;
        } else {
            kept.push(goal.to_string());
        }
    }
    (kept, left_out)
}

/// Goals met and eviction avoided, as a closing mail states them (`002` §5.5).
pub fn outcome(words: &str) -> (Option<GoalsMet>, Option<bool>) {
    let goals = if words.contains("gedeeltelijk") {
        Some(GoalsMet::Partly)
    } else if words.contains("niet behaald") || words.contains("niet bereikt") {
        Some(GoalsMet::No)
    } else if words.contains("behaald") || words.contains("bereikt") {
        Some(GoalsMet::Yes)
    } else {
        None
    };
    let avoided = if words.contains("uithuiszetting niet vermeden")
        || words.contains("toch uit huis gezet")
        || words.contains("uithuiszetting werd uitgevoerd")
    {
        Some(false)
    } else if words.contains("uithuiszetting vermeden")
        || words.contains("uithuiszetting is vermeden")
        || words.contains("uithuiszetting werd vermeden")
    {
        Some(true)
    } else {
        None
    };
    (goals, avoided)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::case::escalation;
    use crate::case::MilestoneKind;
    use crate::understand::{Decision, Facts};

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .expect("example config")
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn decision(kind: MailKind, case_ref: Option<&str>, sender: &str, body: &str) -> Decision {
        Decision {
            file: String::new(),
            kind,
            partner: Some("caw-antwerpen".into()),
            case_ref: case_ref.map(str::to_string),
            candidate: Some("Marc Verbeke".into()),
            cir: None,
            documents: Vec::new(),
            missing: Vec::new(),
            must_auto_reply: true,
            notify: Vec::new(),
            lease_start: None,
            conclusions: BTreeMap::new(),
            new_contact: None,
            handover: None,
            duplicate_of: None,
            confidence: 1.0,
            confidence_reasons: Vec::new(),
            reasons: Vec::new(),
            facts: Facts {
                sender: Some(sender.into()),
                from_staff: sender.ends_with("@woonhaven.example"),
                subject: "Preventieve woonbegeleiding Marc Verbeke".into(),
                statement: Some("Huurachterstal van 3 maanden.".into()),
                body_text: body.into(),
                ..Facts::default()
            },
        }
    }

    fn run(d: &Decision, cases: &[Case], when: DateTime<Utc>) -> Result<Effects, CaseError> {
        let config = config();
        let cases: BTreeMap<String, Case> = cases
            .iter()
            .map(|c| (c.case_ref.clone(), c.clone()))
            .collect();
        crate::case::apply(&Input {
            config: &config,
            decision: d,
            mail_id: 9,
            received_at: when,
            now: when,
            cases: &cases,
            new_reference: Some("VD-2026-0200".into()),
            referrals_this_month: 0,
        })
    }

    const STAFF: &str = "bram.janssens@woonhaven.example";
    const COUNSELLOR: &str = "lotte.wouters@caw-antwerpen.example";

    fn requested() -> Case {
        let d = decision(
            MailKind::PreventiveRequest,
            None,
            STAFF,
            "Graag preventieve woonbegeleiding.",
        );
        run(&d, &[], at(2026, 11, 2))
            .unwrap()
            .changes
            .remove(0)
            .case
    }

    fn taken_on() -> Case {
        let d = decision(
            MailKind::ReplyToCase,
            Some("VD-2026-0200"),
            COUNSELLOR,
            "Wij nemen de begeleiding op.",
        );
        run(&d, &[requested()], at(2026, 11, 6))
            .unwrap()
            .changes
            .remove(0)
            .case
    }

    #[test]
    fn a_staff_request_opens_a_preventive_case_flagged_other_guidance_and_confirms_to_the_sender() {
        let d = decision(
            MailKind::PreventiveRequest,
            None,
            STAFF,
            "Graag preventieve woonbegeleiding.",
        );
        let fx = run(&d, &[], at(2026, 11, 2)).unwrap();
        let change = &fx.changes[0];
        assert!(change.created);
        assert_eq!(change.case.programme, "preventive");
        assert_eq!(change.case.partner, "caw-antwerpen");
        assert!(change.case.other_guidance);
        assert_eq!(change.case.status, Status::ReferredComplete);
        assert_eq!(change.case.social_assistant.as_deref(), Some(STAFF));
        assert_eq!(fx.notices.len(), 1);
        assert_eq!(fx.notices[0].template, "preventive_request_ack");
        assert!(fx.notices[0].to_sender);
        assert_eq!(fx.notices[0].data["answer_within_days"], 14);
        assert_eq!(fx.case_ref.as_deref(), Some("VD-2026-0200"));
    }

    #[test]
    fn taking_it_on_starts_guidance_today_and_plans_evaluations_every_three_months() {
        let case = taken_on();
        assert_eq!(case.status, Status::InGuidance);
        assert_eq!(case.counsellor.email.as_deref(), Some(COUNSELLOR));
        assert_eq!(case.lease_start, Some(date(2026, 11, 6)));
        let evaluations: Vec<NaiveDate> = case
            .milestones
            .iter()
            .filter(|m| m.kind == MilestoneKind::Evaluation)
            .map(|m| m.due_on)
            .collect();
        assert_eq!(
            evaluations,
            [date(2027, 2, 6), date(2027, 5, 6), date(2027, 8, 6)]
        );
    }

    #[test]
    fn the_usual_ways_of_saying_yes_take_the_request_on() {
        for body in [
            "Wij nemen de begeleiding op.",
            "Na een eerste huisbezoek nemen wij de begeleiding op voor Marc.",
            "We starten de begeleiding volgende week.",
            "De begeleiding wordt opgestart.",
        ] {
            let d = decision(
                MailKind::ReplyToCase,
                Some("VD-2026-0200"),
                COUNSELLOR,
                body,
            );
            let fx = run(&d, &[requested()], at(2026, 11, 6)).unwrap();
            assert_eq!(fx.changes[0].case.status, Status::InGuidance, "{body}");
        }
    }

    #[test]
    fn declining_with_motivation_closes_the_case_with_that_motivation_and_tells_the_asker() {
        let d = decision(
            MailKind::Concern,
            Some("VD-2026-0200"),
            COUNSELLOR,
            "We kunnen de begeleiding niet opstarten: de huurder heeft al budgetbeheer bij het OCMW en weigert elk contact.\n\nVan: Bram Janssens\nGraag preventieve woonbegeleiding.",
        );
        let fx = run(&d, &[requested()], at(2026, 11, 9)).unwrap();
        let change = &fx.changes[0];
        assert_eq!(change.case.status, Status::ClosedNegative);
        let declined = change.events.iter().find(|e| e.kind == "declined").unwrap();
        assert!(declined.detail["motivation"]
            .as_str()
            .unwrap()
            .contains("budgetbeheer"));
        assert_eq!(fx.notices[0].template, "preventive_answer_notice");
        assert_eq!(fx.notices[0].to, [Role::SocialAssistant]);
        assert_eq!(fx.notices[0].data["taken_on"], false);
    }

    #[test]
    fn the_action_plan_keeps_only_the_goals_about_housing_and_says_so() {
        let body = "In bijlage het handelingsplan. Doelen:\n- afbetalingsplan huurachterstal naleven\n- woning wekelijks poetsen (onderhoud)\n- werk zoeken via VDAB\n- relatie met zus herstellen\n";
        let d = decision(
            MailKind::ReplyToCase,
            Some("VD-2026-0200"),
            COUNSELLOR,
            body,
        );
        let fx = run(&d, &[taken_on()], at(2026, 12, 1)).unwrap();
        let plan = fx.changes[0]
            .events
            .iter()
            .find(|e| e.kind == "action_plan")
            .unwrap();
        assert_eq!(
            plan.detail["goals"],
            serde_json::json!([
                "afbetalingsplan huurachterstal naleven",
                "woning wekelijks poetsen (onderhoud)"
            ])
        );
        assert_eq!(plan.detail["left_out"], 2);
        assert!(plan.detail["note"].as_str().unwrap().contains("002 §5.3"));
        assert!(!plan.detail.to_string().contains("VDAB"));
    }

    #[test]
    fn closing_records_goals_met_and_eviction_avoided() {
        let cases = [
            (
                "De doelen zijn behaald, uithuiszetting vermeden. We sluiten het dossier af.",
                Some(GoalsMet::Yes),
                Some(true),
                Status::ClosedPositive,
            ),
            (
                "Doelen gedeeltelijk behaald, de uithuiszetting is vermeden. Afgesloten.",
                Some(GoalsMet::Partly),
                Some(true),
                Status::ClosedPositive,
            ),
            (
                "Doelen niet behaald, de huurder werd toch uit huis gezet. Dossier afgesloten.",
                Some(GoalsMet::No),
                Some(false),
                Status::ClosedNegative,
            ),
        ];
        for (body, goals, avoided, status) in cases {
            let d = decision(
                MailKind::ReplyToCase,
                Some("VD-2026-0200"),
                COUNSELLOR,
                body,
            );
            let fx = run(&d, &[taken_on()], at(2027, 8, 1)).unwrap();
            let case = &fx.changes[0].case;
            assert_eq!(
                (case.goals_met, case.eviction_avoided, case.status),
                (goals, avoided, status),
                "{body}"
            );
        }
    }

    #[test]
    fn a_relapse_within_the_aftercare_period_opens_a_new_episode_linked_to_the_old_case() {
        let mut old = taken_on();
        old.status = Status::ClosedPositive;
        old.closed_at = Some(at(2027, 8, 1));
        let d = decision(
            MailKind::PreventiveRequest,
            Some("VD-2026-0200"),
            STAFF,
            "Opnieuw huurachterstal.",
        );
        let mut fx = run(&d, std::slice::from_ref(&old), at(2028, 3, 1)).unwrap();
        let new = fx.changes.remove(0);
        assert!(new.created);
        assert_eq!(new.case.case_ref, "VD-2026-0200");
        assert_eq!(new.case.previous_case.as_deref(), Some("VD-2026-0200"));
        assert_eq!(fx.notices[0].data["previous_case"], "VD-2026-0200");

        // After the period (12 months): a new first episode, not linked, the history says why.
        let fx = run(&d, &[old], at(2028, 9, 1)).unwrap();
        assert_eq!(fx.changes[0].case.previous_case, None);
        assert!(fx.changes[0]
            .events
            .iter()
            .any(|e| e.kind == "not_reopened"));
    }

    #[test]
    fn no_answer_in_fourteen_days_reminds_the_asker_weekly_and_stops_once_answered() {
        let config = config();
        let case = requested();
        let on =
            |day: NaiveDate, c: &Case| escalation::due_in(std::slice::from_ref(c), &config, day);
        assert!(on(date(2026, 11, 16), &case).answer_reminders.is_empty());
        let first = on(date(2026, 11, 17), &case).notices();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].template, "preventive_answer_reminder");
        assert_eq!(first[0].to, [Role::SocialAssistant]);
        let same_week = on(date(2026, 11, 20), &case).notices();
        assert_eq!(same_week[0].dedupe, first[0].dedupe);
        let next_week = on(date(2026, 11, 24), &case).notices();
        assert_ne!(next_week[0].dedupe, first[0].dedupe);
        assert!(on(date(2026, 12, 20), &taken_on())
            .answer_reminders
            .is_empty());
    }

    #[test]
    fn the_woningnet_renewal_reminds_the_counsellor_four_weeks_ahead_and_escalates_when_missed() {
        let config = config();
        let p = config.programme("uitstroom-bw").unwrap();
        let mut case = Case::new(
            "VD-2026-0300".into(),
            "caw-antwerpen",
            "uitstroom-bw",
            "Sanne de Vries",
            at(2026, 1, 5),
        );
        case.status = Status::InGuidance;
        plan::set_lease_start(&mut case, p, date(2026, 3, 1));
        let renewals: Vec<NaiveDate> = case
            .milestones
            .iter()
            .filter(|m| m.kind == MilestoneKind::RegistrationRenewal)
            .map(|m| m.due_on)
            .collect();
        assert_eq!(renewals, [date(2027, 3, 1), date(2028, 3, 1)]);
        let on = |day| escalation::due_in(std::slice::from_ref(&case), &config, day);
        assert!(on(date(2027, 1, 31)).advance_reminders.is_empty());
        let ahead = on(date(2027, 2, 1)).advance_reminders;
        assert_eq!(ahead.len(), 1);
        assert_eq!(ahead[0].days_left, 28);
        assert_eq!(ahead[0].notice().to, [Role::Counsellor]);
        assert_eq!(ahead[0].notice().template, "milestone_reminder");
        let missed = on(date(2027, 3, 8)).escalations;
        assert!(missed
            .iter()
            .any(|e| e.kind == MilestoneKind::RegistrationRenewal && e.step == 1));
    }

    #[test]
    fn the_dutch_referral_records_which_checklist_items_it_confirms() {
        let config = config();
        let p = config.programme("uitstroom-bw").unwrap();
        let (confirmed, unconfirmed) = crate::case::apply::checklist(
            p,
            "Mevrouw verblijft in een instelling beschermd wonen en is toe aan zelfstandig wonen.",
        );
        assert_eq!(
            confirmed,
            [
                "verblijft in een instelling beschermd wonen",
                "toe aan zelfstandig wonen"
            ]
        );
        assert_eq!(
            unconfirmed,
            ["onvoldoende mogelijkheden om zelf huisvesting te vinden"]
        );
    }

    #[test]
    fn the_config_refuses_an_unknown_opener_and_two_programmes_opened_by_requests() {
        let example = include_str!("../../config/doorstroom.example.toml");
        let path = std::path::Path::new("example.toml");
        let unknown = example.replace(
            "opened_by = \"preventive_request\"",
            "opened_by = \"referral\"",
        );
        let err = Config::parse(&unknown, path).unwrap_err().to_string();
        assert!(err.contains("opened_by"), "{err}");
        let twice = example.replace(
            "id = \"uitstroom-bw\"",
            "id = \"uitstroom-bw\"\nopened_by = \"preventive_request\"",
        );
        let err = Config::parse(&twice, path).unwrap_err().to_string();
        assert!(err.contains("two programmes"), "{err}");
        let config = config();
        let p = request_programme(&config).unwrap();
        assert_eq!(
            (
                p.id.as_str(),
                p.other_guidance,
                p.answer_within_days,
                p.reopen_within_months
            ),
            ("preventive", true, Some(14), Some(12))
        );
        assert!(p.required_documents.is_empty());
    }

    #[test]
    fn a_referral_under_the_dutch_programme_records_its_checklist_on_the_case() {
        let text = include_str!("../../config/doorstroom.example.toml").replacen(
            "programme = \"vivendo\"",
            "programme = \"uitstroom-bw\"",
            1,
        );
        let config = Config::parse(&text, std::path::Path::new("nl.toml")).unwrap();
        let mut d = decision(
            MailKind::ReferralIncomplete,
            None,
            COUNSELLOR,
            "Mevrouw verblijft in een instelling beschermd wonen en heeft onvoldoende mogelijkheden om zelf huisvesting te vinden.",
        );
        d.facts.from_staff = false;
        let cases = BTreeMap::new();
        let when = at(2026, 11, 2);
        let fx = crate::case::apply(&Input {
            config: &config,
            decision: &d,
            mail_id: 1,
            received_at: when,
            now: when,
            cases: &cases,
            new_reference: Some("VD-2026-0400".into()),
            referrals_this_month: 0,
        })
        .unwrap();
        let change = &fx.changes[0];
        assert_eq!(change.case.programme, "uitstroom-bw");
        let checklist = change
            .events
            .iter()
            .find(|e| e.kind == "checklist")
            .unwrap();
        assert_eq!(
            checklist.detail["confirmed"],
            serde_json::json!([
                "verblijft in een instelling beschermd wonen",
                "onvoldoende mogelijkheden om zelf huisvesting te vinden"
            ])
        );
        assert_eq!(
            checklist.detail["unconfirmed"],
            serde_json::json!(["toe aan zelfstandig wonen"])
        );
    }

    #[test]
    fn goal_lines_are_bullets_or_numbers() {
        let words = config().triage.housing_goal;
        let (kept, left) = housing_goals(
            "1. huur op tijd betalen\n2) sporten\nGeen doel\n• buren niet storen",
            &words,
        );
        assert_eq!(kept, ["huur op tijd betalen", "buren niet storen"]);
        assert_eq!(left, 1);
    }
}
