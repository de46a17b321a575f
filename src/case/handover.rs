//! Guidance that continues with another organisation (overdracht, `003` §4): "the guiding
//! organisation that can no longer guide finds another one that continues the guidance and tells
//! the landlord, so that the continuity of the trajectory is ensured".
//!
//! A handover never ends the case: from its date the case's partner and counsellor change, a new
//! counsellor period opens under the new partner, and the reference, the milestone plan counted
//! from the lease start, the documents and the history stay as they are. Until that date the old
//! partner keeps the case; when the new organisation is not a configured partner the handover
//! waits (`handover_pending`) and nothing is sent to it, while the coordinator is told the exact
//! `[[partner]]` block to add.
//!
//! Pure: values in, values out. Mail ([`super::apply`]), the staff answer `overdracht:`, the
//! command `case REF handover` and the escalation job (a handover whose date came, a partner
//! added to the config) all go through [`request`] and [`take_effect`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::model::{
    Case, CaseError, CaseEvent, Cause, Counsellor, HandoverState, PlannedHandover, Status,
};
use super::notice::Notice;
use super::Role;
use crate::config::Config;

/// What a handover request led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The date has come: the new partner guides the case now.
    Done,
    /// The new partner guides from a later date; the old one keeps the case until then.
    Planned,
    /// The organisation is not a configured partner: nothing moves until the config names it.
    Pending,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Planned => "planned",
            Outcome::Pending => "pending",
        }
    }
}

/// The partner id proposed for an organisation the config does not know: its mail domain's
/// first label (`caw-oost.example` → `caw-oost`), else its name in lowercase words joined by
/// `-` (`CAW Oost-Brabant` → `caw-oost-brabant`).
pub fn proposed_id(name: &str, domain: Option<&str>) -> String {
    if let Some(first) = domain
        .and_then(|d| d.split('.').next())
        .filter(|f| !f.is_empty())
    {
        return first.to_ascii_lowercase();
    }
    let mut id = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-').to_string();
    if id.is_empty() {
        "nieuwe-partner".into()
    } else {
        id
    }
}

/// The `[[partner]]` block an admin adds to the config for an organisation not in it yet, with
/// the programme of the case it takes over (so that the plan continues unchanged).
pub fn config_block(h: &PlannedHandover, programme: &str) -> String {
    let domains = h
        .domain
        .as_deref()
        .map_or_else(String::new, |d| format!("\"{d}\""));
    let agenda = h
        .counsellor
        .email
        .as_deref()
        .map_or_else(String::new, |e| format!("\"{e}\""));
    format!(
        "[[partner]]\nid = \"{}\"\nname = \"{}\"\ndomains = [{domains}]\nagenda_to = [{agenda}]\nprogramme = \"{programme}\"\n",
        h.to,
        h.name.replace('"', "'"),
    )
}

fn detail(case: &Case, h: &PlannedHandover) -> serde_json::Value {
    json!({
        "from_partner": case.partner,
        "to_partner": h.to,
        "organisation": h.name,
        "from": h.from,
        "counsellor": h.counsellor.to_json(),
        "announced_by": h.announced_by,
    })
}

