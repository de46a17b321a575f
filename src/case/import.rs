//! Importing existing cases (from the coordinator's spreadsheet) as CSV or JSON.
//!
//! Pure: text in, validated rows or every bad row with its line number out. The store writes
//! the rows in one transaction, so a file is imported whole or not at all.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::model::{parse_reference, Case, CaseError, CaseEvent, Cause, Transition};
use crate::config::Config;

/// The columns, in the order of the CSV header.
pub const HEADER: [&str; 9] = [
    "case_ref",
    "partner",
    "candidate",
    "cir",
    "social_assistant",
    "lease_start",
    "counsellor_name",
    "counsellor_email",
    "counsellor_phone",
];

/// One row as written (CSV record or JSON object).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    #[serde(default)]
    pub case_ref: Option<String>,
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub candidate: Option<String>,
    #[serde(default)]
    pub cir: Option<String>,
    #[serde(default)]
    pub social_assistant: Option<String>,
    #[serde(default)]
    pub lease_start: Option<String>,
    #[serde(default)]
    pub counsellor_name: Option<String>,
    #[serde(default)]
    pub counsellor_email: Option<String>,
    #[serde(default)]
    pub counsellor_phone: Option<String>,
}

/// A validated row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Line in the file where the row starts (1-based).
    pub line: usize,
    /// Empty: a new reference is assigned.
    pub case_ref: String,
    pub partner: String,
    pub candidate: String,
    pub cir: Option<String>,
    pub social_assistant: Option<String>,
    pub lease_start: Option<NaiveDate>,
    pub counsellor_name: Option<String>,
    pub counsellor_email: Option<String>,
    pub counsellor_phone: Option<String>,
}

/// A bad row (or a file that cannot be read as rows at all: line of the syntax error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportError {
    pub line: usize,
    pub message: String,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Parse a file: JSON when it starts with `[`, CSV otherwise. Every bad row is reported.
