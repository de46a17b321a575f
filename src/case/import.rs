//! Importing existing cases (from the coordinator's spreadsheet) as CSV or JSON.
//!
//! A CSV as Excel saves it in Belgium is read as it is: the separator is sniffed from the header
//! line (`,`, `;` or tab: the one that splits it into the expected columns), a UTF-8 byte order
//! mark is skipped, a file that is not UTF-8 is read as Windows-1252 (Excel's "CSV (gescheiden
//! door lijstscheidingsteken)"), and `lease_start` may be written `2026-03-01` or `01/03/2026`
//! (day first, as in Belgium; also with `-` or `.`). [`read`] says which it took ([`Dialect`]),
//! and a refused file says why, with the separator it was read with.
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

/// How a file was read: what `import-cases` says it took.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dialect {
    /// JSON instead of CSV.
    pub json: bool,
    /// The CSV separator: `,`, `;` or tab.
    pub delimiter: u8,
    /// A UTF-8 byte order mark was skipped.
    pub bom: bool,
    /// The file was not UTF-8 and was read as Windows-1252.
    pub windows_1252: bool,
    /// The date forms the lease starts were written in, as found (`YYYY-MM-DD`, `dd/mm/yyyy`).
    pub date_forms: Vec<&'static str>,
}

impl Dialect {
    /// One line for the admin: "CSV, `;` between fields, UTF-8 with BOM, dates dd/mm/yyyy".
    pub fn describe(&self) -> String {
        if self.json {
            return "JSON".into();
        }
        let sep = match self.delimiter {
            b'\t' => "tab".to_string(),
            d => format!("`{}`", d as char),
        };
        let encoding = match (self.windows_1252, self.bom) {
            (true, _) => "Windows-1252 (not UTF-8)",
            (false, true) => "UTF-8 with BOM",
            (false, false) => "UTF-8",
        };
        let dates = if self.date_forms.is_empty() {
            "no dates".to_string()
        } else {
            format!("dates {}", self.date_forms.join(" and "))
        };
        format!("CSV, {sep} between fields, {encoding}, {dates}")
    }
}

/// A file's bytes as text: UTF-8 (a BOM skipped), else Windows-1252. Pure.
pub fn decode(bytes: &[u8]) -> (String, Dialect) {
    let mut dialect = Dialect::default();
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            dialect.bom = true;
            rest
        }
        None => bytes,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => {
            dialect.windows_1252 = true;
            crate::understand::encoded::windows_1252(bytes)
        }
    };
    (text, dialect)
}

/// The separator of a CSV, from its header line: the one of `,`, `;` and tab that splits it
/// into the expected columns, else the one it holds most of (`,` when none). Pure.
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let candidates = [b',', b';', b'\t'];
    let names = |d: u8| -> Vec<String> {
        header
            .split(d as char)
            .map(|f| f.trim().trim_matches('"').trim().to_ascii_lowercase())
            .collect()
    };
    if let Some(d) = candidates.iter().find(|d| names(**d) == HEADER) {
        return *d;
    }
    candidates
        .iter()
        .copied()
        .max_by_key(|d| (header.bytes().filter(|b| b == d).count(), *d == b','))
        .filter(|d| header.as_bytes().contains(d))
        .unwrap_or(b',')
}

/// A lease start as people write it: `2026-03-01`, or day first `01/03/2026`, `1/3/2026`,
/// `01-03-2026`, `01.03.2026`. The form it was read in comes with it. Pure.
pub fn parse_date(text: &str) -> Option<(NaiveDate, &'static str)> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some((d, "YYYY-MM-DD"));
    }
    for (sep, form) in [
        ('/', "dd/mm/yyyy"),
        ('-', "dd-mm-yyyy"),
        ('.', "dd.mm.yyyy"),
    ] {
        let parts: Vec<&str> = t.split(sep).collect();
        if let [day, month, year] = parts[..] {
            if year.len() == 4 && day.len() <= 2 && month.len() <= 2 {
                let n = |s: &str| s.parse::<u32>().ok();
                if let (Some(d), Some(m), Some(y)) = (n(day), n(month), n(year)) {
                    return NaiveDate::from_ymd_opt(y as i32, m, d).map(|date| (date, form));
                }
            }
        }
    }
    None
}

