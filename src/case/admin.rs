//! Explicit changes an admin or coordinator makes with `doorstroom case REF …`: each one a named
//! action, applied through the same transitions and plans as mail, and recorded as events with
//! the command line as their cause.
//!
//! Pure: the command parses words into an [`AdminAction`], [`apply`] changes the case value.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::model::{Case, CaseError, CaseEvent, Cause, GoalsMet, Transition};
use super::{plan, MilestoneKind};
use crate::config::Config;

/// How a case is closed from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    Positive,
    Negative,
    Transferred,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// `set lease-start 2026-12-01`
    SetLeaseStart(NaiveDate),
    /// `set social-assistant sofie.maes@woonhaven.example`
    SetSocialAssistant(String),
    /// `done home_visit [2026-12-03] [defects]` (defects: at a final evaluation)
    Done {
        kind: MilestoneKind,
        date: Option<NaiveDate>,
        defects: bool,
    },
    /// `close positive|negative|transferred [--goals …] [--eviction-avoided …]`
    Close {
        how: Closing,
        goals: Option<GoalsMet>,
        eviction_avoided: Option<bool>,
    },
    /// `extend 6`
    Extend(u32),
    /// `stop [2026-12-03]`
    Stop(Option<NaiveDate>),
}

/// What the words after `case REF` can be, for the error message.
pub const USAGE: &str = "set lease-start YYYY-MM-DD | set social-assistant EMAIL | done MILESTONE [YYYY-MM-DD] [defects] | \
     close positive|negative|transferred [--goals yes|partly|no] [--eviction-avoided yes|no] | extend MONTHS | stop [YYYY-MM-DD] | \
     handover PARTNER [--from YYYY-MM-DD] [--counsellor EMAIL]";

fn date(word: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(word, "%Y-%m-%d")
        .map_err(|_| format!("`{word}` is not a date YYYY-MM-DD"))
}

fn yes_no(word: &str) -> Result<bool, String> {
    match word {
        "yes" | "ja" => Ok(true),
        "no" | "nee" => Ok(false),
        other => Err(format!("`{other}` must be yes or no")),
    }
}

/// Parse the words of an action; `goals` and `eviction_avoided` are the command's options.
pub fn parse(
    words: &[String],
    goals: Option<&str>,
    eviction_avoided: Option<&str>,
) -> Result<AdminAction, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let action = match w.as_slice() {
        ["set", "lease-start", d] => AdminAction::SetLeaseStart(date(d)?),
        ["set", "social-assistant", email] if email.contains('@') => {
            AdminAction::SetSocialAssistant(email.to_ascii_lowercase())
        }
        ["done", kind, rest @ ..] => {
            let kind = MilestoneKind::parse(kind).ok_or_else(|| {
                let known: Vec<_> = MilestoneKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown milestone `{kind}` (known: {})", known.join(", "))
            })?;
            let (date, defects) = match rest {
                [] => (None, false),
                ["defects"] => (None, true),
                [d] => (Some(date(d)?), false),
                [d, "defects"] => (Some(date(d)?), true),
                _ => return Err(format!("usage: {USAGE}")),
            };
            AdminAction::Done {
                kind,
                date,
                defects,
            }
        }
        ["close", how] => AdminAction::Close {
            how: match *how {
                "positive" => Closing::Positive,
                "negative" => Closing::Negative,
                "transferred" => Closing::Transferred,
                other => {
                    return Err(format!(
                        "close `{other}`: say positive, negative or transferred"
                    ))
                }
            },
            goals: goals
                .map(|g| {
                    GoalsMet::parse(g)
                        .ok_or_else(|| format!("--goals `{g}` must be yes, partly or no"))
                })
                .transpose()?,
            eviction_avoided: eviction_avoided.map(yes_no).transpose()?,
        },
        ["extend", months] => AdminAction::Extend(
            months
                .parse()
                .map_err(|_| format!("`{months}` is not a number of months"))?,
        ),
        ["stop"] => AdminAction::Stop(None),
        ["stop", d] => AdminAction::Stop(Some(date(d)?)),
        _ => return Err(format!("usage: {USAGE}")),
    };
    let closing = matches!(action, AdminAction::Close { .. });
    if !closing && (goals.is_some() || eviction_avoided.is_some()) {
        return Err("--goals and --eviction-avoided go with `close`".into());
    }
    Ok(action)
}