/// Ask for the guidance of `case` to move to `wanted.to` from `wanted.from` (its `state` is
/// worked out here). Takes effect at once when the date has come and the partner is configured;
/// else the case keeps a [`PlannedHandover`] and its partner until [`take_effect`]. A later
/// request replaces an earlier one that had not taken effect.
pub fn request(
    case: &mut Case,
    config: &Config,
    mut wanted: PlannedHandover,
    today: NaiveDate,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Result<(Outcome, Vec<CaseEvent>), CaseError> {
    if !case.status.is_open() {
        return Err(CaseError::HandoverClosed {
            case_ref: case.case_ref.clone(),
            status: case.status,
        });
    }
    if wanted.to == case.partner {
        return Err(CaseError::HandoverSamePartner {
            case_ref: case.case_ref.clone(),
            partner: case.partner.clone(),
        });
    }
    if let Some(p) = config.partner(&wanted.to) {
        wanted.name = p.name.clone();
    }
    let known = config.partner(&wanted.to).is_some();
    wanted.state = if known {
        HandoverState::Planned
    } else {
        HandoverState::Pending
    };
    let event_kind = if known {
        "handover_planned"
    } else {
        "handover_pending"
    };
    let mut events = vec![case.event(at, event_kind, detail(case, &wanted), cause)];
    case.handover = Some(wanted);
    if known && case.handover.as_ref().is_some_and(|h| h.from <= today) {
        events.extend(take_effect(case, at, cause));
        return Ok((Outcome::Done, events));
    }
    Ok((
        if known {
            Outcome::Planned
        } else {
            Outcome::Pending
        },
        events,
    ))
}

/// The planned handover takes effect: the case's partner and counsellor become the new ones
/// (the store opens a new counsellor period under the new partner: save with
/// `counsellor_changed`). Milestones, documents, concerns and the reference stay.
pub fn take_effect(case: &mut Case, at: DateTime<Utc>, cause: &Cause) -> Option<CaseEvent> {
    let h = case.handover.take()?;
    let old_partner = std::mem::replace(&mut case.partner, h.to.clone());
    let old_counsellor = std::mem::replace(&mut case.counsellor, h.counsellor.clone());
    Some(case.event(
        at,
        "handover",
        json!({
            "from_partner": old_partner,
            "to_partner": h.to,
            "from": h.from,
            "old_counsellor": old_counsellor.to_json(),
            "new_counsellor": h.counsellor.to_json(),
            "announced_by": h.announced_by,
        }),
        cause,
    ))
}

/// What the daily pass must do about a case's handover on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The date came and the partner is configured: [`take_effect`].
    TakeEffect,
    /// The organisation a pending handover waited for is in the config now, its date still
    /// ahead: it is planned from now on.
    PartnerAdded,
}

pub fn due(case: &Case, config: &Config, today: NaiveDate) -> Option<Due> {
    let h = case.handover.as_ref()?;
    if !case.status.is_open() || config.partner(&h.to).is_none() {
        return None;
    }
    if h.from <= today {
        Some(Due::TakeEffect)
    } else if h.state == HandoverState::Pending {
        Some(Due::PartnerAdded)
    } else {
        None
    }
}