/// A file refused: every bad row, and how the file was read (so the admin sees whether the
/// separator was the problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub errors: Vec<ImportError>,
    pub dialect: Dialect,
}

/// Read a file's bytes: JSON when it starts with `[`, CSV otherwise (its dialect sniffed).
/// Every bad row is reported.
pub fn read(bytes: &[u8], config: &Config) -> Result<(Vec<ImportRow>, Dialect), Refused> {
    let (text, mut dialect) = decode(bytes);
    let raw = if text.trim_start().starts_with('[') {
        dialect.json = true;
        parse_json(&text)
    } else {
        dialect.delimiter = sniff_delimiter(&text);
        parse_csv(&text, dialect.delimiter)
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(errors) => return Err(Refused { errors, dialect }),
    };
    for (_, r) in &raw {
        if let Some((_, form)) = r.lease_start.as_deref().and_then(parse_date) {
            if !dialect.date_forms.contains(&form) {
                dialect.date_forms.push(form);
            }
        }
    }
    match validate_all(raw, config) {
        Ok(rows) => Ok((rows, dialect)),
        Err(errors) => Err(Refused { errors, dialect }),
    }
}

/// Parse a file's text: JSON when it starts with `[`, CSV otherwise (its separator sniffed).
/// Every bad row is reported.
pub fn parse(text: &str, config: &Config) -> Result<Vec<ImportRow>, Vec<ImportError>> {
    read(text.as_bytes(), config)
        .map(|(rows, _)| rows)
        .map_err(|r| r.errors)
}

