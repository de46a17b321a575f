//! One module per admin command: parse nothing, call the library, print.

pub mod triage;
