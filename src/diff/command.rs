//! `gitops-env diff`: the manifest diff of a change as the PR comment would show it, offline —
//! for local use and for the README's example. Argument syntax and output only; the work is
//! detection, then the diff stage, then the report's comment layout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::EXIT_BAD_INPUT;
use crate::pipeline::assemble;
use crate::plan::{Action, Plan, Step, Target};
use crate::report::comment_body;

/// Arguments of `gitops-env diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The repository (a git work tree).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// The old side (any revision).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The new side.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,
    /// The configuration file, relative to the repository.
    #[arg(long, value_name = "FILE", default_value = ".github/gitops-env.yaml")]
    pub config: String,
    /// Write the comment body to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// Runs the command. Exit codes: 0 diffed, 1 a unit failed to render (shown in the comment),
/// 2 bad input (repository, revisions, configuration).
pub fn run(args: DiffArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let (config, detection) =
        match crate::pipeline::detect_between(&args.repo, &args.base, &args.head, &args.config) {
            Ok(found) => found,
            Err(err) => {
                let _ = writeln!(stderr, "error: {err}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
    let changes = crate::pipeline::changes::changes_by_environment(&config, &detection);
    let steps = changes
        .iter()
        .flat_map(|(environment, units)| {
            units.iter().map(move |change| Step {
                target: Target::Environment { name: environment.clone() },
                unit: Some(change.unit.clone()),
                action: Action::DiffOnly,
                reason: "diff".into(),
                blocked: None,
            })
        })
        .collect();
    let plan = Plan {
        event: "diff".into(),
        summary: format!("{} → {}", args.base, args.head),
        steps,
        pull_request: None,
        notes: detection.notes.clone(),
    };
    let report = assemble::planned_report(&plan, &detection, "diff", "gitops-env diff", &config);
    let body = comment_body(&report).body;
    let written = match &args.markdown {
        Some(path) => std::fs::write(path, &body),
        None => writeln!(stdout, "{body}"),
    };
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: writing the diff: {err}");
        return ExitCode::FAILURE;
    }
    if detection.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
