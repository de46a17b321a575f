//! The one integration test binary: real databases (SQLite and PostgreSQL) and, from the harness,
//! real Dovecot and Postfix on loopback ports.

mod cases;
mod corpus;
mod crash;
mod db;
mod intake;
mod mailstack;
mod outbox;
mod register_scope;
mod setup;
mod store;
