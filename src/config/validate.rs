//! Raw config → [`Config`]: every value checked, every problem collected with its key path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::raw::*;
use super::*;

/// Collects problems; positions are filled in by the caller from the source map.
#[derive(Default)]
struct Checker {
    found: Vec<Diagnostic>,
}

impl Checker {
    fn error(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let hint = hint.into();
        self.found.push(Diagnostic {
            path: path.into(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        });
    }

    fn required<T>(&mut self, path: &str, value: Option<T>, hint: &str) -> Option<T> {
        if value.is_none() {
            self.error(path, format!("missing required key `{}`", last(path)), hint);
        }
        value
    }

    fn email(&mut self, path: &str, value: &str) -> String {
        let v = value.trim().to_ascii_lowercase();
        let ok = v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !v.contains(' ')
        });
        if !ok {
            self.error(
                path,
                format!("`{value}` is not a mail address"),
                "write it as name@domain.be",
            );
        }
        v
    }

    fn domain(&mut self, path: &str, value: &str) -> String {
        let v = value.trim().trim_start_matches('@').to_ascii_lowercase();
        if !v.contains('.') || v.contains('@') || v.contains(' ') {
            self.error(
                path,
                format!("`{value}` is not a mail domain"),
                "write only the part after the @, e.g. cawantwerpen.be",
            );
        }
        v
    }

    fn duration(&mut self, path: &str, value: Option<&str>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(v) => parse_duration(v).unwrap_or_else(|| {
                self.error(
                    path,
                    format!("`{v}` is not a duration"),
                    "use a number with s, m, h or d, e.g. \"30s\", \"5m\", \"3d\"",
                );
                default
            }),
        }
    }

    fn time(&mut self, path: &str, value: Option<&str>, default: NaiveTime) -> NaiveTime {
        match value {
            None => default,
            Some(v) => NaiveTime::parse_from_str(v, "%H:%M").unwrap_or_else(|_| {
                self.error(
                    path,
                    format!("`{v}` is not a time of day"),
                    "use HH:MM, e.g. \"09:00\"",
                );
                default
            }),
        }
    }

    fn tls(&mut self, path: &str, value: Option<&str>, default: TlsMode) -> TlsMode {
        match value {
            None => default,
            Some("implicit") => TlsMode::Implicit,
            Some("starttls") => TlsMode::StartTls,
            Some("plain") => TlsMode::Plain,
            Some(other) => {
                self.error(
                    path,
                    format!("unknown TLS mode `{other}`"),
                    "use \"implicit\" (993/465), \"starttls\" (143/587) or \"plain\" (loopback only)",
                );
                default
            }
        }
    }

    /// One of `password`, `password_file`, `password_credential` (or the `client_secret` trio):
    /// `path` names the first, the others are its siblings with `_file` and `_credential`.
    fn secret(
        &mut self,
        path: &str,
        inline: Option<String>,
        file: Option<String>,
        credential: Option<String>,
    ) -> Option<Secret> {
        match (inline, file, credential) {
            (None, None, None) => None,
            (Some(s), None, None) => Some(Secret::Inline(s)),
            (None, Some(f), None) => Some(Secret::File(PathBuf::from(f))),
            (None, None, Some(name)) => {
                if !is_credential_name(&name) {
                    self.error(
                        format!("{path}_credential"),
                        format!("`{name}` is not a credential name"),
                        "a file name of letters, digits, '-', '_' or '.', e.g. \"imap-password\" (read from $CREDENTIALS_DIRECTORY/imap-password)",
                    );
                    return None;
                }
                Some(Secret::Credential(name))
            }
            _ => {
                self.error(
                    path,
                    format!(
                        "more than one of `{0}`, `{0}_file` and `{0}_credential` is given",
                        last(path)
                    ),
                    "keep one; a systemd credential (or a file readable only by the doorstroom user) is safest",
                );
                None
            }
        }
    }
}

/// A name systemd accepts as a credential id and that is one file in its directory.
fn is_credential_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// `30s`, `5m`, `2h`, `3d`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

fn weekday(c: &mut Checker, path: &str, value: Option<&str>, default: Weekday) -> Weekday {
    match value {
        None => default,
        Some(v) => Weekday::from_str(v).unwrap_or_else(|_| {
            c.error(
                path,
                format!("`{v}` is not a weekday"),
                "use an English weekday, e.g. \"thursday\"",
            );
            default
        }),
    }
}

