//! The `doorstroom` binary: parse the command line, run it, turn any error into one clear line.

use std::process::ExitCode;

fn main() -> ExitCode {
    doorstroom::cli::main()
}
