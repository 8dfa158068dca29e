//! `gitops-env plan`: what a run would do, without a cluster or GitHub — the plan table, and the
//! PR comment it would post. Argument syntax, output and exit codes only; the work is detection
//! (or, without a base, rendering every unit as new), then `decide`, then the report.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kustomize::DiskFs;

use crate::actions::event::{Event, PushEvent, Repository};
use crate::actions::inputs::Inputs;
use crate::cli::EXIT_BAD_INPUT;
use crate::config::Config;
use crate::detect::render_with_kustomize;
use crate::pipeline::{self, assemble, changes};
use crate::plan::{Plan, State, decide};
use crate::report::comment_body;
use crate::units;

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
}

/// Runs the command. Exit codes: 0 planned (even with failed units, which the plan shows as
/// blocked), 2 bad input (repository, revisions, configuration).
pub fn run(args: PlanArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    match plan(&args) {
        Ok((plan, comment)) => match write_outputs(&args, &plan, &comment, stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                let _ = writeln!(stderr, "error: {err}");
                ExitCode::FAILURE
            }
        },
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn plan(args: &PlanArgs) -> Result<(Plan, String), String> {
    let (config, detection) = match &args.base {
        None => {
            let fs = DiskFs::new(&args.repo)
                .map_err(|err| format!("repository {}: {err}", args.repo.display()))?;
            let config = pipeline::load_config(&fs, &args.config, &Inputs::default())
                .map_err(|err| err.to_string())?;
            let detection = crate::detect::everything_new(
                &fs,
                &pipeline::unit_selection(&config),
                &units::read_kustomization,
                &render_with_kustomize,
            )
            .map_err(|err| err.to_string())?;
            (config, detection)
        }
        Some(base) => pipeline::detect_between(&args.repo, base, &args.head, &args.config)?,
    };
    let state = State {
        changes: changes::changes_by_environment(&config, &detection),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        ..State::default()
    };
    let branches: Vec<String> = match &args.branch {
        Some(branch) => vec![branch.clone()],
        None => config.environments.iter().map(|env| env.branch.clone()).collect(),
    };
    let mut plan = merged_push_plans(&branches, &config, &state);
    plan.notes.extend(detection.notes.iter().cloned());
    let report = assemble::planned_report(&plan, &detection, "plan", "gitops-env plan", &config);
    Ok((plan, comment_body(&report).body))
}

/// The plan of a push to each branch, as one plan.
fn merged_push_plans(branches: &[String], config: &Config, state: &State) -> Plan {
    let mut plans = branches.iter().map(|branch| {
        let push = Event::Push(PushEvent {
            git_ref: format!("refs/heads/{branch}"),
            before: "0".repeat(40),
            after: "0".repeat(39) + "1",
            created: false,
            deleted: false,
            forced: false,
            repository: Repository {
                full_name: "local/repository".into(),
                default_branch: None,
                fork: false,
            },
        });
        decide(&push, config, state)
    });
    let mut merged = plans.next().expect("at least one branch");
    for plan in plans {
        merged.summary = format!("{}; {}", merged.summary, plan.summary);
        merged.steps.extend(plan.steps);
        merged.notes.extend(plan.notes);
    }
    merged
}

fn write_outputs(
    args: &PlanArgs,
    plan: &Plan,
    comment: &str,
    stdout: &mut dyn Write,
) -> std::io::Result<()> {
    write!(stdout, "{}", plan.to_table())?;
    if let Some(path) = &args.json {
        std::fs::write(path, plan.to_json())?;
    }
    match &args.markdown {
        Some(path) => std::fs::write(path, comment)?,
        None => {
            writeln!(stdout, "\n--- the PR comment this plan would post ---\n")?;
            writeln!(stdout, "{comment}")?;
        }
    }
    Ok(())
}
