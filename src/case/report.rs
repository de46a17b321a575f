//! The yearly registration per partner (`002` §5.5): cases referred, running, closed, average
//! guidance length, goals met, evictions avoided, quota use per month; as CSV or as an HTML page
//! with simple inline SVG charts.
//!
//! Pure: cases and the year in, figures and text out.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::model::{Case, GoalsMet};
use crate::config::Config;

/// `002` §2: one full-time counsellor guides at least this many clients a year.
pub const PREVENTIVE_CLIENTS_PER_FTE: u32 = 27;
/// `002` §3: the average preventive guidance lasted this many months.
pub const PREVENTIVE_AVERAGE_MONTHS: f64 = 9.0;

/// Preventive guidance (`002`) of one partner for one year, beside its accelerated-allocation
/// figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreventiveYear {
    pub partner: String,
    pub partner_name: String,
    pub year: i32,
    /// Requests received in the year.
    pub requested: u32,
    /// Declined by the partner (closed before guidance started).
    pub declined: u32,
    /// Clients in guidance at some time in the year.
    pub clients: u32,
    /// Ended in the year after guidance, with their outcomes.
    pub closed: u32,
    pub goals_yes: u32,
    pub goals_partly: u32,
    pub goals_no: u32,
    pub evictions_avoided: u32,
    /// Reopened episodes (relapse) requested in the year.
    pub reopened: u32,
    /// Average months from the start of guidance to its end, for cases ended in the year.
    pub average_guidance_months: Option<f64>,
    /// Clients guided in the year per counsellor (address; "(onbekend)" when none is known),
    /// to hold against [`PREVENTIVE_CLIENTS_PER_FTE`] for a full-time counsellor.
    pub caseload: Vec<(String, u32)>,
}

/// The preventive figures of `year` per partner (or one), as of `today`. Empty when no
/// programme is opened by preventive requests.
pub fn preventive_yearly(
    cases: &[Case],
    config: &Config,
    year: i32,
    partner: Option<&str>,
    today: NaiveDate,
) -> Vec<PreventiveYear> {
    if super::preventive::request_programme(config).is_none() {
        return Vec::new();
    }
    let tz = config.organisation.time_zone;
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let end = NaiveDate::from_ymd_opt(year, 12, 31)
        .unwrap_or(today)
        .min(today);
    config
        .partners
        .iter()
        .filter(|p| partner.is_none_or(|id| id == p.id))
        .map(|p| {
            let mut r = PreventiveYear {
                partner: p.id.clone(),
                partner_name: p.name.clone(),
                year,
                requested: 0,
                declined: 0,
                clients: 0,
                closed: 0,
                goals_yes: 0,
                goals_partly: 0,
                goals_no: 0,
                evictions_avoided: 0,
                reopened: 0,
                average_guidance_months: None,
                caseload: Vec::new(),
            };
            let mut lengths = Vec::new();
            let mut load: std::collections::BTreeMap<String, u32> = Default::default();
            let mine = cases
                .iter()
                .filter(|c| c.partner == p.id && super::preventive::is_preventive(config, c));
            for c in mine {
                let requested = local(c.referred_at, tz);
                if requested.year() == year {
                    r.requested += 1;
                    if c.previous_case.is_some() {
                        r.reopened += 1;
                    }
                }
                let ended = ended_on(c, tz);
                // Guidance starts when the partner takes the request on (the plan's anchor).
                let Some(began) = c.lease_start else {
                    if ended.is_some_and(|e| e.year() == year) {
                        r.declined += 1;
                    }
                    continue;
                };
                if began <= end && ended.is_none_or(|e| e >= start) {
                    r.clients += 1;
                    let who = c
                        .counsellor
                        .email
                        .clone()
                        .unwrap_or_else(|| "(onbekend)".into());
                    *load.entry(who).or_default() += 1;
                }
                if let Some(e) = ended.filter(|e| e.year() == year) {
                    r.closed += 1;
                    match c.goals_met {
                        Some(GoalsMet::Yes) => r.goals_yes += 1,
                        Some(GoalsMet::Partly) => r.goals_partly += 1,
                        Some(GoalsMet::No) => r.goals_no += 1,
                        None => {}
                    }
                    if c.eviction_avoided == Some(true) {
                        r.evictions_avoided += 1;
                    }
                    if e >= began {
                        lengths.push((e - began).num_days() as f64 / 30.4375);
                    }
                }
            }
            if !lengths.is_empty() {
                r.average_guidance_months =
                    Some(lengths.iter().sum::<f64>() / lengths.len() as f64);
            }
            r.caseload = load.into_iter().collect();
            r
        })
        .collect()
}

