//! # cargo-score-fly
//!
//! The `cargo score-fly` command line: argument parsing (clap), terminal output and one
//! module per command. The work itself is done by [`score_fly_core`].
//!
//! ```text
//! cargo score-fly generate [FILE]... [-o PATH] [--app-prefix P] [--image REF]
//!                          [--overrides-file F]... [--override-property PATH=VALUE]...
//! ```
//!
//! Flow: [`cli`] parses arguments into plain `*Args`; each command in [`commands`] resolves
//! them with cargo metadata and the environment into [`settings::Settings`] (one Fly target), does its work through `score_fly_core`, and reports through the
//! [`printer::Printer`] (status and warnings on stderr, machine output on stdout). Errors
//! map to the documented [`exit`] codes.

pub mod cargo;
pub mod cli;
pub mod commands;
pub mod exit;
pub mod failure;
pub mod printer;
pub mod protected;
pub mod render;
pub mod report;
pub mod settings;
pub mod signals;
pub mod sources;
pub mod table;

use std::process::ExitCode;

use clap::Parser as _;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let args = cli::args_without_cargo_subcommand(std::env::args_os());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::SUCCESS };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let session = commands::Session {
        printer: printer::Printer::new(&cli.global),
        lock_timeout: std::time::Duration::from_secs(cli.global.lock_timeout),
    };
    let result = match &cli.command {
        cli::Command::Init(args) => commands::init::run(args, &session),
        cli::Command::Generate(args) => commands::generate::run(args, &session),
        cli::Command::Build(args) => commands::build::run(args, &session),
        cli::Command::Deploy(args) => commands::deploy::run(args, &session),
        cli::Command::Dev(args) => commands::dev::run(args, &session),
        cli::Command::BuiltinProvisioners(args) => commands::builtin::run(args, &session),
        cli::Command::Provisioners(command) => commands::provisioners::run(command, &session),
        cli::Command::Resources(command) => commands::resources::run(command, &session),
        cli::Command::Destroy(args) => commands::destroy::run(args, &session),
        cli::Command::Logs(args) => commands::logs::run(args, &session),
        cli::Command::Status(args) => commands::status::run(args, &session),
        cli::Command::Releases(args) => commands::releases::run(args, &session),
        cli::Command::Rollback(args) => commands::rollback::run(args, &session),
        cli::Command::Completions(args) => commands::completions::run(args, &session),
    };
    match result {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => {
            render::failure(&session.printer, &failure);
            ExitCode::from(failure.exit_code())
        }
    }
}
