//! The yearly registration per partner (`002` §5.5): cases referred, running, closed, average
//! guidance length, goals met, evictions avoided, quota use per month; as CSV (one table per
//! file) or as an HTML page with labelled inline SVG charts that print on A4.
//!
//! The CSV is written for Excel with Belgian settings by default ([`CsvStyle::Excel`]): `;`
//! between fields, a decimal comma ("3,1"), a UTF-8 byte order mark so that "Cliënten" opens
//! as written, CRLF line ends. [`CsvStyle::Plain`] keeps the machine form (`,` and "3.1") for
//! scripts. The column names are a contract in both.
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

/// How a CSV is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvStyle {
    /// For Excel with Belgian (or Dutch, French, German) settings: `;`, decimal comma, UTF-8 BOM,
    /// CRLF.
    Excel,
    /// For scripts: `,`, decimal point, no BOM, LF.
    Plain,
}

impl CsvStyle {
    fn separator(self) -> char {
        match self {
            CsvStyle::Excel => ';',
            CsvStyle::Plain => ',',
        }
    }

    /// A decimal number with one digit after the separator this style reads.
    fn decimal(self, x: f64) -> String {
        match self {
            CsvStyle::Excel => belgian(x, 1),
            CsvStyle::Plain => format!("{x:.1}"),
        }
    }

    /// One table: header and rows, each field quoted when it holds the separator, a quote or a
    /// line break (RFC 4180).
    fn table(self, header: &[String], rows: &[Vec<String>]) -> String {
        let sep = self.separator();
        let end = match self {
            CsvStyle::Excel => "\r\n",
            CsvStyle::Plain => "\n",
        };
        let field = |f: &str| {
            if f.contains([sep, '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.to_string()
            }
        };
        let mut out = String::new();
        if self == CsvStyle::Excel {
            out.push('\u{feff}');
        }
        for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
            let line: Vec<String> = row.iter().map(|f| field(f)).collect();
            out.push_str(&line.join(&sep.to_string()));
            out.push_str(end);
        }
        out
    }
}

/// A number as a Belgian reads it: decimal comma, a dot between thousands ("1.234,5").
pub fn belgian(x: f64, digits: usize) -> String {
    let text = format!("{:.*}", digits, x.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{fraction}")
    }
}

/// The preventive figures as CSV, one row per partner and counsellor, with the `002` benchmarks.
pub fn preventive_to_csv(rows: &[PreventiveYear], style: CsvStyle) -> String {
    let header: Vec<String> = "partner,year,requested,declined,clients,closed,goals_yes,goals_partly,goals_no,evictions_avoided,reopened,average_guidance_months,benchmark_average_months,counsellor,counsellor_clients,benchmark_clients_per_fte"
        .split(',')
        .map(str::to_string)
        .collect();
    let mut table = Vec::new();
    for r in rows {
        let avg = r
            .average_guidance_months
            .map(|m| style.decimal(m))
            .unwrap_or_default();
        let head: Vec<String> = vec![
            r.partner.clone(),
            r.year.to_string(),
            r.requested.to_string(),
            r.declined.to_string(),
            r.clients.to_string(),
            r.closed.to_string(),
            r.goals_yes.to_string(),
            r.goals_partly.to_string(),
            r.goals_no.to_string(),
            r.evictions_avoided.to_string(),
            r.reopened.to_string(),
            avg,
            format!("{PREVENTIVE_AVERAGE_MONTHS:.0}"),
        ];
        let load: Vec<(String, String)> = if r.caseload.is_empty() {
            vec![(String::new(), String::new())]
        } else {
            r.caseload
                .iter()
                .map(|(who, n)| (who.clone(), n.to_string()))
                .collect()
        };
        for (who, n) in load {
            let mut row = head.clone();
            row.extend([who, n, PREVENTIVE_CLIENTS_PER_FTE.to_string()]);
            table.push(row);
        }
    }
    style.table(&header, &table)
}

