//! `doorstroom`: the shared mailbox of accelerated allocation (versnelde doorstroom), turned into cases.
//!
//! Partners (care organisations) keep mailing the landlord's shared mailbox as they do today.
//! `doorstroom` reads that mailbox, understands each mail, keeps the case file (dossier) of every
//! referred candidate, and sends the mails a careful coordinator would: acknowledgements, notices to
//! the social assistant, the monthly agenda, reminders and escalations.
//!
//! # Layout
//!
//! Top to bottom: a module may use only the modules its row names in "may use", all of them
//! further down, so dependencies point one way. `cargo test --test integration layers` reads
//! this table and fails on any `crate::` path that points elsewhere, and on any import cycle
//! between modules (files); see `tests/integration/layers.rs`.
//!
//! | module | owns | never does | may use |
//! | --- | --- | --- | --- |
//! | [`cli`] | the command line an admin types: parsing it, logging, exit codes | anything the daemon would do differently | `commands`, `daemon`, `metrics`, `context`, `intake`, `jobs`, `outbox`, `oauth`, `store`, `case`, `calendar`, `understand`, `memory`, `output`, `config` |
//! | [`commands`] | one module per admin command | starting the daemon or anything it would do differently | `context`, `intake`, `jobs`, `outbox`, `oauth`, `store`, `case`, `calendar`, `understand`, `memory`, `output`, `config` |
//! | [`daemon`] | start-up and shutdown of the long-running service, leases, systemd | business logic | `metrics`, `context`, `intake`, `jobs`, `outbox`, `oauth`, `store`, `case`, `calendar`, `understand`, `memory`, `output`, `config` |
//! | [`intake`] | reading the mailbox (IMAP, Maildir, .eml files) exactly once per mail | deciding what a mail means | `context`, `outbox`, `oauth`, `store`, `case`, `calendar`, `understand`, `memory`, `config` |
//! | [`jobs`] | the periodic work: agenda, escalations, digests, retention | talking SMTP or IMAP directly | `context`, `outbox`, `store`, `case`, `calendar`, `understand`, `memory`, `config` |
//! | [`metrics`] | the optional Prometheus endpoint: figures read from the store, as text | changing anything, showing case data | `store`, `config` |
//! | [`context`] | what tasks share: the store and the current config; opening the store | anything else | `outbox`, `store`, `config` |
//! | [`outbox`] | composing mails from templates and delivering them exactly once | deciding who may receive what (that is [`outbox::guard`]) | `oauth`, `store`, `case`, `calendar`, `understand`, `config` |
//! | [`oauth`] | OAuth2 client-credentials tokens for XOAUTH2 (IMAP and SMTP), cached | logging tokens or secrets | `config` |
//! | [`store`] | every SQL statement, migrations, the one `Store` type over SQLite or PostgreSQL | domain decisions | `case`, `calendar`, `understand`, `config` |
//! | [`case`] | the case (dossier), its status transitions, milestones, and applying a `Decision` | I/O of any kind | `calendar`, `understand`, `config` |
//! | [`calendar`] | meeting dates (nth-to-last weekday), Belgian holidays, closing days | I/O of any kind | `config` |
//! | [`understand`] | `triage(raw bytes, register, config) -> Decision`: parsing, classification, threading | I/O of any kind | `config` |
//! | [`memory`] | giving freed heap memory back to the OS when a burst of work is over | allocating | nothing |
//! | [`output`] | stdout for the commands: a closed pipe (`\| head`) ends quietly with exit 0 | printing anything else | nothing |
//! | `counted` | tests only: the bytes a test's code allocates on its thread, so linearity is shown by work counted, not by time | being compiled outside tests | nothing |
//! | [`config`] | the config file: raw serde types, validation, diagnostics with line:column, and the vocabulary every layer speaks ([`config::vocabulary`]) | network or database I/O | nothing |
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
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod output;
pub mod store;
pub mod understand;

pub use oauth::install_crypto_provider;

#[cfg(test)]
pub(crate) mod counted;
