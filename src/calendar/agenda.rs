//! The agenda of the structured meeting (structureel overleg) for ONE partner and one month,
//! composed from that partner's case summaries (`003` §6): (a) an overview of its running cases,
//! (b) the cases to discuss, each with a short statement of the problem, (c) other guidance the
//! landlord asked of the partner outside accelerated allocation. With nothing to discuss, the
//! meeting for that partner is skipped unless the partner answers in time.
//!
//! Pure: summaries in, an [`Agenda`] value out. It never reads the store and never renders or
//! sends mail (the outbox templates render an `Agenda`). It refuses a case of another partner
//! outright: a partner only ever sees its own cases. Personal data is cut to what the agenda
//! needs: the candidate by initials unless configured otherwise, no addresses, no phone numbers.

use chrono::NaiveDate;
use serde::Serialize;

use super::meeting::{MeetingMode, MonthSchedule};
use super::Month;
use crate::config::{EscalationStep, Partner, Role};

pub use crate::config::vocabulary::CandidateDisplay;

impl CandidateDisplay {
    /// The candidate as the agenda names them: initials, or the name on one line.
    pub fn show(self, full_name: &str) -> String {
        match self {
            CandidateDisplay::Initials => initials(full_name),
            CandidateDisplay::Name => one_line(full_name),
        }
    }

    /// `text` (a problem statement quoted from a mail, a partner's reason) with every mention
    /// of the candidate shown as [`CandidateDisplay::show`] shows the name: the whole name, the
    /// surname or the first name alone, in any order, any case and with or without accents
    /// ("mevrouw EL AMRANI", "Amrani, Fatima") become "F.E.A.". Name particles (van, de, …)
    /// count only beside a name word, so "de huur" stays. With `Name` the text is kept as it is.
    /// Every place the agenda shows a candidate goes through `show` or this, so that a quoted
    /// statement never undoes `candidate_display = "initials"`.
    pub fn redact(self, text: &str, full_name: &str) -> String {
        if self == CandidateDisplay::Name {
            return text.to_string();
        }
        let name_words: Vec<String> = full_name
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(fold)
            .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
            .collect();
        if name_words.is_empty() {
            return text.to_string();
        }
        let shown = self.show(full_name);
        let is_word_char = |c: char| c.is_alphanumeric() || c == '-' || c == '\'' || c == '’';
        // Tokens: (is_word, text).
        let mut tokens: Vec<(bool, &str)> = Vec::new();
        let mut start = 0;
        let mut in_word = None;
        for (i, c) in text.char_indices() {
            let w = is_word_char(c);
            if in_word != Some(w) {
                if let Some(prev) = in_word {
                    tokens.push((prev, &text[start..i]));
                }
                start = i;
                in_word = Some(w);
            }
        }
        if let Some(prev) = in_word {
            tokens.push((prev, &text[start..]));
        }
        let is_name = |t: &str| name_words.contains(&fold(t));
        let is_particle = |t: &str| PARTICLES.contains(&fold(t).as_str());
        let joins = |t: &str| t.chars().all(char::is_whitespace) || t.trim() == ",";
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < tokens.len() {
            let (word, t) = tokens[i];
            if word && is_name(t) {
                // The longest run of name words joined by spaces (or ", "); it must hold a
                // name word that is not a particle.
                let mut end = i;
                let mut j = i;
                while j + 2 < tokens.len()
                    && joins(tokens[j + 1].1)
                    && tokens[j + 2].0
                    && is_name(tokens[j + 2].1)
                {
                    j += 2;
                    end = j;
                }
                let real = (i..=end).step_by(2).any(|k| !is_particle(tokens[k].1));
                if real {
                    out.push_str(&shown);
                    i = end + 1;
                    continue;
                }
            }
            out.push_str(t);
            i += 1;
        }
        out
    }
}

/// A word as names are compared: lowercase, without accents or surrounding punctuation.
fn fold(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// The next milestone of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextMilestone {
    /// The Dutch name from the programme ("huisbezoek na 3 maanden").
    pub name: String,
    pub due: NaiveDate,
}