/// The preventive figures as CSV, one row per partner and counsellor, with the `002` benchmarks.
pub fn preventive_to_csv(rows: &[PreventiveYear]) -> String {
    let mut s = String::from(
        "partner,year,requested,declined,clients,closed,goals_yes,goals_partly,goals_no,evictions_avoided,reopened,average_guidance_months,benchmark_average_months,counsellor,counsellor_clients,benchmark_clients_per_fte\n",
    );
    for r in rows {
        let avg = r
            .average_guidance_months
            .map(|m| format!("{m:.1}"))
            .unwrap_or_default();
        let head = format!(
            "{},{},{},{},{},{},{},{},{},{},{},{avg},{PREVENTIVE_AVERAGE_MONTHS:.0}",
            r.partner,
            r.year,
            r.requested,
            r.declined,
            r.clients,
            r.closed,
            r.goals_yes,
            r.goals_partly,
            r.goals_no,
            r.evictions_avoided,
            r.reopened
        );
        if r.caseload.is_empty() {
            let _ = writeln!(s, "{head},,,{PREVENTIVE_CLIENTS_PER_FTE}");
        }
        for (who, n) in &r.caseload {
            let _ = writeln!(s, "{head},{who},{n},{PREVENTIVE_CLIENTS_PER_FTE}");
        }
    }
    s
}

/// The preventive figures as an HTML section (no `<html>` around it), to place after
/// [`to_html`]'s tables: one table per partner with the caseload per counsellor against the
/// `002` benchmark.
pub fn preventive_to_html(rows: &[PreventiveYear]) -> String {
    let mut s = String::from("<h2>Preventieve woonbegeleiding</h2>\n");
    for r in rows {
        let avg = r
            .average_guidance_months
            .map_or("–".into(), |a| format!("{a:.1}"));
        let _ = writeln!(
            s,
            "<h3>{}</h3><table><tr><th>Vragen</th><th>Geweigerd</th><th>Cliënten begeleid</th><th>Afgesloten</th>\
             <th>Doelen behaald (ja/deels/nee)</th><th>Uithuiszetting vermeden</th><th>Herval</th>\
             <th>Gemiddelde duur (maanden; 002: {PREVENTIVE_AVERAGE_MONTHS:.0})</th></tr>\
             <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}/{}</td><td>{}</td><td>{}</td><td>{avg}</td></tr></table>",
            escape(&r.partner_name),
            r.requested,
            r.declined,
            r.clients,
            r.closed,
            r.goals_yes,
            r.goals_partly,
            r.goals_no,
            r.evictions_avoided,
            r.reopened,
        );
        s.push_str("<table><tr><th>Woonbegeleider</th><th>Cliënten dit jaar</th>");
        let _ = write!(s, "<th>Norm 002 (voltijds)</th></tr>");
        for (who, n) in &r.caseload {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{n}</td><td>≥ {PREVENTIVE_CLIENTS_PER_FTE}</td></tr>",
                escape(who)
            );
        }
        s.push_str("</table>\n");
    }
    s
}

/// The figures of one partner for one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerYear {
    pub partner: String,
    pub partner_name: String,
    pub year: i32,
    /// Referrals received in the year.
    pub referred: u32,
    /// Open at the end of the year (or now, for the current year).
    pub running: u32,
    /// Guidance ended in the year (stopped, closed or transferred).
    pub closed: u32,
    /// Average months from lease start to end, for cases ended in the year with a lease start.
    pub average_guidance_months: Option<f64>,
    pub goals_yes: u32,
    pub goals_partly: u32,
    pub goals_no: u32,
    pub evictions_avoided: u32,
    pub quota: Option<u32>,
    /// Referrals per month, January first.
    pub referred_per_month: [u32; 12],
    /// Guidance lengths in months of the cases ended in the year (for the chart).
    pub guidance_lengths: Vec<f64>,
}

