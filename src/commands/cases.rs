//! `doorstroom import-cases FILE`, `doorstroom cases`, `doorstroom case REF [ACTION…]` and
//! `doorstroom report`.

use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;

use crate::case::{admin, import, report, Case, CaseEvent, Cause, Status};
use crate::config::Config;
use crate::store::{CaseFilter, CounsellorPeriod, Store};

async fn open(config: &Config) -> anyhow::Result<Store> {
    Ok(Store::open(
        &config.database.url,
        &config.organisation.id,
        config.database.max_connections,
    )
    .await?)
}

fn today(config: &Config) -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&config.organisation.time_zone)
        .date_naive()
}

/// Import every row of the file or none; returns the references imported.
pub async fn import_cases(config: Config, file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows = match import::read(&bytes, &config) {
        Ok((rows, dialect)) => {
            crate::outln!("{}: read as {}", file.display(), dialect.describe());
            rows
        }
        Err(refused) => {
            eprintln!("{}: read as {}", file.display(), refused.dialect.describe());
            for e in &refused.errors {
                eprintln!("{}: {e}", file.display());
            }
            anyhow::bail!(
                "{} bad row(s) in {}; nothing was imported",
                refused.errors.len(),
                file.display()
            );
        }
    };
    let store = open(&config).await?;
    let now = Utc::now();
    let name = file.display().to_string();
    let mut tx = store.begin().await?;
    let mut imported = Vec::new();
    for row in &rows {
        let result = async {
            let (mut case, events) = import::to_case(row, &config, &name, now)?;
            tx.import_case(&config.organisation.case_reference, &mut case, &events, now)
                .await?;
            anyhow::Ok(case.case_ref)
        }
        .await;
        match result {
            Ok(reference) => imported.push(reference),
            Err(e) => {
                tx.rollback().await?;
                store.close().await;
                anyhow::bail!(
                    "{}: line {}: {e:#}; nothing was imported",
                    file.display(),
                    row.line
                );
            }
        }
    }
    tx.commit().await?;
    store.close().await;
    crate::outln!(
        "imported {} case(s) from {}: {}",
        imported.len(),
        file.display(),
        imported.join(", ")
    );
    Ok(())
}

#[derive(Serialize)]
struct Listed<'a> {
    case_ref: &'a str,
    partner: &'a str,
    status: Status,
    candidate: &'a str,
    lease_start: Option<chrono::NaiveDate>,
    next_milestone: Option<String>,
    next_due: Option<chrono::NaiveDate>,
}