/// A concern reported about a case and not resolved: when, how urgent, and its statement as
/// the mail put it (redacted where the agenda shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenConcern {
    /// The day it was reported, in the organisation's time zone.
    pub raised_on: NaiveDate,
    /// A safety risk (told at once when it came).
    pub urgent: bool,
    pub statement: String,
}

/// A milestone that was due and has not been recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueMilestone {
    pub name: String,
    pub due: NaiveDate,
    /// The last escalation step already sent for it, if any.
    pub escalation: Option<Escalation>,
}

/// An escalation step that was sent: to whom, how long after the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub notified: Role,
    pub after_days: u32,
}

impl From<&EscalationStep> for Escalation {
    fn from(step: &EscalationStep) -> Escalation {
        Escalation {
            notified: step.notify,
            after_days: step.after_days,
        }
    }
}

/// What the agenda needs to know about one case; the meetings job fills it from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaCase {
    /// The partner the case belongs to; checked against the agenda's partner.
    pub partner_id: String,
    pub case_ref: String,
    /// The candidate's full name as recorded; shown per [`CandidateDisplay`].
    pub candidate: String,
    /// ingang huurovereenkomst; `None` while no dwelling is allocated yet.
    pub lease_start: Option<NaiveDate>,
    pub next_milestone: Option<NextMilestone>,
    /// Concerns reported and not resolved, oldest first.
    pub open_concerns: Vec<OpenConcern>,
    pub overdue: Vec<OverdueMilestone>,
    /// Names of the evaluations (1/4/10 months) that fall in this meeting.
    pub evaluations_this_meeting: Vec<String>,
    /// A running extension (verlenging): discussed every month.
    pub extended: bool,
    /// Guidance the landlord asked of this partner outside accelerated allocation: listed under
    /// (c), not in the overview.
    pub other_guidance: bool,
    /// The partner asked to discuss this case; the text is its reason, possibly empty.
    pub requested_by_partner: Option<String>,
}

/// One line of the overview (a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverviewLine {
    pub case_ref: String,
    pub candidate: String,
    pub lease_start: Option<NaiveDate>,
    pub next_milestone: Option<NextMilestone>,
}

/// A case on the agenda with its short problem statement (b, c).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discussion {
    pub case_ref: String,
    pub candidate: String,
    /// Each problem in one Dutch line ("Zorg gemeld: …", "Evaluatie na 4 maanden valt in dit
    /// overleg").
    pub problems: Vec<String>,
    /// The problems joined into the one short statement the seed asks for.
    pub statement: String,
}

/// One partner's agenda for one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agenda {
    pub partner_id: String,
    pub partner_name: String,
    pub month: Month,
    pub schedule: MonthSchedule,
    pub mode: MeetingMode,
    /// (a) the partner's running cases of accelerated allocation, by reference.
    pub overview: Vec<OverviewLine>,
    /// (b) the cases to discuss.
    pub to_discuss: Vec<Discussion>,
    /// (c) other guidance to discuss, asked by the landlord outside accelerated allocation.
    pub other_guidance: Vec<Discussion>,
    /// Nothing to discuss: the meeting is not held for this partner unless it names a case
    /// before [`MonthSchedule::answer_deadline`].
    pub skipped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgendaError {
    /// A bug in the caller, never shown to anyone: the agenda would leak another partner's case.
    #[error("case {case_ref} belongs to partner `{case_partner}`, not to `{partner}`: refused")]
    ForeignCase {
        case_ref: String,
        case_partner: String,
        partner: String,
    },
}

