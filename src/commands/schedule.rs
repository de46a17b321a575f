//! `doorstroom schedule [--months 12] [--partner P] [--json]`: per partner, the coming agenda
//! mails and meetings, why a date moved, and where the meeting takes place.
//!
//! Reads the clock and stdout only in [`main`]; [`render`] takes `now` and a writer so tests
//! drive it. It computes nothing itself: dates come from [`crate::calendar::MeetingCalendar`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendar::{meeting_mode, MeetingCalendar, MeetingMode, MonthSchedule, ScheduledDay};
use crate::config::{Config, Partner};

/// The command as the binary runs it: the real clock, stdout.
pub fn main(
    config: &Config,
    months: u32,
    partner: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let clean = render(config, Utc::now(), months, partner, json, &mut out)?;
    out.flush().context("cannot write to stdout")?;
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One partner's part of the output.
#[derive(Debug, Serialize)]
struct PartnerSchedule<'a> {
    partner_id: &'a str,
    partner_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<MeetingMode>,
    /// Why the meeting place cannot be told (a config problem).
    #[serde(skip_serializing_if = "Option::is_none")]
    mode_error: Option<String>,
    months: Vec<MonthEntry>,
}

#[derive(Debug, Serialize)]
struct MonthEntry {
    month: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    schedule: Option<MonthSchedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Write the schedule of `months` months from `now` for every partner (or only `partner`).
/// Returns `false` when some month or meeting place could not be computed (it is printed in
/// place, and the exit code says so).
pub fn render(
    config: &Config,
    now: DateTime<Utc>,
    months: u32,
    partner: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let partners: Vec<&Partner> = match partner {
        Some(id) => match config.known_partner(id) {
            Ok(p) => vec![p],
            Err(e) => bail!("{e}"),
        },
        None => config.partners.iter().collect(),
    };
    let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
    let coming = calendar.coming(now, months);
    let mut clean = true;
    let mut all = Vec::new();
    for p in partners {
        let mode = meeting_mode(
            &config.meeting,
            p,
            config.organisation.office_address.as_deref(),
        );
        clean &= mode.is_ok();
        let months = coming
            .iter()
            .map(|(month, schedule)| {
                clean &= schedule.is_ok();
                MonthEntry {
                    month: month.to_string(),
                    schedule: schedule.as_ref().ok().cloned(),
                    error: schedule.as_ref().err().map(ToString::to_string),
                }
            })
            .collect();
        let (mode, mode_error) = match mode {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        all.push(PartnerSchedule {
            partner_id: &p.id,
            partner_name: &p.name,
            mode,
            mode_error,
            months,
        });
    }

    if json {
        serde_json::to_writer_pretty(&mut *out, &all).context("cannot write JSON")?;
        writeln!(out)?;
        return Ok(clean);
    }
    if all.is_empty() {
        writeln!(out, "no partners are configured")?;
    }
    for p in &all {
        write_partner(out, p)?;
    }
    Ok(clean)
}

fn write_partner(out: &mut dyn Write, p: &PartnerSchedule<'_>) -> std::io::Result<()> {
    let place = match (&p.mode, &p.mode_error) {
        (Some(mode), _) => mode.to_string(),
        (None, Some(e)) => format!("meeting place unknown: {e}"),
        (None, None) => String::new(),
    };
    writeln!(out, "{} ({}): {place}", p.partner_name, p.partner_id)?;
    writeln!(
        out,
        "  {:<8} {:<21} {:<27} requests before",
        "month", "agenda mail", "meeting"
    )?;
    for m in &p.months {
        let Some(s) = &m.schedule else {
            writeln!(
                out,
                "  {:<8} error: {}",
                m.month,
                m.error.as_deref().unwrap_or("")
            )?;
            continue;
        };
        writeln!(
            out,
            "  {:<8} {:<21} {:<27} {}",
            m.month,
            s.agenda_at.format("%a %d/%m/%Y %H:%M").to_string(),
            format!(
                "{}–{}",
                s.meeting_start.format("%a %d/%m/%Y %H:%M"),
                s.meeting_end.format("%H:%M")
            ),
            s.answer_deadline.format("%d/%m/%Y %H:%M %Z"),
        )?;
        write_move(out, "agenda", &s.agenda_day)?;
        write_move(out, "meeting", &s.meeting_day)?;
        for note in &s.notes {
            writeln!(out, "           note: {note}")?;
        }
    }
    writeln!(out)
}

fn write_move(out: &mut dyn Write, what: &str, day: &ScheduledDay) -> std::io::Result<()> {
    if let Some(why) = &day.moved {
        writeln!(
            out,
            "           {what} moved from {} to {}: {why}",
            day.rule_date.format("%a %d/%m/%Y"),
            day.date.format("%a %d/%m/%Y")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::agenda::CandidateDisplay;
    use std::path::Path;

    fn example() -> Config {
        let text = include_str!("../../config/doorstroom.example.toml");
        Config::parse(text, Path::new("doorstroom.example.toml")).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn text(config: &Config, months: u32, partner: Option<&str>) -> String {
        let mut out = Vec::new();
        assert!(render(config, now(), months, partner, false, &mut out).unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_example_config_moves_december_2026_and_says_why() {
        let out = text(&example(), 2, Some("caw-antwerpen"));
        let expected = "\
CAW Antwerpen (caw-antwerpen): online (Teams: https://teams.example/l/meetup-join/caw-antwerpen)
  month    agenda mail           meeting                     requests before
  2026-11  Thu 19/11/2026 09:00  Thu 26/11/2026 10:00–11:30  26/11/2026 00:00 CET
  2026-12  Wed 16/12/2026 09:00  Wed 23/12/2026 10:00–11:30  23/12/2026 00:00 CET
           agenda moved from Thu 24/12/2026 to Wed 16/12/2026: the meeting moved; the agenda keeps its lead of 5 working days
           meeting moved from Thu 31/12/2026 to Wed 23/12/2026: the rule date is a closing day of the landlord (2026-12-24 .. 2027-01-01)

";
        assert_eq!(out, expected);
    }

    #[test]
    fn each_partner_shows_its_own_meeting_place() {
        let out = text(&example(), 1, None);
        assert!(out.contains("CAW Antwerpen (caw-antwerpen): online (Teams:"));
        assert!(out.contains(
            "OCMW Antwerpen (ocmw-antwerpen): on site at Woonhaven Antwerpen, vergaderzaal 2"
        ));
    }

    #[test]
    fn json_lists_months_with_moves_and_instants() {
        let mut out = Vec::new();
        render(&example(), now(), 2, Some("caw-antwerpen"), true, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let december = &v[0]["months"][1];
        assert_eq!(december["month"], "2026-12");
        assert_eq!(december["meeting_start"], "2026-12-23T10:00:00+01:00");
        assert_eq!(december["meeting_day"]["rule_date"], "2026-12-31");
        assert_eq!(
            december["meeting_day"]["moved"]["reason"]["kind"],
            "closing_day"
        );
        assert_eq!(v[0]["mode"]["kind"], "online");
    }

    #[test]
    fn an_unknown_partner_is_an_error_naming_the_known_ones() {
        let err = render(&example(), now(), 1, Some("caw"), false, &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("caw-antwerpen, ocmw-antwerpen"),
            "{err}"
        );
    }

    #[test]
    fn candidate_display_defaults_to_initials_and_rejects_unknown_values() {
        assert_eq!(
            example().meeting.candidate_display,
            CandidateDisplay::Initials
        );
        let text = include_str!("../../config/doorstroom.example.toml").replace(
            "candidate_display = \"initials\"",
            "candidate_display = \"full\"",
        );
        let err = Config::parse(&text, Path::new("x.toml")).unwrap_err();
        assert!(
            err.diagnostics
                .iter()
                .any(|d| d.path == "meeting.candidate_display"),
            "{err}"
        );
        let text = include_str!("../../config/doorstroom.example.toml").replace(
            "candidate_display = \"initials\"",
            "candidate_display = \"name\"",
        );
        let config = Config::parse(&text, Path::new("x.toml")).unwrap();
        assert_eq!(config.meeting.candidate_display, CandidateDisplay::Name);
    }
}
