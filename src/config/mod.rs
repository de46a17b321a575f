//! The validated configuration: what the admin wrote, checked once, in the types the rest of the
//! program uses.
//!
//! Two layers, as in ripgrep and mox: [`raw`] mirrors the file (serde, unknown keys denied), and
//! [`validate`] turns it into [`Config`], reporting every problem at once with its key path, line,
//! column and a hint ([`diagnostics`]). Loading never touches the network or the database.

pub mod diagnostics;
pub mod keywords;
pub mod limits;
pub mod raw;
mod validate;
pub mod vocabulary;

pub use validate::is_loopback;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

pub use diagnostics::{ConfigErrors, Diagnostic};
pub use keywords::Keywords;
pub use vocabulary::{
    CandidateDisplay, DocumentKind, MailKind, MilestoneKind, NthLastWeekday, Role,
};

/// OAuth secrets expiring within this many days are flagged.
pub const SECRET_WARNING_DAYS: i64 = 14;

/// The OAuth client secrets of the config with their expiry dates.
pub fn secret_expiries(config: &Config) -> Vec<(&'static str, chrono::NaiveDate)> {
    let mut out = Vec::new();
    if let Mailbox::Imap(m) = &config.mailbox {
        if let Auth::Oauth2 { oauth2, .. } = &m.auth {
            out.extend(
                oauth2
                    .secret_expires
                    .map(|d| ("IMAP OAuth2 client secret", d)),
            );
        }
    }
    if let Smtp::Server(s) = &config.smtp {
        if let Some(Auth::Oauth2 { oauth2, .. }) = &s.auth {
            out.extend(
                oauth2
                    .secret_expires
                    .map(|d| ("SMTP OAuth2 client secret", d)),
            );
        }
    }
    out
}

/// Everything `doorstroom` needs to know about one landlord's installation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from, for messages.
    pub source: PathBuf,
    pub organisation: Organisation,
    pub social_assistants: Vec<Person>,
    pub mailbox: Mailbox,
    pub smtp: Smtp,
    pub database: Database,
    pub partners: Vec<Partner>,
    pub programmes: Vec<Programme>,
    pub meeting: MeetingRule,
    /// Steps taken when a milestone is overdue, in order of `after_days`.
    pub escalation: Vec<EscalationStep>,
    pub digest: Digest,
    pub retention: Retention,
    pub health: Health,
    pub triage: Keywords,
    pub templates: Templates,
    /// `[limits]`: what one mail may cost intake (see [`limits`]).
    pub limits: limits::Limits,
    /// `[metrics] listen`: where the Prometheus endpoint answers; none (the default) = off.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// The landlord (woonmaatschappij / SVK) that runs the shared mailbox.
#[derive(Debug, Clone)]
pub struct Organisation {
    /// Short stable id; every database row is tagged with it, so several landlords can share one
    /// PostgreSQL database.
    pub id: String,
    pub name: String,
    /// The shared mailbox partners write to, e.g. `versneldedoorstroom@woonhaven.be`.
    pub shared_mailbox: String,
    pub time_zone: Tz,
    /// contactpersonen versnelde doorstroom.
    pub coordinators: Vec<Person>,
    /// Who gets operational alerts (intake down, outbox stuck, secret expiring).
    pub admins: Vec<String>,
    /// Mail domains of the landlord's own staff (the shared mailbox's domain is always one).
    pub staff_domains: Vec<String>,
    /// Which header of the receiving server vouches for senders (`trust`, `authserv_id`).
    pub trust: TrustAnchor,
    pub case_reference: ReferenceFormat,
    pub office_address: Option<String>,
}

/// Whose word on a sender counts: the landlord's receiving server, named by how it writes its
/// verdict. `understand::trust` reads the headers; this only says which ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnchor {
    /// An own MX (rspamd, OpenDMARC, …): the topmost `Authentication-Results` with this
    /// authserv-id (RFC 8601 §5), stored lowercase.
    AuthservId(String),
    /// Microsoft 365 / Exchange Online: the topmost `Authentication-Results` without an
    /// authserv-id, and `X-MS-Exchange-Organization-AuthAs` for the tenant's own staff.
    ExchangeOnline,
    /// Google Workspace: `mx.google.com`, in `Authentication-Results` or Google's ARC set.
    GoogleWorkspace,
    /// No sender verification: From addresses are taken as given. `chosen` is false when the
    /// config says nothing at all (`check` then asks the admin to choose).
    None { chosen: bool },
}