/// The preventive figures as an HTML section (no `<html>` around it), to place after
/// [`to_html`]'s tables: one table per partner with the caseload per counsellor against the
/// `002` benchmark.
pub fn preventive_to_html(rows: &[PreventiveYear]) -> String {
    let mut s = String::from("<h2>Preventieve woonbegeleiding</h2>\n");
    for r in rows {
        let avg = r
            .average_guidance_months
            .map_or("–".into(), |a| belgian(a, 1));
        let _ = writeln!(
            s,
            "<h3>{}</h3><table><tr><th>Vragen</th><th>Geweigerd</th><th>Cliënten begeleid</th><th>Afgesloten</th>\
             <th>Doelen behaald (ja/deels/nee)</th><th>Uithuiszetting vermeden</th><th>Herval</th>\
             <th>Gemiddelde duur in maanden (richtwaarde {PREVENTIVE_AVERAGE_MONTHS:.0})</th></tr>\
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
        let _ = write!(s, "<th>Richtwaarde per voltijdse woonbegeleider</th></tr>");
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
pub fn to_csv(rows: &[PartnerYear], style: CsvStyle) -> String {
    let mut header: Vec<String> = "partner,year,referred,running,closed,average_guidance_months,goals_met_yes,goals_met_partly,goals_met_no,evictions_avoided,monthly_quota"
        .split(',')
        .map(str::to_string)
        .collect();
    header.extend((1..=12).map(|m| format!("referred_{m:02}")));
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.partner.clone(),
                r.year.to_string(),
                r.referred.to_string(),
                r.running.to_string(),
                r.closed.to_string(),
                r.average_guidance_months
                    .map_or(String::new(), |a| style.decimal(a)),
                r.goals_yes.to_string(),
                r.goals_partly.to_string(),
                r.goals_no.to_string(),
                r.evictions_avoided.to_string(),
                r.quota.map_or(String::new(), |q| q.to_string()),
            ];
            row.extend(r.referred_per_month.iter().map(u32::to_string));
            row
        })
        .collect();
    style.table(&header, &table)
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

const BLUE: &str = "#2e86c1";
const RED: &str = "#c0392b";
const GREEN: &str = "#27ae60";
const AXIS: &str = "#374151";
const GRID: &str = "#e5e7eb";

/// Round tick steps for an axis from 0 to at least `max`: (step, top).
fn ticks(max: f64, wanted: f64) -> (f64, f64) {
    let raw = (max / wanted).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let top = (max / step).ceil().max(1.0) * step;
    (step, top)
}

/// A legend entry: a swatch (box, or dashed line) and its text, at (x, y).
fn legend(s: &mut String, x: f64, y: f64, color: &str, dashed: bool, label: &str) {
    if dashed {
        let _ = write!(
            s,
            r#"<line x1="{x}" x2="{x2}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>"#,
            x2 = x + 14.0,
            ly = y - 4.0
        );
    } else {
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{ry}" width="12" height="10" fill="{color}"/>"#,
            ry = y - 9.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{tx}" y="{y}" font-size="11" fill="{AXIS}">{}</text>"#,
        escape(label),
        tx = x + 18.0
    );
}

/// Bars of referrals per month with their number above each bar, a y-axis with round ticks
/// ("aanmeldingen"), the months on the x-axis, the quota as a dashed line, and a legend.
fn month_chart(r: &PartnerYear) -> String {
    let highest = r
        .referred_per_month
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(r.quota.unwrap_or(0))
        .max(1);
    let (step, top) = ticks(f64::from(highest), 4.0);
    let (w, h) = (640.0, 250.0);
    let (left, right, plot_top, bottom) = (48.0, 10.0, 16.0, 190.0);
    let plot_h = bottom - plot_top;
    let slot = (w - left - right) / 12.0;
    let bar = slot * 0.62;
    let y_of = |v: f64| bottom - v / top * plot_h;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="Aanmeldingen per maand van {}" style="max-width:100%;height:auto;font-family:Arial,Helvetica,sans-serif">"#,
        escape(&r.partner_name)
    );
    // Grid and y-axis ticks.
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let y = y_of(v);
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="{GRID}"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="{AXIS}">{}</text>"#,
            belgian(v, 0),
            x2 = w - right,
            tx = left - 6.0,
            ty = y + 4.0
        );
        v += step;
    }
    let _ = write!(
        s,
        r#"<text x="12" y="{cy}" font-size="11" fill="{AXIS}" text-anchor="middle" transform="rotate(-90 12 {cy})">aanmeldingen</text>"#,
        cy = plot_top + plot_h / 2.0
    );
    for (i, n) in r.referred_per_month.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar) / 2.0;
        let y = y_of(f64::from(*n));
        let over = r.quota.is_some_and(|q| *n > q);
        let fill = if over { RED } else { BLUE };
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" fill="{fill}"><title>{label}: {n}</title></rect><text x="{tx:.1}" y="{vy:.1}" font-size="11" text-anchor="middle" fill="{AXIS}">{n}</text><text x="{tx:.1}" y="{ly}" font-size="11" text-anchor="middle" fill="{AXIS}">{label}</text>"#,
            bh = bottom - y,
            label = MONTH_LABELS[i],
            tx = x + bar / 2.0,
            vy = y - 4.0,
            ly = bottom + 15.0,
        );
    }
    // Axes.
    let _ = write!(
        s,
        r#"<line x1="{left}" x2="{left}" y1="{plot_top}" y2="{bottom}" stroke="{AXIS}"/><line x1="{left}" x2="{x2}" y1="{bottom}" y2="{bottom}" stroke="{AXIS}"/>"#,
        x2 = w - right
    );
    if let Some(q) = r.quota {
        let y = y_of(f64::from(q));
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="{AXIS}" stroke-width="1.5" stroke-dasharray="4 3"><title>contingent {q} per maand</title></line>"#,
            x2 = w - right
        );
    }
    let ly = h - 12.0;
    legend(&mut s, left, ly, BLUE, false, "aanmeldingen");
    if let Some(q) = r.quota {
        legend(&mut s, left + 130.0, ly, RED, false, "boven het contingent");
        legend(
            &mut s,
            left + 300.0,
            ly,
            AXIS,
            true,
            &format!("contingent: {q} per maand"),
        );
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar per ended case, longest first: its guidance length in months with the
/// value beside it, an x-axis in months, the average as a dashed line, and a legend.
fn length_chart(r: &PartnerYear) -> String {
    if r.guidance_lengths.is_empty() {
        return "<p>Geen afgesloten begeleidingen met een gekende ingangsdatum.</p>".into();
    }
    let mut lengths = r.guidance_lengths.clone();
    lengths.sort_by(|a, b| b.total_cmp(a));
    let highest = lengths.iter().copied().fold(1.0, f64::max);
    let (step, top) = ticks(highest, 6.0);
    let (left, right, row) = (90.0, 60.0, 18.0);
    let w = 640.0;
    let plot_top = 8.0;
    let bottom = plot_top + row * lengths.len() as f64 + 4.0;
    let h = bottom + 50.0;
    let plot_w = w - left - right;
    let x_of = |v: f64| left + v / top * plot_w;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="Duur van de afgesloten begeleidingen van {}" style="max-width:100%;height:auto;font-family:Arial,Helvetica,sans-serif">"#,
        escape(&r.partner_name)
    );
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let x = x_of(v);
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{plot_top}" y2="{bottom}" stroke="{GRID}"/><text x="{x:.1}" y="{ty}" font-size="11" text-anchor="middle" fill="{AXIS}">{}</text>"#,
            belgian(v, 0),
            ty = bottom + 15.0
        );
        v += step;
    }
    for (i, m) in lengths.iter().enumerate() {
        let y = plot_top + 3.0 + i as f64 * row;
        let value = belgian(*m, 1);
        let _ = write!(
            s,
            r#"<text x="{lx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="{AXIS}">begeleiding {n}</text><rect x="{left}" y="{y:.1}" width="{bw:.1}" height="12" fill="{GREEN}"><title>{value} maanden</title></rect><text x="{vx:.1}" y="{ty:.1}" font-size="11" fill="{AXIS}">{value}</text>"#,
            lx = left - 6.0,
            n = i + 1,
            bw = x_of(*m) - left,
            vx = x_of(*m) + 4.0,
            ty = y + 10.0,
        );
    }
    let _ = write!(
        s,
        r#"<line x1="{left}" x2="{left}" y1="{plot_top}" y2="{bottom}" stroke="{AXIS}"/><line x1="{left}" x2="{x2}" y1="{bottom}" y2="{bottom}" stroke="{AXIS}"/><text x="{cx}" y="{ay}" font-size="11" text-anchor="middle" fill="{AXIS}">maanden sinds de ingang van de huurovereenkomst</text>"#,
        x2 = w - right,
        cx = left + plot_w / 2.0,
        ay = bottom + 30.0
    );
    let ly = h - 4.0;
    legend(&mut s, left, ly, GREEN, false, "duur van één begeleiding");
    if let Some(avg) = r.average_guidance_months {
        let x = x_of(avg);
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{plot_top}" y2="{bottom}" stroke="{AXIS}" stroke-width="1.5" stroke-dasharray="4 3"/>"#
        );
        legend(
            &mut s,
            left + 200.0,
            ly,
            AXIS,
            true,
            &format!("gemiddelde: {} maanden", belgian(avg, 1)),
        );
    }
    s.push_str("</svg>");
    s
}

