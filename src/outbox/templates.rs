//! The mail templates (minijinja): loaded once, checked at start, rendered with the data a
//! template is allowed to see.
//!
//! The shipped Dutch set (`mail-templates/` in the source) is built into the binary ([`SHIPPED`]);
//! `[templates] dir` names an optional folder whose files replace the shipped ones of the same
//! name, so it holds only what an admin changed (`doorstroom templates export DIR` writes the
//! shipped set for editing).
//!
//! Every mail kind is two files, `<name>.txt.j2` and `<name>.html.j2`. The subject is the first
//! line of the rendered text, written `Onderwerp: …` (followed by one empty line); the outbox puts
//! the case tag `[VD-2026-0007]` in front, so no template can forget it. Files starting with `_`
//! are shared parts (`_base.html.j2`, the common HTML frame).
//!
//! [`Templates::load`] renders **every** template with built-in sample data ([`samples`]) in
//! strict mode (an unknown variable is an error), so a typo fails when the config is loaded or at
//! `doorstroom check`, not at the monthly run. A template file the code does not know is an error
//! too: nothing would ever send it.
//!
//! This module owns rendering only: it never reads the database, never decides recipients, and
//! after [`Templates::load`] it does no I/O.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, UndefinedBehavior, Value as JinjaValue};
use serde_json::{json, Value};

use super::CaseInfo;
use crate::config::Config;

/// The shipped (Dutch) templates, built into the binary from `mail-templates/` by `build.rs`:
/// `(file name, contents)`, sorted by name; the README is there for `templates export`.
pub const SHIPPED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The shipped templates as `(name without .j2, source)`.
fn shipped_sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    SHIPPED
        .iter()
        .filter_map(|(file, source)| Some((file.strip_suffix(".j2")?, *source)))
}

/// The `*.j2` files of an override folder, as `(name without .j2, source)`.
fn read_folder(dir: &Path) -> Result<Vec<(String, String)>, TemplateError> {
    let io = |message: String| TemplateError::Io {
        dir: dir.to_path_buf(),
        message,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(e.to_string()))? {
        let entry = entry.map_err(|e| io(e.to_string()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".j2") {
            let text =
                std::fs::read_to_string(entry.path()).map_err(|e| io(format!("{file}: {e}")))?;
            files.push((name.to_string(), text));
        }
    }
    files.sort();
    Ok(files)
}

/// Where the templates of an installation come from, in words.
fn source_name(dir: Option<&Path>) -> String {
    match dir {
        Some(dir) => format!("built in, overridden from {}", dir.display()),
        None => "built in".into(),
    }
}

/// Every template the code sends, with the roles of notices.md. Adding a mail kind is one entry
/// here (plus its sample data in [`samples`]) and two files in `mail-templates/`.
pub const TEMPLATE_NAMES: &[&str] = &[
    "referral_ack",
    "referral_notice",
    "quota_exceeded",
    "reply_ack",
    "contact_change_notice",
    "concern_notice",
    "concern_ack",
    "urgent_alert",
    "final_report_notice",
    "final_report_reminder",
    "lease_start_notice",
    "conclusions_confirmation",
    "escalation",
    "unknown_sender_notice",
    "cross_partner_notice",
    "bounce_notice",
    "discussion_request_ack",
    "unplaced_mail",
    "forwarded_mail",
    "digest",
    "health_alert",
    "preventive_request_ack",
    "preventive_answer_notice",
    "preventive_answer_reminder",
    "milestone_reminder",
    "agenda",
    "conclusions_reminder",
    "meeting_declined",
    "staff_answer",
    "question_answer",
    "handover_notice",
    "handover_intro",
];

/// Templates of mails about no single case: rendered with `case` = none (their samples too), so
/// a template that reaches for `case.…` fails at start.
pub const CASELESS: &[&str] = &[
    "quota_exceeded",
    "conclusions_confirmation",
    "unknown_sender_notice",
    "bounce_notice",
    "unplaced_mail",
    "digest",
    "health_alert",
    "agenda",
    "conclusions_reminder",
    "meeting_declined",
    "staff_answer",
    "question_answer",
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the mail templates in {dir}: {message}")]
    Io { dir: PathBuf, message: String },
    /// One line per problem (file, what is wrong), all at once, like config diagnostics.
    #[error("the mail templates ({origin}) have {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Invalid {
        origin: String,
        problems: Vec<String>,
    },
    /// Rendering failed for real data (the sample data rendered fine, so the data lacks a key
    /// the contract in notices.md promises).
    #[error("template {name}: {message}")]
    Render { name: String, message: String },
    #[error("unknown template `{0}` (see outbox::templates::TEMPLATE_NAMES)")]
    Unknown(String),
}

/// A rendered template: what [`super::compose`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// From the `Onderwerp:` line, without the case tag.
    pub subject: String,
    /// The plain-text part, without the subject line.
    pub text: String,
    pub html: String,
}

/// The loaded templates of one installation.
pub struct Templates {
    env: Environment<'static>,
    /// The admin's override folder (`[templates] dir`), for messages.
    dir: Option<PathBuf>,
    /// Which files of that folder replaced a shipped one, for `doorstroom check`.
    overridden: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("dir", &self.dir)
            .field("overridden", &self.overridden)
            .finish()
    }
}

impl Templates {
    /// The shipped templates, each overridden by a file of the same name in
    /// `config.templates.dir` (when set), and every template rendered with sample data.
    pub fn load(config: &Config) -> Result<Templates, TemplateError> {
        let mut files: BTreeMap<String, String> = shipped_sources()
            .map(|(name, source)| (name.to_string(), source.to_string()))
            .collect();
        let mut overridden = Vec::new();
        if let Some(dir) = &config.templates.dir {
            for (name, text) in read_folder(dir)? {
                overridden.push(format!("{name}.j2"));
                files.insert(name, text);
            }
        }
        Self::from_sources(config.templates.dir.as_deref(), files, overridden, config)
    }

