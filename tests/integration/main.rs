//! The one integration test binary: real databases (SQLite and PostgreSQL) and, from the harness,
//! real Dovecot and Postfix on loopback ports.

mod corpus;
mod db;
mod store;