/// Compose `partner`'s agenda for the month of `schedule` from its case summaries.
///
/// Every case must belong to `partner`; one that does not fails the whole agenda, because a
/// partial agenda would hide the bug that passed it in.
pub fn compose(
    partner: &Partner,
    schedule: &MonthSchedule,
    mode: &MeetingMode,
    display: CandidateDisplay,
    cases: &[AgendaCase],
) -> Result<Agenda, AgendaError> {
    if let Some(foreign) = cases.iter().find(|c| c.partner_id != partner.id) {
        return Err(AgendaError::ForeignCase {
            case_ref: foreign.case_ref.clone(),
            case_partner: foreign.partner_id.clone(),
            partner: partner.id.clone(),
        });
    }
    let mut cases: Vec<&AgendaCase> = cases.iter().collect();
    cases.sort_by(|a, b| a.case_ref.cmp(&b.case_ref));

    let mut overview = Vec::new();
    let mut to_discuss = Vec::new();
    let mut other_guidance = Vec::new();
    for case in cases {
        let candidate = display.show(&case.candidate);
        let mut problems = problems(case, |text| display.redact(text, &case.candidate));
        if case.other_guidance {
            if problems.is_empty() {
                problems.push("Woonbegeleiding op vraag van de woonmaatschappij".to_string());
            }
            other_guidance.push(discussion(case, candidate, problems));
            continue;
        }
        overview.push(OverviewLine {
            case_ref: case.case_ref.clone(),
            candidate: candidate.clone(),
            lease_start: case.lease_start,
            next_milestone: case.next_milestone.clone(),
        });
        if !problems.is_empty() {
            to_discuss.push(discussion(case, candidate, problems));
        }
    }
    let skipped = to_discuss.is_empty() && other_guidance.is_empty();
    Ok(Agenda {
        partner_id: partner.id.clone(),
        partner_name: partner.name.clone(),
        month: schedule.month,
        schedule: schedule.clone(),
        mode: mode.clone(),
        overview,
        to_discuss,
        other_guidance,
        skipped,
    })
}

fn discussion(case: &AgendaCase, candidate: String, problems: Vec<String>) -> Discussion {
    Discussion {
        case_ref: case.case_ref.clone(),
        candidate,
        statement: problems.join("; "),
        problems,
    }
}

/// The Dutch one-line problems of a case, in a fixed order; empty = nothing to discuss. Text
/// quoted from mails goes through `redact` (the candidate as the agenda shows them).
fn problems(case: &AgendaCase, redact: impl Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(reason) = &case.requested_by_partner {
        let reason = short(&redact(reason));
        out.push(if reason.is_empty() {
            "Op vraag van de partner".to_string()
        } else {
            format!("Op vraag van de partner: {reason}")
        });
    }
    for concern in &case.open_concerns {
        out.push(format!(
            "{} op {}: {}",
            if concern.urgent {
                "Dringende zorg gemeld"
            } else {
                "Zorg gemeld"
            },
            concern.raised_on.format("%d/%m/%Y"),
            short(&redact(&concern.statement))
        ));
    }
    for missed in &case.overdue {
        let mut line = format!(
            "{} niet gebeurd (voorzien op {})",
            capitalise(&short(&missed.name)),
            missed.due.format("%d/%m/%Y")
        );
        if let Some(step) = &missed.escalation {
            line.push_str(&format!(
                ", gemeld aan {} na {} dagen",
                role_dutch(step.notified),
                step.after_days
            ));
        }
        out.push(line);
    }
    for evaluation in &case.evaluations_this_meeting {
        out.push(format!(
            "{} valt in dit overleg",
            capitalise(&short(evaluation))
        ));
    }
    if case.extended {
        out.push("Lopende verlenging: maandelijks te bespreken".to_string());
    }
    out
}

fn role_dutch(role: Role) -> &'static str {
    match role {
        Role::Coordinator => "de contactpersoon versnelde doorstroom",
        Role::SocialAssistant => "de sociaal assistent",
        Role::Partner => "de partner",
        Role::Counsellor => "de woonbegeleider",
        Role::Admin => "de beheerder",
    }
}

/// Longest text kept in one problem line: a statement, not the concern mail itself.
const MAX_PROBLEM_CHARS: usize = 160;

/// One line, whitespace collapsed, cut at [`MAX_PROBLEM_CHARS`] with an ellipsis: at the last
/// space before the limit, never in the middle of a word (a single word longer than the limit
/// is the only one cut).
fn short(text: &str) -> String {
    let line = one_line(text);
    if line.chars().count() <= MAX_PROBLEM_CHARS {
        return line;
    }
    let cut: String = line.chars().take(MAX_PROBLEM_CHARS - 1).collect();
    let next_is_space = line.chars().nth(MAX_PROBLEM_CHARS - 1) == Some(' ');
    let kept = match cut.rfind(' ') {
        _ if next_is_space => cut.as_str(),
        Some(space) if space > 0 => &cut[..space],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        kept.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':'))
    )
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lowercase name particles: "Marie van den Broeck" → "M.v.d.B.".
const PARTICLES: [&str; 12] = [
    "van", "de", "der", "den", "het", "ter", "ten", "te", "d'", "du", "la", "le",
];