pub(super) fn validate(raw: RawConfig, source: &Path) -> Result<Config, Vec<Diagnostic>> {
    let mut c = Checker::default();
    let organisation = organisation(&mut c, raw.organisation);
    let social_assistants = raw
        .social_assistants
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| person(&mut c, &format!("social_assistant[{}]", i + 1), p))
        .collect();
    let mailbox = mailbox(&mut c, raw.mailbox);
    let smtp = smtp(&mut c, raw.smtp);
    let database = database(&mut c, raw.database);
    let programmes = programmes(&mut c, raw.programmes);
    let partners = partners(&mut c, raw.partners, &programmes);
    let meeting = meeting(&mut c, raw.meeting.unwrap_or_default());
    let escalation = escalation(&mut c, raw.escalation);
    let digest = digest(&mut c, raw.digest.unwrap_or_default());
    let retention = raw.retention.unwrap_or_default();
    let retention = Retention {
        anonymise_after_months: retention.anonymise_after_months.unwrap_or(24),
        keep_raw_mail_days: retention.keep_raw_mail_days.unwrap_or(365),
    };
    let raw_health = raw.health.unwrap_or_default();
    let health = Health {
        intake_silent_after: c.duration(
            "health.intake_silent_after",
            raw_health.intake_silent_after.as_deref(),
            Duration::from_secs(86_400),
        ),
        outbox_stuck_after: c.duration(
            "health.outbox_stuck_after",
            raw_health.outbox_stuck_after.as_deref(),
            Duration::from_secs(2 * 3600),
        ),
        working_hours: working_hours(&mut c, &raw_health),
    };
    let limits = match raw.limits.unwrap_or_default().validate() {
        Ok(limits) => limits,
        Err(bad) => {
            for (key, message) in bad {
                c.error(
                    key,
                    message,
                    "a whole number above 0; leave the key out for the default",
                );
            }
            super::limits::Limits::default()
        }
    };
    let metrics_listen = raw.metrics.and_then(|m| m.listen).and_then(|text| {
        match text.parse::<std::net::SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                c.error(
                    "metrics.listen",
                    format!("`{text}` is not an address and port"),
                    "e.g. \"127.0.0.1:9464\" (leave [metrics] out to keep the endpoint off)",
                );
                None
            }
        }
    });
    let raw_triage = raw.triage.unwrap_or_default();
    if let Some(t) = raw_triage.confidence_threshold {
        if !(0.0..=1.0).contains(&t) {
            c.error(
                "triage.confidence_threshold",
                format!("{t} is no confidence"),
                "a number from 0.0 (never ask) to 1.0 (always ask), e.g. 0.6",
            );
        }
    }
    let triage = Keywords::from_raw(raw_triage);
    let templates = raw.templates.unwrap_or_default();
    if let Some(url) = &templates.guide_url {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace)
        {
            c.error(
                "templates.guide_url",
                format!("`{url}` is not a web address"),
                "a URL partners can open, e.g. \"https://www.woonhaven.be/doorstroom/handleiding\"",
            );
        }
    }
    let templates = Templates {
        guide_url: templates.guide_url,
        dir: templates.dir.map(PathBuf::from),
        signature: templates.signature.unwrap_or_else(|| {
            format!(
                "Met vriendelijke groeten,\nDienst Bewonerscontacten – {}",
                organisation.as_ref().map_or("", |o| o.name.as_str())
            )
        }),
    };

    match (organisation, mailbox, smtp, database) {
        (Some(organisation), Some(mailbox), Some(smtp), Some(database)) if c.found.is_empty() => {
            Ok(Config {
                source: source.to_path_buf(),
                organisation,
                social_assistants,
                mailbox,
                smtp,
                database,
                partners,
                programmes,
                meeting,
                escalation,
                digest,
                retention,
                health,
                triage,
                templates,
                limits,
                metrics_listen,
            })
        }
        _ => Err(c.found),
    }
}

/// `[health] working_days` and `working_hours` (`"08:00-18:00"`), defaults Monday–Friday
/// 08:00–18:00.
fn working_hours(c: &mut Checker, raw: &RawHealth) -> WorkingHours {
    let mut out = WorkingHours::default();
    if let Some(days) = &raw.working_days {
        out.days = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                weekday(
                    c,
                    &format!("health.working_days[{}]", i + 1),
                    Some(d),
                    Weekday::Mon,
                )
            })
            .collect();
        out.days.dedup();
    }
    if let Some(text) = &raw.working_hours {
        let span = text.split_once('-').and_then(|(a, b)| {
            let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
            let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
            (a < b).then_some((a, b))
        });
        match span {
            Some((start, end)) => (out.start, out.end) = (start, end),
            None => c.error(
                "health.working_hours",
                format!("`{text}` is not a span of working hours"),
                "use \"HH:MM-HH:MM\" within one day, e.g. \"08:00-18:00\"",
            ),
        }
    }
    out
}

