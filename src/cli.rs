//! The command line: parses arguments with clap and dispatches to one pipeline prefix per
//! command. It owns argument syntax and exit codes, nothing else.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cluster_commands;

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
    /// The GitHub Action's entrypoint: runs the whole pipeline for the workflow's event, reading
    /// the runner's environment (GITHUB_*, INPUT_*).
    Action,
    /// What a run would do: the plan per environment and the PR comment, without a cluster.
    Plan(crate::plan::command::PlanArgs),
    /// The manifest diff of a change between two revisions, as the PR comment would show it.
    Diff(crate::diff::command::DiffArgs),
    /// Build kustomization directories as `kubectl kustomize` would.
    Render(crate::render::RenderArgs),
    /// Which units a change between two revisions affects (read sets, then render refinement).
    Detect(crate::detect::command::DetectArgs),
    /// Render units and apply them to an environment (server-side apply, prune, wait).
    Deploy(cluster_commands::DeployArgs),
    /// Tear down a preview environment: its objects, its namespace, its inventory.
    Teardown(cluster_commands::TeardownArgs),
    /// Tear down the previews whose time to live ran out.
    Sweep(cluster_commands::SweepArgs),
}

pub fn run(
    args: Vec<OsString>,
    env: &[(String, String)],
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
        Command::Action => crate::action::run(env, stdout, stderr),
        Command::Diff(args) => crate::diff::command::run(args, stdout, stderr),
        Command::Plan(args) => crate::plan::command::run(args, stdout, stderr),
        Command::Render(args) => crate::render::run(&args, stdout, stderr),
        Command::Detect(args) => crate::detect::command::run(args, stdout, stderr),
        Command::Deploy(args) => cluster_commands::deploy(args, stdout, stderr),
        Command::Teardown(args) => cluster_commands::teardown(args, stdout, stderr),
        Command::Sweep(args) => {
            // The clock is read here, at the edge; the stages take the instant as data.
            let seconds = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            cluster_commands::sweep(args, crate::timestamp::Timestamp(seconds), stdout, stderr)
        }
    }
}
