//! `doorstroom agenda --month 2026-12 [--partner P] [--dry-run] [--out DIR]`: the agenda mails of
//! a month, per partner, composed from the stored cases exactly as the agenda job does.
//!
//! `--dry-run` renders each agenda mail (the complete message, calendar part included) and its
//! `.ics` to stdout, or as `<partner>-<month>.eml` and `.ics` files into `--out DIR`, and sends
//! and records nothing: it shows the agenda as it goes out on the agenda day, whatever was sent
//! before. Without `--dry-run` the mails are queued now, as the job would (once per partner and
//! month: a partner whose agenda went out already gets nothing new unless its state changed).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};

use crate::calendar::{MeetingCalendar, Month};
use crate::config::{Config, Partner};
use crate::context::Context;
use crate::jobs::agenda;

fn partners<'a>(config: &'a Config, only: Option<&str>) -> anyhow::Result<Vec<&'a Partner>> {
    Ok(match only {
        Some(id) => match config.known_partner(id) {
            Ok(p) => vec![p],
            Err(e) => bail!("{e}"),
        },
        None => config.partners.iter().collect(),
    })
}

pub async fn run(
    config: Config,
    month: &str,
    partner: Option<&str>,
    dry_run: bool,
    out_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let month: Month = month.parse()?;
    let store = crate::context::open_store(&config).await?;
    let ctx = Context::fixed(store, config).context("mail templates")?;
    let config = ctx.config();
    let partners = partners(&config, partner)?;
    let mut stdout = std::io::stdout().lock();
    if dry_run {
        let calendar = MeetingCalendar::new(&config.meeting, config.organisation.time_zone);
        let at = calendar.month(month)?.agenda_at.with_timezone(&Utc);
        if let Some(dir) = out_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        for p in partners {
            render(&ctx, p, month, at, out_dir, &mut stdout).await?;
        }
        return Ok(());
    }
    if out_dir.is_some() {
        bail!("--out writes rendered mails and needs --dry-run");
    }
    let now = Utc::now();
    for p in partners {
        match agenda::pass_partner(&ctx, p, month, now, true).await? {
            Some(line) => writeln!(stdout, "{line}")?,
            None => writeln!(
                stdout,
                "{}: {month}: nothing to send (sent before and unchanged, or the meeting has started)",
                p.id
            )?,
        }
    }
    Ok(())
}

/// The agenda of `partner` as it would go out at `at` with nothing sent before.
async fn render(
    ctx: &Context,
    partner: &Partner,
    month: Month,
    at: DateTime<Utc>,
    out_dir: Option<&Path>,
    stdout: &mut dyn Write,
) -> anyhow::Result<()> {
    let config = ctx.config();
    let (schedule, composed) =
        agenda::compose_from_store(&ctx.store, &config, partner, month, at).await?;
    let Some(planned) = agenda::plan(&config, partner, &schedule, composed, None, at) else {
        bail!("{}: {month}: no agenda at its own time (a bug)", partner.id);
    };
    let mail = agenda::prepare(&config, &ctx.outbox(), partner, &planned, at)?;
    let stem = format!("{}-{month}", partner.id);
    match out_dir {
        Some(dir) => {
            let eml = dir.join(format!("{stem}.eml"));
            std::fs::write(&eml, &mail.bytes)
                .with_context(|| format!("cannot write {}", eml.display()))?;
            writeln!(stdout, "{}", eml.display())?;
            if let Some(cal) = &planned.calendar {
                let ics = dir.join(format!("{stem}.ics"));
                std::fs::write(&ics, &cal.ics)
                    .with_context(|| format!("cannot write {}", ics.display()))?;
                writeln!(stdout, "{}", ics.display())?;
            }
        }
        None => {
            writeln!(stdout, "===== {stem}.eml =====")?;
            stdout.write_all(&mail.bytes)?;
            writeln!(stdout)?;
            if let Some(cal) = &planned.calendar {
                writeln!(stdout, "===== {stem}.ics =====")?;
                stdout.write_all(cal.ics.as_bytes())?;
            }
        }
    }
    Ok(())
}