fn person(c: &mut Checker, path: &str, raw: RawPerson) -> Option<Person> {
    let name = c.required(&format!("{path}.name"), raw.name, "the person's full name");
    let email = c.required(&format!("{path}.email"), raw.email, "their mail address");
    let email = email.map(|e| c.email(&format!("{path}.email"), &e));
    Some(Person {
        name: name?,
        email: email?,
        phone: raw.phone,
    })
}

fn organisation(c: &mut Checker, raw: Option<RawOrganisation>) -> Option<Organisation> {
    let hint = "add an [organisation] table with at least name and shared_mailbox";
    let raw = c.required("organisation", raw, hint)?;
    let name = c.required(
        "organisation.name",
        raw.name,
        "the landlord's name as partners know it",
    );
    let shared = c.required(
        "organisation.shared_mailbox",
        raw.shared_mailbox,
        "the address partners mail, e.g. versneldedoorstroom@woonhaven.be",
    );
    let shared = shared.map(|s| c.email("organisation.shared_mailbox", &s));
    let time_zone = match raw.time_zone.as_deref() {
        None => chrono_tz::Europe::Brussels,
        Some(tz) => tz.parse().unwrap_or_else(|_| {
            let hint = match closest_time_zone(tz) {
                Some(near) => format!("did you mean \"{near}\"? (an IANA time zone name)"),
                None => {
                    "use an IANA name such as \"Europe/Brussels\" or \"Europe/Amsterdam\"".into()
                }
            };
            c.error(
                "organisation.time_zone",
                format!("unknown time zone `{tz}`"),
                hint,
            );
            chrono_tz::Europe::Brussels
        }),
    };
    let id = raw.id.unwrap_or_else(|| "default".into());
    if !is_slug(&id) {
        c.error(
            "organisation.id",
            format!("`{id}` is not a short id"),
            "use lowercase letters, digits and dashes",
        );
    }
    if raw.coordinators.is_empty() {
        c.error(
            "organisation.coordinators",
            "no coordinator is configured",
            "add at least one coordinator (contactpersoon versnelde doorstroom) to receive digests",
        );
    }
    let coordinators = raw
        .coordinators
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| person(c, &format!("organisation.coordinators[{}]", i + 1), p))
        .collect();
    let admins = raw
        .admins
        .iter()
        .enumerate()
        .map(|(i, a)| c.email(&format!("organisation.admins[{}]", i + 1), a))
        .collect();
    let mut staff_domains: Vec<String> = raw
        .staff_domains
        .iter()
        .enumerate()
        .map(|(i, d)| c.domain(&format!("organisation.staff_domains[{}]", i + 1), d))
        .collect();
    if let Some((_, d)) = shared.as_deref().and_then(|s| s.rsplit_once('@')) {
        if !staff_domains.iter().any(|s| s == d) {
            staff_domains.push(d.to_string());
        }
    }
    let case_reference = reference_format(
        c,
        raw.case_reference
            .as_deref()
            .unwrap_or("VD-{year}-{number:04}"),
    );
    Some(Organisation {
        id,
        name: name?,
        shared_mailbox: shared?,
        time_zone,
        coordinators,
        admins,
        staff_domains,
        trust: trust_anchor(c, raw.trust.as_deref(), raw.authserv_id),
        case_reference,
        office_address: raw.office_address,
    })
}

