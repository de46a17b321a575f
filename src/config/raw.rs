//! The config file as written: plain serde types that mirror the TOML one to one.
//!
//! Every table denies unknown keys, so a typo is an error, never a silently ignored setting.
//! Nothing here judges values (that is [`super::validate`]); required keys are `Option`s so that
//! validation can report every missing key at once instead of serde stopping at the first.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub organisation: Option<RawOrganisation>,
    pub mailbox: Option<RawMailbox>,
    pub smtp: Option<RawSmtp>,
    pub database: Option<RawDatabase>,
    #[serde(default, rename = "social_assistant")]
    pub social_assistants: Vec<RawPerson>,
    #[serde(default, rename = "partner")]
    pub partners: Vec<RawPartner>,
    #[serde(default, rename = "programme")]
    pub programmes: Vec<RawProgramme>,
    pub meeting: Option<RawMeeting>,
    #[serde(default)]
    pub escalation: Vec<RawEscalationStep>,
    pub digest: Option<RawDigest>,
    pub retention: Option<RawRetention>,
    pub health: Option<RawHealth>,
    pub triage: Option<RawTriage>,
    pub templates: Option<RawTemplates>,
    pub limits: Option<super::limits::RawLimits>,
    pub metrics: Option<RawMetrics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    pub id: Option<String>,
    pub name: Option<String>,
    pub shared_mailbox: Option<String>,
    pub time_zone: Option<String>,
    #[serde(default)]
    pub coordinators: Vec<RawPerson>,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub staff_domains: Vec<String>,
    pub authserv_id: Option<String>,
    /// The trust anchor: "authserv-id", "exchange-online", "google-workspace" or "none".
    pub trust: Option<String>,
    pub case_reference: Option<String>,
    pub office_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMailbox {
    pub kind: Option<String>,
    pub path: Option<String>,
    pub seed_from: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub password_credential: Option<String>,
    pub oauth2: Option<RawOauth2>,
    pub inbox: Option<String>,
    pub processed: Option<String>,
    pub quarantine: Option<String>,
    pub resync_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOauth2 {
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<String>,
    pub client_secret_credential: Option<String>,
    pub scope: Option<String>,
    pub secret_expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub transport: Option<String>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub password_credential: Option<String>,
    pub oauth2: Option<RawOauth2>,
    pub retry_for: Option<String>,
    pub rate_per_recipient_per_hour: Option<u32>,
    pub copy_grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub agenda_to: Vec<String>,
    pub monthly_quota: Option<u32>,
    pub programme: Option<String>,
    pub teams_link: Option<String>,
    pub meeting_place: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProgramme {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub required_documents: Vec<String>,
    pub guidance_months: Option<u32>,
    pub extension_step_months: Option<u32>,
    pub final_report_within_days: Option<u32>,
    pub opened_by: Option<String>,
    pub other_guidance: Option<bool>,
    pub answer_within_days: Option<u32>,
    pub reopen_within_months: Option<u32>,
    #[serde(default)]
    pub referral_checklist: Vec<String>,
    #[serde(default, rename = "milestone")]
    pub milestones: Vec<RawMilestone>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMilestone {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub after_months: Option<u32>,
    pub after_days: Option<u32>,
    pub every_months: Option<u32>,
    pub remind_weeks_before: Option<u32>,
    pub counsellor_attends: Option<bool>,
    pub discuss_at_meeting: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeeting {
    pub meeting_weekday: Option<String>,
    pub meeting_nth_last: Option<u32>,
    pub agenda_weekday: Option<String>,
    pub agenda_nth_last: Option<u32>,
    pub agenda_time: Option<String>,
    pub meeting_time: Option<String>,
    pub duration_minutes: Option<u32>,
    pub online: Option<bool>,
    pub teams_link: Option<String>,
    #[serde(default)]
    pub closing_days: Vec<String>,
    pub on_closing_day: Option<String>,
    pub conclusions_reminder_working_days: Option<u32>,
    pub candidate_display: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalationStep {
    pub after_days: Option<u32>,
    pub notify: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    pub daily: Option<String>,
    pub weekly: Option<String>,
    pub send_when_empty: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub anonymise_after_months: Option<u32>,
    pub keep_raw_mail_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub intake_silent_after: Option<String>,
    pub outbox_stuck_after: Option<String>,
    pub working_days: Option<Vec<String>>,
    pub working_hours: Option<String>,
}

/// Keyword lists for classification. Every list is optional: an absent list keeps the Dutch
/// defaults of [`crate::understand::keywords`], a present one replaces them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTriage {
    pub referral_words: Option<Vec<String>>,
    pub urgent_words: Option<Vec<String>>,
    pub concern_words: Option<Vec<String>>,
    pub contact_change_words: Option<Vec<String>>,
    pub handover_words: Option<Vec<String>>,
    pub final_report_words: Option<Vec<String>>,
    pub discussion_words: Option<Vec<String>>,
    pub lease_start_words: Option<Vec<String>>,
    pub conclusion_words: Option<Vec<String>>,
    pub bulk_words: Option<Vec<String>>,
    pub preventive_request_words: Option<Vec<String>>,
    pub take_on_words: Option<Vec<String>>,
    pub good_news_words: Option<Vec<String>>,
    pub decline_words: Option<Vec<String>>,
    pub action_plan_words: Option<Vec<String>>,
    pub housing_goal_words: Option<Vec<String>>,
    pub closing_words: Option<Vec<String>>,
    pub titles: Option<Vec<String>>,
    pub out_of_office_words: Option<Vec<String>>,
    pub out_of_office_redirect_words: Option<Vec<String>>,
    pub cir_labels: Option<Vec<String>>,
    pub confidence_threshold: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplates {
    pub dir: Option<String>,
    pub signature: Option<String>,
    pub guide_url: Option<String>,
}