/// "Jan Peeters" → "J.P."; "Marie-Claire van den Broeck" → "M.-C.v.d.B."; "Peeters, Jan" is read
/// as written (P.J.): the register stores names as given.
pub fn initials(full_name: &str) -> String {
    let mut out = String::new();
    for word in full_name
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
    {
        let particle = PARTICLES.contains(&word.to_lowercase().as_str());
        let parts: Vec<String> = word
            .split('-')
            .filter_map(|part| part.chars().find(|c| c.is_alphabetic()))
            .map(|c| {
                let c: String = if particle {
                    c.to_lowercase().collect()
                } else {
                    c.to_uppercase().collect()
                };
                format!("{c}.")
            })
            .collect();
        out.push_str(&parts.join("-"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::agenda::CandidateDisplay::{Initials, Name};
    use crate::calendar::MeetingCalendar;
    use crate::config::{ClosedDayShift, MeetingRule};
    use chrono::{NaiveTime, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn partner(id: &str) -> Partner {
        Partner {
            id: id.into(),
            name: "CAW Antwerpen".into(),
            domains: vec!["caw-antwerpen.example".into()],
            addresses: vec![],
            agenda_to: vec!["teamwonen@caw-antwerpen.example".into()],
            monthly_quota: None,
            programme: "vivendo".into(),
            teams_link: Some("https://teams.example/caw".into()),
            meeting_place: None,
        }
    }

    fn november_2026() -> MonthSchedule {
        let rule = MeetingRule {
            meeting: crate::calendar::NthLastWeekday {
                n: 1,
                weekday: Weekday::Thu,
            },
            agenda: crate::calendar::NthLastWeekday {
                n: 2,
                weekday: Weekday::Thu,
            },
            agenda_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            meeting_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            duration_minutes: 90,
            online: true,
            teams_link: None,
            closing_days: vec![],
            on_closing_day: ClosedDayShift::PreviousWorkingDay,
            conclusions_reminder_working_days: 3,
            candidate_display: Initials,
        };
        MeetingCalendar::new(&rule, chrono_tz::Europe::Brussels)
            .month(Month::new(2026, 11).unwrap())
            .unwrap()
    }

    fn mode() -> MeetingMode {
        MeetingMode::Online {
            link: "https://teams.example/caw".into(),
        }
    }

    /// A running case going well: in the overview, nothing to discuss.
    fn quiet(case_ref: &str) -> AgendaCase {
        AgendaCase {
            partner_id: "caw-antwerpen".into(),
            case_ref: case_ref.into(),
            candidate: "Jan Peeters".into(),
            lease_start: Some(d(2026, 6, 1)),
            next_milestone: Some(NextMilestone {
                name: "evaluatie na 10 maanden".into(),
                due: d(2027, 4, 1),
            }),
            open_concerns: vec![],
            overdue: vec![],
            evaluations_this_meeting: vec![],
            extended: false,
            other_guidance: false,
            requested_by_partner: None,
        }
    }

    fn compose_caw(cases: &[AgendaCase], display: CandidateDisplay) -> Agenda {
        compose(
            &partner("caw-antwerpen"),
            &november_2026(),
            &mode(),
            display,
            cases,
        )
        .unwrap()
    }

    #[test]
    fn nothing_to_discuss_means_the_meeting_is_skipped_but_the_overview_is_sent() {
        let agenda = compose_caw(&[quiet("VD-2026-0002"), quiet("VD-2026-0001")], Initials);
        assert!(agenda.skipped);
        assert!(agenda.to_discuss.is_empty());
        let refs: Vec<&str> = agenda
            .overview
            .iter()
            .map(|l| l.case_ref.as_str())
            .collect();
        assert_eq!(refs, ["VD-2026-0001", "VD-2026-0002"]);
        assert_eq!(agenda.overview[0].candidate, "J.P.");
        assert_eq!(agenda.schedule.meeting_day.date, d(2026, 11, 26));
    }

    #[test]
    fn no_cases_at_all_is_a_skipped_meeting_too() {
        let agenda = compose_caw(&[], Initials);
        assert!(agenda.skipped);
        assert!(agenda.overview.is_empty());
    }

    #[test]
    fn an_overdue_milestone_is_discussed_with_a_statement_naming_it_and_the_escalation() {
        let mut late = quiet("VD-2026-0003");
        late.overdue.push(OverdueMilestone {
            name: "huisbezoek na 3 maanden".into(),
            due: d(2026, 9, 1),
            escalation: Some(Escalation::from(&EscalationStep {
                after_days: 14,
                notify: Role::SocialAssistant,
            })),
        });
        let agenda = compose_caw(&[quiet("VD-2026-0001"), late], Name);
        assert!(!agenda.skipped);
        assert_eq!(agenda.to_discuss.len(), 1);
        let item = &agenda.to_discuss[0];
        assert_eq!(item.case_ref, "VD-2026-0003");
        assert_eq!(item.candidate, "Jan Peeters");
        assert_eq!(
            item.statement,
            "Huisbezoek na 3 maanden niet gebeurd (voorzien op 01/09/2026), gemeld aan de \
             sociaal assistent na 14 dagen"
        );
        // Discussed cases stay in the overview too.
        assert_eq!(agenda.overview.len(), 2);
    }

    #[test]
    fn concerns_evaluations_extensions_and_partner_requests_each_make_a_case_discussed() {
        let mut concern = quiet("VD-2026-0001");
        concern.open_concerns.push(OpenConcern {
            raised_on: d(2026, 11, 3),
            urgent: false,
            statement: "Geen   medewerking\nbij huisbezoek".into(),
        });
        let mut evaluation = quiet("VD-2026-0002");
        evaluation
            .evaluations_this_meeting
            .push("evaluatie na 4 maanden".into());
        let mut extended = quiet("VD-2026-0003");
        extended.extended = true;
        let mut requested = quiet("VD-2026-0004");
        requested.requested_by_partner = Some(String::new());
        let agenda = compose_caw(&[concern, evaluation, extended, requested], Initials);
        let statements: Vec<&str> = agenda
            .to_discuss
            .iter()
            .map(|d| d.statement.as_str())
            .collect();
        assert_eq!(
            statements,
            [
                "Zorg gemeld op 03/11/2026: Geen medewerking bij huisbezoek",
                "Evaluatie na 4 maanden valt in dit overleg",
                "Lopende verlenging: maandelijks te bespreken",
                "Op vraag van de partner",
            ]
        );
        assert!(!agenda.skipped);
    }

    #[test]
    fn other_guidance_is_listed_apart_and_keeps_the_meeting() {
        let mut other = quiet("VD-2026-0009");
        other.other_guidance = true;
        let agenda = compose_caw(&[quiet("VD-2026-0001"), other], Initials);
        assert_eq!(agenda.overview.len(), 1);
        assert!(agenda.to_discuss.is_empty());
        assert_eq!(agenda.other_guidance.len(), 1);
        assert_eq!(
            agenda.other_guidance[0].statement,
            "Woonbegeleiding op vraag van de woonmaatschappij"
        );
        assert!(!agenda.skipped);
    }

    #[test]
    fn a_case_of_another_partner_is_refused_and_no_agenda_is_made() {
        let mut foreign = quiet("VD-2026-0005");
        foreign.partner_id = "ocmw-antwerpen".into();
        let err = compose(
            &partner("caw-antwerpen"),
            &november_2026(),
            &mode(),
            Initials,
            &[quiet("VD-2026-0001"), foreign],
        )
        .unwrap_err();
        assert_eq!(
            err,
            AgendaError::ForeignCase {
                case_ref: "VD-2026-0005".into(),
                case_partner: "ocmw-antwerpen".into(),
                partner: "caw-antwerpen".into(),
            }
        );
    }

    fn concern(statement: &str, urgent: bool) -> OpenConcern {
        OpenConcern {
            raised_on: d(2026, 11, 12),
            urgent,
            statement: statement.into(),
        }
    }

    #[test]
    fn a_long_concern_is_cut_to_a_short_statement_between_words() {
        let mut long = quiet("VD-2026-0001");
        long.open_concerns.push(concern(&"x".repeat(1000), false));
        long.open_concerns
            .push(concern(&"huurachterstand en burenlast, ".repeat(20), false));
        let agenda = compose_caw(&[long], Initials);
        let problem = &agenda.to_discuss[0].problems[0];
        assert!(problem.chars().count() < 200, "{problem}");
        assert!(problem.ends_with('…'));
        // Words are never cut: the text before the ellipsis ends on a whole word.
        let words = &agenda.to_discuss[0].problems[1];
        assert!(
            words.ends_with("burenlast…")
                || words.ends_with("huurachterstand en…")
                || words.ends_with("huurachterstand…"),
            "{words}"
        );
        for word in words.trim_end_matches('…').split_whitespace().skip(4) {
            assert!(
                ["huurachterstand", "en", "burenlast", "burenlast,"].contains(&word),
                "cut word `{word}` in {words}"
            );
        }
    }

    #[test]
    fn an_urgent_concern_shows_its_date_and_that_it_is_urgent() {
        let mut case = quiet("VD-2026-0001");
        case.open_concerns
            .push(concern("Gisteren werd de buurvrouw bedreigd.", true));
        let agenda = compose_caw(&[case], Initials);
        assert_eq!(
            agenda.to_discuss[0].problems[0],
            "Dringende zorg gemeld op 12/11/2026: Gisteren werd de buurvrouw bedreigd."
        );
    }

    #[test]
    fn a_quoted_statement_never_undoes_initials() {
        let mut case = quiet("VD-2026-0001");
        case.candidate = "Fatima El Amrani".into();
        case.open_concerns.push(concern(
            "Mevrouw Fatima El Amrani betaalt de huur niet; mevrouw EL AMRANI weigert huisbezoek, Fatima ook.",
            false,
        ));
        case.requested_by_partner = Some("graag bespreken: Amrani, Fatima".into());
        let agenda = compose_caw(std::slice::from_ref(&case), Initials);
        let statement = &agenda.to_discuss[0].statement;
        assert!(!statement.to_lowercase().contains("amrani"), "{statement}");
        assert!(!statement.contains("Fatima"), "{statement}");
        assert!(
            statement.contains("Mevrouw F.E.A. betaalt de huur"),
            "{statement}"
        );
        assert!(
            statement.contains("mevrouw F.E.A. weigert huisbezoek, F.E.A. ook."),
            "{statement}"
        );
        assert!(statement.contains("graag bespreken: F.E.A."), "{statement}");
        // The name display keeps the text as written.
        let named = compose_caw(&[case], Name);
        assert!(named.to_discuss[0].statement.contains("Fatima El Amrani"));
    }

    #[test]
    fn redaction_finds_the_name_in_every_form_and_leaves_other_words() {
        let table = [
            ("Jan Peeters", "Jan Peeters belde", "J.P. belde"),
            ("Jan Peeters", "meneer peeters belde", "meneer J.P. belde"),
            ("Jan Peeters", "Peeters, Jan belde", "J.P. belde"),
            ("Émile D'Hondt", "Emile d'hondt kwam niet", "É.D. kwam niet"),
            (
                "Marie van den Broeck",
                "mevrouw Van den Broeck: de huur",
                "mevrouw M.v.d.B.: de huur",
            ),
            (
                "Marie van den Broeck",
                "van de huur en de kosten",
                "van de huur en de kosten",
            ),
            (
                "Jan Peeters",
                "Janssens en Peetersen",
                "Janssens en Peetersen",
            ),
            ("", "niets", "niets"),
        ];
        for (name, text, expected) in table {
            assert_eq!(Initials.redact(text, name), expected, "{name}: {text}");
        }
    }

    #[test]
    fn initials_of_names_as_people_write_them() {
        let table = [
            ("Jan Peeters", "J.P."),
            ("Marie-Claire van den Broeck", "M.-C.v.d.B."),
            ("  ahmed   el amrani ", "A.E.A."),
            ("Émile D'Hondt", "É.D."),
            ("", ""),
        ];
        for (name, expected) in table {
            assert_eq!(initials(name), expected, "{name}");
        }
    }
}