/// `trust` and `authserv_id` together: `authserv_id` alone keeps meaning what it always did.
fn trust_anchor(c: &mut Checker, trust: Option<&str>, authserv_id: Option<String>) -> TrustAnchor {
    const VALUES: &str = "use \"exchange-online\" (Microsoft 365), \"google-workspace\", \"authserv-id\" with authserv_id = \"your MX\", or \"none\"";
    let id = authserv_id
        .map(|id| id.trim().to_ascii_lowercase())
        .filter(|id| {
            let ok = !id.is_empty() && !id.contains(char::is_whitespace) && !id.contains(';');
            if !ok {
                c.error(
                    "organisation.authserv_id",
                    format!("`{id}` is not an authserv-id"),
                    "the host name your receiving server writes first in Authentication-Results, e.g. \"mx.woonhaven.be\"",
                );
            }
            ok
        });
    match (trust, id) {
        (None, Some(id)) | (Some("authserv-id"), Some(id)) => TrustAnchor::AuthservId(id),
        (None, None) => TrustAnchor::None { chosen: false },
        (Some("authserv-id"), None) => {
            c.error(
                "organisation.trust",
                "trust = \"authserv-id\" needs authserv_id",
                "add authserv_id = \"…\", the host name your receiving server writes first in Authentication-Results",
            );
            TrustAnchor::None { chosen: false }
        }
        (Some("exchange-online"), None) => TrustAnchor::ExchangeOnline,
        (Some("google-workspace"), None) => TrustAnchor::GoogleWorkspace,
        (Some("none"), None) => TrustAnchor::None { chosen: true },
        (Some(t @ ("exchange-online" | "google-workspace" | "none")), Some(id)) => {
            c.error(
                "organisation.authserv_id",
                format!("authserv_id = \"{id}\" does not go with trust = \"{t}\""),
                match t {
                    "exchange-online" => "Exchange Online writes no authserv-id: remove authserv_id",
                    "google-workspace" => "Google's authserv-id is always mx.google.com: remove authserv_id",
                    _ => "remove authserv_id, or set trust = \"authserv-id\" to verify senders with it",
                },
            );
            TrustAnchor::None { chosen: false }
        }
        (Some(other), _) => {
            let known =
                ["authserv-id", "exchange-online", "google-workspace", "none"].map(String::from);
            let lower = other.to_ascii_lowercase();
            let first_word = lower.split(['-', '_', ' ']).next().unwrap_or_default();
            let hint = diagnostics::did_you_mean(other, &known)
                .or_else(|| {
                    known
                        .iter()
                        .find(|k| k.split('-').next() == Some(first_word))
                        .cloned()
                })
                .map_or(VALUES.to_string(), |m| {
                    format!("did you mean \"{m}\"? {VALUES}")
                });
            c.error(
                "organisation.trust",
                format!("unknown trust anchor `{other}`"),
                hint,
            );
            TrustAnchor::None { chosen: false }
        }
    }
}

fn reference_format(c: &mut Checker, text: &str) -> ReferenceFormat {
    let pattern = regex::Regex::new(r"^([A-Za-z][A-Za-z0-9]*)-\{year\}-\{number(?::0?(\d))?\}$")
        .expect("static regex");
    match pattern.captures(text) {
        Some(caps) => ReferenceFormat {
            prefix: caps[1].to_string(),
            width: caps.get(2).map_or(4, |m| m.as_str().parse().unwrap_or(4)),
        },
        None => {
            c.error(
                "organisation.case_reference",
                format!("`{text}` is not a reference format"),
                "use PREFIX-{year}-{number:04}, e.g. \"VD-{year}-{number:04}\"",
            );
            ReferenceFormat {
                prefix: "VD".into(),
                width: 4,
            }
        }
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn auth(
    c: &mut Checker,
    path: &str,
    user: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
    password_credential: Option<String>,
    oauth2: Option<RawOauth2>,
) -> Option<Auth> {
    let secret = c.secret(
        &format!("{path}.password"),
        password,
        password_file,
        password_credential,
    );
    match (user, secret, oauth2) {
        (None, None, None) => None,
        (Some(user), Some(password), None) => Some(Auth::Password { user, password }),
        (Some(user), None, Some(o)) => {
            let p = format!("{path}.oauth2");
            let token_url = c.required(
                &format!("{p}.token_url"),
                o.token_url,
                "e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token",
            );
            let client_id = c.required(
                &format!("{p}.client_id"),
                o.client_id,
                "the application (client) id",
            );
            let client_secret = c.secret(
                &format!("{p}.client_secret"),
                o.client_secret,
                o.client_secret_file,
                o.client_secret_credential,
            );
            let client_secret = c.required(
                &format!("{p}.client_secret_file"),
                client_secret,
                "client_secret_credential (a systemd credential) or client_secret_file",
            );
            let secret_expires = o.secret_expires.and_then(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| {
                        c.error(
                            format!("{p}.secret_expires"),
                            format!("`{d}` is not a date"),
                            "use YYYY-MM-DD",
                        )
                    })
                    .ok()
            });
            Some(Auth::Oauth2 {
                user,
                oauth2: Oauth2 {
                    token_url: token_url?,
                    client_id: client_id?,
                    client_secret: client_secret?,
                    scope: o
                        .scope
                        .unwrap_or_else(|| "https://outlook.office365.com/.default".into()),
                    secret_expires,
                },
            })
        }
        (None, _, _) => {
            c.error(
                format!("{path}.user"),
                "credentials are given but no `user`",
                "add the login name",
            );
            None
        }
        (Some(_), None, None) => {
            c.error(
                format!("{path}.password"),
                "a `user` is given but no password",
                "add password_credential (a systemd credential), password_file, or an [oauth2] table",
            );
            None
        }
        (Some(_), Some(_), Some(_)) => {
            c.error(
                format!("{path}.oauth2"),
                "both a password and oauth2 are given",
                "keep one sign-in method",
            );
            None
        }
    }
}