fn local(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// When guidance ended: the stop date, else the closing date.
fn ended_on(case: &Case, tz: Tz) -> Option<NaiveDate> {
    if case.status.is_open() {
        return None;
    }
    case.stopped_on.or(case.closed_at.map(|t| local(t, tz)))
}

/// The registration of `year` for every configured partner (or one), as of `today`.
pub fn yearly(
    cases: &[Case],
    config: &Config,
    year: i32,
    partner: Option<&str>,
    today: NaiveDate,
) -> Vec<PartnerYear> {
    let tz = config.organisation.time_zone;
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31)
        .unwrap_or(today)
        .min(today);
    config
        .partners
        .iter()
        .filter(|p| partner.is_none_or(|id| id == p.id))
        .map(|p| {
            let mut r = PartnerYear {
                partner: p.id.clone(),
                partner_name: p.name.clone(),
                year,
                referred: 0,
                running: 0,
                closed: 0,
                average_guidance_months: None,
                goals_yes: 0,
                goals_partly: 0,
                goals_no: 0,
                evictions_avoided: 0,
                quota: p.monthly_quota,
                referred_per_month: [0; 12],
                guidance_lengths: Vec::new(),
            };
            // Preventive guidance is reported beside, not inside, accelerated allocation.
            let accelerated = cases
                .iter()
                .filter(|c| c.partner == p.id && !super::preventive::is_preventive(config, c));
            for c in accelerated {
                let referred = local(c.referred_at, tz);
                if referred.year() == year {
                    r.referred += 1;
                    r.referred_per_month[referred.month0() as usize] += 1;
                }
                let ended = ended_on(c, tz);
                if referred <= year_end && ended.is_none_or(|e| e > year_end) {
                    r.running += 1;
                }
                if let Some(end) = ended.filter(|e| e.year() == year) {
                    r.closed += 1;
                    match c.goals_met {
                        Some(GoalsMet::Yes) => r.goals_yes += 1,
                        Some(GoalsMet::Partly) => r.goals_partly += 1,
                        Some(GoalsMet::No) => r.goals_no += 1,
                        None => {}
                    }
                    if c.eviction_avoided == Some(true) {
                        r.evictions_avoided += 1;
                    }
                    if let Some(lease) = c.lease_start.filter(|l| *l <= end) {
                        r.guidance_lengths
                            .push((end - lease).num_days() as f64 / 30.4375);
                    }
                }
            }
            if !r.guidance_lengths.is_empty() {
                r.average_guidance_months =
                    Some(r.guidance_lengths.iter().sum::<f64>() / r.guidance_lengths.len() as f64);
            }
            r
        })
        .collect()
}

/// One CSV row per partner.
pub fn to_csv(rows: &[PartnerYear]) -> String {
    let mut out = String::from(
        "partner,year,referred,running,closed,average_guidance_months,goals_met_yes,goals_met_partly,goals_met_no,evictions_avoided,monthly_quota",
    );
    for m in 1..=12 {
        let _ = write!(out, ",referred_{m:02}");
    }
    out.push('\n');
    for r in rows {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.partner,
            r.year,
            r.referred,
            r.running,
            r.closed,
            r.average_guidance_months
                .map_or(String::new(), |a| format!("{a:.1}")),
            r.goals_yes,
            r.goals_partly,
            r.goals_no,
            r.evictions_avoided,
            r.quota.map_or(String::new(), |q| q.to_string()),
        );
        for n in r.referred_per_month {
            let _ = write!(out, ",{n}");
        }
        out.push('\n');
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const MONTH_LABELS: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];

