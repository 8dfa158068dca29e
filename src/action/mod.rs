//! `gitops-env action`: the container's entrypoint. It runs the whole pipeline for the event
//! that started the workflow and reports on it.
//!
//! The sequence (ARCHITECTURE.md): read the runner's context, inputs and settings (masking
//! secrets before anything is printed) → the event → current state (the PR as GitHub reports it
//! now, existing previews for a sweep) → detection (diff base per PRODUCT §3, affected units) →
//! the plan (pure) → execution (`execute`: preview transforms, apply, prune, teardown) → report
//! (sticky comment, deployments, job summary, annotations, step outputs).
//!
//! It decides from current state, not only from the event: a PR that closed before or during
//! the run gets no preview (a preview deployed meanwhile is torn down again), and a PR whose
//! head moved past the commit being deployed is reported as superseded instead of deploying an
//! older commit. A unit that failed to render blocks every change of the run: nothing is applied
//! or pruned, the comment says why, and the action fails.
//!
//! Exit codes: 0 success or nothing to do, 1 failure, 2 bad input or configuration.

pub mod context;
mod execute;
mod state;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kustomize::DiskFs;

use crate::actions::commands::{self, Location, Severity};
use crate::actions::event::Event;
use crate::actions::inputs::Inputs;
use crate::actions::outputs::write_outputs;
use crate::cluster::{KubeconfigSource, Target as ClusterTarget};
use crate::config::{ClusterSlot, Config, parse_duration};
use crate::github::{ClientConfig, GitHubClient, GitHubToken, RepoName, StickyMarker};
use crate::image_override::{ImageOverride, parse_image_overrides};
use crate::pipeline::{self, assemble};
use crate::plan::{Action, Plan, State, Target, decide};
use crate::report::{self, Report, UnitStatus};
use context::RunContext;
use execute::{Executor, StepOutcome};

/// Exit code for bad input or configuration.
const EXIT_BAD_INPUT: u8 = 2;

/// Input that keeps the action from running, with where it came from.
#[derive(Debug)]
struct BadInput {
    message: String,
    file: Option<String>,
}

impl BadInput {
    fn new(message: impl Into<String>) -> BadInput {
        BadInput { message: message.into(), file: None }
    }
}

/// How the run behaves, from the action's inputs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub comment: bool,
    pub deployments: bool,
    pub prune: bool,
    pub dry_run: bool,
    pub force_conflicts: bool,
    pub wait_timeout: Duration,
    pub images: Vec<ImageOverride>,
}

/// Everything read before the run touches anything.
struct Setup {
    ctx: RunContext,
    repo_path: PathBuf,
    repo: RepoName,
    config: Config,
    event: Event,
    options: RunOptions,
    clusters: Vec<(ClusterSlot, ClusterTarget)>,
    github: Option<GitHubClient>,
}

