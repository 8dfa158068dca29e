//! The command line: parses arguments with clap and dispatches to one pipeline prefix per
//! command. It owns argument syntax and exit codes, nothing else.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for bad input or configuration.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "gitops-env",
    version,
    about = "Preview, testing and production environments on Kubernetes from a Kustomize repository",
    long_about = "Turns a Kustomize-structured Git repository into preview, testing and production \
                  environments, driven by branches: feat/* gets a per-branch preview, develop is \
                  testing, main is production."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What a run would do: the plan per environment and the PR comment, without a cluster.
    Plan(crate::plan::command::PlanArgs),
    /// Build kustomization directories as `kubectl kustomize` would.
    Render(crate::render::RenderArgs),
    /// Which units a change between two revisions affects (read sets, then render refinement).
    Detect(crate::detect::command::DetectArgs),
}

pub fn run(
    args: Vec<OsString>,
    _env: &[(String, String)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let is_help = !err.use_stderr();
            let out: &mut dyn Write = if is_help { stdout } else { stderr };
            let _ = write!(out, "{}", err.render());
            return if is_help { ExitCode::SUCCESS } else { ExitCode::from(EXIT_BAD_INPUT) };
        }
    };
    match cli.command {
        Command::Plan(args) => crate::plan::command::run(args, stdout, stderr),
        Command::Render(args) => crate::render::run(&args, stdout, stderr),
        Command::Detect(args) => {
            crate::detect::command::run(args, &crate::detect::render_with_kustomize, stdout, stderr)
        }
    }
}
