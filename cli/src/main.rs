//! `hagen`: a thin command line over hagen-core. Parses arguments, reads files, calls
//! the core, prints, and exits with the contract's codes: 0 ok (warnings allowed),
//! 1 findings at error level, 2 usage or I/O failure.

mod args;
mod cmd;
#[cfg(target_os = "linux")]
mod rehearse;
mod write;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes of the contract.
pub mod exit {
    /// Nothing at error level.
    pub const OK: u8 = 0;
    /// The input has errors.
    pub const FINDINGS: u8 = 1;
    /// Usage or I/O failure.
    pub const FAILURE: u8 = 2;
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let code = match cli.command {
        args::Command::Validate(a) => cmd::validate::run(&a),
        args::Command::Render(a) => cmd::render::run(&a),
        args::Command::Lint(a) => cmd::lint::run(&a),
        args::Command::Import(a) => cmd::import::run(&a),
        args::Command::Plan(a) => cmd::plan::run(&a),
        args::Command::Schema => cmd::schema::run(),
        args::Command::Explain(a) => cmd::explain::run(&a),
        args::Command::Init(a) => cmd::init::run(&a),
        #[cfg(target_os = "linux")]
        args::Command::Rehearse(a) => rehearse::run(&a),
        args::Command::Completions { shell } => {
            let mut command = <args::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "hagen", &mut std::io::stdout());
            exit::OK
        }
    };
    ExitCode::from(code)
}
