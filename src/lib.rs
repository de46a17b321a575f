//! `doorstroom`: the shared mailbox of accelerated allocation (versnelde doorstroom), turned into cases.
//!
//! Partners (care organisations) keep mailing the landlord's shared mailbox as they do today.
//! `doorstroom` reads that mailbox, understands each mail, keeps the case file (dossier) of every
//! referred candidate, and sends the mails a careful coordinator would: acknowledgements, notices to
//! the social assistant, the monthly agenda, reminders and escalations.
//!
//! # Layout
//!
//! | module | owns | never does |
//! | --- | --- | --- |
//! | [`config`] | the config file: raw serde types, validation, diagnostics with line:column | network or database I/O |
//! | [`store`] | every SQL statement, migrations, the one `Store` type over SQLite or PostgreSQL | domain decisions |
//! | [`understand`] | `triage(raw bytes, register, config) -> Decision`: parsing, classification, threading | I/O of any kind |
//! | [`case`] | the case (dossier), its status transitions, milestones, and applying a `Decision` | I/O of any kind |
//! | [`calendar`] | meeting dates (nth-to-last weekday), Belgian holidays, closing days | I/O of any kind |
//! | [`intake`] | reading the mailbox (IMAP, Maildir, .eml files) exactly once per mail | deciding what a mail means |
//! | [`outbox`] | composing mails from templates and delivering them exactly once | deciding who may receive what (that is [`outbox::guard`]) |
//! | [`jobs`] | the periodic work: agenda, escalations, digests, retention | talking SMTP or IMAP directly |
//! | [`oauth`] | OAuth2 client-credentials tokens for XOAUTH2 (IMAP and SMTP), cached | logging tokens or secrets |
//! | [`daemon`] | start-up and shutdown of the long-running service, leases, systemd | business logic |
//! | [`context`] | what tasks share: the store and the current config | anything else |
//! | [`memory`] | giving freed heap memory back to the OS when a burst of work is over | allocating |
//! | [`output`] | stdout for the commands: a closed pipe (`| head`) ends quietly with exit 0 | printing anything else |
//! | [`cli`], [`commands`] | the command line an admin types; one module per command | anything the daemon would do differently |
//!
//! Every long-running task takes its dependencies, its clock and a shutdown handle as arguments, so
//! that the binary and the tests drive the very same code.

pub mod calendar;
pub mod case;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod daemon;
pub mod intake;
pub mod jobs;
pub mod memory;
pub mod oauth;
pub mod outbox;
pub mod output;
pub mod store;
pub mod understand;

/// Make rustls use the ring crypto provider process-wide (reqwest is built without one); calling
/// it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
pub(crate) mod counted;