fn mailbox(c: &mut Checker, raw: Option<RawMailbox>) -> Option<Mailbox> {
    let raw = c.required(
        "mailbox",
        raw,
        "add a [mailbox] table (kind = \"imap\" or \"maildir\")",
    )?;
    let resync = c.duration(
        "mailbox.resync_interval",
        raw.resync_interval.as_deref(),
        Duration::from_secs(300),
    );
    let processed = raw.processed.unwrap_or_else(|| "Verwerkt".into());
    let quarantine = raw.quarantine.unwrap_or_else(|| "Quarantaine".into());
    match raw.kind.as_deref() {
        Some("maildir") => {
            let path = c.required(
                "mailbox.path",
                raw.path,
                "the Maildir folder, e.g. \"var/mail\"",
            );
            Some(Mailbox::Maildir(MaildirMailbox {
                path: PathBuf::from(path?),
                seed_from: raw.seed_from.map(PathBuf::from),
                processed,
                quarantine,
                resync_interval: resync,
            }))
        }
        Some("imap") => {
            let host = c.required(
                "mailbox.host",
                raw.host,
                "the IMAP server, e.g. outlook.office365.com",
            );
            let tls = c.tls("mailbox.tls", raw.tls.as_deref(), TlsMode::Implicit);
            let port = raw.port.unwrap_or(match tls {
                TlsMode::Implicit => 993,
                _ => 143,
            });
            if let (TlsMode::Plain, Some(h)) = (tls, host.as_deref()) {
                if !is_loopback(h) {
                    c.error(
                        "mailbox.tls",
                        format!("plain IMAP to `{h}` would send the password in clear"),
                        "use \"implicit\" or \"starttls\"; plain is for loopback only",
                    );
                }
            }
            let auth = auth(
                c,
                "mailbox",
                raw.user,
                raw.password,
                raw.password_file,
                raw.password_credential,
                raw.oauth2,
            );
            let auth = c.required(
                "mailbox.user",
                auth,
                "add user and password_credential (or password_file, or an [mailbox.oauth2] table)",
            );
            Some(Mailbox::Imap(ImapMailbox {
                host: host?,
                port,
                tls,
                auth: auth?,
                inbox: raw.inbox.unwrap_or_else(|| "INBOX".into()),
                processed,
                quarantine,
                resync_interval: resync,
            }))
        }
        Some(other) => {
            c.error(
                "mailbox.kind",
                format!("unknown mailbox kind `{other}`"),
                "use \"imap\" or \"maildir\"",
            );
            None
        }
        None => {
            c.required::<()>("mailbox.kind", None, "use \"imap\" or \"maildir\"");
            None
        }
    }
}

pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn smtp(c: &mut Checker, raw: Option<RawSmtp>) -> Option<Smtp> {
    let raw = c.required(
        "smtp",
        raw,
        "add an [smtp] table (transport = \"smtp\" or \"file\")",
    )?;
    let retry_for = c.duration(
        "smtp.retry_for",
        raw.retry_for.as_deref(),
        Duration::from_secs(3 * 86_400),
    );
    match raw.transport.as_deref() {
        Some("file") => {
            let path = c.required(
                "smtp.path",
                raw.path,
                "the folder for outgoing .eml files, e.g. \"var/sent\"",
            );
            Some(Smtp::File {
                path: PathBuf::from(path?),
                retry_for,
            })
        }
        Some("smtp") => {
            let host = c.required(
                "smtp.host",
                raw.host,
                "the SMTP server, e.g. smtp.office365.com",
            );
            let tls = c.tls("smtp.tls", raw.tls.as_deref(), TlsMode::StartTls);
            let port = raw.port.unwrap_or(match tls {
                TlsMode::Implicit => 465,
                TlsMode::StartTls => 587,
                TlsMode::Plain => 25,
            });
            if let (TlsMode::Plain, Some(h)) = (tls, host.as_deref()) {
                if !is_loopback(h) {
                    c.error(
                        "smtp.tls",
                        format!("plain SMTP to `{h}` is not allowed"),
                        "use \"starttls\" or \"implicit\"; plain is for loopback only",
                    );
                }
            }
            let auth = auth(
                c,
                "smtp",
                raw.user,
                raw.password,
                raw.password_file,
                raw.password_credential,
                raw.oauth2,
            );
            Some(Smtp::Server(SmtpServer {
                host: host?,
                port,
                tls,
                auth,
                retry_for,
                rate_per_recipient_per_hour: raw.rate_per_recipient_per_hour.unwrap_or(30),
                copy_grace: c.duration(
                    "smtp.copy_grace",
                    raw.copy_grace.as_deref(),
                    Duration::from_secs(120),
                ),
            }))
        }
        Some(other) => {
            c.error(
                "smtp.transport",
                format!("unknown transport `{other}`"),
                "use \"smtp\" or \"file\"",
            );
            None
        }
        None => {
            c.required::<()>("smtp.transport", None, "use \"smtp\" or \"file\"");
            None
        }
    }
}

