//! The one integration test binary: real databases (SQLite and PostgreSQL) and, from the harness,
//! real Dovecot and Postfix on loopback ports.

mod abuse;
mod batch;
mod bounce;
mod cases;
mod check;
mod corpus;
mod crash;
mod daemon;
mod db;
mod hostile;
mod hostile_mail;
mod ingest;
mod install;
mod intake;
mod jobs;
mod layers;
mod load;
mod mailstack;
mod meetings;
mod operate;
mod outage;
mod outbox;
mod preventive;
mod privacy;
mod register_scope;
mod retention;
mod setup;
mod steer;
mod store;
mod threading;
mod trust;