pub fn parse(text: &str, config: &Config) -> Result<Vec<ImportRow>, Vec<ImportError>> {
    let raw = if text.trim_start().starts_with('[') {
        parse_json(text)?
    } else {
        parse_csv(text)?
    };
    let mut errors = Vec::new();
    let mut rows: Vec<ImportRow> = Vec::new();
    for (line, r) in raw {
        match validate(line, r, config) {
            Ok(row) => {
                if !row.case_ref.is_empty() {
                    if let Some(first) = rows.iter().find(|x| x.case_ref == row.case_ref) {
                        errors.push(ImportError {
                            line,
                            message: format!(
                                "case_ref {} appears twice (first on line {})",
                                row.case_ref, first.line
                            ),
                        });
                        continue;
                    }
                }
                rows.push(row);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn parse_csv(text: &str) -> Result<Vec<(usize, RawRow)>, Vec<ImportError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![ImportError {
                line: 1,
                message: e.to_string(),
            }])
        }
    };
    if header.iter().ne(HEADER) {
        return Err(vec![ImportError {
            line: 1,
            message: format!("the header must be `{}`", HEADER.join(",")),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let parsed = record.and_then(|r| {
            // Where the record starts (a quoted field may span lines).
            let line = r.position().map_or(0, |p| p.line() as usize);
            r.deserialize::<RawRow>(Some(&header))
                .map(|row| (line, row))
        });
        match parsed {
            Ok(row) => out.push(row),
            Err(e) => errors.push(ImportError {
                line: e.position().map_or(0, |p| p.line() as usize),
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The 1-based line on which each top-level element of a JSON array starts.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_string, mut escaped) = (0usize, 1usize, false, false);
    let mut expecting = false;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if expecting && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 && c == '[' {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

fn parse_json(text: &str) -> Result<Vec<(usize, RawRow)>, Vec<ImportError>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        vec![ImportError {
            line: e.line(),
            message: format!("not a JSON array of cases: {e}"),
        }]
    })?;
    let lines = element_lines(text);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        match serde_json::from_value::<RawRow>(v) {
            Ok(r) => out.push((line, r)),
            Err(e) => errors.push(ImportError {
                line,
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn validate(line: usize, r: RawRow, config: &Config) -> Result<ImportRow, Vec<ImportError>> {
    let mut errors = Vec::new();
    let mut err = |message: String| errors.push(ImportError { line, message });
    let case_ref = clean(r.case_ref).unwrap_or_default();
    if !case_ref.is_empty()
        && parse_reference(&config.organisation.case_reference, &case_ref).is_none()
    {
        err(format!(
            "case_ref `{case_ref}` does not look like {}",
            config.organisation.case_reference.format(2026, 1)
        ));
    }
    let partner = clean(r.partner).unwrap_or_default();
    if partner.is_empty() {
        err("partner is empty".into());
    } else if config.partner(&partner).is_none() {
        let known: Vec<_> = config.partners.iter().map(|p| p.id.as_str()).collect();
        err(format!(
            "unknown partner `{partner}` (known: {})",
            known.join(", ")
        ));
    }
    let candidate = clean(r.candidate).unwrap_or_default();
    if candidate.is_empty() {
        err("candidate is empty".into());
    }
    let lease_start = match clean(r.lease_start) {
        None => None,
        Some(s) => match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                err(format!("lease_start `{s}` is not a date YYYY-MM-DD"));
                None
            }
        },
    };
    let social_assistant = clean(r.social_assistant).map(|s| s.to_ascii_lowercase());
    if let Some(sa) = &social_assistant {
        if !sa.contains('@') {
            err(format!("social_assistant `{sa}` is not a mail address"));
        }
    }
    let counsellor_email = clean(r.counsellor_email).map(|s| s.to_ascii_lowercase());
    if let Some(e) = &counsellor_email {
        if !e.contains('@') {
            err(format!("counsellor_email `{e}` is not a mail address"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ImportRow {
        line,
        case_ref,
        partner,
        candidate,
        cir: clean(r.cir),
        social_assistant,
        lease_start,
        counsellor_name: clean(r.counsellor_name),
        counsellor_email,
        counsellor_phone: clean(r.counsellor_phone),
    })
}

/// The case an imported row becomes, with its events. Imported cases have their documents on
/// paper already, so they start complete; a lease start allocates, starts guidance when the date
/// has come and computes the plan. `referred_at` is the lease start (or `now` without one), so
/// that old cases do not count against this month's quota.
pub fn to_case(
    row: &ImportRow,
    config: &Config,
    file: &str,
    now: DateTime<Utc>,
) -> Result<(Case, Vec<CaseEvent>), CaseError> {
    let partner = config
        .partner(&row.partner)
        .ok_or_else(|| CaseError::UnknownPartner(row.partner.clone()))?;
    let programme = config
        .programme(&partner.programme)
        .ok_or_else(|| CaseError::UnknownProgramme(partner.programme.clone()))?;
    let tz = config.organisation.time_zone;
    let referred_at = row
        .lease_start
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map_or(now, |t| t.with_timezone(&Utc));
    let mut case = Case::new(
        row.case_ref.clone(),
        &partner.id,
        &programme.id,
        &row.candidate,
        referred_at,
    );
    case.cir = row.cir.clone();
    case.social_assistant = row.social_assistant.clone();
    case.counsellor.name = row.counsellor_name.clone();
    case.counsellor.email = row.counsellor_email.clone();
    case.counsellor.phone = row.counsellor_phone.clone();
    let cause = Cause::Import { file: file.into() };
    let mut events = vec![case.event(
        now,
        "created",
        serde_json::json!({"imported": true, "line": row.line, "partner": partner.id, "candidate": row.candidate}),
        &cause,
    )];
    events.push(case.transition(Transition::Complete, now, &cause)?);
    if let Some(lease) = row.lease_start {
        let today = now.with_timezone(&tz).date_naive();
        events.extend(super::apply::set_lease_start(
            &mut case, programme, lease, today, now, &cause,
        )?);
        // What fell due before the import happened (or not) in the spreadsheet era: it stays
        // visible as not done, but the escalation ladder does not fire for it all at once.
        let ladder = u32::try_from(config.escalation.len()).unwrap_or(u32::MAX);
        let mut before = Vec::new();
        for m in case
            .milestones
            .iter_mut()
            .filter(|m| m.is_pending() && m.due_on < today)
        {
            m.escalation_step = ladder;
            before.push(m.name.clone());
        }
        if !before.is_empty() {
            events.push(case.event(
                now,
                "not_escalated",
                serde_json::json!({"due_before_import": before}),
                &cause,
            ));
        }
    }
    Ok((case, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Status;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .unwrap()
    }

    const CSV: &str = "case_ref,partner,candidate,cir,social_assistant,lease_start,counsellor_name,counsellor_email,counsellor_phone
VD-2025-0031,caw-antwerpen,Jan Peeters,CIR-1,bram.janssens@woonhaven.example,2025-11-01,Lies,lies@caw-antwerpen.example,03 111 11 11
,ocmw-antwerpen,\"Maes, An\",,,,,,
";

    #[test]
    fn a_good_csv_gives_one_row_per_line() {
        let rows = parse(CSV, &config()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].candidate, "Maes, An");
        assert_eq!(rows[0].lease_start, NaiveDate::from_ymd_opt(2025, 11, 1));
    }

    #[test]
    fn bad_rows_are_all_reported_with_their_line() {
        let text = format!(
            "{CSV}VD-2025-0032,caw-nergens,Piet,,,2025-13-01,,,\nVD-2025-0031,caw-antwerpen,Jan,,,,,,\n"
        );
        let errors = parse(&text, &config()).unwrap_err();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 4, 5], "{errors:?}");
        assert!(errors[0].message.contains("unknown partner `caw-nergens`"));
        assert!(errors[1].message.contains("2025-13-01"));
        assert!(errors[2]
            .message
            .contains("appears twice (first on line 2)"));
    }

    #[test]
    fn a_wrong_header_is_refused_on_line_1() {
        let errors = parse("ref,partner\nx,y\n", &config()).unwrap_err();
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn json_rows_report_the_line_where_the_object_starts() {
        let text = "[\n  {\"partner\": \"caw-antwerpen\", \"candidate\": \"Jan\"},\n  {\n    \"partner\": \"nope\",\n    \"candidate\": \"Piet\"\n  }\n]";
        let errors = parse(text, &config()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
    }

    #[test]
    fn an_imported_case_with_a_past_lease_start_is_in_guidance_with_its_plan() {
        let config = config();
        let rows = parse(CSV, &config).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let (case, events) = to_case(&rows[0], &config, "oud.csv", now).unwrap();
        assert_eq!(case.status, Status::InGuidance);
        assert_eq!(case.milestones.len(), 5);
        // Due before the import: not escalated all at once, still not done.
        let past: Vec<_> = case
            .milestones
            .iter()
            .filter(|m| m.due_on < now.date_naive())
            .collect();
        assert_eq!(past.len(), 5);
        assert!(past
            .iter()
            .all(|m| m.done_on.is_none() && m.escalation_step == 3));
        let work = crate::case::escalation::due(
            std::slice::from_ref(&case),
            &config.escalation,
            now.date_naive(),
        );
        assert!(work.escalations.is_empty());
        assert!(events.iter().all(|e| e.cause
            == Cause::Import {
                file: "oud.csv".into()
            }));
        let (case, _) = to_case(&rows[1], &config, "oud.csv", now).unwrap();
        assert_eq!(case.status, Status::ReferredComplete);
    }
}
