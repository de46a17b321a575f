//! The health check, every five minutes: the daemon looks at its own report (the `health` keys,
//! the mail and outbox counts, the OAuth secret dates) and mails the admins when something needs
//! a person: intake disconnected or silent for too long, the outbox stuck, a client secret about
//! to expire, a burst of spoof attempts in one partner's name.
//!
//! Owns the rules ([`problems`], pure) and queueing one `health_alert` per problem. Each alert
//! goes out at most once per problem per local day: its dedupe key names the problem and the
//! day, and the outbox queues an effect key once. Never repairs anything itself, never sends
//! SMTP (an outbox that is stuck cannot deliver its own alert, but the alert waits in the queue
//! and `doorstroom status` shows the same figures). Alerts go out in the admins' working hours
//! (`[health] working_days`, `working_hours`, in the organisation's zone; a burst of spoofs at
//! once), and silence counts on working days only (see [`crate::calendar::working_hours`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::calendar::working_hours::{is_working_time, working_days_time_between};
use crate::case::Role;
use crate::config::{secret_expiries, Config, SECRET_WARNING_DAYS};
use crate::context::Context;
use crate::outbox::queue::queue_notices;
use crate::outbox::Notice;
use crate::store::digest::SpoofAttempts;
use crate::store::Counts;

/// One thing wrong, as the alert mail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `intake_disconnected`, `intake_silent`, `outbox_stuck`, `secret_expiring`, `spoof_burst`: the template
    /// picks its wording by it.
    pub kind: &'static str,
    /// Distinguishes two problems of one kind (which secret).
    pub key: String,
    /// Since when (or, for a secret, the expiry date).
    pub since: Option<String>,
    /// The technical detail (an error message, a count).
    pub detail: String,
}

/// This many spoof attempts in the name of one partner (or of our own staff) within
/// [`SPOOF_BURST_WINDOW`] are told to the admins at once, not only in the next digest.
pub const SPOOF_BURST: i64 = 5;
/// The window [`SPOOF_BURST`] counts in.
pub const SPOOF_BURST_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// A burst of spoof attempts (the spoofs of the last [`SPOOF_BURST_WINDOW`] per claimed
/// partner): one problem per partner with at least [`SPOOF_BURST`]. Pure.
pub fn spoof_bursts(config: &Config, spoofs: &[SpoofAttempts]) -> Vec<Problem> {
    let tz = config.organisation.time_zone;
    spoofs
        .iter()
        .filter(|s| s.count >= SPOOF_BURST)
        .map(|s| {
            let name = s.partner.as_deref().map_or_else(
                || "onze eigen medewerkers of de gedeelde mailbox".to_string(),
                |id| {
                    config
                        .partner(id)
                        .map_or_else(|| id.to_string(), |p| p.name.clone())
                },
            );
            Problem {
                kind: "spoof_burst",
                key: s.partner.clone().unwrap_or_else(|| "own".into()),
                since: Some(
                    s.last_at
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                ),
                detail: format!("{} mails in het voorbije uur uit naam van {name}", s.count),
            }
        })
        .collect()
}

/// What is wrong at `now`, from the daemon's own report. Pure.
pub fn problems(
    config: &Config,
    health: &BTreeMap<String, (String, DateTime<Utc>)>,
    counts: &Counts,
    now: DateTime<Utc>,
) -> Vec<Problem> {
    let tz = config.organisation.time_zone;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let mut out = Vec::new();
    let error = health
        .get("intake.error")
        .filter(|(value, _)| !value.trim().is_empty());
    if let Some((message, at)) = error {
        out.push(Problem {
            kind: "intake_disconnected",
            key: String::new(),
            since: Some(local(*at)),
            detail: message.clone(),
        });
    } else {
        // Silence counts from the last mail, or from the connection when no mail ever came.
        let connected = health.get("intake.connected_since").and_then(|(v, at)| {
            DateTime::parse_from_rfc3339(v)
                .ok()
                .map(|t| t.with_timezone(&Utc))
                .or(Some(*at))
        });
        let last = counts.last_mail_at.or(connected);
        let silent_after = chrono::Duration::from_std(config.health.intake_silent_after)
            .unwrap_or(chrono::Duration::days(1));
        // Only working days count: a weekend or a holiday without mail is no silence.
        let on_working_days = |t: DateTime<Utc>| {
            working_days_time_between(
                &config.health.working_hours,
                &config.meeting.closing_days,
                tz,
                t,
                now,
            )
        };
        if let Some(last) = last.filter(|t| on_working_days(*t) > silent_after) {
            out.push(Problem {
                kind: "intake_silent",
                key: String::new(),
                since: Some(local(last)),
                detail: format!("no mail seen for {} h", (now - last).num_hours()),
            });
        }
    }
    let stuck_after = chrono::Duration::from_std(config.health.outbox_stuck_after)
        .unwrap_or(chrono::Duration::hours(2));
    if let Some(oldest) = counts
        .outbox_oldest_waiting
        .filter(|t| now - *t > stuck_after)
    {
        out.push(Problem {
            kind: "outbox_stuck",
            key: String::new(),
            since: Some(local(oldest)),
            detail: format!("{} mail(s) waiting", counts.outbox_waiting),
        });
    }
    let today = now.with_timezone(&tz).date_naive();
    for (what, expires) in secret_expiries(config) {
        if (expires - today).num_days() <= SECRET_WARNING_DAYS {
            out.push(Problem {
                kind: "secret_expiring",
                key: what.to_ascii_lowercase().replace(' ', "_"),
                since: Some(expires.to_string()),
                detail: if what.starts_with("SMTP") {
                    "De OAuth2-clientsleutel voor het versturen van mail (SMTP)".into()
                } else {
                    "De OAuth2-clientsleutel voor het lezen van mail (IMAP)".into()
                },
            });
        }
    }
    out
}