    /// Build from file contents (`name.txt` → source, without `.j2`) and check them.
    /// `overridden` names the files that came from the admin's folder `dir`.
    pub fn from_sources(
        dir: Option<&Path>,
        files: BTreeMap<String, String>,
        overridden: Vec<String>,
        config: &Config,
    ) -> Result<Templates, TemplateError> {
        let mut problems = Vec::new();
        let mut env = environment();
        for (name, source) in &files {
            let stem = name
                .strip_suffix(".txt")
                .or_else(|| name.strip_suffix(".html"));
            match stem {
                Some(stem) if stem.starts_with('_') || TEMPLATE_NAMES.contains(&stem) => {}
                _ => problems.push(format!(
                    "{name}.j2: not a template doorstroom sends (known: {}; shared parts start with `_`)",
                    TEMPLATE_NAMES.join(", ")
                )),
            }
            if let Err(e) = env.add_template_owned(name.clone(), source.clone()) {
                problems.push(format!("{name}.j2: {}", describe(&e)));
            }
        }
        for name in TEMPLATE_NAMES {
            for ext in ["txt", "html"] {
                if !files.contains_key(&format!("{name}.{ext}")) {
                    problems.push(format!("{name}.{ext}.j2: missing"));
                }
            }
        }
        let templates = Templates {
            env,
            dir: dir.map(Path::to_path_buf),
            overridden,
        };
        if problems.is_empty() {
            for (name, variant, data) in samples() {
                let case = sample_case_for(config, name, variant);
                if let Err(e) = templates.render_notice(config, name, case.as_ref(), &data) {
                    problems.push(format!("{name} (sample `{variant}`): {e}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(templates)
        } else {
            Err(TemplateError::Invalid {
                origin: source_name(dir),
                problems,
            })
        }
    }

    /// The admin's override folder, if the config names one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The files (`name.txt.j2`) taken from the override folder instead of the shipped ones.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Render a notice's template with the common data (organisation, signature, case) added.
    pub fn render_notice(
        &self,
        config: &Config,
        name: &str,
        case: Option<&CaseInfo>,
        data: &Value,
    ) -> Result<Rendered, TemplateError> {
        self.render(name, &context(config, case, data))
    }

    /// Render one template with a complete context.
    pub fn render(&self, name: &str, context: &Value) -> Result<Rendered, TemplateError> {
        if !TEMPLATE_NAMES.contains(&name) {
            return Err(TemplateError::Unknown(name.to_string()));
        }
        let render = |ext: &str| -> Result<String, TemplateError> {
            let file = format!("{name}.{ext}");
            let template = self
                .env
                .get_template(&file)
                .map_err(|e| TemplateError::Render {
                    name: file.clone(),
                    message: describe(&e),
                })?;
            template
                .render(JinjaValue::from_serialize(context))
                .map_err(|e| TemplateError::Render {
                    name: file,
                    message: describe(&e),
                })
        };
        let text = render("txt")?;
        let html = render("html")?;
        let (subject, body) = split_subject(&text).ok_or_else(|| TemplateError::Render {
            name: format!("{name}.txt"),
            message: "the first line must be `Onderwerp: …` followed by an empty line".into(),
        })?;
        Ok(Rendered {
            subject,
            text: tidy_text(body),
            html,
        })
    }
}

/// The minijinja environment: strict about unknown variables, HTML-escaping `.html` templates,
/// and the Dutch filters.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // `referral_ack.html` (the name without `.j2`) is HTML-escaped by the default callback.
    // The words `soort: …` accepts, first word of each kind, as `understand::answer` reads
    // them: the answers block of every notice lists exactly these.
    let kinds: Vec<&str> = crate::understand::answer::KIND_WORDS
        .iter()
        .map(|(_, words)| words[0])
        .collect();
    env.add_global("soorten", JinjaValue::from_serialize(kinds));
    env.add_filter("datum", datum_filter);
    env.add_filter("maand", maand_filter);
    env.add_filter("tijdstip", tijdstip_filter);
    env.add_filter("lidwoord", |s: String| lidwoord(&s));
    env.add_filter("opsomming", |items: Vec<String>| opsomming(&items));
    env.add_filter("nl2br", |s: String| {
        JinjaValue::from_safe_string(html_escape(&s).replace('\n', "<br>\n"))
    });
    env
}

/// A minijinja error with its line, in one line.
fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        if !s.contains(&format!("line {line}")) {
            s = format!("{s} ({name}.j2 line {line})");
        }
    }
    s
}

/// `2026-12-01` → `1 december 2026`. Anything else is an error, so that a wrong key shows at
/// the sample render.
pub fn datum(iso: &str) -> Option<String> {
    let date = NaiveDate::parse_from_str(iso.trim(), "%Y-%m-%d").ok()?;
    Some(crate::calendar::dutch_date(date))
}

/// `2026-12-01 09:14` (a local time as the jobs write it) → `1 december 2026 om 09:14`.
pub fn tijdstip(local: &str) -> Option<String> {
    let at = chrono::NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%d %H:%M").ok()?;
    Some(format!(
        "{} om {}",
        crate::calendar::dutch_date(at.date()),
        at.format("%H:%M")
    ))
}

fn tijdstip_filter(value: String) -> Result<String, minijinja::Error> {
    tijdstip(&value).ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("tijdstip: `{value}` is not a local time YYYY-MM-DD HH:MM"),
        )
    })
}