impl TrustAnchor {
    /// The config value that selects this anchor, for summaries and logs.
    pub fn key(&self) -> &'static str {
        match self {
            TrustAnchor::AuthservId(_) => "authserv-id",
            TrustAnchor::ExchangeOnline => "exchange-online",
            TrustAnchor::GoogleWorkspace => "google-workspace",
            TrustAnchor::None { .. } => "none",
        }
    }

    /// One line for `check`: which header is believed.
    pub fn describe(&self) -> String {
        match self {
            TrustAnchor::AuthservId(id) => format!(
                "authserv-id `{id}`: the topmost Authentication-Results with that id (RFC 8601)"
            ),
            TrustAnchor::ExchangeOnline => "Exchange Online: the topmost Authentication-Results without authserv-id (Microsoft's), staff by X-MS-Exchange-Organization-AuthAs: Internal".to_string(),
            TrustAnchor::GoogleWorkspace => "Google Workspace: the topmost Authentication-Results or ARC set of mx.google.com".to_string(),
            TrustAnchor::None { chosen: true } => "none (trust = \"none\"): senders are NOT verified, From addresses are taken as given".to_string(),
            TrustAnchor::None { chosen: false } => "none (no trust or authserv_id set): senders are NOT verified, From addresses are taken as given".to_string(),
        }
    }

    pub fn verifies(&self) -> bool {
        !matches!(self, TrustAnchor::None { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// How case references look: a prefix, the year and a zero-padded running number
/// (`VD-{year}-{number:04}` → `VD-2026-0007`). Numbers are never reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceFormat {
    pub prefix: String,
    pub width: usize,
}

impl ReferenceFormat {
    pub fn format(&self, year: i32, number: u32) -> String {
        format!(
            "{}-{year}-{number:0width$}",
            self.prefix,
            width = self.width
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connect, then STARTTLS before any credentials (143, 587).
    StartTls,
    /// No TLS at all: only allowed towards a loopback address.
    Plain,
}

/// Where a password or client secret is kept.
#[derive(Debug, Clone)]
pub enum Secret {
    /// Written in the config itself (not recommended).
    Inline(String),
    /// A file only the doorstroom user may read (`password_file`).
    File(PathBuf),
    /// A systemd credential (`password_credential`): the unit's `LoadCredential=NAME` hands the
    /// file to the service in `$CREDENTIALS_DIRECTORY`, so the doorstroom user never needs read
    /// access to where it is kept.
    Credential(String),
}

/// Where systemd looks for a credential the unit names without a path (`LoadCredential=NAME`,
/// systemd.exec(5)); an admin's command outside the service reads it there too.
pub const CREDSTORE_DIRS: [&str; 3] = ["/etc/credstore", "/run/credstore", "/usr/lib/credstore"];

impl Secret {
    /// Read the secret; a file is read at use time so that a rotated password is picked up.
    pub fn reveal(&self) -> std::io::Result<String> {
        match self {
            Secret::Inline(s) => Ok(s.clone()),
            Secret::File(p) => Ok(std::fs::read_to_string(p)?.trim_end().to_string()),
            Secret::Credential(name) => {
                let path = credential_path(
                    name,
                    std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
                )?;
                std::fs::read_to_string(&path)
                    .map(|s| s.trim_end().to_string())
                    .map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("credential `{name}` ({}): {e}", path.display()),
                        )
                    })
            }
        }
    }

    /// What `check` says about where this secret comes from (never the secret itself).
    pub fn describe(&self) -> String {
        match self {
            Secret::Inline(_) => "written in the config".into(),
            Secret::File(p) => format!("file {}", p.display()),
            Secret::Credential(name) => format!("systemd credential `{name}`"),
        }
    }
}

/// The file credential `name` is read from: in `credentials_directory` (the service's
/// `$CREDENTIALS_DIRECTORY`) when systemd set one, else where systemd itself would look
/// ([`CREDSTORE_DIRS`]), so that `doorstroom check --connect` run by root outside the service
/// reads the same secret. An error says what to add to the unit.
pub fn credential_path(
    name: &str,
    credentials_directory: Option<PathBuf>,
) -> std::io::Result<PathBuf> {
    if let Some(dir) = credentials_directory {
        let path = dir.join(name);
        if path.exists() {
            return Ok(path);
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "the service was not given the credential `{name}` (no {}); add \
                 `LoadCredential={name}` to the unit (`doorstroom print-service` prints the unit \
                 with it) and put the secret in /etc/credstore/{name}",
                path.display()
            ),
        ));
    }
    CREDSTORE_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "credential `{name}`: not running under systemd (no CREDENTIALS_DIRECTORY) \
                     and no /etc/credstore/{name}; put the secret there (mode 0600, owner root)"
                ),
            )
        })
}