fn database(c: &mut Checker, raw: Option<RawDatabase>) -> Option<Database> {
    let raw = raw.unwrap_or_default();
    let url = raw
        .url
        .unwrap_or_else(|| "sqlite://var/doorstroom.db".into());
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        c.error(
            "database.url",
            format!("`{url}` is not a database URL"),
            "use sqlite://var/doorstroom.db or postgres://user@host/db",
        );
        return None;
    }
    // SQLite has one writer at a time: a third connection would only add memory (each holds a
    // page cache and a thread). PostgreSQL serves the jobs and the outbox beside intake.
    let default_connections = if url.starts_with("sqlite:") { 2 } else { 5 };
    Some(Database {
        max_connections: raw.max_connections.unwrap_or(default_connections),
        url,
    })
}

fn programmes(c: &mut Checker, raw: Vec<RawProgramme>) -> Vec<Programme> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, p) in raw.into_iter().enumerate() {
        let path = format!("programme[{}]", i + 1);
        let id = c.required(
            &format!("{path}.id"),
            p.id,
            "a short id such as \"vivendo\"",
        );
        if let Some(id) = &id {
            if !seen.insert(id.clone()) {
                c.error(
                    format!("{path}.id"),
                    format!("programme `{id}` is defined twice"),
                    "give each programme its own id",
                );
            }
        }
        let required_documents = p
            .required_documents
            .iter()
            .enumerate()
            .filter_map(|(j, d)| {
                DocumentKind::parse(d).or_else(|| {
                    c.error(
                        format!("{path}.required_documents[{}]", j + 1),
                        format!("unknown document kind `{d}`"),
                        "use addendum, social_report, guidance_agreement, final_report or other",
                    );
                    None
                })
            })
            .collect();
        let step = p.extension_step_months.unwrap_or(3);
        if step == 0 {
            c.error(
                format!("{path}.extension_step_months"),
                "an extension step of 0 months",
                "the seeds use 3",
            );
        }
        let milestones = p
            .milestones
            .into_iter()
            .enumerate()
            .filter_map(|(j, m)| milestone(c, &format!("{path}.milestone[{}]", j + 1), m))
            .collect();
        let opened_by = p.opened_by.as_deref().and_then(|k| match k {
            "preventive_request" => Some(MailKind::PreventiveRequest),
            other => {
                c.error(
                    format!("{path}.opened_by"),
                    format!("a programme cannot be opened by `{other}` mail"),
                    "use \"preventive_request\" or leave it out (opened by referrals)",
                );
                None
            }
        });
        if opened_by.is_some() && out.iter().any(|o: &Programme| o.opened_by == opened_by) {
            c.error(
                format!("{path}.opened_by"),
                "two programmes are opened by the same kind of mail",
                "only one programme may say opened_by = \"preventive_request\"",
            );
        }
        if let Some(id) = id {
            out.push(Programme {
                name: p.name.unwrap_or_else(|| id.clone()),
                id,
                required_documents,
                guidance_months: p.guidance_months.unwrap_or(12),
                extension_step_months: step.max(1),
                final_report_within_days: p.final_report_within_days.unwrap_or(30),
                opened_by,
                other_guidance: p.other_guidance.unwrap_or(false),
                answer_within_days: p.answer_within_days,
                reopen_within_months: p.reopen_within_months,
                referral_checklist: p
                    .referral_checklist
                    .into_iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                milestones,
            });
        }
    }
    if out.is_empty() && c.found.is_empty() {
        c.error(
            "programme",
            "no programme is configured",
            "add at least one [[programme]] with its milestones",
        );
    }
    out
}

fn milestone(c: &mut Checker, path: &str, m: RawMilestone) -> Option<MilestoneSpec> {
    let kind = c.required(
        &format!("{path}.kind"),
        m.kind,
        "e.g. \"evaluation\" or \"home_visit\"",
    )?;
    let Some(kind) = MilestoneKind::parse(&kind) else {
        let known: Vec<String> = MilestoneKind::ALL
            .iter()
            .map(|k| k.as_str().to_string())
            .collect();
        let hint = diagnostics::did_you_mean(&kind, &known)
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("use one of {}", known.join(", ")));
        c.error(
            format!("{path}.kind"),
            format!("unknown milestone kind `{kind}`"),
            hint,
        );
        return None;
    };
    let after = match (m.after_months, m.after_days) {
        (Some(months), None) => Offset::Months(months),
        (None, Some(days)) => Offset::Days(days),
        _ => {
            c.error(
                format!("{path}.after_months"),
                "give exactly one of after_months or after_days",
                "counted from the lease start",
            );
            return None;
        }
    };
    Some(MilestoneSpec {
        kind,
        name: m.name.unwrap_or_else(|| kind.as_str().replace('_', " ")),
        after,
        every_months: m.every_months,
        remind_weeks_before: m.remind_weeks_before,
        counsellor_attends: m.counsellor_attends.unwrap_or(false),
        discuss_at_meeting: m
            .discuss_at_meeting
            .unwrap_or(kind == MilestoneKind::Evaluation),
    })
}