pub async fn list(
    config: Config,
    partner: Option<String>,
    status: Option<String>,
    search: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let status = status
        .map(|s| {
            Status::parse(&s).ok_or_else(|| {
                let known: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                anyhow::anyhow!("unknown status `{s}` (known: {})", known.join(", "))
            })
        })
        .transpose()?;
    if let Some(p) = &partner {
        config.known_partner(p).map_err(anyhow::Error::msg)?;
    }
    let store = open(&config).await?;
    let cases = store
        .cases(&CaseFilter {
            partner,
            status,
            ..CaseFilter::default()
        })
        .await?;
    store.close().await;
    let listed: Vec<Listed> = cases
        .iter()
        .filter(|c| search.is_none_or(|q| crate::case::search::matches(c, q)))
        .map(|c| {
            let next = c
                .milestones
                .iter()
                .filter(|m| m.is_pending())
                .min_by_key(|m| m.due_on);
            Listed {
                case_ref: &c.case_ref,
                partner: &c.partner,
                status: c.status,
                candidate: &c.candidate,
                lease_start: c.lease_start,
                next_milestone: next.map(|m| m.name.clone()),
                next_due: next.map(|m| m.due_on),
            }
        })
        .collect();
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    if listed.is_empty() {
        match search {
            Some(q) => crate::outln!("no case matches \"{q}\""),
            None => crate::outln!("no cases"),
        }
        return Ok(());
    }
    crate::outln!(
        "{:<14}  {:<16}  {:<19}  {:<24}  {:<10}  next milestone",
        "case",
        "partner",
        "status",
        "candidate",
        "lease"
    );
    for l in &listed {
        crate::outln!(
            "{:<14}  {:<16}  {:<19}  {:<24}  {:<10}  {}",
            l.case_ref,
            l.partner,
            l.status.as_str(),
            l.candidate,
            l.lease_start.map_or("-".into(), |d| d.to_string()),
            match (&l.next_milestone, l.next_due) {
                (Some(n), Some(d)) => format!("{d} {n}"),
                _ => "-".into(),
            }
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct MailLine {
    id: i64,
    received_at: chrono::DateTime<Utc>,
    kind: Option<String>,
    state: String,
}

#[derive(Serialize)]
struct Timeline {
    case: Case,
    events: Vec<CaseEvent>,
    counsellors: Vec<CounsellorPeriod>,
    /// Each partner's period of guidance (a handover opens a new one), with its cause.
    guiding_periods: Vec<crate::case::handover::GuidingPeriod>,
    mails: Vec<MailLine>,
}

/// `case REF` (show) or `case REF ACTION…` (change, recorded as an event).
pub async fn case(
    config: Config,
    reference: &str,
    action: &[String],
    goals: Option<&str>,
    eviction_avoided: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    if action.is_empty() {
        anyhow::ensure!(
            goals.is_none() && eviction_avoided.is_none(),
            "--goals and --eviction-avoided go with `close`"
        );
        return show(config, reference, json).await;
    }
    let action_words = action;
    let action = admin::parse(action, goals, eviction_avoided).map_err(anyhow::Error::msg)?;
    let mut line = format!("case {reference} {}", action_words.join(" "));
    if let Some(g) = goals {
        line.push_str(&format!(" --goals {g}"));
    }
    if let Some(e) = eviction_avoided {
        line.push_str(&format!(" --eviction-avoided {e}"));
    }
    let store = open(&config).await?;
    let mut tx = store.begin().await?;
    let Some(mut case) = tx.case(reference).await? else {
        tx.rollback().await?;
        anyhow::bail!("case {reference} is not in the register (find it with `doorstroom cases --search TEXT`)");
    };
    let now = Utc::now();
    let cause = Cause::Admin { command: line };
    let events = admin::apply(&mut case, &action, &config, today(&config), now, &cause)?;
    let id = tx.save_case(&mut case, false, now).await?;
    tx.add_events(id, &events).await?;
    tx.commit().await?;
    store.close().await;
    for e in &events {
        crate::outln!("{}: {} {}", case.case_ref, e.kind, e.detail);
    }
    Ok(())
}

/// `case REF handover PARTNER [--from DATE] [--counsellor EMAIL]`: the guidance continues with
/// another partner (`003` §4), through the same rules as a mail or a staff answer; the notices
/// (introduction to the new partner, the coordinator and social assistant told, or the
/// `[[partner]]` block to add) are queued in the same transaction.
pub async fn handover(
    config: Config,
    reference: &str,
    words: &[String],
    from: Option<&str>,
    counsellor: Option<&str>,
) -> anyhow::Result<()> {
    use crate::case::handover::{self, Outcome};
    use crate::case::model::{HandoverState, PlannedHandover};
    let [partner] = words else {
        anyhow::bail!(
            "usage: case {reference} handover PARTNER [--from YYYY-MM-DD] [--counsellor EMAIL]"
        );
    };
    let from = match from {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("--from `{d}` is not a date YYYY-MM-DD"))?,
        None => today(&config),
    };
    if let Some(c) = counsellor {
        anyhow::ensure!(c.contains('@'), "--counsellor `{c}` is not a mail address");
    }
    let mut line = format!("case {reference} handover {partner} --from {from}");
    if let Some(c) = counsellor {
        line.push_str(&format!(" --counsellor {c}"));
    }
    let loaded = crate::context::Loaded::new(config)?;
    let config = &loaded.config;
    let store = open(config).await?;
    let mut tx = store.begin().await?;
    let Some(mut case) = tx.case(reference).await? else {
        tx.rollback().await?;
        anyhow::bail!("case {reference} is not in the register (find it with `doorstroom cases --search TEXT`)");
    };
    let now = Utc::now();
    let cause = Cause::Admin {
        command: line.clone(),
    };
    let wanted = PlannedHandover {
        to: partner.clone(),
        name: partner.clone(),
        domain: counsellor
            .and_then(|c| c.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase()),
        from,
        counsellor: crate::case::Counsellor {
            name: None,
            email: counsellor.map(str::to_ascii_lowercase),
            phone: None,
        },
        state: HandoverState::Planned,
        announced_by: "admin".into(),
    };
    let old = case.partner.clone();
    let (outcome, events) = handover::request(
        &mut case,
        config,
        wanted.clone(),
        today(config),
        now,
        &cause,
    )?;
    let id = tx
        .save_case(&mut case, outcome == Outcome::Done, now)
        .await?;
    tx.add_events(id, &events).await?;
    let planned = case.handover.clone().unwrap_or(wanted);
    let notices = handover::notices(
        &case,
        config,
        outcome,
        &old,
        &planned,
        &format!("handover:{}:{}", planned.to, planned.from),
    );
    let lines = crate::outbox::queue::queue_notices(
        &mut tx,
        config,
        &loaded.outbox,
        &notices,
        &[&case],
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    store.close().await;
    for e in &events {
        crate::outln!("{}: {} {}", case.case_ref, e.kind, e.detail);
    }
    match outcome {
        Outcome::Done => crate::outln!(
            "{}: guided by {} from {from} (was {old}); same reference, same plan",
            case.case_ref,
            case.partner
        ),
        Outcome::Planned => crate::outln!(
            "{}: {old} keeps the case until {partner} takes over on {from}",
            case.case_ref
        ),
        Outcome::Pending => crate::outln!(
            "{}: handover_pending: `{partner}` is not a partner in the config; {old} keeps the case. Add:\n{}",
            case.case_ref,
            handover::config_block(&planned, &case.programme)
        ),
    }
    for l in lines {
        crate::outln!("  {l}");
    }
    Ok(())
}

async fn show(config: Config, reference: &str, json: bool) -> anyhow::Result<()> {
    let store = open(&config).await?;
    let case = store.case(reference).await?.ok_or_else(|| {
        anyhow::anyhow!("case {reference} is not in the register (find it with `doorstroom cases --search TEXT`)")
    })?;
    let id = case.id.unwrap_or_default();
    let events = store.case_events(id).await?;
    let counsellors = store.counsellor_history(id).await?;
    let mails = store
        .mails_of_case(&case.case_ref)
        .await?
        .into_iter()
        .map(|(id, received_at, kind, state)| MailLine {
            id,
            received_at,
            kind,
            state,
        })
        .collect();
    store.close().await;
    let history: Vec<_> = counsellors
        .iter()
        .map(|p| {
            (
                p.partner.clone(),
                p.counsellor.clone(),
                p.valid_from,
                p.valid_to,
            )
        })
        .collect();
    let guiding_periods = crate::case::handover::periods(&history, &events);
    let t = Timeline {
        case,
        events,
        counsellors,
        guiding_periods,
        mails,
    };
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        crate::out!("{}", render(&t, &config));
    }
    Ok(())
}

fn render(t: &Timeline, config: &Config) -> String {
    use std::fmt::Write;
    let c = &t.case;
    let today = today(config);
    let mut s = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(s, "{}  {}  ({})", c.case_ref, c.candidate, c.status);
    let _ = writeln!(
        s,
        "  partner           {} (programme {})",
        c.partner, c.programme
    );
    let _ = writeln!(s, "  CIR               {}", opt(&c.cir));
    let _ = writeln!(s, "  social assistant  {}", opt(&c.social_assistant));
    let _ = writeln!(
        s,
        "  counsellor        {} <{}> {}",
        opt(&c.counsellor.name),
        opt(&c.counsellor.email),
        opt(&c.counsellor.phone)
    );
    let date = |d: Option<chrono::NaiveDate>| d.map_or("-".into(), |d| d.to_string());
    let _ = writeln!(
        s,
        "  referred          {}",
        c.referred_at
            .with_timezone(&config.organisation.time_zone)
            .format("%Y-%m-%d")
    );
    let _ = writeln!(s, "  lease start       {}", date(c.lease_start));
    let _ = writeln!(
        s,
        "  guidance end      {} (extensions: {} months)",
        date(c.guidance_end),
        c.extension_months
    );
    if c.stopped_on.is_some() || c.report_due.is_some() {
        let _ = writeln!(
            s,
            "  stopped           {}, final report due {}",
            date(c.stopped_on),
            date(c.report_due)
        );
    }
    if c.goals_met.is_some() || c.eviction_avoided.is_some() {
        let _ = writeln!(
            s,
            "  outcome           goals met {}, eviction avoided {}",
            c.goals_met.map_or("-", |g| g.as_str()),
            c.eviction_avoided
                .map_or("-", |e| if e { "yes" } else { "no" })
        );
    }
    let _ = writeln!(s, "\nmilestones");
    for m in &c.milestones {
        let state = match (m.done_on, m.superseded) {
            (Some(d), _) => format!("done {d}"),
            (None, true) => "superseded".into(),
            (None, false) if m.due_on < today => {
                format!("OVERDUE {} days", (today - m.due_on).num_days())
            }
            _ => "planned".into(),
        };
        let _ = writeln!(
            s,
            "  {}  {:<45}  {:<20} {}",
            m.due_on,
            m.name,
            state,
            m.meeting_month
                .as_ref()
                .map_or(String::new(), |mm| format!("meeting {mm}"))
        );
    }
    let _ = writeln!(s, "\ndocuments");
    for d in &c.documents {
        let _ = writeln!(
            s,
            "  {}  {:<20}  {}  from {}{}",
            d.received_at.format("%Y-%m-%d"),
            d.kind.as_str(),
            d.filename,
            opt(&d.sender),
            if d.usable { "" } else { "  (UNUSABLE)" }
        );
    }
    let _ = writeln!(s, "\nconcerns");
    for k in &c.concerns {
        let _ = writeln!(
            s,
            "  {}  {}{}{}",
            k.raised_at.format("%Y-%m-%d"),
            if k.urgent { "URGENT " } else { "" },
            k.statement,
            if k.resolved_at.is_some() {
                " (resolved)"
            } else {
                ""
            }
        );
    }
    if let Some(h) = &c.handover {
        let _ = writeln!(
            s,
            "  handover          {} to {} ({}) from {}, announced by {}",
            match h.state {
                crate::case::model::HandoverState::Pending => "PENDING (not a configured partner)",
                crate::case::model::HandoverState::Planned => "planned",
            },
            h.to,
            h.name,
            h.from,
            h.announced_by
        );
    }
    let _ = writeln!(s, "\nguidance");
    for p in &t.guiding_periods {
        let _ = writeln!(
            s,
            "  {} – {}  {:<20} {} <{}>  opened by {}",
            p.from.format("%Y-%m-%d"),
            p.to.map_or("now".into(), |t| t.format("%Y-%m-%d").to_string()),
            p.partner,
            opt(&p.counsellor.name),
            opt(&p.counsellor.email),
            p.opened_by
        );
    }
    let _ = writeln!(s, "\ncounsellors");
    for p in &t.counsellors {
        let _ = writeln!(
            s,
            "  {} – {}  {} <{}> ({})",
            p.valid_from.format("%Y-%m-%d"),
            p.valid_to
                .map_or("now".into(), |t| t.format("%Y-%m-%d").to_string()),
            opt(&p.counsellor.name),
            opt(&p.counsellor.email),
            p.partner
        );
    }
    let _ = writeln!(s, "\nmails");
    for m in &t.mails {
        let _ = writeln!(
            s,
            "  {}  #{}  {}  {}",
            m.received_at.format("%Y-%m-%d %H:%M"),
            m.id,
            m.kind.as_deref().unwrap_or("-"),
            m.state
        );
    }
    let _ = writeln!(s, "\nevents");
    for e in &t.events {
        let _ = writeln!(
            s,
            "  {}  {:<20}  {}  [{}]",
            e.at.format("%Y-%m-%d %H:%M"),
            e.kind,
            e.detail,
            e.cause
        );
    }
    s
}

/// What `doorstroom report` was asked.
#[derive(Debug, Clone)]
pub struct ReportArgs {
    pub year: i32,
    pub partner: Option<String>,
    /// `csv` or `html`.
    pub format: String,
    /// A folder: one file per table instead of stdout.
    pub out: Option<std::path::PathBuf>,
    /// Which table CSV on stdout holds: `registration` or `preventive`.
    pub table: String,
    /// `excel` or `plain` (see [`report::CsvStyle`]).
    pub csv_style: String,
}

/// `doorstroom report`: the yearly registration. CSV holds one table per file (stdout: the one
/// `--table` names); HTML is one page with the preventive section at its end.
pub async fn report(config: Config, args: ReportArgs) -> anyhow::Result<()> {
    let ReportArgs {
        year,
        partner,
        format,
        out,
        table,
        csv_style,
    } = args;
    anyhow::ensure!(
        matches!(format.as_str(), "csv" | "html"),
        "--format `{format}`: say csv or html"
    );
    anyhow::ensure!(
        matches!(table.as_str(), "registration" | "preventive"),
        "--table `{table}`: say registration or preventive"
    );
    let style = match csv_style.as_str() {
        "excel" => report::CsvStyle::Excel,
        "plain" => report::CsvStyle::Plain,
        other => anyhow::bail!("--csv-style `{other}`: say excel or plain"),
    };
    if let Some(p) = &partner {
        config.known_partner(p).map_err(anyhow::Error::msg)?;
    }
    let store = open(&config).await?;
    let mut cases = store.cases(&CaseFilter::default()).await?;
    // A case opened by a decision staff corrected was never a referral.
    let withdrawn = store.withdrawn_cases().await?;
    cases.retain(|c| !withdrawn.contains(&c.case_ref));
    store.close().await;
    let rows = report::yearly(&cases, &config, year, partner.as_deref(), today(&config));
    let preventive =
        report::preventive_yearly(&cases, &config, year, partner.as_deref(), today(&config));
    // Preventive guidance (`002`) beside accelerated allocation: a table of its own, or a
    // section at the end of the HTML page.
    let mut files: Vec<(String, String)> = Vec::new();
    match format.as_str() {
        "html" => {
            let page = report::to_html(&rows, &config.organisation.name, year);
            let page = if preventive.is_empty() {
                page
            } else {
                let section = report::preventive_to_html(&preventive);
                page.replacen("</body></html>", &format!("{section}</body></html>"), 1)
            };
            files.push((format!("registratie-{year}.html"), page));
        }
        _ => {
            files.push((
                format!("registratie-{year}.csv"),
                report::to_csv(&rows, style),
            ));
            if !preventive.is_empty() {
                files.push((
                    format!("preventief-{year}.csv"),
                    report::preventive_to_csv(&preventive, style),
                ));
            }
        }
    }
    let Some(dir) = out else {
        let wanted = match (format.as_str(), table.as_str()) {
            ("csv", "preventive") => files.get(1).or_else(|| {
                eprintln!("no preventive guidance is configured: the preventive table is empty");
                None
            }),
            _ => files.first(),
        };
        if let Some((_, text)) = wanted {
            crate::out!("{text}");
        }
        if format == "csv" && table == "registration" && files.len() > 1 {
            eprintln!(
                "the preventive guidance is a table of its own: --table preventive, or --out DIR for every table"
            );
        }
        return Ok(());
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        crate::out!("{}\n", path.display());
    }
    Ok(())
}
