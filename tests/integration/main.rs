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
mod faults;
mod handover;
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
mod races;
#[path = "../../benches/support/races.rs"]
mod races_loop;
mod register_scope;
mod retention;
mod setup;
mod steer;
mod store;
#[path = "../../benches/support/mod.rs"]
mod support;
mod threading;
mod traffic;
mod trust;
