//! One module per admin command: parse nothing (clap did), call the library, print.

pub mod agenda;
pub mod backup;
pub mod cases;
pub mod export_case;
pub mod ingest;
pub mod mails;
pub mod outbox;
pub mod purge;
pub mod schedule;
pub mod status;
pub mod templates;
pub mod triage;