/// Alerts go out in the admins' working hours only (`[health] working_days`, `working_hours`).
pub fn alerts_due(config: &Config, now: DateTime<Utc>) -> bool {
    is_working_time(
        &config.health.working_hours,
        &config.meeting.closing_days,
        config.organisation.time_zone,
        now,
    )
}

impl Problem {
    /// Whether the alert waits for the admins' working hours: all do but a burst of spoofs, which
    /// may be an attack under way.
    pub fn waits_for_working_hours(&self) -> bool {
        self.kind != "spoof_burst"
    }

    /// The alert for this problem on `day` (local): one per problem per day.
    pub fn notice(&self, day: NaiveDate) -> Notice {
        Notice {
            template: "health_alert".into(),
            case_ref: None,
            to: vec![Role::Admin],
            to_sender: false,
            urgent: false,
            data: json!({
                "problem": self.kind,
                "since": self.since,
                "detail": self.detail,
            }),
            dedupe: format!("health:{}:{}:{day}", self.kind, self.key),
        }
    }
}

pub async fn run_once(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<String> {
    let loaded = ctx.loaded();
    let config = &loaded.config;
    let health = ctx.store.health().await?;
    let counts = ctx.store.counts().await?;
    let mut found = problems(config, &health, &counts, now);
    let spoofs = ctx
        .store
        .spoof_attempts_between(now - SPOOF_BURST_WINDOW, now)
        .await?;
    found.extend(spoof_bursts(config, &spoofs));
    if found.is_empty() {
        return Ok("all well".into());
    }
    let mut held = Vec::new();
    if !alerts_due(config, now) {
        // Nobody is there to act: the next pass in working hours finds them again (`status`
        // shows them meanwhile). A burst of spoofs is told at once, whatever the hour.
        (found, held) = found
            .into_iter()
            .partition(|p| !p.waits_for_working_hours());
    }
    let held_kinds: Vec<&str> = held.iter().map(|p| p.kind).collect();
    let held_note = if held.is_empty() {
        String::new()
    } else {
        format!(
            "; {} outside working hours, no alert until they begin",
            held_kinds.join(", ")
        )
    };
    if found.is_empty() {
        return Ok(held_note.trim_start_matches("; ").to_string());
    }
    let day = now
        .with_timezone(&config.organisation.time_zone)
        .date_naive();
    let notices: Vec<Notice> = found.iter().map(|p| p.notice(day)).collect();
    let mut tx = ctx.store.begin().await?;
    let lines = queue_notices(&mut tx, config, &loaded.outbox, &notices, &[], None, now).await?;
    tx.commit().await?;
    let queued = lines.iter().filter(|l| l.contains(" queued for ")).count();
    if queued > 0 {
        ctx.outbox_wake.notify_one();
    }
    let kinds: Vec<&str> = found.iter().map(|p| p.kind).collect();
    Ok(format!(
        "{}; {queued} alert(s) queued (the others were sent today already){held_note}",
        kinds.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("x.toml"),
        )
        .unwrap()
    }

    #[test]
    fn five_spoofs_in_one_partners_name_within_the_hour_are_a_burst_four_are_not() {
        let c = config();
        let at = at("2026-12-03T10:00:00Z");
        let spoofs = [
            SpoofAttempts {
                partner: Some("caw-antwerpen".into()),
                count: SPOOF_BURST,
                last_at: at,
            },
            SpoofAttempts {
                partner: Some("ocmw-antwerpen".into()),
                count: SPOOF_BURST - 1,
                last_at: at,
            },
        ];
        let found = spoof_bursts(&c, &spoofs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "spoof_burst");
        assert_eq!(found[0].key, "caw-antwerpen");
        assert!(found[0].detail.contains("uit naam van CAW Antwerpen"));
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn kinds(p: &[Problem]) -> Vec<&'static str> {
        p.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn a_healthy_daemon_has_no_problem() {
        let now = at("2026-11-24T10:00:00Z");
        let counts = Counts {
            last_mail_at: Some(at("2026-11-24T09:00:00Z")),
            outbox_oldest_waiting: Some(at("2026-11-24T09:30:00Z")),
            outbox_waiting: 1,
            ..Counts::default()
        };
        assert!(problems(&config(), &BTreeMap::new(), &counts, now).is_empty());
    }

    #[test]
    fn an_intake_error_is_a_disconnection_not_a_silence() {
        let now = at("2026-11-24T10:00:00Z");
        let mut health = BTreeMap::new();
        health.insert(
            "intake.error".to_string(),
            ("connection refused".to_string(), at("2026-11-24T09:55:00Z")),
        );
        let counts = Counts {
            last_mail_at: Some(at("2026-11-20T09:00:00Z")),
            ..Counts::default()
        };
        let p = problems(&config(), &health, &counts, now);
        assert_eq!(kinds(&p), ["intake_disconnected"]);
        assert_eq!(p[0].detail, "connection refused");
        // An empty error is the reconnected state.
        health.insert(
            "intake.error".to_string(),
            (String::new(), at("2026-11-24T09:58:00Z")),
        );
        assert_eq!(
            kinds(&problems(&config(), &health, &counts, now)),
            ["intake_silent"]
        );
    }

    #[test]
    fn no_mail_for_a_day_is_silence_and_an_outbox_waiting_3_hours_is_stuck() {
        let now = at("2026-11-24T10:00:00Z");
        let counts = Counts {
            last_mail_at: Some(at("2026-11-23T09:59:00Z")),
            outbox_oldest_waiting: Some(at("2026-11-24T07:00:00Z")),
            outbox_waiting: 4,
            ..Counts::default()
        };
        let p = problems(&config(), &BTreeMap::new(), &counts, now);
        assert_eq!(kinds(&p), ["intake_silent", "outbox_stuck"]);
        assert_eq!(p[1].detail, "4 mail(s) waiting");
    }

    #[test]
    fn an_oauth_secret_expiring_in_14_days_is_flagged_and_in_15_days_not() {
        let text = include_str!("../../config/doorstroom.example.toml");
        let start = text.find("kind = \"maildir\"").unwrap();
        let end = text.find("resync_interval = \"5m\"").unwrap();
        let imap = "kind = \"imap\"\nhost = \"outlook.office365.com\"\nuser = \"versneldedoorstroom@woonhaven.example\"\n\
            [mailbox.oauth2]\ntoken_url = \"https://login.example/token\"\nclient_id = \"id\"\n\
            client_secret = \"s\"\nscope = \"https://outlook.office365.com/.default\"\nsecret_expires = \"2026-12-08\"\n";
        let text = format!(
            "{}{imap}{}",
            &text[..start],
            &text[end + "resync_interval = \"5m\"".len()..]
        );
        let config =
            Config::parse(&text, std::path::Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}"));
        let counts = Counts {
            last_mail_at: Some(at("2026-11-24T09:00:00Z")),
            ..Counts::default()
        };
        let p = problems(
            &config,
            &BTreeMap::new(),
            &counts,
            at("2026-11-24T10:00:00Z"),
        );
        assert_eq!(kinds(&p), ["secret_expiring"]);
        assert_eq!(p[0].since.as_deref(), Some("2026-12-08"));
        assert!(problems(
            &config,
            &BTreeMap::new(),
            &counts,
            at("2026-11-23T10:00:00Z")
        )
        .is_empty());
    }

    #[test]
    fn a_weekend_without_mail_is_no_silence_and_alerts_wait_for_working_hours() {
        let c = config();
        // The last mail on Friday 4 December 2026 at 16:00 (Brussels, 15:00 UTC).
        let counts = Counts {
            last_mail_at: Some(at("2026-12-04T15:00:00Z")),
            ..Counts::default()
        };
        for (now, silent, due) in [
            // Saturday and Sunday: nothing, and no mail to the admins either.
            ("2026-12-05T16:00:00Z", false, false),
            ("2026-12-06T23:00:00Z", false, false),
            // Monday 08:00: 8 h of the working days since.
            ("2026-12-07T07:00:00Z", false, true),
            // Monday 16:01: a working day of silence.
            ("2026-12-07T15:01:00Z", true, true),
            // Monday 19:00: still silent, but the alert waits for Tuesday 08:00.
            ("2026-12-07T18:00:00Z", true, false),
        ] {
            let p = problems(&c, &BTreeMap::new(), &counts, at(now));
            assert_eq!(kinds(&p) == ["intake_silent"], silent, "{now}: {p:?}");
            assert_eq!(alerts_due(&c, at(now)), due, "{now}");
        }
    }

    #[test]
    fn the_alert_of_one_problem_has_one_key_per_day() {
        let p = Problem {
            kind: "outbox_stuck",
            key: String::new(),
            since: None,
            detail: String::new(),
        };
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        assert_eq!(p.notice(d(24)).effect_key(), p.notice(d(24)).effect_key());
        assert_ne!(p.notice(d(24)).effect_key(), p.notice(d(25)).effect_key());
    }
}
