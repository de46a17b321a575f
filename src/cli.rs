//! The command line an admin types. Parses arguments with clap, runs the command, and turns any
//! error into one clear line on stderr and a non-zero exit code (never a stack trace).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

pub use crate::commands::outbox::OutboxAction;
use crate::config::Config;
pub use crate::daemon::LogFormat;

/// doorstroom — the shared mailbox of accelerated allocation (versnelde doorstroom), as cases.
///
/// Partners keep mailing the shared mailbox; doorstroom turns referrals into cases, tracks every
/// case's milestones, sends each partner its monthly agenda and escalates what is missed.
#[derive(Debug, Parser)]
#[command(name = "doorstroom", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// The config file (see config/doorstroom.example.toml).
    #[arg(
        long,
        short,
        global = true,
        env = "DOORSTROOM_CONFIG",
        default_value = "/etc/doorstroom/doorstroom.toml"
    )]
    pub config: PathBuf,

    /// Log lines as plain text (default) or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: watch the mailbox, send mail, run the monthly cycle, until stopped.
    Run,
    /// Check a config file and print a summary (with the sender-trust anchor in force); --connect
    /// also tries the servers it names.
    Check {
        /// Also log in to IMAP, say EHLO to SMTP, open the database read-only (nothing is
        /// changed; it says when the daemon's next start will migrate it), and judge the senders
        /// of the newest 20 inbox mails from their headers (read-only: EXAMINE, BODY.PEEK[HEADER]).
        #[arg(long)]
        connect: bool,
    },
    /// Process .eml files or Maildirs once, exactly as the daemon would (writes to the database).
    Ingest {
        /// Files (.eml) or Maildir folders, processed in the order given.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Show what doorstroom would decide about mails, without writing anything.
    Triage {
        /// Mail files (.eml), decided in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Import existing cases from a CSV or JSON file (all rows or none).
    #[command(name = "import-cases")]
    ImportCases {
        /// CSV with header case_ref,partner,candidate,cir,social_assistant,lease_start,
        /// counsellor_name,counsellor_email,counsellor_phone — or the same fields as JSON.
        file: PathBuf,
    },
    /// List cases, or find them.
    Cases {
        /// Only cases whose candidate name, CIR, reference or counsellor (name or address)
        /// contains TEXT, ignoring case and accents ("el amrani" finds "El Amrani", "eloi"
        /// finds "Éloi").
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only this partner's cases (its id from the config).
        #[arg(long)]
        partner: Option<String>,
        /// Only cases with this status.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Show one case with its whole timeline, or change it explicitly.
    Case {
        /// The case reference, e.g. VD-2026-0007.
        reference: String,
        /// An explicit change, recorded as an event: `set lease-start 2026-12-01`,
        /// `set social-assistant EMAIL`, `done MILESTONE [DATE] [defects]`,
        /// `close positive|negative|transferred`, `extend MONTHS`, `stop [DATE]`,
        /// `handover PARTNER [--from DATE] [--counsellor EMAIL]` (the guidance continues with
        /// another partner from DATE, default today: same reference, same plan; the new partner
        /// gets an introduction, the old one nothing more; a PARTNER not in the config waits as
        /// `handover_pending` and the coordinator gets the `[[partner]]` block to add).
        action: Vec<String>,
        /// With `handover`: the first day the new partner guides (YYYY-MM-DD; default today).
        #[arg(long)]
        from: Option<String>,
        /// With `handover`: the new partner's counsellor (woonbegeleider) for this case.
        #[arg(long)]
        counsellor: Option<String>,
        /// With `close`: were the guidance goals met (yes, partly, no)?
        #[arg(long)]
        goals: Option<String>,
        /// With `close`: was eviction avoided (yes, no)?
        #[arg(long)]
        eviction_avoided: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Processed and quarantined mails; `mails retry ID` decides a quarantined mail again,
    /// `move ID --case REF` and `redecide ID --kind KIND` correct a decision, `corrections`
    /// lists the corrections made.
    Mails {
        #[command(subcommand)]
        action: Option<MailsAction>,
        /// Only the quarantined mails, with the reason.
        #[arg(long)]
        quarantined: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Mails doorstroom sent or is about to send; `retry ID`, `show ID`.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
        /// Only mails whose delivery failed.
        #[arg(long)]
        failed: bool,
        #[command(flatten)]
        output: Output,
    },
    /// The coming agenda and meeting dates per partner.
    Schedule {
        /// How many months ahead.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Only this partner.
        #[arg(long)]
        partner: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Render the agenda mails of a month.
    Agenda {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long)]
        partner: Option<String>,
        /// Render only, send nothing.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: write `<partner>-<month>.eml` and `.ics` files here, not to stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// The yearly registration per partner.
    Report {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        partner: Option<String>,
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write the report into this folder, one file per table (`registratie-YYYY.csv`,
        /// `preventief-YYYY.csv`) or `registratie-YYYY.html`, instead of to stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// CSV on stdout holds one table: `registration` (the default) or `preventive`.
        #[arg(long, default_value = "registration")]
        table: String,
        /// `excel`: `;`, decimal comma, UTF-8 BOM (opens in Excel with Belgian settings);
        /// `plain`: `,` and decimal point, for scripts.
        #[arg(long, default_value = "excel")]
        csv_style: String,
    },
    /// Anonymise ended cases and drop old raw mail now, as the daily retention job does.
    Purge {
        /// Only show what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Everything held on one person (subject access request), as a folder.
    #[command(name = "export-case")]
    ExportCase {
        /// The case reference, e.g. VD-2026-0007.
        reference: String,
        /// The folder to write `<REF>/` into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Health of an installation: is the daemon running (exit 1 if not), intake, outbox, jobs.
    Status {
        #[command(flatten)]
        output: Output,
    },
    /// Write a consistent copy of the SQLite database into FILE, also while the daemon runs
    /// (for PostgreSQL use pg_dump).
    Backup {
        /// The new file (never overwritten).
        file: PathBuf,
    },
    /// Replace the SQLite database by a backup, once that backup opens, passes SQLite's
    /// integrity check and migrates to this version; the daemon must be stopped. The replaced
    /// database is kept beside it (DB.before-restore-TIME).
    Restore {
        /// A file written by `doorstroom backup`.
        file: PathBuf,
    },
    /// Print the hardened systemd unit for the daemon (with this --config and a LoadCredential=
    /// line for each secret the config names as a systemd credential).
    #[command(name = "print-service")]
    PrintService,
    /// Internal: the daemon's child process that decides one suspect mail (stdin) and writes
    /// nothing; see `intake::probe`.
    #[command(name = "probe-mail", hide = true)]
    ProbeMail,
    /// The mail templates: the Dutch set is built in; `[templates] dir` may replace some of them.
    Templates {
        #[command(subcommand)]
        action: TemplatesAction,
    },
}

/// `doorstroom templates export DIR` / `preview NAME`.
#[derive(Debug, Subcommand)]
pub enum TemplatesAction {
    /// Write the shipped templates into DIR for editing (never overwrites a file).
    Export {
        /// The folder to write into; keep only the files you change and name it as [templates] dir.
        dir: PathBuf,
    },
    /// Render one mail kind with sample data, as text and HTML, through this config's templates.
    Preview {
        /// The mail kind, e.g. referral_ack (the file name without .txt.j2 / .html.j2).
        name: String,
        /// Write NAME.txt and NAME.html here instead of printing them.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailsAction {
    /// Run triage again on a quarantined mail (after fixing the config, e.g. adding a partner).
    Retry {
        /// The mail id from `doorstroom mails --quarantined`.
        id: i64,
    },
    /// Place a mail in another case: decided again as a mail about that case, its documents
    /// taken off the case it was in; both timelines show it (as a coordinator's `dossier REF`
    /// answer does).
    Move {
        /// The mail id from `doorstroom mails`.
        id: i64,
        /// The case it belongs to, e.g. VD-2026-0008.
        #[arg(long = "case")]
        case_ref: String,
    },
    /// Decide a mail again as another kind and apply that (as a `soort: …` answer does).
    Redecide {
        /// The mail id from `doorstroom mails`.
        id: i64,
        /// referral, contact_change, concern, urgent_concern, final_report, reply_to_case,
        /// discussion_request, lease_start, meeting_conclusions, preventive_request (or the
        /// Dutch word: contactwijziging, zorg, dringend, eindverslag, …).
        #[arg(long)]
        kind: String,
    },
    /// Every correction (by staff answer or by this command line): original decision ->
    /// corrected, to turn recurring ones into [triage] words.
    Corrections {
        /// Also write each corrected mail into DIR as `NNN-correction.eml` and its corrected
        /// decision as `NNN-correction.json`, in the golden-corpus format of `tests/corpus/`.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    crate::memory::limit_arenas();
    let cli = Cli::parse();
    crate::daemon::init_logging(cli.log_format);
    match run(cli) {
        Ok(code) => code,
        // The reader of a pipe (`| head -1`) has seen enough: not an error.
        Err(e) if crate::output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line an admin can act on: the error with its causes, no backtrace.
            eprintln!("doorstroom: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { connect } => check(&cli.config, connect),
        Command::PrintService => print_service(&cli.config),
        Command::ProbeMail => Ok(crate::intake::probe::child(
            load(&cli.config).map_err(|e| e.to_string()),
        )),
        Command::Templates { action } => {
            match action {
                TemplatesAction::Export { dir } => crate::commands::templates::export(&dir)?,
                TemplatesAction::Preview { name, out } => {
                    crate::commands::templates::preview(&load(&cli.config)?, &name, out.as_deref())?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let config = load(&cli.config)?;
            // A suspect mail is decided first in a child of this very binary.
            let probe = std::env::current_exe().ok();
            runtime()?.block_on(crate::daemon::run_until_signal(config, probe))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest { paths, output } => {
            let config = load(&cli.config)?;
            let ok =
                runtime()?.block_on(crate::commands::ingest::run(config, &paths, output.json))?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Triage { files, output } => {
            crate::commands::triage::run(&load(&cli.config)?, &files, output.json)
        }
        Command::ImportCases { file } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::cases::import_cases(config, &file))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cases {
            search,
            partner,
            status,
            output,
        } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::cases::list(
                config,
                partner,
                status,
                search.as_deref(),
                output.json,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Case {
            reference,
            action,
            goals,
            eviction_avoided,
            from,
            counsellor,
            output,
        } => {
            let config = load(&cli.config)?;
            if action.first().map(String::as_str) == Some("handover") {
                runtime()?.block_on(crate::commands::cases::handover(
                    config,
                    &reference,
                    &action[1..],
                    from.as_deref(),
                    counsellor.as_deref(),
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            anyhow::ensure!(
                from.is_none() && counsellor.is_none(),
                "--from and --counsellor go with `handover`"
            );
            runtime()?.block_on(crate::commands::cases::case(
                config,
                &reference,
                &action,
                goals.as_deref(),
                eviction_avoided.as_deref(),
                output.json,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mails {
            action,
            quarantined,
            output,
        } => {
            let config = load(&cli.config)?;
            let rt = runtime()?;
            match action {
                Some(MailsAction::Retry { id }) => {
                    rt.block_on(crate::commands::mails::retry(config, id))?
                }
                Some(MailsAction::Move { id, case_ref }) => {
                    let typed = format!("mails move {id} --case {case_ref}");
                    let case_ref =
                        crate::understand::thread::Tags::new(&config.organisation.case_reference)
                            .find(&case_ref)
                            .into_iter()
                            .next()
                            .ok_or_else(|| {
                                anyhow::anyhow!("`{case_ref}` is not a case reference")
                            })?;
                    let command = crate::understand::answer::Command::Place(case_ref);
                    rt.block_on(crate::commands::mails::steer(config, id, command, &typed))?
                }
                Some(MailsAction::Redecide { id, kind }) => {
                    let typed = format!("mails redecide {id} --kind {kind}");
                    let kind = crate::understand::answer::kind_word(&kind).ok_or_else(|| {
                        let known: Vec<&str> = crate::understand::answer::KIND_WORDS
                            .iter()
                            .map(|(k, _)| k.as_str())
                            .collect();
                        anyhow::anyhow!("unknown kind `{kind}` (known: {})", known.join(", "))
                    })?;
                    let command = crate::understand::answer::Command::Kind(kind);
                    rt.block_on(crate::commands::mails::steer(config, id, command, &typed))?
                }
                Some(MailsAction::Corrections { export, output }) => rt.block_on(
                    crate::commands::mails::corrections(config, output.json, export.as_deref()),
                )?,
                None => rt.block_on(crate::commands::mails::list(
                    config,
                    quarantined,
                    output.json,
                ))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox {
            action,
            failed,
            output,
        } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::outbox::run(
                &config,
                action,
                failed,
                output.json,
            ))
        }
        Command::Schedule {
            months,
            partner,
            output,
        } => crate::commands::schedule::main(
            &load(&cli.config)?,
            months,
            partner.as_deref(),
            output.json,
        ),
        Command::Agenda {
            month,
            partner,
            dry_run,
            out,
        } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::agenda::run(
                config,
                &month,
                partner.as_deref(),
                dry_run,
                out.as_deref(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Purge { dry_run, output } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::purge::run(config, dry_run, output.json))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportCase { reference, out } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::export_case::run(config, &reference, &out))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            year,
            partner,
            format,
            out,
            table,
            csv_style,
        } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::cases::report(
                config,
                crate::commands::cases::ReportArgs {
                    year,
                    partner,
                    format,
                    out,
                    table,
                    csv_style,
                },
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::backup::backup(&config, &file))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let config = load(&cli.config)?;
            runtime()?.block_on(crate::commands::backup::restore(&config, &file))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { output } => {
            let config = load(&cli.config)?;
            let healthy = runtime()?.block_on(crate::commands::status::run(config, output.json))?;
            Ok(if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `doorstroom print-service`: the unit for this config, with its credentials. A config that is
/// not there yet (the Debian package is built before any config exists) gives the unit without
/// credentials, and says so; one that does not validate is an error (its credentials are not
/// known).
fn print_service(path: &Path) -> anyhow::Result<ExitCode> {
    let credentials = if path.exists() {
        crate::config::credential_names(&load(path)?)
    } else {
        eprintln!(
            "doorstroom: {} does not exist yet: the unit has no LoadCredential= lines; print it \
             again once the config names its credentials",
            path.display()
        );
        Vec::new()
    };
    crate::out!("{}", crate::daemon::systemd_unit(path, &credentials));
    Ok(ExitCode::SUCCESS)
}

/// `doorstroom check`: the config, then every template; only when both are good does it say the
/// config is valid. `--connect` then tries each server without changing anything.
fn check(path: &Path, connect: bool) -> anyhow::Result<ExitCode> {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let templates = match crate::outbox::Templates::load(&config) {
        Ok(templates) => templates,
        Err(crate::outbox::TemplateError::Invalid { problems, .. }) => {
            for p in &problems {
                eprintln!("{}: template: {p}", path.display());
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    // A credential is read now, not only its name checked: `check` is the unit's ExecStartPre,
    // so a LoadCredential= line missing from the unit stops the start with this line instead of
    // a daemon that cannot log in. (Files are read when used; a file that an admin's shell may
    // not read says nothing about the service.)
    let mut unreadable = false;
    for (what, secret) in crate::config::secrets(&config) {
        if let crate::config::Secret::Credential(_) = secret {
            if let Err(e) = secret.reveal() {
                eprintln!("{}: {what}: {e}", path.display());
                unreadable = true;
            }
        }
    }
    if unreadable {
        return Ok(ExitCode::FAILURE);
    }
    crate::out!("{}", crate::config::summary(&config));
    for warning in crate::config::warnings(&config) {
        eprintln!("{}: {warning}", path.display());
    }
    let origin = match templates.dir() {
        None => "built in".to_string(),
        Some(dir) if templates.overridden().is_empty() => {
            format!("built in ({} holds no template)", dir.display())
        }
        Some(dir) => format!(
            "built in, {} replaced from {}: {}",
            templates.overridden().len(),
            dir.display(),
            templates.overridden().join(", ")
        ),
    };
    crate::outln!(
        "  templates      {} mail kinds, {origin}; each rendered with sample data",
        crate::outbox::templates::TEMPLATE_NAMES.len(),
    );
    for (what, secret) in crate::config::secrets(&config) {
        crate::outln!("  secret         {what}: {}", secret.describe());
    }
    if connect {
        let ok = runtime()?.block_on(crate::daemon::probe(&config));
        if !ok {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