/// A pending handover whose organisation is configured now becomes planned.
pub fn mark_planned(
    case: &mut Case,
    config: &Config,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Option<CaseEvent> {
    let mut h = case.handover.take()?;
    if let Some(p) = config.partner(&h.to) {
        h.name = p.name.clone();
    }
    h.state = HandoverState::Planned;
    let event = case.event(at, "handover_planned", detail(case, &h), cause);
    case.handover = Some(h);
    Some(event)
}

fn partner_name(config: &Config, id: &str) -> String {
    config
        .partner(id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

/// The mails a handover step sends. `outcome` is what happened; `old_partner` the partner that
/// guided the case before this step (for [`Outcome::Done`] the case already has the new one).
/// `dedupe` names the cause (`mail:42`, `admin:…`, `job:escalation:…`).
///
/// - the coordinator (and, once it is decided, the social assistant) hears of every step; for a
///   pending one the coordinator gets the `[[partner]]` block to add;
/// - the new partner gets an introduction once the case is its own (never before: until then
///   its addresses may not receive the case).
pub fn notices(
    case: &Case,
    config: &Config,
    outcome: Outcome,
    old_partner: &str,
    to: &PlannedHandover,
    dedupe: &str,
) -> Vec<Notice> {
    let mut out = Vec::new();
    let programme = case.programme.as_str();
    let block = (outcome == Outcome::Pending).then(|| config_block(to, programme));
    let to_landlord = if outcome == Outcome::Pending {
        vec![Role::Coordinator]
    } else {
        vec![Role::Coordinator, Role::SocialAssistant]
    };
    out.push(Notice {
        template: "handover_notice".into(),
        case_ref: Some(case.case_ref.clone()),
        to: to_landlord,
        to_sender: false,
        urgent: false,
        data: json!({
            "state": outcome.as_str(),
            "from_partner": partner_name(config, old_partner),
            "to_partner": if outcome == Outcome::Pending { to.name.clone() } else { partner_name(config, &to.to) },
            "to_partner_id": to.to,
            "from": to.from.to_string(),
            "counsellor": to.counsellor.to_json(),
            "config_block": block,
            "sender": null,
        }),
        dedupe: format!("{dedupe}:{}", outcome.as_str()),
    });
    if outcome == Outcome::Done {
        out.push(introduction(case, config, old_partner, to.from, dedupe));
    }
    out
}

/// The introduction of a handed-over case to its new partner (template `handover_intro`):
/// reference, social assistant, lease start (from the case), the next milestones of the plan
/// that continues. Only to the case's own partner, which it is by now.
pub fn introduction(
    case: &Case,
    config: &Config,
    old_partner: &str,
    from: NaiveDate,
    dedupe: &str,
) -> Notice {
    let milestones: Vec<_> = case
        .milestones
        .iter()
        .filter(|m| m.is_pending())
        .take(4)
        .map(|m| {
            json!({
                "name": m.name,
                "due": m.due_on.to_string(),
                "meeting_month": m.meeting_month,
            })
        })
        .collect();
    let done: Vec<_> = case
        .milestones
        .iter()
        .filter(|m| m.done_on.is_some())
        .map(|m| m.name.clone())
        .collect();
    Notice {
        template: "handover_intro".into(),
        case_ref: Some(case.case_ref.clone()),
        to: vec![Role::Partner, Role::Counsellor],
        to_sender: false,
        urgent: false,
        data: json!({
            "previous_partner": partner_name(config, old_partner),
            "from": from.to_string(),
            "lease_start": case.lease_start.map(|d| d.to_string()),
            "milestones": milestones,
            "done": done,
        }),
        dedupe: format!("{dedupe}:intro"),
    }
}

/// The guiding periods of a case (partner, counsellor, from–to), from its counsellor history
/// and its events: each period with the cause that opened it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuidingPeriod {
    pub partner: String,
    pub counsellor: Counsellor,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    /// What opened it: `referral`, `handover`, `contact_change`, … (the event kind at its
    /// start) with that event's cause.
    pub opened_by: String,
}

/// One row of a case's counsellor history: partner, counsellor, valid from, valid to.
pub type CounsellorRow = (String, Counsellor, DateTime<Utc>, Option<DateTime<Utc>>);

/// The guiding periods of a case from its counsellor history (`(partner, counsellor, from, to)`,
/// oldest first) and its events: consecutive rows of one partner are one period, opened by the
/// event recorded at its start (`handover`, `transfer`, `counsellor`, `created`, …) and its cause.
pub fn periods(history: &[CounsellorRow], events: &[CaseEvent]) -> Vec<GuidingPeriod> {
    let mut out: Vec<GuidingPeriod> = Vec::new();
    for (partner, counsellor, from, to) in history {
        if let Some(last) = out.last_mut().filter(|l| l.partner == *partner) {
            last.counsellor = counsellor.clone();
            last.to = *to;
            continue;
        }
        let opened_by = ["handover", "transfer", "created", "counsellor"]
            .iter()
            .find_map(|kind| {
                events
                    .iter()
                    .find(|e| e.kind == *kind && (e.at - *from).num_seconds().abs() <= 1)
                    .map(|e| format!("{} ({})", e.kind, e.cause))
            })
            .unwrap_or_else(|| {
                if out.is_empty() {
                    "referral".into()
                } else {
                    "-".into()
                }
            });
        out.push(GuidingPeriod {
            partner: partner.clone(),
            counsellor: counsellor.clone(),
            from: *from,
            to: *to,
            opened_by,
        });
    }
    out
}

/// May the partner `partner` receive mail about this case at `at`? Only while it guides it:
/// a period of its own covers `at`. A case without recorded periods belongs to its partner.
pub fn guided_by_at(
    periods: &[GuidingPeriod],
    current: &str,
    partner: &str,
    at: DateTime<Utc>,
) -> bool {
    if periods.is_empty() {
        return current == partner;
    }
    periods
        .iter()
        .any(|p| p.partner == partner && p.from <= at && p.to.is_none_or(|t| at < t))
}

/// Whether a status may still hand over (for callers that want to say so before asking).
pub fn may_hand_over(status: Status) -> bool {
    status.is_open()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::Milestone;
    use crate::case::MilestoneKind;
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .expect("example config")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn case_in_guidance() -> Case {
        let mut c = Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan Peeters",
            Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
        );
        c.status = Status::InGuidance;
        c.lease_start = Some(d(2026, 2, 1));
        c.counsellor.email = Some("els.wouters@caw-antwerpen.example".into());
        for (i, (name, due, done)) in [
            ("evaluatie na 1 maand", d(2026, 3, 1), Some(d(2026, 3, 26))),
            ("huisbezoek na 3 maanden", d(2026, 5, 1), None),
            ("evaluatie na 4 maanden", d(2026, 6, 1), None),
        ]
        .into_iter()
        .enumerate()
        {
            c.milestones.push(Milestone {
                id: Some(i as i64 + 1),
                kind: MilestoneKind::Evaluation,
                name: name.into(),
                due_on: due,
                meeting_month: None,
                done_on: done,
                escalation_step: 0,
                superseded: false,
                counsellor_attends: false,
                discuss_at_meeting: true,
            });
        }
        c
    }

    fn wanted(to: &str, from: NaiveDate) -> PlannedHandover {
        PlannedHandover {
            to: to.into(),
            name: to.into(),
            domain: None,
            from,
            counsellor: Counsellor {
                name: Some("Karin Dubois".into()),
                email: Some("karin.dubois@ocmw-antwerpen.example".into()),
                phone: None,
            },
            state: HandoverState::Planned,
            announced_by: "old_partner".into(),
        }
    }

    fn admin() -> Cause {
        Cause::Admin {
            command: "case VD-2026-0001 handover ocmw-antwerpen".into(),
        }
    }

    #[test]
    fn a_handover_whose_date_came_moves_partner_and_counsellor_and_keeps_the_plan() {
        let config = config();
        let mut case = case_in_guidance();
        let before = case.clone();
        let at = Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap();
        let (outcome, events) = request(
            &mut case,
            &config,
            wanted("ocmw-antwerpen", d(2026, 4, 1)),
            d(2026, 4, 2),
            at,
            &admin(),
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(case.partner, "ocmw-antwerpen");
        assert_eq!(
            case.counsellor.email.as_deref(),
            Some("karin.dubois@ocmw-antwerpen.example")
        );
        assert_eq!(case.case_ref, before.case_ref);
        assert_eq!(case.status, Status::InGuidance);
        assert_eq!(
            case.milestones, before.milestones,
            "the plan continues as it was"
        );
        assert!(case.handover.is_none());
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["handover_planned", "handover"]);
        assert_eq!(events[1].detail["from_partner"], "caw-antwerpen");
        let notices = notices(
            &case,
            &config,
            outcome,
            "caw-antwerpen",
            &wanted("ocmw-antwerpen", d(2026, 4, 1)),
            "admin:1",
        );
        let templates: Vec<_> = notices.iter().map(|n| n.template.as_str()).collect();
        assert_eq!(templates, ["handover_notice", "handover_intro"]);
        // The introduction names the next milestones, not the one done.
        let intro = &notices[1].data;
        assert_eq!(intro["milestones"][0]["name"], "huisbezoek na 3 maanden");
        assert_eq!(intro["done"][0], "evaluatie na 1 maand");
    }

    #[test]
    fn a_handover_from_a_later_date_leaves_the_case_with_the_old_partner_until_then() {
        let config = config();
        let mut case = case_in_guidance();
        let at = Utc.with_ymd_and_hms(2026, 2, 20, 9, 0, 0).unwrap();
        let (outcome, _) = request(
            &mut case,
            &config,
            wanted("ocmw-antwerpen", d(2026, 3, 1)),
            d(2026, 2, 20),
            at,
            &admin(),
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Planned);
        assert_eq!(case.partner, "caw-antwerpen");
        assert_eq!(due(&case, &config, d(2026, 2, 28)), None);
        assert_eq!(due(&case, &config, d(2026, 3, 1)), Some(Due::TakeEffect));
        let event = take_effect(&mut case, at, &admin()).unwrap();
        assert_eq!(event.kind, "handover");
        assert_eq!(case.partner, "ocmw-antwerpen");
        // No intro before it is the new partner's case.
        let n = notices(
            &case,
            &config,
            Outcome::Planned,
            "caw-antwerpen",
            &wanted("ocmw-antwerpen", d(2026, 3, 1)),
            "x",
        );
        assert!(n.iter().all(|n| n.template != "handover_intro"));
    }

    #[test]
    fn an_organisation_not_in_the_config_waits_and_the_coordinator_gets_the_block_to_add() {
        let config = config();
        let mut case = case_in_guidance();
        let mut w = wanted("caw-oost", d(2026, 3, 1));
        w.name = "CAW Oost-Brabant".into();
        w.domain = Some("caw-oost.example".into());
        w.counsellor = Counsellor {
            name: Some("Tine Goossens".into()),
            email: Some("tine.goossens@caw-oost.example".into()),
            phone: None,
        };
        let at = Utc.with_ymd_and_hms(2026, 3, 5, 9, 0, 0).unwrap();
        let (outcome, events) =
            request(&mut case, &config, w.clone(), d(2026, 3, 5), at, &admin()).unwrap();
        assert_eq!(outcome, Outcome::Pending);
        assert_eq!(events[0].kind, "handover_pending");
        assert_eq!(case.partner, "caw-antwerpen", "the old partner keeps it");
        assert_eq!(
            case.handover.as_ref().unwrap().state,
            HandoverState::Pending
        );
        assert_eq!(
            due(&case, &config, d(2026, 12, 1)),
            None,
            "not while unknown"
        );
        let n = notices(
            &case,
            &config,
            outcome,
            "caw-antwerpen",
            case.handover.as_ref().unwrap(),
            "mail:3",
        );
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].to, [Role::Coordinator]);
        let block = n[0].data["config_block"].as_str().unwrap();
        assert_eq!(
            block,
            "[[partner]]\nid = \"caw-oost\"\nname = \"CAW Oost-Brabant\"\ndomains = [\"caw-oost.example\"]\nagenda_to = [\"tine.goossens@caw-oost.example\"]\nprogramme = \"vivendo\"\n"
        );
        // The block is a partner the config accepts once added.
        let mut added = config.clone();
        added.partners.push(crate::config::Partner {
            id: "caw-oost".into(),
            name: "CAW Oost-Brabant".into(),
            domains: vec!["caw-oost.example".into()],
            addresses: vec![],
            agenda_to: vec!["tine.goossens@caw-oost.example".into()],
            monthly_quota: None,
            programme: "vivendo".into(),
            teams_link: None,
            meeting_place: None,
        });
        assert_eq!(due(&case, &added, d(2026, 3, 6)), Some(Due::TakeEffect));
    }

    #[test]
    fn a_closed_case_or_the_same_partner_is_refused() {
        let config = config();
        let mut case = case_in_guidance();
        let at = Utc::now();
        let same = request(
            &mut case,
            &config,
            wanted("caw-antwerpen", d(2026, 3, 1)),
            d(2026, 3, 1),
            at,
            &admin(),
        );
        assert!(matches!(same, Err(CaseError::HandoverSamePartner { .. })));
        case.status = Status::ClosedPositive;
        let closed = request(
            &mut case,
            &config,
            wanted("ocmw-antwerpen", d(2026, 3, 1)),
            d(2026, 3, 1),
            at,
            &admin(),
        );
        assert!(matches!(closed, Err(CaseError::HandoverClosed { .. })));
        assert_eq!(case.partner, "caw-antwerpen");
    }

    #[test]
    fn ids_are_proposed_from_the_domain_else_the_name() {
        assert_eq!(
            proposed_id("CAW Oost-Brabant", Some("caw-oost.example")),
            "caw-oost"
        );
        assert_eq!(proposed_id("CAW Oost-Brabant", None), "caw-oost-brabant");
        assert_eq!(proposed_id("  ", None), "nieuwe-partner");
    }
}
