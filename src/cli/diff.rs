//! `gitops-env diff`: the manifest diff of a change as the PR comment would show it, offline —
//! for local use and for the README's example. The pipeline up to the diff, for every
//! environment.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kustomize::LoadRestrictor;

use crate::pipeline::{Context, Quiet, Revisions, RunOptions, Stop};
use crate::plan::Trigger;
use crate::report::comment_body;
use crate::timestamp::Timestamp;

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
    #[command(flatten)]
    pub sources: super::SourceArgs,
}

/// Runs the command. Exit codes: 0 diffed, 1 a unit failed to render (shown in the comment),
/// 2 bad input (repository, revisions, configuration).
pub fn run(
    args: DiffArgs,
    env: &[(String, String)],
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let config = match super::local_config(&args.repo, &args.config, Some(&args.head)) {
        Ok(config) => config,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    let build = args.sources.renderer(LoadRestrictor::RootOnly, env, Some(&config));
    let ctx = Context {
        repo: args.repo.clone(),
        repository: None,
        config,
        trigger: Trigger::Diff,
        revisions: Revisions::Between { base: args.base.clone(), head: args.head.clone() },
        options: RunOptions::default(),
        clusters: Default::default(),
        github: None,
        run_url: None,
        commit: None,
        now,
        build,
    };
    let Some(runtime) = super::runtime(stderr) else { return ExitCode::FAILURE };
    let run = match runtime.block_on(crate::pipeline::run(&ctx, Stop::Diff, &mut Quiet)) {
        Ok(run) => run,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return super::exit_for(&err);
        }
    };
    let body = comment_body(&run.report("diff", "gitops-env diff", None)).body;
    let written = match &args.markdown {
        Some(path) => std::fs::write(path, &body),
        None => writeln!(stdout, "{body}"),
    };
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: writing the diff: {err}");
        return ExitCode::FAILURE;
    }
    if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