/// Runs the action for the workflow run described by `env`.
pub fn run(env: &[(String, String)], stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let inputs = Inputs::from_env(env);
    // Before anything else is printed: the runner hides these values from every later line.
    for secret in inputs.secrets() {
        let _ = commands::mask(stdout, secret);
    }
    let setup = match Setup::read(env, &inputs) {
        Ok(setup) => setup,
        Err(bad) => {
            let location = Location {
                file: bad.file,
                line: None,
                title: Some("gitops-env: bad input".into()),
            };
            let _ = writeln!(
                stdout,
                "{}",
                commands::annotation(Severity::Error, &location, &bad.message)
            );
            let _ = writeln!(stderr, "error: {}", bad.message);
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(setup.run(stdout, stderr))
}

impl Setup {
    fn read(env: &[(String, String)], inputs: &Inputs) -> Result<Setup, BadInput> {
        let ctx = RunContext::from_env(env).map_err(|err| BadInput::new(err.to_string()))?;
        let repo_path = ctx.workspace.join(inputs.get("working-directory"));
        let fs = DiskFs::new(&repo_path).map_err(|err| {
            BadInput::new(format!("input `working-directory`: {}: {err}", repo_path.display()))
        })?;
        let config_file = inputs.get("config-file");
        let config = pipeline::load_config(&fs, config_file, inputs).map_err(|err| BadInput {
            file: (!err.origin.starts_with("input")).then(|| err.origin.clone()),
            message: err.to_string(),
        })?;
        let payload = match &ctx.event_path {
            Some(path) => Some(std::fs::read(path).map_err(|err| {
                BadInput::new(format!("GITHUB_EVENT_PATH {}: {err}", path.display()))
            })?),
            None => None,
        };
        let source =
            ctx.event_path.as_ref().map_or("(no payload)".into(), |p| p.display().to_string());
        let event = Event::parse(&ctx.event_name, payload.as_deref(), &source)
            .map_err(|err| BadInput::new(err.to_string()))?;
        let input_error = |err: crate::actions::inputs::InputError| BadInput::new(err.to_string());
        let options = RunOptions {
            comment: inputs.bool("comment").map_err(input_error)?,
            deployments: inputs.bool("deployments").map_err(input_error)?,
            prune: inputs.bool("prune").map_err(input_error)?,
            dry_run: inputs.bool("dry-run").map_err(input_error)?,
            force_conflicts: inputs.bool("force-conflicts").map_err(input_error)?,
            wait_timeout: parse_duration(inputs.get("wait-timeout"))
                .map_err(|m| BadInput::new(format!("input `wait-timeout`: {m}")))?,
            images: parse_image_overrides(inputs.get("images"))
                .map_err(|err| BadInput::new(format!("input `images`: {err}")))?,
        };
        let mut clusters = Vec::new();
        for (slot, kubeconfig, context) in [
            (ClusterSlot::Testing, "kubeconfig-testing", "context-testing"),
            (ClusterSlot::Production, "kubeconfig-production", "context-production"),
        ] {
            if let Some(content) = inputs.non_empty(kubeconfig) {
                clusters.push((
                    slot,
                    ClusterTarget {
                        kubeconfig: KubeconfigSource::Inline(content.to_owned()),
                        context: inputs.non_empty(context).map(str::to_owned),
                    },
                ));
            }
        }
        let repo: RepoName = ctx
            .repository
            .parse()
            .map_err(|err: crate::github::GitHubError| BadInput::new(err.to_string()))?;
        let github = match inputs.non_empty("github-token") {
            Some(token) => Some(
                GitHubClient::new(ClientConfig::from_env(env, GitHubToken::new(token)))
                    .map_err(|err| BadInput::new(format!("input `github-token`: {err}")))?,
            ),
            None => None,
        };
        Ok(Setup { ctx, repo_path, repo, config, event, options, clusters, github })
    }

    async fn run(self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
        let now = unix_now();
        // 1. Current state: the PR as it is now, existing previews (for a sweep).
        let pull = match state::current_pull_request(&self.event, self.github.as_ref(), &self.repo)
            .await
        {
            Ok(pull) => pull,
            Err(err) => return fail(stdout, stderr, &format!("reading the pull request: {err}")),
        };
        let previews = if matches!(self.event, Event::Schedule) {
            match state::existing_previews(&self, pull.as_ref()).await {
                Ok(previews) => previews,
                Err(err) => return fail(stdout, stderr, &format!("listing previews: {err}")),
            }
        } else {
            Vec::new()
        };

        // 2. Detection: what the change affects.
        let _ = commands::group_start(stdout, "gitops-env: detecting affected units");
        let mut detected = state::detect(&self, pull.as_ref(), None);
        // A clone too shallow to compare: GitHub's listing of the changed files stands in.
        if let (Err(state::DetectFailure::NeedsListing { base, head, message }), Some(github)) =
            (&detected, &self.github)
        {
            let (base, head, message) = (base.clone(), head.clone(), message.clone());
            detected = match state::github_listing(github, &self.repo, &base, &head).await {
                Ok(listing) => state::detect(&self, pull.as_ref(), Some(&listing)),
                Err(err) => Err(state::DetectFailure::Other(format!(
                    "{message}; the GitHub API could not list the changes either: {err}"
                ))),
            };
        }
        let detection = match detected {
            Ok(detection) => detection,
            Err(err) => {
                let _ = commands::group_end(stdout);
                return fail(stdout, stderr, &err.to_string());
            }
        };
        let _ = commands::group_end(stdout);

        // 3. The plan.
        let state = State {
            pull_request: pull.as_ref().map(|p| p.state.clone()),
            previews,
            changes: pipeline::changes::changes_by_environment(&self.config, &detection),
            now,
        };
        let plan = decide(&self.event, &self.config, &state);
        let _ = commands::group_start(stdout, "gitops-env: plan");
        let _ = write!(stdout, "{}", plan.to_table());
        let _ = commands::group_end(stdout);
        if let Err(err) = self.write_plan_outputs(&plan) {
            return fail(stdout, stderr, &format!("writing the plan outputs: {err}"));
        }

        // 4. Execution, unless something says not to.
        let superseded = pull.as_ref().and_then(|p| p.superseded_by.clone());
        let mut report =
            assemble::planned_report(&plan, &detection, "preview", "gitops-env", &self.config);
        report.run_url = self.ctx.run_url();
        let mut notes = Vec::new();
        let mut preview_namespace = None;
        let blocked = plan.has_blocked_steps();
        if let Some(newer) = &superseded {
            notes.push(format!("superseded: the pull request's head moved to {newer}; this run deploys nothing (the newer commit's run will)"));
        } else if blocked {
            notes.push(
                "a unit failed to render: nothing was applied, pruned or torn down in this run"
                    .to_owned(),
            );
        } else if plan.steps.iter().any(|s| s.action != Action::DiffOnly) {
            let executor =
                Executor { setup: &self, detection: &detection, pull: pull.as_ref(), now };
            let outcomes = executor.execute(&plan).await;
            preview_namespace = outcomes.preview_namespace.clone();
            apply_outcomes(&mut report, &outcomes.steps);
            notes.extend(outcomes.notes);
        }
        for note in &notes {
            let _ = writeln!(
                stdout,
                "{}",
                commands::annotation(Severity::Notice, &Location::default(), note)
            );
        }

        // 5. Report.
        let failed = blocked || report.units.iter().any(|u| u.status == UnitStatus::Failed);
        // A superseded run must not overwrite the comment: the newer commit's run owns it, and
        // may already have reported what it deployed.
        let update_comment = superseded.is_none();
        let published = self
            .publish(&plan, &report, preview_namespace.as_deref(), update_comment, stdout)
            .await;
        if let Err(err) = &published {
            let _ = writeln!(stderr, "error: reporting: {err}");
        }
        if failed || published.is_err() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
    }

    fn write_plan_outputs(&self, plan: &Plan) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.ctx.temp_dir)?;
        let plan_path = self.ctx.temp_dir.join("gitops-env-plan.json");
        std::fs::write(&plan_path, plan.to_json())?;
        let Some(output) = &self.ctx.output_file else { return Ok(()) };
        let units: BTreeSet<&str> = plan.steps.iter().filter_map(|s| s.unit.as_deref()).collect();
        let environments: BTreeSet<String> = plan
            .steps
            .iter()
            .map(|s| match &s.target {
                Target::Preview(_) => "preview".to_owned(),
                Target::Environment { name } => name.clone(),
            })
            .collect();
        let units = serde_json::to_string(&units).expect("strings serialise");
        let environment = environments.into_iter().collect::<Vec<_>>().join(",");
        write_outputs(
            output,
            &[
                ("plan", &plan_path.display().to_string()),
                ("plan-summary", &plan.summary),
                ("affected-units", &units),
                ("environment", &environment),
            ],
        )
    }

    async fn publish(
        &self,
        plan: &Plan,
        report: &Report,
        preview_namespace: Option<&str>,
        update_comment: bool,
        stdout: &mut dyn Write,
    ) -> Result<(), String> {
        for annotation in report::annotations(report) {
            let _ = writeln!(
                stdout,
                "{}",
                commands::annotation(Severity::Error, &annotation.location, &annotation.message)
            );
        }
        if let Some(summary_file) = &self.ctx.summary_file {
            let used = std::fs::metadata(summary_file).map(|m| m.len() as usize).unwrap_or(0);
            let room = report::JOB_SUMMARY_LIMIT.saturating_sub(used);
            commands::append_step_summary(
                summary_file,
                &report::job_summary_within(report, room).body,
            )
            .map_err(|err| format!("GITHUB_STEP_SUMMARY: {err}"))?;
        }
        let urls = report::preview_urls(report);
        if let Some(output) = &self.ctx.output_file {
            let urls_json = serde_json::to_string(&urls).expect("strings serialise");
            write_outputs(
                output,
                &[
                    ("preview-urls", &urls_json),
                    ("preview-namespace", preview_namespace.unwrap_or_default()),
                ],
            )
            .map_err(|err| format!("GITHUB_OUTPUT: {err}"))?;
        }
        if let (Some(github), Some(number), true) =
            (&self.github, plan.pull_request, self.options.comment && update_comment)
            && !report.units.is_empty()
        {
            let rendered = report::comment_body(report);
            let marker = StickyMarker::from_line(&report::comment_marker(&report.kind))
                .ok_or("the report's comment marker is not a valid sticky marker")?;
            github
                .upsert_sticky_comment(&self.repo, number, &marker, &rendered.body)
                .await
                .map_err(|err| format!("PR comment: {err}"))?;
        }
        Ok(())
    }

    fn cluster(&self, slot: ClusterSlot) -> Result<&ClusterTarget, String> {
        self.clusters.iter().find(|(s, _)| *s == slot).map(|(_, t)| t).ok_or_else(|| {
            format!(
                "input `kubeconfig-{}` is empty, so the {} cluster cannot be reached",
                slot.as_str(),
                slot.as_str()
            )
        })
    }

    fn repo_path(&self) -> &Path {
        &self.repo_path
    }
}

/// Writes what happened into the report's entries (same order as the plan's steps).
fn apply_outcomes(report: &mut Report, outcomes: &[StepOutcome]) {
    for (unit, outcome) in report.units.iter_mut().zip(outcomes) {
        if let Some(status) = outcome.status {
            unit.status = status;
        }
        if let Some(error) = &outcome.error {
            unit.status = UnitStatus::Failed;
            unit.error = Some(assemble::error_location(error));
        }
        if !outcome.urls.is_empty() {
            unit.preview_urls = outcome.urls.clone();
        }
        if let Some(diff) = &outcome.live_diff {
            unit.diff = Some(diff.clone());
        }
    }
}

fn fail(stdout: &mut dyn Write, stderr: &mut dyn Write, message: &str) -> ExitCode {
    let location = Location { title: Some("gitops-env failed".into()), ..Location::default() };
    let _ = writeln!(stdout, "{}", commands::annotation(Severity::Error, &location, message));
    let _ = writeln!(stderr, "error: {message}");
    ExitCode::FAILURE
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