/// A self-contained HTML page (no scripts, no external resources) that prints on A4.
pub fn to_html(rows: &[PartnerYear], organisation: &str, year: i32) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\"><title>Registratie versnelde doorstroom {year}</title>\
         <style>@page{{size:A4;margin:15mm}}body{{font-family:Arial,Helvetica,sans-serif;margin:2em;max-width:180mm;color:#1f2937}}\
         table{{border-collapse:collapse;margin:0 0 1em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         section{{break-inside:avoid;page-break-inside:avoid}}svg{{max-width:100%;height:auto}}\
         @media print{{body{{margin:0}}}}</style>\
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
            r.average_guidance_months.map_or("–".into(), |a| belgian(a, 1)),
            r.goals_yes,
            r.goals_partly,
            r.goals_no,
            r.evictions_avoided,
            r.quota.map_or("–".into(), |q| format!("{q} per maand")),
        );
    }
    s.push_str("</table>\n");
    for r in rows {
        let _ = write!(
            s,
            "<section><h2>{}</h2><h3>Aanmeldingen per maand</h3>{}\n</section><section><h3>Duur van de afgesloten begeleidingen</h3>{}\n</section>\n",
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
        let csv = preventive_to_csv(&rows, CsvStyle::Plain);
        assert!(csv.contains(",els@caw-antwerpen.example,2,27\n"), "{csv}");
        let excel = preventive_to_csv(&rows, CsvStyle::Excel);
        assert!(excel.starts_with('\u{feff}'), "a BOM for Excel");
        assert!(
            excel.contains(";9,0;9;els@caw-antwerpen.example;2;27\r\n"),
            "{excel}"
        );
        assert!(!html.contains("002"), "no internal labels: {html}");

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
        let csv = to_csv(&rows, CsvStyle::Plain);
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("caw-antwerpen,2026,3,3,1,12.0,1,0,0,1,2,0,0,3,"));
        let excel = to_csv(&rows, CsvStyle::Excel);
        let mut lines = excel.split("\r\n");
        assert_eq!(
            lines.next().unwrap(),
            "\u{feff}partner;year;referred;running;closed;average_guidance_months;goals_met_yes;goals_met_partly;goals_met_no;evictions_avoided;monthly_quota;referred_01;referred_02;referred_03;referred_04;referred_05;referred_06;referred_07;referred_08;referred_09;referred_10;referred_11;referred_12",
            "the same column names, one table"
        );
        assert!(lines
            .next()
            .unwrap()
            .starts_with("caw-antwerpen;2026;3;3;1;12,0;1;0;0;1;2;0;0;3;"));
        let html = to_html(&rows, "Woonhaven", 2026);
        assert!(
            html.contains("<svg") && html.contains("#c0392b"),
            "March is over the quota of 2"
        );
        // Labelled: the axis, the values, the legend, Belgian numbers.
        for expected in [
            ">aanmeldingen</text>",
            ">mrt</text>",
            ">3</text>",
            ">boven het contingent</text>",
            ">contingent: 2 per maand</text>",
            ">12,0</text>",
            ">gemiddelde: 12,0 maanden</text>",
            ">maanden sinds de ingang van de huurovereenkomst</text>",
            "<td>12,0</td>",
            "size:A4",
        ] {
            assert!(html.contains(expected), "missing {expected}");
        }
        // No decimal point in any text a person reads (coordinates are not read).
        let texts: Vec<&str> = html
            .split('>')
            .filter_map(|part| part.split('<').next())
            .filter(|t| !t.trim().is_empty())
            .collect();
        assert!(texts.contains(&"12,0"), "{texts:?}");
        assert!(
            !texts.iter().any(|t| t.chars().any(|c| c.is_ascii_digit())
                && t.contains('.')
                && !t.contains(' ')),
            "{texts:?}"
        );
    }

    #[test]
    fn numbers_read_the_belgian_way_and_axes_get_round_ticks() {
        for (x, digits, text) in [
            (3.08, 1, "3,1"),
            (12.0, 1, "12,0"),
            (0.0, 0, "0"),
            (1234.5, 1, "1.234,5"),
            (1_000_000.0, 0, "1.000.000"),
            (-2.25, 1, "-2,2"),
            (-0.01, 1, "0,0"),
        ] {
            assert_eq!(belgian(x, digits), text, "{x}");
        }
        assert_eq!(ticks(3.0, 4.0), (1.0, 3.0));
        assert_eq!(ticks(7.0, 4.0), (2.0, 8.0));
        assert_eq!(ticks(23.0, 6.0), (5.0, 25.0));
        assert_eq!(ticks(0.5, 4.0), (1.0, 1.0));
    }
}