/// Apply an action to a case; `today` is in the organisation's time zone.
pub fn apply(
    case: &mut Case,
    action: &AdminAction,
    config: &Config,
    today: NaiveDate,
    at: DateTime<Utc>,
    cause: &Cause,
) -> Result<Vec<CaseEvent>, CaseError> {
    let programme = config
        .programme(&case.programme)
        .ok_or_else(|| CaseError::UnknownProgramme(case.programme.clone()))?
        .clone();
    let mut events = Vec::new();
    match action {
        AdminAction::SetLeaseStart(d) => {
            events.extend(super::apply::set_lease_start(
                case, &programme, *d, today, at, cause,
            )?);
        }
        AdminAction::SetSocialAssistant(email) => {
            events.push(case.event(
                at,
                "social_assistant",
                json!({"old": case.social_assistant, "new": email}),
                cause,
            ));
            case.social_assistant = Some(email.clone());
        }
        AdminAction::Done {
            kind,
            date,
            defects,
        } => {
            let done = date.unwrap_or(today);
            let m = plan::mark_done(case, *kind, done)?;
            let detail = json!({"kind": kind, "name": m.name, "due": m.due_on, "done": done, "defects": defects});
            events.push(case.event(at, "milestone_done", detail, cause));
            if *defects {
                if *kind != MilestoneKind::FinalEvaluation {
                    return Err(CaseError::Missing(
                        "final evaluation (defects go with final_evaluation)",
                    ));
                }
                if let Some(meeting) =
                    plan::keep_running_after_defects(case, config.meeting.meeting, done)
                {
                    events.push(case.event(
                        at,
                        "defects",
                        json!({"guidance_until_at_least": meeting}),
                        cause,
                    ));
                }
            }
        }
        AdminAction::Close {
            how,
            goals,
            eviction_avoided,
        } => {
            let t = match how {
                Closing::Positive => Transition::ClosePositive,
                Closing::Negative => Transition::CloseNegative,
                Closing::Transferred => Transition::Transfer,
            };
            events.push(case.transition(t, at, cause)?);
            if goals.is_some() {
                case.goals_met = *goals;
            }
            if eviction_avoided.is_some() {
                case.eviction_avoided = *eviction_avoided;
            }
            events.push(case.event(
                at,
                "outcome",
                json!({"goals_met": case.goals_met, "eviction_avoided": case.eviction_avoided}),
                cause,
            ));
        }
        AdminAction::Extend(months) => {
            // Check the months first so that a refused extension changes nothing.
            let step = programme.extension_step_months.max(1);
            if *months == 0 || !months.is_multiple_of(step) {
                return Err(CaseError::BadExtension {
                    months: *months,
                    step,
                });
            }
            events.push(case.transition(Transition::Extend, at, cause)?);
            let end = plan::extend(case, &programme, *months)?;
            events.push(case.event(
                at,
                "extension",
                json!({"months": months, "guidance_end": end}),
                cause,
            ));
        }
        AdminAction::Stop(d) => {
            let stop = d.unwrap_or(today);
            events.push(case.transition(Transition::Stop, at, cause)?);
            case.stopped_on = Some(stop);
            if !case.has_final_report() {
                case.report_due = Some(
                    stop + chrono::Duration::days(i64::from(programme.final_report_within_days)),
                );
            }
            events.push(case.event(at, "final_report", json!({"stop_date": stop, "report_received": case.has_final_report(), "report_due": case.report_due}), cause));
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Status;
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("x.toml"),
        )
        .unwrap()
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn guided() -> Case {
        let config = config();
        let mut c = Case::new(
            "VD-2026-0001".into(),
            "caw-antwerpen",
            "vivendo",
            "Jan",
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
        );
        c.status = Status::InGuidance;
        plan::set_lease_start(
            &mut c,
            config.programme("vivendo").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        );
        c
    }

    fn run(
        c: &mut Case,
        line: &str,
        goals: Option<&str>,
        ev: Option<&str>,
    ) -> Result<Vec<CaseEvent>, String> {
        let action = parse(&words(line), goals, ev)?;
        let today = NaiveDate::from_ymd_opt(2027, 2, 1).unwrap();
        let cause = Cause::Admin {
            command: format!("case VD-2026-0001 {line}"),
        };
        apply(
            c,
            &action,
            &config(),
            today,
            Utc.with_ymd_and_hms(2027, 2, 1, 9, 0, 0).unwrap(),
            &cause,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn closing_positively_records_goals_and_eviction() {
        let mut c = guided();
        let events = run(&mut c, "close positive", Some("partly"), Some("yes")).unwrap();
        assert_eq!(c.status, Status::ClosedPositive);
        assert_eq!(
            (c.goals_met, c.eviction_avoided),
            (Some(GoalsMet::Partly), Some(true))
        );
        assert_eq!(events.len(), 2);
        assert!(
            matches!(&events[0].cause, Cause::Admin { command } if command.ends_with("close positive"))
        );
    }

    #[test]
    fn a_final_evaluation_with_defects_keeps_guidance_to_the_next_meeting() {
        let mut c = guided();
        run(
            &mut c,
            "done final_evaluation 2027-01-31 defects",
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.guidance_end, NaiveDate::from_ymd_opt(2027, 2, 25));
    }

    #[test]
    fn a_refused_extension_changes_nothing() {
        let mut c = guided();
        let before = c.clone();
        let err = run(&mut c, "extend 5", None, None).unwrap_err();
        assert!(err.contains("multiple of 3"), "{err}");
        assert_eq!(c, before);
    }

    #[test]
    fn words_that_are_no_action_get_the_usage() {
        assert!(parse(&words("reopen"), None, None)
            .unwrap_err()
            .starts_with("usage:"));
        assert!(parse(&words("extend 6"), Some("yes"), None).is_err());
        assert!(parse(&words("done huisbezoek"), None, None)
            .unwrap_err()
            .contains("home_visit"));
    }

    #[test]
    fn closing_a_closed_case_says_why_not() {
        let mut c = guided();
        run(&mut c, "close negative", None, None).unwrap();
        let err = run(&mut c, "close positive", None, None).unwrap_err();
        assert!(
            err.contains("cannot close_positive a case that is closed_negative"),
            "{err}"
        );
    }
}