/// Bars of referrals per month, with the quota as a dashed line.
fn month_chart(r: &PartnerYear) -> String {
    let max = r
        .referred_per_month
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(r.quota.unwrap_or(0))
        .max(1);
    let (w, h, bar) = (480.0, 160.0, 30.0);
    let scale = (h - 30.0) / f64::from(max);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="Aanmeldingen per maand">"#
    );
    for (i, n) in r.referred_per_month.iter().enumerate() {
        let x = 10.0 + i as f64 * 38.0;
        let bh = f64::from(*n) * scale;
        let over = r.quota.is_some_and(|q| *n > q);
        let fill = if over { "#c0392b" } else { "#2e86c1" };
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{y:.1}" width="{bar}" height="{bh:.1}" fill="{fill}"><title>{label}: {n}</title></rect><text x="{tx}" y="{ly}" font-size="10" text-anchor="middle">{label}</text>"#,
            y = h - 20.0 - bh,
            label = MONTH_LABELS[i],
            tx = x + bar / 2.0,
            ly = h - 6.0,
        );
    }
    if let Some(q) = r.quota {
        let y = h - 20.0 - f64::from(q) * scale;
        let _ = write!(
            s,
            r##"<line x1="5" x2="{w}" y1="{y:.1}" y2="{y:.1}" stroke="#555" stroke-dasharray="4 3"><title>contingent {q}</title></line>"##
        );
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar per ended case: its guidance length in months.
fn length_chart(r: &PartnerYear) -> String {
    if r.guidance_lengths.is_empty() {
        return "<p>Geen afgesloten begeleidingen met een gekende ingangsdatum.</p>".into();
    }
    let max = r.guidance_lengths.iter().copied().fold(1.0, f64::max);
    let h = 14.0 * r.guidance_lengths.len() as f64 + 10.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="480" height="{h}" role="img" aria-label="Duur van de begeleiding">"#
    );
    for (i, m) in r.guidance_lengths.iter().enumerate() {
        let _ = write!(
            s,
            r##"<rect x="0" y="{y}" width="{bw:.1}" height="10" fill="#27ae60"><title>{m:.1} maanden</title></rect><text x="{tx:.1}" y="{ty}" font-size="10">{m:.1}</text>"##,
            y = 5.0 + i as f64 * 14.0,
            bw = m / max * 420.0,
            tx = m / max * 420.0 + 4.0,
            ty = 14.0 + i as f64 * 14.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A self-contained HTML page (no scripts, no external resources).
pub fn to_html(rows: &[PartnerYear], organisation: &str, year: i32) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\"><title>Registratie versnelde doorstroom {year}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th:first-child,td:first-child{{text-align:left}}</style>\
         </head><body><h1>Registratie versnelde doorstroom {year}</h1><p>{}</p>\n",
        escape(organisation)
    );
    s.push_str("<table><tr><th>Partner</th><th>Aangemeld</th><th>Lopend</th><th>Afgesloten</th><th>Gem. duur (maanden)</th><th>Doelen bereikt (ja/deels/nee)</th><th>Uithuiszetting vermeden</th><th>Contingent</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}/{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.partner_name),
            r.referred,
            r.running,
            r.closed,
            r.average_guidance_months.map_or("–".into(), |a| format!("{a:.1}")),
            r.goals_yes,
            r.goals_partly,
            r.goals_no,
            r.evictions_avoided,
            r.quota.map_or("–".into(), |q| format!("{q}/maand")),
        );
    }
    s.push_str("</table>\n");
    for r in rows {
        let _ = write!(
            s,
            "<h2>{}</h2><h3>Aanmeldingen per maand</h3>{}\n<h3>Duur van de afgesloten begeleidingen</h3>{}\n",
            escape(&r.partner_name),
            month_chart(r),
            length_chart(r)
        );
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Status;
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .unwrap()
    }

    fn case(partner: &str, referred: (i32, u32, u32)) -> Case {
        Case::new(
            "VD".into(),
            partner,
            "vivendo",
            "X",
            Utc.with_ymd_and_hms(referred.0, referred.1, referred.2, 10, 0, 0)
                .unwrap(),
        )
    }

    fn preventive(counsellor: &str, asked: (i32, u32, u32)) -> Case {
        let mut c = case("caw-antwerpen", asked);
        c.programme = "preventive".into();
        c.other_guidance = true;
        c.counsellor.email = Some(counsellor.into());
        c
    }

    #[test]
    fn preventive_cases_are_counted_beside_not_inside_accelerated_allocation_with_caseload_per_counsellor(
    ) {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Taken on 1 Feb, closed 1 Nov (9 months), goals partly met, eviction avoided.
        let mut done = preventive("els@caw-antwerpen.example", (2026, 1, 20));
        done.lease_start = Some(d(2026, 2, 1));
        done.status = Status::ClosedPositive;
        done.closed_at = Some(Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap());
        done.goals_met = Some(GoalsMet::Partly);
        done.eviction_avoided = Some(true);
        let mut running = preventive("els@caw-antwerpen.example", (2026, 3, 1));
        running.lease_start = Some(d(2026, 3, 10));
        running.status = Status::InGuidance;
        let mut other = preventive("tom@caw-antwerpen.example", (2026, 4, 1));
        other.lease_start = Some(d(2026, 4, 5));
        other.status = Status::InGuidance;
        other.previous_case = Some("VD-2025-0030".into());
        let mut declined = preventive("els@caw-antwerpen.example", (2026, 5, 1));
        declined.counsellor.email = None;
        declined.status = Status::ClosedNegative;
        declined.closed_at = Some(Utc.with_ymd_and_hms(2026, 5, 8, 10, 0, 0).unwrap());
        let accelerated = case("caw-antwerpen", (2026, 2, 1));
        let cases = vec![done, running, other, declined, accelerated];
        let today = d(2026, 12, 31);

        let rows = preventive_yearly(&cases, &config(), 2026, Some("caw-antwerpen"), today);
        let r = &rows[0];
        assert_eq!(
            (r.requested, r.declined, r.clients, r.closed, r.reopened),
            (4, 1, 3, 1, 1)
        );
        assert_eq!((r.goals_partly, r.evictions_avoided), (1, 1));
        let avg = r.average_guidance_months.unwrap();
        assert!((avg - 9.0).abs() < 0.1, "{avg}");
        assert_eq!(
            r.caseload,
            [
                ("els@caw-antwerpen.example".to_string(), 2),
                ("tom@caw-antwerpen.example".to_string(), 1)
            ]
        );
        let html = preventive_to_html(&rows);
        assert!(
            html.contains("<td>els@caw-antwerpen.example</td><td>2</td><td>≥ 27</td>"),
            "{html}"
        );
        let csv = preventive_to_csv(&rows);
        assert!(csv.contains(",els@caw-antwerpen.example,2,27\n"), "{csv}");

        let accelerated_rows = yearly(&cases, &config(), 2026, Some("caw-antwerpen"), today);
        assert_eq!(accelerated_rows[0].referred, 1, "preventive cases stay out");
    }

    #[test]
    fn a_year_of_one_partner_counts_referrals_closures_goals_and_quota_months() {
        let mut closed = case("caw-antwerpen", (2025, 6, 1));
        closed.status = Status::ClosedPositive;
        closed.lease_start = NaiveDate::from_ymd_opt(2025, 7, 1);
        closed.closed_at = Some(Utc.with_ymd_and_hms(2026, 7, 1, 10, 0, 0).unwrap());
        closed.goals_met = Some(GoalsMet::Yes);
        closed.eviction_avoided = Some(true);
        let cases = vec![
            closed,
            case("caw-antwerpen", (2026, 3, 2)),
            case("caw-antwerpen", (2026, 3, 9)),
            case("caw-antwerpen", (2026, 3, 20)),
            case("ocmw-antwerpen", (2026, 1, 5)),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let rows = yearly(&cases, &config(), 2026, Some("caw-antwerpen"), today);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.referred, r.running, r.closed), (3, 3, 1));
        assert_eq!(r.referred_per_month[2], 3);
        assert_eq!((r.goals_yes, r.evictions_avoided), (1, 1));
        let avg = r.average_guidance_months.unwrap();
        assert!((avg - 12.0).abs() < 0.1, "{avg}");
        let csv = to_csv(&rows);
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("caw-antwerpen,2026,3,3,1,12.0,1,0,0,1,2,0,0,3,"));
        let html = to_html(&rows, "Woonhaven", 2026);
        assert!(
            html.contains("<svg") && html.contains("#c0392b"),
            "March is over the quota of 2"
        );
    }
}