/// Every secret of the config, with what it is for: `check` lists them, `print-service` adds a
/// `LoadCredential=` line for each credential.
pub fn secrets(config: &Config) -> Vec<(&'static str, &Secret)> {
    fn of<'a>(auth: &'a Auth, what: [&'static str; 2]) -> (&'static str, &'a Secret) {
        match auth {
            Auth::Password { password, .. } => (what[0], password),
            Auth::Oauth2 { oauth2, .. } => (what[1], &oauth2.client_secret),
        }
    }
    let mut out = Vec::new();
    if let Mailbox::Imap(m) = &config.mailbox {
        out.push(of(&m.auth, ["IMAP password", "IMAP OAuth2 client secret"]));
    }
    if let Smtp::Server(SmtpServer { auth: Some(a), .. }) = &config.smtp {
        out.push(of(a, ["SMTP password", "SMTP OAuth2 client secret"]));
    }
    out
}

/// The systemd credential names the config refers to, each once, in order.
pub fn credential_names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, secret) in secrets(config) {
        if let Secret::Credential(name) = secret {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// OAuth2 client-credentials sign-in (Microsoft 365 / Exchange Online), for IMAP and SMTP.
#[derive(Debug, Clone)]
pub struct Oauth2 {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: String,
    /// When the client secret expires: the admin is warned 14 days ahead.
    pub secret_expires: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub enum Auth {
    Password { user: String, password: Secret },
    Oauth2 { user: String, oauth2: Oauth2 },
}

#[derive(Debug, Clone)]
pub enum Mailbox {
    Imap(ImapMailbox),
    Maildir(MaildirMailbox),
}

#[derive(Debug, Clone)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub auth: Auth,
    pub inbox: String,
    pub processed: String,
    pub quarantine: String,
    /// A full resync poll runs this often even while IDLE reports nothing (IDLE is not trusted
    /// alone).
    pub resync_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct MaildirMailbox {
    /// The Maildir with `new/`, `cur/`, `tmp/`; processed and quarantined mail go to the
    /// `.Verwerkt` and `.Quarantaine` sub-folders beside them (Maildir++).
    pub path: PathBuf,
    /// Example mails copied into `new/` on the very first run (the embedded default).
    pub seed_from: Option<PathBuf>,
    pub processed: String,
    pub quarantine: String,
    pub resync_interval: Duration,
}

#[derive(Debug, Clone)]
pub enum Smtp {
    Server(SmtpServer),
    /// Each outgoing mail written as an `.eml` file into this folder, byte for byte what SMTP
    /// would have sent.
    File {
        path: PathBuf,
        retry_for: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub auth: Option<Auth>,
    /// Transient failures are retried this long before a mail is marked failed.
    pub retry_for: Duration,
    pub rate_per_recipient_per_hour: u32,
    /// After a crash, how long after its claim a mail whose copy the shared mailbox does not
    /// hold is taken as not delivered and sent again: the time the server may take to file an
    /// accepted mail (seconds on Microsoft 365, milliseconds on a local Postfix + Dovecot).
    pub copy_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct Database {
    pub url: String,
    pub max_connections: u32,
}

/// A referring and guiding care organisation (verwijzende instantie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Short id used on the command line and in the database (`caw-antwerpen`).
    pub id: String,
    pub name: String,
    /// Mail domains whose verified senders speak for this partner.
    pub domains: Vec<String>,
    /// Individual addresses outside those domains that also speak for it.
    pub addresses: Vec<String>,
    /// Who receives the monthly agenda.
    pub agenda_to: Vec<String>,
    /// maandelijks contingent: referrals per calendar month before the coordinator is told.
    pub monthly_quota: Option<u32>,
    /// The programme new cases of this partner follow.
    pub programme: String,
    pub teams_link: Option<String>,
    pub meeting_place: Option<String>,
}

impl Partner {
    /// Does this address belong to the partner (by domain or by listed address)?
    pub fn owns_address(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        if self.addresses.contains(&address) {
            return true;
        }
        address
            .rsplit_once('@')
            .is_some_and(|(_, domain)| self.domains.iter().any(|d| *d == domain))
    }
}

/// A guidance programme: which documents a referral needs and the milestone plan counted from
/// the lease start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    pub id: String,
    pub name: String,
    pub required_documents: Vec<DocumentKind>,
    pub guidance_months: u32,
    /// verlenging: always a multiple of this (3 months in the seeds).
    pub extension_step_months: u32,
    /// After a stop without eindverslag, the report is expected within this many days.
    pub final_report_within_days: u32,
    /// The mail kind that opens a case in this programme instead of a partner's referral
    /// (`preventive_request`: the landlord asks a partner for preventive guidance, `002`).
    pub opened_by: Option<MailKind>,
    /// Guidance the landlord asks of a partner outside accelerated allocation: its cases carry
    /// `other_guidance` and are listed in section (c) of the agenda.
    pub other_guidance: bool,
    /// The partner answers a request (takes it on or declines with motivation) within this many
    /// days, or the sender is reminded.
    pub answer_within_days: Option<u32>,
    /// nazorg: a closed case may be reopened as a new, linked episode within this many months.
    pub reopen_within_months: Option<u32>,
    /// Conditions the referral must confirm (e.g. the Dutch priority scheme's checklist).
    pub referral_checklist: Vec<String>,
    pub milestones: Vec<MilestoneSpec>,
}

impl Programme {
    /// The milestone spec a planned milestone came from (same kind and name).
    pub fn spec_of(&self, kind: MilestoneKind, name: &str) -> Option<&MilestoneSpec> {
        self.milestones
            .iter()
            .find(|m| m.kind == kind && m.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneSpec {
    pub kind: MilestoneKind,
    /// Dutch name shown in mails ("evaluatie na 4 maanden").
    pub name: String,
    pub after: Offset,
    /// Repeats this often after the first (a yearly plan evaluation).
    pub every_months: Option<u32>,
    /// The counsellor is reminded this many weeks before the due date (a renewal that must not
    /// lapse); missing it still escalates like any milestone.
    pub remind_weeks_before: Option<u32>,
    pub counsellor_attends: bool,
    /// Discussed at the monthly meeting in which it falls.
    pub discuss_at_meeting: bool,
}

/// A distance from the lease start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    Months(u32),
    Days(u32),
}

/// When a meeting date falls on a holiday or closing day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedDayShift {
    PreviousWorkingDay,
    NextWorkingDay,
}

/// The monthly structured meeting (structureel overleg) and its agenda mail.
#[derive(Debug, Clone)]
pub struct MeetingRule {
    pub meeting: NthLastWeekday,
    pub agenda: NthLastWeekday,
    pub agenda_time: NaiveTime,
    pub meeting_time: NaiveTime,
    pub duration_minutes: u32,
    pub online: bool,
    pub teams_link: Option<String>,
    /// The landlord's own closing days, inclusive ranges.
    pub closing_days: Vec<(NaiveDate, NaiveDate)>,
    pub on_closing_day: ClosedDayShift,
    pub conclusions_reminder_working_days: u32,
    /// How the agenda names a candidate: initials (default, least personal data) or full name.
    pub candidate_display: CandidateDisplay,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    pub after_days: u32,
    pub notify: Role,
}

#[derive(Debug, Clone)]
pub struct Digest {
    pub daily: Option<cron::Schedule>,
    pub weekly: Option<cron::Schedule>,
    pub send_when_empty: bool,
}

#[derive(Debug, Clone)]
pub struct Retention {
    /// Case data is anonymised this long after guidance ends.
    pub anonymise_after_months: u32,
    /// Raw mail bytes are kept this long after processing (then only the decision remains).
    pub keep_raw_mail_days: u32,
}

/// When the health check alerts the admins (`[health]`).
#[derive(Debug, Clone)]
pub struct Health {
    /// No mail seen for this long (while the mailbox is connected) is worth a look.
    pub intake_silent_after: Duration,
    /// The oldest mail waiting in the outbox is older than this: delivery is stuck.
    pub outbox_stuck_after: Duration,
    /// When the admins are there to act: alerts wait for it, and silence counts only in it.
    pub working_hours: WorkingHours,
}

/// The admins' working hours, in the organisation's time zone (`[health] working_days`,
/// `working_hours`); Belgian public holidays and the closing days are never working time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    pub days: Vec<chrono::Weekday>,
    pub start: NaiveTime,
    /// After `start`: a span never crosses midnight.
    pub end: NaiveTime,
}

impl Default for WorkingHours {
    /// Monday to Friday, 08:00–18:00.
    fn default() -> Self {
        use chrono::Weekday::*;
        WorkingHours {
            days: vec![Mon, Tue, Wed, Thu, Fri],
            start: NaiveTime::from_hms_opt(8, 0, 0).expect("a time"),
            end: NaiveTime::from_hms_opt(18, 0, 0).expect("a time"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    /// A folder whose `*.j2` files replace the shipped templates of the same name; none = the
    /// templates built into the binary, as shipped.
    pub dir: Option<PathBuf>,
    /// Closing lines under every mail.
    pub signature: String,
    /// Where the Dutch guide for partners and coordinators (docs/handleiding.md) is published:
    /// every mail's footer links to it.
    pub guide_url: Option<String>,
}

impl Config {
    /// Read and validate a config file. Every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: path.display().to_string(),
            diagnostics: vec![Diagnostic {
                path: String::new(),
                line: 0,
                column: 0,
                message: format!("cannot read the config file: {e}"),
                hint: Some(
                    "pass an existing file with --config (an example is config/doorstroom.example.toml)"
                        .into(),
                ),
            }],
        })?;
        Self::parse(&text, path)
    }

    /// Validate config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let (raw, mut diagnostics) = diagnostics::parse_raw(text);
        let config = raw.and_then(|raw| {
            let map = diagnostics::SourceMap::new(text);
            let reported: Vec<String> = diagnostics.iter().map(|d| d.path.clone()).collect();
            match validate::validate(raw, path) {
                Ok(config) => Some(config),
                Err(found) => {
                    diagnostics.extend(
                        found
                            .into_iter()
                            // A key already reported by serde (wrong type) is not missing too.
                            .filter(|d| !reported.iter().any(|r| !r.is_empty() && *r == d.path))
                            .map(|mut d| {
                                (d.line, d.column) = map.locate(&d.path);
                                d
                            }),
                    );
                    None
                }
            }
        });
        match config {
            Some(config) if diagnostics.is_empty() => Ok(config),
            _ => {
                diagnostics.sort_by_key(|d| (d.line == 0, d.line, d.column));
                Err(ConfigErrors {
                    file: path.display().to_string(),
                    diagnostics,
                })
            }
        }
    }

    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.id == id)
    }

    /// The partner `id` names, or an error an admin can act on: the closest known id, and all
    /// of them (`--partner caw-antwrepen` → did you mean `caw-antwerpen`?).
    pub fn known_partner(&self, id: &str) -> Result<&Partner, String> {
        self.partner(id).ok_or_else(|| {
            let known: Vec<String> = self.partners.iter().map(|p| p.id.clone()).collect();
            let hint = diagnostics::did_you_mean(id, &known)
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            format!(
                "unknown partner `{id}`; {hint}the config knows: {}",
                known.join(", ")
            )
        })
    }

    pub fn programme(&self, id: &str) -> Option<&Programme> {
        self.programmes.iter().find(|p| p.id == id)
    }

    /// The partner a sender address speaks for, if any.
    pub fn partner_of_address(&self, address: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.owns_address(address))
    }

    /// Is this address one of the landlord's own people (staff domain, coordinator, social
    /// assistant, admin or the shared mailbox itself)?
    pub fn is_staff(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        let org = &self.organisation;
        address == org.shared_mailbox
            || org.coordinators.iter().any(|p| p.email == address)
            || org.admins.contains(&address)
            || self.social_assistants.iter().any(|p| p.email == address)
            || address
                .rsplit_once('@')
                .is_some_and(|(_, d)| org.staff_domains.iter().any(|s| s == d))
    }

    /// Was this Message-ID minted by `doorstroom` for this landlord (`<32 hex>.doorstroom@` the
    /// mail domain, as `outbox::compose::message_id_for` writes it)? Triage uses it to
    /// recognise the copies of our own mail that arrive in the shared mailbox.
    pub fn is_own_message_id(&self, message_id: &str) -> bool {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        id.strip_suffix(self.mail_domain())
            .and_then(|rest| rest.strip_suffix(".doorstroom@"))
            .is_some_and(|hash| hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// The mail domain of the shared mailbox: outgoing Message-IDs are minted under it.
    pub fn mail_domain(&self) -> &str {
        self.organisation
            .shared_mailbox
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
    }
}

/// The one-screen summary `doorstroom check` prints for a valid config.
pub fn summary(config: &Config) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let org = &config.organisation;
    let _ = writeln!(s, "{}: the config is valid", config.source.display());
    let _ = writeln!(
        s,
        "  organisation   {} ({}), shared mailbox {}, time zone {}",
        org.name, org.id, org.shared_mailbox, org.time_zone
    );
    let _ = writeln!(
        s,
        "  people         {} coordinator(s), {} social assistant(s), {} admin(s)",
        org.coordinators.len(),
        config.social_assistants.len(),
        org.admins.len()
    );
    let mailbox = match &config.mailbox {
        Mailbox::Imap(m) => format!(
            "IMAP {}:{} ({:?}), folders {} → {} / {}",
            m.host, m.port, m.tls, m.inbox, m.processed, m.quarantine
        ),
        Mailbox::Maildir(m) => format!("Maildir {}", m.path.display()),
    };
    let _ = writeln!(s, "  sender trust   {}", org.trust.describe());
    let _ = writeln!(s, "  mailbox        {mailbox}");
    let smtp = match &config.smtp {
        Smtp::Server(m) => format!("SMTP {}:{} ({:?})", m.host, m.port, m.tls),
        Smtp::File { path, .. } => format!(".eml files in {}", path.display()),
    };
    let _ = writeln!(s, "  outgoing mail  {smtp}");
    let _ = writeln!(s, "  database       {}", redact_url(&config.database.url));
    for p in &config.partners {
        let quota = p
            .monthly_quota
            .map_or("no quota".to_string(), |q| format!("quota {q}/month"));
        let _ = writeln!(
            s,
            "  partner        {} ({}): {}, programme {}, {quota}",
            p.name,
            p.id,
            p.domains.join(", "),
            p.programme
        );
    }
    for p in &config.programmes {
        let _ = writeln!(
            s,
            "  programme      {} ({}): {} months, {} milestone(s)",
            p.name,
            p.id,
            p.guidance_months,
            p.milestones.len()
        );
    }
    let m = &config.meeting;
    let _ = writeln!(
        s,
        "  meeting        nth-to-last {} #{} at {}, agenda nth-to-last {} #{} at {}",
        m.meeting.weekday,
        m.meeting.n,
        m.meeting_time.format("%H:%M"),
        m.agenda.weekday,
        m.agenda.n,
        m.agenda_time.format("%H:%M")
    );
    let steps: Vec<String> = config
        .escalation
        .iter()
        .map(|e| format!("{}d → {}", e.after_days, e.notify.as_str()))
        .collect();
    let _ = writeln!(s, "  escalation     {}", steps.join(", "));
    s
}

