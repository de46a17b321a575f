//! The one integration test binary: real databases (SQLite and PostgreSQL) and, from the harness,
//! real Dovecot and Postfix on loopback ports.

mod bounce;
mod cases;
mod corpus;
mod crash;
mod db;
mod intake;
mod jobs;
mod mailstack;
mod outbox;
mod retention;
mod setup;
mod store;
