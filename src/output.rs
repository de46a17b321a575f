//! What the admin commands print on stdout. A listing piped into `head` closes its pipe early:
//! that is the reader saying "enough", not a fault, so the command ends quietly with exit 0
//! instead of panicking in `println!` ("failed printing to stdout: Broken pipe", exit 101).
//!
//! Every command prints through [`out!`](crate::out) / [`outln!`](crate::outln), and
//! [`crate::cli::main`] treats a broken pipe in an error's chain the same way, for the commands
//! that write with `writeln!` and return the error.

use std::fmt;
use std::io::{self, Write};

/// Write to stdout; a closed pipe ends the process quietly (exit 0), any other write error ends
/// it with one line on stderr (exit 1).
pub fn print(args: fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        write_failed(&e);
    }
}

/// Whether an error (with its causes) is a write into a closed pipe.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = match (
            cause.downcast_ref::<io::Error>(),
            cause.downcast_ref::<serde_json::Error>(),
        ) {
            (Some(e), _) => Some(e.kind()),
            // `serde_json::to_writer` wraps the writer's error in its own.
            (None, Some(e)) => e.io_error_kind(),
            (None, None) => None,
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

fn write_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("doorstroom: error: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// `print!` for the admin commands: a closed stdout pipe ends the command quietly with exit 0.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}

/// `println!` for the admin commands: a closed stdout pipe ends the command quietly with exit 0.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}