fn partners(c: &mut Checker, raw: Vec<RawPartner>, programmes: &[Programme]) -> Vec<Partner> {
    let mut seen_ids = HashSet::new();
    let mut seen_domains: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, p) in raw.into_iter().enumerate() {
        let path = format!("partner[{}]", i + 1);
        let id = c.required(
            &format!("{path}.id"),
            p.id,
            "a short id such as \"caw-antwerpen\"",
        );
        let name = c.required(&format!("{path}.name"), p.name, "the organisation's name");
        if let Some(id) = &id {
            if !is_slug(id) {
                c.error(
                    format!("{path}.id"),
                    format!("`{id}` is not a short id"),
                    "use lowercase letters, digits and dashes",
                );
            }
            if !seen_ids.insert(id.clone()) {
                c.error(
                    format!("{path}.id"),
                    format!("partner `{id}` is defined twice"),
                    "give each partner its own id",
                );
            }
        }
        let domains: Vec<String> = p
            .domains
            .iter()
            .enumerate()
            .map(|(j, d)| c.domain(&format!("{path}.domains[{}]", j + 1), d))
            .collect();
        for (j, d) in domains.iter().enumerate() {
            if let Some((other, _)) = seen_domains.iter().find(|(_, od)| od == d) {
                c.error(
                    format!("{path}.domains[{}]", j + 1),
                    format!("domain `{d}` already belongs to partner `{other}`"),
                    "a domain can speak for one partner only; list individual addresses instead",
                );
            }
            seen_domains.push((id.clone().unwrap_or_default(), d.clone()));
        }
        let addresses: Vec<String> = p
            .addresses
            .iter()
            .enumerate()
            .map(|(j, a)| c.email(&format!("{path}.addresses[{}]", j + 1), a))
            .collect();
        if domains.is_empty() && addresses.is_empty() {
            c.error(
                format!("{path}.domains"),
                "the partner has no domains and no addresses",
                "list the mail domains its counsellors write from",
            );
        }
        let agenda_to: Vec<String> = p
            .agenda_to
            .iter()
            .enumerate()
            .map(|(j, a)| c.email(&format!("{path}.agenda_to[{}]", j + 1), a))
            .collect();
        let programme = p
            .programme
            .or_else(|| programmes.first().map(|p| p.id.clone()))
            .unwrap_or_default();
        if !programmes.is_empty() && !programmes.iter().any(|p| p.id == programme) {
            let known: Vec<String> = programmes.iter().map(|p| p.id.clone()).collect();
            let hint = diagnostics::did_you_mean(&programme, &known)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("known programmes: {}", known.join(", ")));
            c.error(
                format!("{path}.programme"),
                format!("unknown programme `{programme}`"),
                hint,
            );
        }
        if let (Some(id), Some(name)) = (id, name) {
            out.push(Partner {
                id,
                name,
                domains,
                addresses,
                agenda_to,
                monthly_quota: p.monthly_quota,
                programme,
                teams_link: p.teams_link,
                meeting_place: p.meeting_place,
            });
        }
    }
    out
}