/// Warnings `check` prints on every run: the config is valid, but something is unsafe.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    match config.organisation.trust {
        TrustAnchor::None { chosen: false } => out.push(
            "warning: no sender verification: neither organisation.trust nor organisation.authserv_id is set, so anyone can write as a partner; set trust = \"exchange-online\" (Microsoft 365), \"google-workspace\", authserv_id = \"your MX\", or trust = \"none\" to accept this".to_string(),
        ),
        TrustAnchor::None { chosen: true } => out.push(
            "warning: trust = \"none\": senders are not verified, From addresses are taken as given; use it only for a Maildir fed by hand or for tests".to_string(),
        ),
        _ => {}
    }
    out
}

/// A database URL without its password, for logs and summaries.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example config with `[smtp]` replaced by a server signing in with `auth`.
    fn with_smtp_auth(auth: &str) -> Result<Config, ConfigErrors> {
        let text = include_str!("../../config/doorstroom.example.toml");
        let text = text.replacen(
            "transport = \"file\"\npath = \"var/sent\"\n",
            &format!("transport = \"smtp\"\nhost = \"smtp.example\"\nuser = \"u\"\n{auth}\n"),
            1,
        );
        Config::parse(&text, Path::new("x.toml"))
    }

    #[test]
    fn a_password_named_as_a_credential_is_read_from_the_credentials_directory() {
        let config = with_smtp_auth("password_credential = \"smtp-password\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(credential_names(&config), ["smtp-password"]);
        let secrets = secrets(&config);
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].0, "SMTP password");
        assert_eq!(
            secrets[0].1.describe(),
            "systemd credential `smtp-password`"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("smtp-password"), "s3cret\n").unwrap();
        let path = credential_path("smtp-password", Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), "s3cret\n");
    }

    #[test]
    fn a_credential_the_service_was_not_given_names_the_unit_line_to_add() {
        let dir = tempfile::tempdir().unwrap();
        let e = credential_path("imap-password", Some(dir.path().to_path_buf())).unwrap_err();
        assert!(
            e.to_string().contains("LoadCredential=imap-password"),
            "{e}"
        );
    }

    #[test]
    fn a_secret_given_two_ways_or_a_credential_name_with_a_slash_is_an_error() {
        let e = with_smtp_auth("password_credential = \"p\"\npassword_file = \"/etc/p\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than one of `password`"), "{e}");
        let e = with_smtp_auth("password_credential = \"../etc/shadow\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a credential name"), "{e}");
        assert!(e.contains("smtp.password_credential"), "{e}");
        // A file path still works.
        let config = with_smtp_auth("password_file = \"/etc/doorstroom/smtp-password\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(credential_names(&config).is_empty());
        assert_eq!(
            secrets(&config)[0].1.describe(),
            "file /etc/doorstroom/smtp-password"
        );
    }

    #[test]
    fn working_hours_default_to_weekdays_8_to_18_and_a_span_across_midnight_is_an_error() {
        let text = include_str!("../../config/doorstroom.example.toml");
        let config = Config::parse(text, Path::new("x.toml")).unwrap();
        assert_eq!(config.health.working_hours, WorkingHours::default());
        let text = text.replacen(
            "working_hours = \"08:00-18:00\"",
            "working_hours = \"22:00-06:00\"",
            1,
        );
        let e = Config::parse(&text, Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`22:00-06:00` is not a span of working hours"),
            "{e}"
        );
        let text = text.replacen("\"friday\"]", "\"vrijdag\"]", 1);
        let e = Config::parse(&text, Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vrijdag` is not a weekday"), "{e}");
    }

    #[test]
    fn the_metrics_endpoint_is_off_unless_listen_names_an_address_and_port() {
        let text = include_str!("../../config/doorstroom.example.toml");
        assert_eq!(
            Config::parse(text, Path::new("x.toml"))
                .unwrap()
                .metrics_listen,
            None
        );
        let on = format!("{text}\n[metrics]\nlisten = \"127.0.0.1:9464\"\n");
        let config = Config::parse(&on, Path::new("x.toml")).unwrap();
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let bad = format!("{text}\n[metrics]\nlisten = \"localhost\"\n");
        let e = Config::parse(&bad, Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`localhost` is not an address and port"), "{e}");
    }
}
