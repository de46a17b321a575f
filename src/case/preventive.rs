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
    ack, add_documents, cause, notice, programme, today, CaseChange, Effects, Input,
};
use super::model::{Case, CaseError, GoalsMet, Status, Transition};
use super::{plan, Role};
use crate::config::{Config, Programme};
use crate::understand::{text, MailKind};

/// The programme a preventive request opens, if one is configured.
pub fn request_programme(config: &Config) -> Option<&Programme> {
    config
        .programmes
        .iter()
        .find(|p| p.opened_by == Some(MailKind::PreventiveRequest))
}

/// Is this case in the programme opened by preventive requests?
pub fn is_preventive(config: &Config, case: &Case) -> bool {
    request_programme(config).is_some_and(|p| p.id == case.programme)
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
pub(super) fn request(input: &Input<'_>, fx: &mut Effects) -> Result<(), CaseError> {
    let d = input.decision;
    let programme = request_programme(input.config).ok_or_else(|| {
        CaseError::UnknownProgramme("(a programme with opened_by = \"preventive_request\")".into())
    })?;
    let named = super::apply::known_case(input);
    if let Some(open) = named.filter(|c| c.status.is_open()) {
        return super::apply::reply(input, open.clone(), fx);
    }
    let partner_id = d.partner.as_deref().ok_or(CaseError::Missing("partner"))?;
    let partner = input
        .config
        .partner(partner_id)
        .ok_or_else(|| CaseError::UnknownPartner(partner_id.into()))?;
    let reference = input
        .new_reference
        .clone()
        .ok_or(CaseError::Missing("new case reference"))?;
    let candidate = d
        .candidate
        .clone()
        .unwrap_or_else(|| "(naam onbekend)".into());
    let mut case = Case::new(
        reference.clone(),
        &partner.id,
        &programme.id,
        &candidate,
        input.received_at,
    );
    case.cir = d.cir.clone();
    case.other_guidance = programme.other_guidance;
    // The staff member who asked answers for the case on the landlord's side: reminders and the
    // partner's answer go to them.
    case.social_assistant = d.facts.sender.clone();
    let linked = named.filter(|old| reopenable(programme, old, input.received_at));
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
pub(super) fn partner_mail(
    input: &Input<'_>,
    mut case: Case,
    fx: &mut Effects,
) -> Result<bool, CaseError> {
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