/// `2026-12` → `december 2026`.
pub fn maand(ym: &str) -> Option<String> {
    let date = NaiveDate::parse_from_str(&format!("{}-01", ym.trim()), "%Y-%m-%d").ok()?;
    Some(crate::calendar::dutch_month(date.year(), date.month()))
}

fn datum_filter(value: String) -> Result<String, minijinja::Error> {
    datum(&value).ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("datum: `{value}` is not a date YYYY-MM-DD"),
        )
    })
}

fn maand_filter(value: String) -> Result<String, minijinja::Error> {
    maand(&value).ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("maand: `{value}` is not a month YYYY-MM"),
        )
    })
}

/// The definite article with a document name: "het ondertekend addendum", "de
/// begeleidingsovereenkomst". De-words are the ones ending in a de-word compound; every other
/// document name partners use is a het-word.
pub fn lidwoord(name: &str) -> String {
    let de_words = [
        "overeenkomst",
        "verklaring",
        "aanvraag",
        "brief",
        "beslissing",
    ];
    if de_words.iter().any(|w| name.ends_with(w)) {
        format!("de {name}")
    } else {
        format!("het {name}")
    }
}

/// `[a, b, c]` → "a, b en c".
pub fn opsomming(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} en {last}", init.join(", ")),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// `Onderwerp: X\n\nbody` → (X, body).
fn split_subject(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start_matches(['\n', '\r']);
    let (first, rest) = text.split_once('\n')?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Onderwerp:")?
        .trim();
    if subject.is_empty() {
        return None;
    }
    Some((subject.to_string(), rest))
}

