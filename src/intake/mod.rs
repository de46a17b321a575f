//! Intake: reading the shared mailbox exactly once per mail.
pub mod imap;