fn validate_all(
    raw: Vec<(usize, RawRow)>,
    config: &Config,
) -> Result<Vec<ImportRow>, Vec<ImportError>> {
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

fn parse_csv(text: &str, delimiter: u8) -> Result<Vec<(usize, RawRow)>, Vec<ImportError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(delimiter)
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
    let found: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
    if found.iter().ne(HEADER.iter()) {
        let sep = match delimiter {
            b'\t' => "tab".to_string(),
            d => format!("`{}`", d as char),
        };
        let missing: Vec<&str> = HEADER
            .iter()
            .copied()
            .filter(|h| !found.iter().any(|f| f == h))
            .collect();
        let unknown: Vec<&str> = found
            .iter()
            .map(String::as_str)
            .filter(|f| !HEADER.contains(f))
            .collect();
        let mut why = format!(
            "the header must be `{}` (with `,`, `;` or tab between the names); read with {sep} between fields it has {} column(s)",
            HEADER.join(","),
            found.len()
        );
        if !missing.is_empty() {
            why.push_str(&format!("; missing: {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            why.push_str(&format!("; not known: {}", unknown.join(", ")));
        }
        if missing.is_empty() && unknown.is_empty() {
            why.push_str("; the columns are in another order");
        }
        return Err(vec![ImportError {
            line: 1,
            message: why,
        }]);
    }
    // The names as the rows are read (a header written `Case_Ref` is the same column).
    let names = csv::StringRecord::from(found);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let parsed = record.and_then(|r| {
            // Where the record starts (a quoted field may span lines).
            let line = r.position().map_or(0, |p| p.line() as usize);
            r.deserialize::<RawRow>(Some(&names)).map(|row| (line, row))
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
        Some(s) => match parse_date(&s) {
            Some((d, _)) => Some(d),
            None => {
                err(format!(
                    "lease_start `{s}` is not a date (write 2026-03-01 or 01/03/2026, day first)"
                ));
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
    fn a_csv_saved_by_belgian_excel_is_read_and_says_how() {
        // `;`, a BOM, dd/mm/yyyy, CRLF: "CSV UTF-8" from Excel with Belgian settings.
        let excel = "\u{feff}case_ref;partner;candidate;cir;social_assistant;lease_start;counsellor_name;counsellor_email;counsellor_phone\r\n\
                     VD-2025-0031;caw-antwerpen;Jan Peeters;CIR-1;;01/11/2025;Lies;lies@caw-antwerpen.example;03 111 11 11\r\n\
                     ;ocmw-antwerpen;Maes, An;;;;;;\r\n";
        let (rows, dialect) = read(excel.as_bytes(), &config()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].lease_start, NaiveDate::from_ymd_opt(2025, 11, 1));
        assert_eq!(rows[1].candidate, "Maes, An");
        assert_eq!(
            dialect.describe(),
            "CSV, `;` between fields, UTF-8 with BOM, dates dd/mm/yyyy"
        );
        // The same file saved as "CSV (gescheiden door lijstscheidingsteken)": Windows-1252.
        let mut latin = excel
            .trim_start_matches('\u{feff}')
            .replace("Jan Peeters", "Zoë Peeters")
            .into_bytes();
        let at = latin.windows(2).position(|w| w == "ë".as_bytes()).unwrap();
        latin.splice(at..at + 2, [0xEB]);
        let (rows, dialect) = read(&latin, &config()).unwrap();
        assert_eq!(rows[0].candidate, "Zoë Peeters");
        assert!(
            dialect.describe().contains("Windows-1252"),
            "{}",
            dialect.describe()
        );
        // Tab-separated, ISO dates.
        let tabs = CSV.replace(',', "\t").replace("\"Maes\tAn\"", "Maes An");
        let (rows, dialect) = read(tabs.as_bytes(), &config()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            dialect.describe(),
            "CSV, tab between fields, UTF-8, dates YYYY-MM-DD"
        );
    }

    #[test]
    fn separators_and_dates_are_sniffed_from_what_is_written() {
        let header = HEADER.join(";");
        for (line, expected) in [
            (HEADER.join(","), b','),
            (header.clone(), b';'),
            (HEADER.join("\t"), b'\t'),
            ("\"case_ref\";\"partner\"".to_string(), b';'),
            ("a,b;c;d".to_string(), b';'),
            ("nothing".to_string(), b','),
        ] {
            assert_eq!(sniff_delimiter(&line) as char, expected as char, "{line}");
        }
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        for (text, expected) in [
            ("2026-03-01", Some((d(2026, 3, 1), "YYYY-MM-DD"))),
            ("01/03/2026", Some((d(2026, 3, 1), "dd/mm/yyyy"))),
            ("1/3/2026", Some((d(2026, 3, 1), "dd/mm/yyyy"))),
            ("31-12-2025", Some((d(2025, 12, 31), "dd-mm-yyyy"))),
            ("31.12.2025", Some((d(2025, 12, 31), "dd.mm.yyyy"))),
            ("13/31/2026", None),
            ("01/03/26", None),
            ("maart 2026", None),
        ] {
            assert_eq!(parse_date(text), expected, "{text}");
        }
    }

    #[test]
    fn a_refused_header_says_why_and_how_it_was_read() {
        let refused = read(b"ref;partner\nx;y\n", &config()).unwrap_err();
        let message = &refused.errors[0].message;
        assert!(
            message.contains("read with `;` between fields it has 2 column(s)"),
            "{message}"
        );
        assert!(
            message.contains("missing: case_ref, candidate"),
            "{message}"
        );
        assert!(message.contains("not known: ref"), "{message}");
        assert_eq!(refused.dialect.delimiter, b';');
        let bad_date = "case_ref;partner;candidate;cir;social_assistant;lease_start;counsellor_name;counsellor_email;counsellor_phone\n;caw-antwerpen;Jan;;;31/02/2026;;;\n";
        let refused = read(bad_date.as_bytes(), &config()).unwrap_err();
        assert!(
            refused.errors[0].message.contains("01/03/2026, day first"),
            "{:?}",
            refused.errors
        );
    }

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