fn meeting(c: &mut Checker, raw: RawMeeting) -> MeetingRule {
    let meeting = NthLastWeekday {
        n: raw.meeting_nth_last.unwrap_or(1),
        weekday: weekday(
            c,
            "meeting.meeting_weekday",
            raw.meeting_weekday.as_deref(),
            Weekday::Thu,
        ),
    };
    let agenda = NthLastWeekday {
        n: raw.agenda_nth_last.unwrap_or(2),
        weekday: weekday(
            c,
            "meeting.agenda_weekday",
            raw.agenda_weekday.as_deref(),
            Weekday::Thu,
        ),
    };
    for (key, n) in [
        ("meeting.meeting_nth_last", meeting.n),
        ("meeting.agenda_nth_last", agenda.n),
    ] {
        if !(1..=4).contains(&n) {
            c.error(
                key,
                format!("{n} is out of range"),
                "1 is the last such weekday of the month, 2 the second-to-last, up to 4",
            );
        }
    }
    let closing_days = raw
        .closing_days
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let parse = |d: &str| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok();
            let range = match s.split_once("..") {
                Some((a, b)) => parse(a).zip(parse(b)),
                None => parse(s).map(|d| (d, d)),
            };
            match range {
                Some((a, b)) if a <= b => Some((a, b)),
                _ => {
                    c.error(
                        format!("meeting.closing_days[{}]", i + 1),
                        format!("`{s}` is not a date or date range"),
                        "use \"2026-12-24\" or \"2026-12-24..2027-01-01\"",
                    );
                    None
                }
            }
        })
        .collect();
    let on_closing_day = match raw.on_closing_day.as_deref() {
        None | Some("previous_working_day") => ClosedDayShift::PreviousWorkingDay,
        Some("next_working_day") => ClosedDayShift::NextWorkingDay,
        Some(other) => {
            c.error(
                "meeting.on_closing_day",
                format!("unknown choice `{other}`"),
                "use \"previous_working_day\" or \"next_working_day\"",
            );
            ClosedDayShift::PreviousWorkingDay
        }
    };
    let candidate_display = match raw.candidate_display.as_deref() {
        None | Some("initials") => CandidateDisplay::Initials,
        Some("name") => CandidateDisplay::Name,
        Some(other) => {
            c.error(
                "meeting.candidate_display",
                format!("unknown choice `{other}`"),
                "use \"initials\" or \"name\"",
            );
            CandidateDisplay::Initials
        }
    };
    MeetingRule {
        meeting,
        agenda,
        agenda_time: c.time(
            "meeting.agenda_time",
            raw.agenda_time.as_deref(),
            NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
        ),
        meeting_time: c.time(
            "meeting.meeting_time",
            raw.meeting_time.as_deref(),
            NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
        ),
        duration_minutes: raw.duration_minutes.unwrap_or(90),
        online: raw.online.unwrap_or(true),
        teams_link: raw.teams_link,
        closing_days,
        on_closing_day,
        conclusions_reminder_working_days: raw.conclusions_reminder_working_days.unwrap_or(3),
        candidate_display,
    }
}

fn escalation(c: &mut Checker, raw: Vec<RawEscalationStep>) -> Vec<EscalationStep> {
    let mut steps: Vec<EscalationStep> = raw
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let path = format!("escalation[{}]", i + 1);
            let after_days = c.required(
                &format!("{path}.after_days"),
                s.after_days,
                "days after the milestone was due",
            );
            let notify = c.required(
                &format!("{path}.notify"),
                s.notify,
                "counsellor, social_assistant or coordinator",
            )?;
            let Some(notify) = Role::parse(&notify) else {
                c.error(
                    format!("{path}.notify"),
                    format!("unknown role `{notify}`"),
                    "use counsellor, social_assistant, partner or coordinator",
                );
                return None;
            };
            Some(EscalationStep {
                after_days: after_days?,
                notify,
            })
        })
        .collect();
    if steps.is_empty() {
        steps = vec![
            EscalationStep {
                after_days: 7,
                notify: Role::Counsellor,
            },
            EscalationStep {
                after_days: 14,
                notify: Role::SocialAssistant,
            },
            EscalationStep {
                after_days: 21,
                notify: Role::Coordinator,
            },
        ];
    }
    steps.sort_by_key(|s| s.after_days);
    steps
}

fn digest(c: &mut Checker, raw: RawDigest) -> Digest {
    let mut schedule = |key: &str, value: Option<String>, default: Option<&str>| {
        let text = value
            .or(default.map(str::to_string))
            .filter(|s| !s.trim().is_empty())?;
        cron::Schedule::from_str(&text)
            .map_err(|e| {
                c.error(
                    key,
                    format!("`{text}` is not a cron expression: {e}"),
                    "use six fields: sec min hour day month weekday, e.g. \"0 0 8 * * Mon-Fri\"",
                )
            })
            .ok()
    };
    Digest {
        daily: schedule("digest.daily", raw.daily, Some("0 0 8 * * Mon-Fri")),
        weekly: schedule("digest.weekly", raw.weekly, None),
        send_when_empty: raw.send_when_empty.unwrap_or(false),
    }
}

/// The IANA time zone name closest to a misspelt one (`Europe/Brusels` → `Europe/Brussels`),
/// ignoring case; none when nothing is near.
pub fn closest_time_zone(typo: &str) -> Option<&'static str> {
    let typo = typo.to_lowercase();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|name| (strsim::levenshtein(&typo, &name.to_lowercase()), name))
        .filter(|(d, _)| *d <= (typo.chars().count() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}