/// Leading blank lines off, runs of blank lines collapsed to one, one final newline: templates
/// stay readable without fighting whitespace control.
fn tidy_text(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank = 0;
    for line in body.lines() {
        // RFC 3676 §4.3: the signature separator is dash, dash, space; clients grey out or
        // leave out of quotes what follows it only when the space is there.
        let line = match line.trim_end() {
            "--" => "-- ",
            other => other,
        };
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() && blank > 0 {
            out.push('\n');
        }
        blank = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// "Jan Peeters" → "J.P.": the candidate in subjects and mails that need no name.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphabetic())
        .flat_map(|c| c.to_uppercase().chain(std::iter::once('.')))
        .collect()
}

/// The context of one render: the notice's data, plus `organisation`, `signature` and `case`
/// (`none` when the notice is about no case). Data keys win over nothing: the common keys are
/// the outbox's, a notice cannot override them.
pub fn context(config: &Config, case: Option<&CaseInfo>, data: &Value) -> Value {
    let mut map = match data {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let org = &config.organisation;
    map.insert(
        "organisation".into(),
        json!({"name": org.name, "shared_mailbox": org.shared_mailbox}),
    );
    map.insert("signature".into(), json!(config.templates.signature));
    map.insert("guide_url".into(), json!(config.templates.guide_url));
    // Filled by `Outbox::prepare` from the real recipients; empty for previews.
    map.entry("sent_to").or_insert_with(|| json!([]));
    // The contact line under every mail: the first coordinator, with her phone.
    map.insert(
        "contact".into(),
        org.coordinators.first().map_or(
            Value::Null,
            |p| json!({"name": p.name, "phone": p.phone, "email": org.shared_mailbox}),
        ),
    );
    map.insert(
        "case".into(),
        case.map_or(Value::Null, |c| case_value(config, c)),
    );
    Value::Object(map)
}

fn case_value(config: &Config, c: &CaseInfo) -> Value {
    let sa = c.social_assistant.as_deref().map(|email| {
        config
            .social_assistants
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(email))
            .map_or(email.to_string(), |p| p.name.clone())
    });
    json!({
        "ref": c.case_ref,
        "candidate": c.candidate,
        "candidate_initials": initials(&c.candidate),
        "partner": c.partner,
        "partner_name": config.partner(&c.partner).map_or(c.partner.as_str(), |p| p.name.as_str()),
        "programme": config.programme(&c.programme).map_or(c.programme.as_str(), |p| p.name.as_str()),
        "status": c.status,
        "lease_start": c.lease_start.map(|d| d.to_string()),
        "social_assistant": sa,
        "social_assistant_email": c.social_assistant,
        "counsellor_name": c.counsellor_name,
        "counsellor_email": c.counsellor_email,
        "counsellor_phone": c.counsellor_phone,
    })
}

/// The case a sample is rendered with: none for [`CASELESS`] templates and `no_case` samples.
pub fn sample_case_for(config: &Config, template: &str, variant: &str) -> Option<CaseInfo> {
    (!CASELESS.contains(&template) && variant != "no_case").then(|| sample_case(config))
}

/// The case used for sample renders: the config's first partner and social assistant.
pub fn sample_case(config: &Config) -> CaseInfo {
    let partner = config.partners.first();
    CaseInfo {
        case_ref: config.organisation.case_reference.format(2026, 7),
        partner: partner.map_or("partner".into(), |p| p.id.clone()),
        candidate: "Jan Peeters".into(),
        programme: partner.map_or("programma".into(), |p| p.programme.clone()),
        status: "guidance".into(),
        lease_start: NaiveDate::from_ymd_opt(2026, 12, 1),
        social_assistant: config.social_assistants.first().map(|p| p.email.clone()),
        counsellor_name: Some("Lotte Wouters".into()),
        counsellor_email: partner
            .and_then(|p| p.domains.first())
            .map(|d| format!("lotte.wouters@{d}")),
        counsellor_phone: Some("0470 12 34 56".into()),
    }
}

/// Sample data for every template, in every shape the contract allows (empty lists, nulls,
/// both sides of each flag): (template, variant, data). Rendered at start and snapshotted by the
/// golden tests.
pub fn samples() -> Vec<(&'static str, &'static str, Value)> {
    let addendum = "ondertekend addendum";
    let report = "uitgebreid sociaal verslag";
    let agenda = |skipped: bool, update: bool, cancelled: bool, late: bool, online: bool| {
        let discuss = json!([{"case_ref": "VD-2026-0007", "candidate": "J.P.",
            "statement": "Zorg gemeld op 02/12/2026: mevrouw J.P. betaalde de huur twee maanden niet; Evaluatie na 4 maanden valt in dit overleg",
            "problems": ["Zorg gemeld op 02/12/2026: mevrouw J.P. betaalde de huur twee maanden niet", "Evaluatie na 4 maanden valt in dit overleg"]}]);
        json!({
            "partner_name": "CAW Antwerpen",
            "month": "2026-12",
            "meeting_date": "2026-12-30",
            "meeting_time": "14:00",
            "answer_deadline": "2026-12-30",
            "moved": if late { json!("het overleg is verplaatst van 31/12/2026 naar 30/12/2026 wegens sluitingsdagen (24/12/2026 – 01/01/2027)") } else { json!(null) },
            "mode": if online { json!({"kind": "online", "link": "https://teams.microsoft.com/l/meetup-join/voorbeeld"}) } else { json!({"kind": "on_site", "place": "Kerkstraat 1, 2000 Antwerpen"}) },
            "overview": [
                {"case_ref": "VD-2026-0007", "candidate": "J.P.", "lease_start": "2026-08-01",
                 "next_milestone": {"name": "huisbezoek na 6 maanden", "due": "2027-02-01"}},
                {"case_ref": "VD-2026-0011", "candidate": "M.v.d.B.", "lease_start": null, "next_milestone": null}
            ],
            "to_discuss": if skipped { json!([]) } else { discuss },
            "other_guidance": [],
            "skipped": skipped,
            "update": update,
            "cancelled": cancelled,
            "late": late,
        })
    };
    vec![
        ("agenda", "called", agenda(false, false, false, false, true)),
        ("agenda", "skipped", agenda(true, false, false, false, true)),
        (
            "agenda",
            "update_on_site",
            agenda(false, true, false, false, false),
        ),
        (
            "agenda",
            "cancelled",
            agenda(false, false, true, false, true),
        ),
        (
            "agenda",
            "late_and_moved",
            agenda(false, false, false, true, true),
        ),
        (
            "meeting_declined",
            "default",
            json!({"partner_name": "CAW Antwerpen", "month": "2026-12", "meeting_date": "2026-12-23",
                   "meeting_time": "10:00", "attendee": "teamwonen@caw-antwerpen.example",
                   "cases": ["VD-2026-0007", "VD-2026-0011"]}),
        ),
        (
            "meeting_declined",
            "no_date",
            json!({"partner_name": "CAW Antwerpen", "month": "2026-12", "meeting_date": null,
                   "meeting_time": null, "attendee": "teamwonen@caw-antwerpen.example", "cases": []}),
        ),
        (
            "conclusions_reminder",
            "default",
            json!({"partner_name": "CAW Antwerpen", "month": "2026-11", "meeting_date": "2026-11-26",
                   "cases": ["VD-2026-0007", "VD-2026-0011"]}),
        ),
        (
            "referral_ack",
            "incomplete",
            json!({"received": [report], "missing": [addendum]}),
        ),
        (
            "referral_ack",
            "complete",
            json!({"received": [addendum, report], "missing": []}),
        ),
        (
            "referral_ack",
            "nothing_attached",
            json!({"received": [], "missing": [addendum, report]}),
        ),
        (
            "referral_notice",
            "over_quota",
            json!({"received": [report], "missing": [addendum], "over_quota": true, "quota": 2, "count_this_month": 3}),
        ),
        (
            "referral_notice",
            "no_quota",
            json!({"received": [addendum, report], "missing": [], "over_quota": false, "quota": null, "count_this_month": 1}),
        ),
        (
            "quota_exceeded",
            "default",
            json!({"partner_name": "CAW Antwerpen", "month": "2026-12", "count": 3, "quota": 2}),
        ),
        (
            "preventive_request_ack",
            "default",
            json!({"candidate": "Marc Verbeke", "partner": "CAW Antwerpen", "answer_within_days": 14, "previous_case": null}),
        ),
        (
            "preventive_request_ack",
            "relapse",
            json!({"candidate": "Marc Verbeke", "partner": "CAW Antwerpen", "answer_within_days": 14, "previous_case": "VD-2026-0003"}),
        ),
        (
            "preventive_answer_notice",
            "taken_on",
            json!({"candidate": "Marc Verbeke", "taken_on": true, "motivation": null}),
        ),
        (
            "preventive_answer_notice",
            "declined",
            json!({"candidate": "Marc Verbeke", "taken_on": false, "motivation": "De huurder weigert elk contact en er loopt al budgetbeheer via het OCMW."}),
        ),
        (
            "preventive_answer_reminder",
            "default",
            json!({"asked_on": "2026-11-02", "days_waiting": 15}),
        ),
        (
            "milestone_reminder",
            "default",
            json!({"milestone": "verlenging inschrijving WoningNet", "due": "2027-03-01", "days_left": 28}),
        ),
        (
            "reply_ack",
            "now_complete",
            json!({"received": [addendum], "missing": [], "complete": true}),
        ),
        (
            "reply_ack",
            "still_missing",
            json!({"received": [report], "missing": [addendum], "complete": false}),
        ),
        (
            "reply_ack",
            "no_documents",
            json!({"received": [], "missing": [], "complete": false}),
        ),
        (
            "contact_change_notice",
            "default",
            json!({
                "old": {"name": "Lotte Wouters", "email": "lotte.wouters@caw-antwerpen.example", "phone": "0470 12 34 56"},
                "new": {"name": "Pieter Claes", "email": "pieter.claes@caw-antwerpen.example", "phone": null}
            }),
        ),
        (
            "contact_change_notice",
            "old_unknown",
            json!({
                "old": {"name": null, "email": null, "phone": null},
                "new": {"name": "Pieter Claes", "email": "pieter.claes@caw-antwerpen.example", "phone": "03 222 33 44"}
            }),
        ),
        (
            "concern_notice",
            "default",
            json!({"statement": "Mevrouw laat de woonbegeleider al drie weken niet meer binnen en er is klacht over geluidsoverlast.",
                   "sent_to": ["Bram Janssens (sociaal assistent)", "An Peeters (contactpersoon versnelde doorstroom)"]}),
        ),
        (
            "concern_ack",
            "default",
            json!({"statement": "Mevrouw laat de woonbegeleider al drie weken niet meer binnen."}),
        ),
        (
            "urgent_alert",
            "default",
            json!({"statement": "De huurder dreigde gisteren de buurvrouw iets aan te doen; de politie is langs geweest.",
                   "sent_to": ["Bram Janssens (sociaal assistent)", "An Peeters (contactpersoon versnelde doorstroom)"]}),
        ),
        (
            "final_report_notice",
            "report_received",
            json!({"stop_date": "2027-03-31", "report_received": true, "report_due": null}),
        ),
        (
            "final_report_notice",
            "report_awaited",
            json!({"stop_date": null, "report_received": false, "report_due": "2027-04-30"}),
        ),
        (
            "final_report_reminder",
            "default",
            json!({"report_due": "2027-04-30", "days_late": 5}),
        ),
        (
            "final_report_reminder",
            "one_day",
            json!({"report_due": "2027-04-30", "days_late": 1}),
        ),
        (
            "lease_start_notice",
            "default",
            json!({"lease_start": "2026-12-01", "milestones": [
                {"name": "evaluatie na 1 maand", "due": "2027-01-01", "meeting_month": "2027-01"},
                {"name": "huisbezoek na 3 maanden", "due": "2027-03-01", "meeting_month": null}
            ]}),
        ),
        (
            "handover_notice",
            "done",
            json!({"state": "done", "from_partner": "CAW Antwerpen", "to_partner": "OCMW Antwerpen",
                   "to_partner_id": "ocmw-antwerpen", "from": "2027-03-01",
                   "counsellor": {"name": "Karin Dubois", "email": "karin.dubois@ocmw-antwerpen.example", "phone": null},
                   "config_block": null}),
        ),
        (
            "handover_notice",
            "planned",
            json!({"state": "planned", "from_partner": "CAW Antwerpen", "to_partner": "OCMW Antwerpen",
                   "to_partner_id": "ocmw-antwerpen", "from": "2027-03-01",
                   "counsellor": {"name": null, "email": null, "phone": null}, "config_block": null}),
        ),
        (
            "handover_notice",
            "pending",
            json!({"state": "pending", "from_partner": "CAW Antwerpen", "to_partner": "CAW Oost-Brabant",
                   "to_partner_id": "caw-oost", "from": "2027-03-01",
                   "counsellor": {"name": "Tine Goossens", "email": "tine.goossens@caw-oost.example", "phone": null},
                   "config_block": "[[partner]]\nid = \"caw-oost\"\nname = \"CAW Oost-Brabant\"\ndomains = [\"caw-oost.example\"]\nagenda_to = [\"tine.goossens@caw-oost.example\"]\nprogramme = \"vivendo\"\n"}),
        ),
        (
            "handover_notice",
            "confirm",
            json!({"state": "confirm", "from_partner": "CAW Antwerpen", "to_partner": "OCMW Antwerpen",
                   "to_partner_id": "ocmw-antwerpen", "from": "2027-03-01", "counsellor": null,
                   "sender": "karin.dubois@ocmw-antwerpen.example", "config_block": null}),
        ),
        (
            "handover_intro",
            "default",
            json!({"previous_partner": "OCMW Antwerpen", "from": "2027-03-01", "lease_start": "2026-12-01",
                   "milestones": [
                       {"name": "huisbezoek na 3 maanden", "due": "2027-03-01", "meeting_month": null},
                       {"name": "evaluatie na 4 maanden", "due": "2027-04-01", "meeting_month": "2027-04"}
                   ],
                   "done": ["evaluatie na 1 maand"]}),
        ),
        (
            "lease_start_notice",
            "no_milestones",
            json!({"lease_start": "2026-12-01", "milestones": []}),
        ),
        (
            "conclusions_confirmation",
            "default",
            json!({"meeting_date": "2026-12-17", "conclusions": [
                {"case_ref": "VD-2026-0007", "decision": "begeleiding verlengen met 3 maanden"},
                {"case_ref": "VD-2026-0011", "decision": "opnieuw bespreken op het volgende overleg"}
            ]}),
        ),
        (
            "conclusions_confirmation",
            "no_date",
            json!({"meeting_date": null, "conclusions": []}),
        ),
        (
            "escalation",
            "first_step",
            json!({"milestone": "huisbezoek na 3 maanden", "due": "2027-03-01", "days_overdue": 7, "step": 1}),
        ),
        (
            "escalation",
            "later_step",
            json!({"milestone": "huisbezoek na 3 maanden", "due": "2027-03-01", "days_overdue": 21, "step": 3}),
        ),
        (
            "unknown_sender_notice",
            "default",
            json!({"sender": "iemand@voorbeeld.example", "subject": "Aanmelding mevrouw X", "reason": "het adres hoort bij geen enkele partner"}),
        ),
        (
            "unplaced_mail",
            "default",
            json!({"sender": "pieter.desmet@ocmw-antwerpen.example", "partner_name": "OCMW Antwerpen", "kind": "zorg", "subject": "Opvolging mevrouw X", "reason": "het dossier kon niet gevonden worden", "urgent": false}),
        ),
        (
            "unplaced_mail",
            "urgent",
            json!({"sender": "pieter.desmet@ocmw-antwerpen.example", "partner_name": "OCMW Antwerpen", "kind": "dringende zorg (veiligheid)", "subject": "Incident bij mevrouw X", "reason": "het dossier kon niet gevonden worden", "urgent": true}),
        ),
        (
            "question_answer",
            "dossier",
            json!({"kind": "dossier", "ack_slot": "question:44", "dossier": {
                "case_ref": "VD-2026-0008", "candidate": "Fatima El Amrani", "status": "in begeleiding",
                "partner": "CAW Antwerpen", "cir": "2024-123456",
                "social_assistant": "bram.janssens@woonhaven.example",
                "counsellor": {"name": "Lotte Wouters", "email": "lotte.wouters@caw-antwerpen.example", "phone": "0470 12 34 56"},
                "lease_start": "01/12/2026",
                "milestones": [{"due": "01/01/2027", "name": "evaluatie na 1 maand", "state": "gepland"}],
                "events": [{"at": "23/11/2026 10:00", "kind": "created", "detail": "{\"status\":\"referred\"}", "cause": "mail #3"}],
                "documents": [{"received": "23/11/2026", "kind": "ondertekend addendum", "filename": "addendum.pdf", "usable": true}]
            }}),
        ),
        (
            "question_answer",
            "overview",
            json!({"kind": "overview", "ack_slot": "question:44", "partners": [
                {"name": "CAW Antwerpen", "cases": [{"case_ref": "VD-2026-0008", "candidate": "Fatima El Amrani", "status": "in begeleiding", "next": {"name": "evaluatie na 1 maand", "due": "01/01/2027"}}]},
                {"name": "OCMW Antwerpen", "cases": []}
            ]}),
        ),
        (
            "question_answer",
            "quarantine",
            json!({"kind": "quarantine", "ack_slot": "question:44", "mails": [
                {"id": 12, "received": "23/11/2026 10:00", "kind": "unknown_sender", "reason": "iemand@voorbeeld.example is geen partner"}
            ]}),
        ),
        (
            "question_answer",
            "choose",
            json!({"kind": "choose", "ack_slot": "question:44", "asked": "Peeters", "more": 0, "choices": [
                {"case_ref": "VD-2026-0001", "candidate": "Jan Peeters", "partner": "CAW Antwerpen", "status": "aangemeld"},
                {"case_ref": "VD-2026-0004", "candidate": "An Peeters", "partner": "OCMW Antwerpen", "status": "in begeleiding"}
            ]}),
        ),
        (
            "question_answer",
            "not_found",
            json!({"kind": "not_found", "ack_slot": "question:44", "asked": "Jansen"}),
        ),
        (
            "question_answer",
            "refused",
            json!({"kind": "refused", "ack_slot": "question:44", "reason": "uw adres werd niet geverifieerd door onze mailserver"}),
        ),
        (
            "staff_answer",
            "applied",
            json!({"applied": true, "mail_id": 42, "lines": ["mail #42 is nu \"antwoord in een dossier\" in dossier VD-2026-0008"], "unknown": ["kan jij dit nakijken"], "ack_slot": "staff:43"}),
        ),
        (
            "staff_answer",
            "refused",
            json!({"applied": false, "mail_id": 42, "lines": ["dossier VD-2026-0099 bestaat niet"], "unknown": [], "ack_slot": "staff:43"}),
        ),
        (
            "forwarded_mail",
            "default",
            json!({"sender": "lotte.wouters@caw-antwerpen.example", "sender_name": "Lotte Wouters", "kind": "antwoord in een dossier", "subject": "Re: Herinnering huisbezoek", "text": "Dag,\n\nIk ben volgende week met verlof; mijn collega neemt de afspraak over.\n\nLotte", "why": "niets specifieks herkend in de mail"}),
        ),
        (
            "forwarded_mail",
            "low_confidence",
            json!({"sender": "info@caw-antwerpen.example", "sender_name": null, "kind": "zorg over de begeleiding", "subject": "", "text": "Kunnen we even bellen over meneer?", "why": "de beslissing is onzeker (geen dossiernummer; de naam past bij meer dan één dossier)"}),
        ),
        (
            "cross_partner_notice",
            "no_case",
            json!({"sender": "k.jacobs@ocmw-antwerpen.example", "sender_partner": "OCMW Antwerpen", "subject": "Vraag over mevrouw X"}),
        ),
        (
            "cross_partner_notice",
            "default",
            json!({"sender": "k.jacobs@ocmw-antwerpen.example", "sender_partner": "OCMW Antwerpen", "subject": "Vraag over VD-2026-0007"}),
        ),
        (
            "bounce_notice",
            "default",
            json!({"recipient": "lotte.wouters@caw-antwerpen.example", "subject": "[VD-2026-0007] Herinnering: eindverslag", "error": "het adres bestaat niet (meer) (code 5.1.1)", "case_ref": "VD-2026-0007"}),
        ),
        (
            "bounce_notice",
            "no_case",
            json!({"recipient": "an.peeters@woonhaven.example", "subject": "Dagoverzicht versnelde doorstroom", "error": "de server van de ontvanger weigerde de mail (code 552)", "case_ref": null}),
        ),
        // A bounce that came back into the mailbox (notices.md: no `case_ref` key).
        (
            "bounce_notice",
            "from_mailbox",
            json!({"recipient": "lotte.wouters@caw-antwerpen.example", "subject": "Undelivered Mail Returned to Sender", "error": "een melding van de mailserver dat een mail niet afgeleverd kon worden"}),
        ),
        (
            "discussion_request_ack",
            "in_time",
            json!({"meeting_date": "2026-12-17", "too_late": false, "next_meeting_date": null}),
        ),
        (
            "discussion_request_ack",
            "too_late",
            json!({"meeting_date": "2027-01-28", "too_late": true, "next_meeting_date": "2027-01-28"}),
        ),
        (
            "discussion_request_ack",
            "too_late_no_date",
            json!({"meeting_date": null, "too_late": true, "next_meeting_date": null}),
        ),
        (
            "discussion_request_ack",
            "in_time_no_date",
            json!({"meeting_date": null, "too_late": false, "next_meeting_date": null}),
        ),
        ("digest", "full", sample_digest()),
        (
            "health_alert",
            "intake_disconnected",
            json!({"problem": "intake_disconnected", "since": "2026-12-07 03:12",
                   "detail": "IMAP login failed: AUTHENTICATE failed"}),
        ),
        (
            "health_alert",
            "intake_silent",
            json!({"problem": "intake_silent", "since": "2026-12-05 16:40", "detail": "no mail seen for 38 h"}),
        ),
        (
            "health_alert",
            "outbox_stuck",
            json!({"problem": "outbox_stuck", "since": "2026-12-07 06:05", "detail": "12 mail(s) waiting"}),
        ),
        (
            "health_alert",
            "spoof_burst",
            json!({"problem": "spoof_burst", "since": "2026-12-07 06:41", "detail": "5 mails in het voorbije uur uit naam van CAW Antwerpen"}),
        ),
        (
            "health_alert",
            "secret_expiring",
            json!({"problem": "secret_expiring", "since": "2026-12-20", "detail": "De OAuth2-clientsleutel voor het lezen van mail (IMAP)"}),
        ),
        (
            "digest",
            "empty",
            json!({"date": "2026-12-07", "period": "daily", "new_referrals": [], "quota_exceeded": [],
                   "concerns": [], "milestones_due": [], "milestones_missed": [],
                   "awaiting_final_report": [], "quarantined": [], "outbox_failures": []}),
        ),
    ]
}

/// The digest's data (documented in `mail-templates/README.md`, filled by the digest job).
fn sample_digest() -> Value {
    json!({
        "date": "2026-12-07",
        "period": "daily",
        "new_referrals": [
            {"case_ref": "VD-2026-0012", "partner_name": "CAW Antwerpen", "candidate_initials": "M.D.", "missing": []},
            {"case_ref": "VD-2026-0013", "partner_name": "OCMW Antwerpen", "candidate_initials": "S.B.", "missing": ["ondertekend addendum"]}
        ],
        "completed": [
            {"case_ref": "VD-2026-0010", "partner_name": "CAW Antwerpen", "candidate_initials": "A.E.", "completed_on": "2026-12-04"}
        ],
        "contact_changes": [
            {"case_ref": "VD-2026-0007", "partner_name": "CAW Antwerpen", "candidate_initials": "J.P.",
             "old": {"name": "Els Wouters", "email": "els.wouters@caw-antwerpen.example", "phone": null},
             "new": {"name": "Tom Claes", "email": "tom.claes@caw-antwerpen.example", "phone": "0470 12 34 56"}}
        ],
        "quota_exceeded": [
            {"partner_name": "CAW Antwerpen", "month": "2026-12", "count": 3, "quota": 2}
        ],
        "concerns": [
            {"case_ref": "VD-2026-0007", "partner_name": "CAW Antwerpen", "statement": "Geen medewerking meer sinds drie weken.", "urgent": false, "raised_on": "2026-12-04"},
            {"case_ref": "VD-2026-0009", "partner_name": "OCMW Antwerpen", "statement": "Dreiging tegenover een buur.", "urgent": true, "raised_on": "2026-12-06"}
        ],
        "milestones_due": [
            {"case_ref": "VD-2026-0003", "name": "huisbezoek na 3 maanden", "due": "2026-12-09"}
        ],
        "milestones_missed": [
            {"case_ref": "VD-2026-0002", "name": "evaluatie na 4 maanden", "due": "2026-11-20", "days_overdue": 17, "step": 2}
        ],
        "awaiting_final_report": [
            {"case_ref": "VD-2025-0031", "partner_name": "CAW Antwerpen", "stop_date": "2026-11-01", "report_due": "2026-12-01"}
        ],
        "quarantined": [
            {"id": 118, "sender": "iemand@voorbeeld.example", "subject": "Aanmelding", "reason": "de mail kon niet verwerkt worden: de mail zegt niet over welk dossier het gaat", "since": "2026-12-02", "new": false}
        ],
        "unplaced": [
            {"id": 119, "kind": "mail van een onbekende afzender", "partner_name": null, "case_ref": null, "confidence": 100,
             "reason": "iemand@voorbeeld.example is geen adres van een partner, en voorbeeld.example is geen domein van een partner"}
        ],
        "unsure": [
            {"id": 120, "kind": "zorg over de begeleiding", "partner_name": "OCMW Antwerpen", "case_ref": "VD-2026-0009", "confidence": 45, "reason": "geen bijzondere reden",
             "doubts": ["dossier VD-2026-0009 alleen gevonden via de woonbegeleider (geen referentie of naam in de mail)"]}
        ],
        "next_meetings": [
            {"partner_name": "CAW Antwerpen", "date": "2026-12-17", "time": "10:00", "agenda_date": "2026-12-10", "state": "called", "cases": 2, "place": "online (Teams)", "declined": ["teamwonen@caw-antwerpen.example"]},
            {"partner_name": "OCMW Antwerpen", "date": "2026-12-17", "time": "10:00", "agenda_date": "2026-12-10", "state": "skipped", "cases": 0, "place": "Kerkstraat 1, 2000 Antwerpen"}
        ],
        "spoof_attempts": [
            {"partner_name": "CAW Antwerpen", "count": 3}
        ],
        "outbox_failures": [
            {"id": 42, "recipient": "oud.adres@caw-antwerpen.example", "subject": "[VD-2026-0007] Herinnering", "error": "het adres bestaat niet (meer) (code 5.1.1)"}
        ],
        "other_mail": [
            {"id": 121, "kind": "automatisch antwoord (niet beantwoord)", "partner_name": "CAW Antwerpen", "case_ref": "VD-2026-0007", "reason": "een afwezigheidsbericht (\"ben afwezig tot\")"}
        ],
        "health": {"connected_since": "2026-12-01 09:14", "last_mail": "2026-12-07 07:52", "outbox_waiting": 0}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tijdstip_writes_a_local_time_the_dutch_way() {
        assert_eq!(
            tijdstip("2026-12-01 09:14").as_deref(),
            Some("1 december 2026 om 09:14")
        );
        assert_eq!(tijdstip("2026-12-01"), None);
        assert_eq!(tijdstip("gisteren"), None);
    }

    #[test]
    fn every_mails_footer_links_to_the_guide_once_its_url_is_set() {
        let text = include_str!("../../config/doorstroom.example.toml");
        let url = "https://www.woonhaven.example/handleiding";
        let with = text.replacen("# guide_url = ", "guide_url = ", 1).replacen(
            "\"https://www.woonhaven.example/versnelde-doorstroom/handleiding\"",
            &format!("\"{url}\""),
            1,
        );
        for (config_text, linked) in [(text.to_string(), false), (with, true)] {
            let config = Config::parse(&config_text, std::path::Path::new("x.toml")).unwrap();
            assert_eq!(config.templates.guide_url.is_some(), linked);
            let templates = Templates::load(&config).unwrap();
            let (name, _, data) = samples().into_iter().next().unwrap();
            let case = sample_case(&config);
            let r = templates
                .render_notice(&config, name, Some(&case), &data)
                .unwrap();
            assert_eq!(r.text.contains(url), linked, "{}", r.text);
            // The HTML part escapes the URL's slashes (`&#x2f;`).
            assert_eq!(r.html.contains("de handleiding</a>"), linked, "{}", r.html);
        }
    }

    /// Every notice that ends with the answers lists every word `soort:` takes and every
    /// answer `understand::answer` reads, in text and HTML.
    #[test]
    fn the_answers_block_lists_every_kind_word_and_answer_the_code_reads() {
        let text = include_str!("../../config/doorstroom.example.toml");
        let config = Config::parse(text, std::path::Path::new("x.toml")).unwrap();
        let templates = Templates::load(&config).unwrap();
        let case = sample_case(&config);
        let mut with_answers = 0;
        for (name, _, data) in samples() {
            let r = templates
                .render_notice(&config, name, Some(&case), &data)
                .unwrap();
            if !r.text.contains("Antwoorden kan") {
                continue;
            }
            with_answers += 1;
            for (kind, words) in crate::understand::answer::KIND_WORDS {
                assert!(r.text.contains(words[0]), "{name}: {kind:?} {}", r.text);
                assert!(r.html.contains(words[0]), "{name}: {kind:?}");
            }
            for answer in [
                "dossier VD-",
                "soort:",
                "nieuw dossier",
                "negeren",
                "sa:",
                "vrijgeven",
            ] {
                assert!(r.text.contains(answer), "{name}: {answer}");
                assert!(r.html.contains(answer), "{name}: {answer}");
            }
        }
        assert!(
            with_answers >= 5,
            "the notices about a mail end with the answers"
        );
    }

    #[test]
    fn datum_writes_dutch_dates() {
        let table = [
            ("2026-12-01", Some("1 december 2026")),
            ("2027-03-31", Some("31 maart 2027")),
            ("2026-02-30", None),
            ("1 december", None),
            ("", None),
        ];
        for (iso, want) in table {
            assert_eq!(datum(iso).as_deref(), want, "{iso}");
        }
        assert_eq!(maand("2026-12").as_deref(), Some("december 2026"));
        assert_eq!(maand("2026-13"), None);
    }

    #[test]
    fn document_names_take_their_article() {
        assert_eq!(lidwoord("ondertekend addendum"), "het ondertekend addendum");
        assert_eq!(
            lidwoord("begeleidingsovereenkomst"),
            "de begeleidingsovereenkomst"
        );
        assert_eq!(lidwoord("eindverslag"), "het eindverslag");
    }

    #[test]
    fn lists_read_as_dutch_sentences() {
        let s = |v: &[&str]| opsomming(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), "");
        assert_eq!(s(&["a"]), "a");
        assert_eq!(s(&["a", "b"]), "a en b");
        assert_eq!(s(&["a", "b", "c"]), "a, b en c");
    }

    #[test]
    fn initials_of_a_candidate() {
        assert_eq!(initials("Jan Peeters"), "J.P.");
        assert_eq!(initials("  marie-louise de smet "), "M.D.S.");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn the_subject_is_the_onderwerp_line() {
        assert_eq!(
            split_subject("Onderwerp: Aanmelding ontvangen\n\nBeste,\n"),
            Some(("Aanmelding ontvangen".into(), "\nBeste,\n"))
        );
        assert_eq!(split_subject("Beste,\n"), None);
        assert_eq!(split_subject("Onderwerp:   \n\nx"), None);
    }

    #[test]
    fn blank_lines_collapse_to_one() {
        assert_eq!(tidy_text("\n\na\n\n\n\nb  \n\n"), "a\n\nb\n");
    }
}
