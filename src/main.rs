//! The `newsclass` command line: parse, dispatch, print the error chain, exit with 0 / 1 / 2.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("newsclass: error: {}", cli::render(&e));
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
