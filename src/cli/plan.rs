//! `gitops-env plan`: what a run would do, without a cluster or GitHub — the plan table, and the
//! PR comment it would post. The pipeline up to the diff, for a push to each branch.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kustomize::LoadRestrictor;

use crate::pipeline::{Context, Quiet, Revisions, RunOptions, Stop};
use crate::plan::Trigger;
use crate::report::comment_body;
use crate::timestamp::Timestamp;

/// Arguments of `gitops-env plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The repository's top folder (a git work tree when --base is given).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// The diff base (any revision); without it every unit is planned as new.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The new side (with --base).
    #[arg(long, value_name = "REV", default_value = "HEAD", requires = "base")]
    pub head: String,
    /// Plan a push to this branch (a preview branch, or an environment's branch). Default: a
    /// push to every environment's branch.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// The configuration file, relative to the repository.
    #[arg(long, value_name = "FILE", default_value = ".github/gitops-env.yaml")]
    pub config: String,
    /// Also write the plan as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the PR comment to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub sources: super::SourceArgs,
}

/// Runs the command. Exit codes: 0 planned, 1 a unit failed to render (the plan shows it as
/// blocked), 2 bad input (repository, revisions, configuration).
pub fn run(
    args: PlanArgs,
    env: &[(String, String)],
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let head = args.base.as_ref().map(|_| args.head.as_str());
    let config = match super::local_config(&args.repo, &args.config, head) {
        Ok(config) => config,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    let branches = match &args.branch {
        Some(branch) => vec![branch.clone()],
        None => config.environments.iter().map(|env| env.branch.clone()).collect(),
    };
    let build = args.sources.renderer(LoadRestrictor::RootOnly, env, Some(&config));
    let ctx = Context {
        repo: args.repo.clone(),
        repository: None,
        config,
        trigger: Trigger::Push { branches },
        revisions: match &args.base {
            Some(base) => Revisions::Between { base: base.clone(), head: args.head.clone() },
            None => Revisions::WorkTree,
        },
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
    let mut plan = run.plan.clone();
    plan.notes = run.notes.clone();
    let comment = comment_body(&run.report("plan", "gitops-env plan", None)).body;
    let written = (|| -> std::io::Result<()> {
        write!(stdout, "{}", plan.to_table())?;
        if let Some(path) = &args.json {
            std::fs::write(path, plan.to_json())?;
        }
        match &args.markdown {
            Some(path) => std::fs::write(path, &comment)?,
            None => {
                writeln!(stdout, "\n--- the PR comment this plan would post ---\n")?;
                writeln!(stdout, "{comment}")?;
            }
        }
        Ok(())
    })();
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: {err}");
        return ExitCode::FAILURE;
    }
    if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
