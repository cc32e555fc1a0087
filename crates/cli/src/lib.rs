//! Command-line entry point: parses flags and runs the chosen command.

mod args;
mod commands;
mod duration;
mod status;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, ControllerArgs, EnvoyConfigArgs, RunArgs};

/// Parses the command line and runs it; errors are printed with their causes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::EnvoyConfig(args)) => commands::envoy_config::execute(&args),
        Some(Command::Crd { kind }) => commands::crd::execute(kind.as_deref()),
        None => commands::run::execute(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-broker-router: {e:#}");
            ExitCode::FAILURE
        }
    }
}
