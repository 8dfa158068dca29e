//! `gitops-env action`: the container's entrypoint. It reads the runner's world (`runner`:
//! the `GITHUB_*` variables, the `INPUT_*` inputs, the event payload), masks secrets before
//! anything is printed, builds the pipeline's context, runs the whole pipeline for the event,
//! and reports through the runner: the sticky comment, the job summary, annotations and step
//! outputs.
//!
//! Exit codes: 0 success or nothing to do, 1 failure, 2 bad input or configuration.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use kustomize::{DiskFs, HelmOptions, LoadRestrictor};

use crate::cluster::{KubeconfigSource, Target as ClusterTarget};
use crate::config::{Config, parse_duration};
use crate::git::remote_cache::{RemoteCacheOptions, TokenAuth};
use crate::github::{ClientConfig, GitHubClient, GitHubToken, RepoName};
use crate::pipeline::{Clusters, Context, GitHub, Progress, Revisions, Run, RunOptions, Stop};
use crate::plan::{Plan, Target, Trigger};
use crate::render::Renderer;
use crate::render::images::parse_image_overrides;
use crate::render::sources::SourceSettings;
use crate::report::{self, Report};
use crate::runner::commands::{self, Location, Severity};
use crate::runner::context::RunContext;
use crate::runner::event::Event;
use crate::runner::inputs::Inputs;
use crate::runner::outputs::write_outputs;
use crate::timestamp::Timestamp;

use super::EXIT_BAD_INPUT;

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

/// Runs the action for the workflow run described by `env`.
pub fn run(
    env: &[(String, String)],
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let inputs = Inputs::from_env(env);
    // Before anything else is printed: the runner hides these values from every later line.
    for secret in inputs.secrets() {
        let _ = commands::mask(stdout, secret);
    }
    let Some(runtime) = super::runtime(stderr) else { return ExitCode::FAILURE };
    let (runner, ctx) = match read(env, &inputs, now) {
        Ok(read) => read,
        Err(bad) => return bad_input(stdout, stderr, bad),
    };
    if let Err(err) = runtime.block_on(ctx.clusters.validate()) {
        return bad_input(stdout, stderr, BadInput::new(err.to_string()));
    }
    let mut log = Log { out: &mut *stdout, open: false };
    let result = runtime.block_on(crate::pipeline::run(&ctx, Stop::Deploy, &mut log));
    log.close();
    let run = match result {
        Ok(run) => run,
        Err(err) => return fail(stdout, stderr, &err.to_string()),
    };
    for note in &run.notes {
        let _ = writeln!(
            stdout,
            "{}",
            commands::annotation(Severity::Notice, &Location::default(), note)
        );
    }
    let report = run.report("preview", "gitops-env", ctx.run_url.clone());
    let published = runtime.block_on(publish(&ctx, &runner, &run, &report, stdout));
    if let Err(err) = &published {
        let _ = writeln!(stderr, "error: reporting: {err}");
    }
    if run.failed() || published.is_err() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The Actions log: one group per stage and target.
struct Log<'a> {
    out: &'a mut dyn Write,
    open: bool,
}

impl Log<'_> {
    fn close(&mut self) {
        if self.open {
            let _ = commands::group_end(self.out);
            self.open = false;
        }
    }
}

impl Progress for Log<'_> {
    fn section(&mut self, title: &str) {
        self.close();
        let _ = commands::group_start(self.out, title);
        self.open = true;
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }
}

/// Everything read before the run touches anything.
fn read(
    env: &[(String, String)],
    inputs: &Inputs,
    now: Timestamp,
) -> Result<(RunContext, Context), BadInput> {
    let runner = RunContext::from_env(env).map_err(|err| BadInput::new(err.to_string()))?;
    let repo = runner.workspace.join(inputs.get("working-directory"));
    let fs = DiskFs::new(&repo).map_err(|err| {
        BadInput::new(format!("input `working-directory`: {}: {err}", repo.display()))
    })?;
    let config = Config::load(&fs, inputs.get("config-file"), inputs).map_err(|err| BadInput {
        file: (!err.origin.starts_with("input")).then(|| err.origin.clone()),
        message: err.to_string(),
    })?;
    let payload = match &runner.event_path {
        Some(path) => Some(std::fs::read(path).map_err(|err| {
            BadInput::new(format!("GITHUB_EVENT_PATH {}: {err}", path.display()))
        })?),
        None => None,
    };
    let source =
        runner.event_path.as_ref().map_or("(no payload)".into(), |p| p.display().to_string());
    let event = Event::parse(&runner.event_name, payload.as_deref(), &source)
        .map_err(|err| BadInput::new(err.to_string()))?;
    let input_error = |err: crate::runner::inputs::InputError| BadInput::new(err.to_string());
    let wait = parse_duration(inputs.get("wait-timeout"))
        .map_err(|m| BadInput::new(format!("input `wait-timeout`: {m}")))?;
    let options = RunOptions {
        comment: inputs.bool("comment").map_err(input_error)?,
        deployments: inputs.bool("deployments").map_err(input_error)?,
        prune: inputs.bool("prune").map_err(input_error)?,
        dry_run: inputs.bool("dry-run").map_err(input_error)?,
        force_conflicts: inputs.bool("force-conflicts").map_err(input_error)?,
        wait_timeout: (!wait.is_zero()).then_some(wait),
        images: parse_image_overrides(inputs.get("images"))
            .map_err(|err| BadInput::new(format!("input `images`: {err}")))?,
        ..RunOptions::default()
    };
    let cluster = |kubeconfig: &str, context: &str| {
        inputs.non_empty(kubeconfig).map(|content| ClusterTarget {
            kubeconfig: KubeconfigSource::Inline(content.to_owned()),
            context: inputs.non_empty(context).map(str::to_owned),
        })
    };
    let clusters = Clusters {
        testing: cluster("kubeconfig-testing", "context-testing"),
        production: cluster("kubeconfig-production", "context-production"),
    };
    let repo_name: RepoName = runner
        .repository
        .parse()
        .map_err(|err: crate::github::GitHubError| BadInput::new(err.to_string()))?;
    let github = match inputs.non_empty("github-token") {
        Some(token) => Some(GitHub {
            client: GitHubClient::new(ClientConfig::from_env(env, GitHubToken::new(token)))
                .map_err(|err| BadInput::new(format!("input `github-token`: {err}")))?,
            repo: repo_name,
        }),
        None => None,
    };
    let build = renderer(&runner, inputs, &config).map_err(input_error)?;
    let ctx = Context {
        repo,
        repository: Some(runner.repository.clone()),
        config,
        trigger: Trigger::Event(event),
        revisions: Revisions::FromEvent,
        options,
        clusters,
        github,
        run_url: runner.run_url(),
        commit: Some(runner.sha.clone()).filter(|sha| !sha.is_empty()),
        now,
        build,
    };
    Ok((runner, ctx))
}

/// The run's renderer: helm (input `helm`, `helm-command`), the remote cache with the
/// workflow's token for its own GitHub, both keeping what they fetched under
/// `cache-directory` — inside GITHUB_WORKSPACE, the one folder the container shares with the
/// runner, so `actions/cache` can keep it.
fn renderer(
    runner: &RunContext,
    inputs: &Inputs,
    config: &Config,
) -> Result<Renderer, crate::runner::inputs::InputError> {
    let cache = runner.workspace.join(inputs.non_empty("cache-directory").unwrap_or(".gitops-env"));
    let helm = inputs.bool("helm")?.then(|| HelmOptions {
        chart_cache: Some(cache.join("charts")),
        ..HelmOptions::new(inputs.non_empty("helm-command").unwrap_or("helm"))
    });
    let server = Some(runner.server_url.as_str()).filter(|url| !url.is_empty());
    let remotes = RemoteCacheOptions {
        auth: inputs.non_empty("github-token").map(|token| TokenAuth::for_server(token, server)),
        ..RemoteCacheOptions::new(cache.join("remote-cache"))
    };
    let settings =
        SourceSettings { load_restrictor: LoadRestrictor::RootOnly, helm, remotes: Some(remotes) };
    Ok(Renderer::for_run(settings, Some(config)))
}

/// Reports the run through the runner and GitHub: annotations, the job summary, the step
/// outputs and the sticky comment.
async fn publish(
    ctx: &Context,
    runner: &RunContext,
    run: &Run,
    report: &Report,
    stdout: &mut dyn Write,
) -> Result<(), String> {
    for annotation in report::annotations(report) {
        let _ = writeln!(
            stdout,
            "{}",
            commands::annotation(Severity::Error, &annotation.location, &annotation.message)
        );
    }
    if let Some(summary_file) = &runner.summary_file {
        let used = std::fs::metadata(summary_file).map(|m| m.len() as usize).unwrap_or(0);
        let room = report::JOB_SUMMARY_LIMIT.saturating_sub(used);
        commands::append_step_summary(summary_file, &report::job_summary_within(report, room).body)
            .map_err(|err| format!("GITHUB_STEP_SUMMARY: {err}"))?;
    }
    write_run_outputs(runner, run, report).map_err(|err| format!("writing the outputs: {err}"))?;
    crate::pipeline::publish_comment(ctx, run, report).await?;
    Ok(())
}

/// The step outputs; the plan goes to a file whose path, as the runner's host sees it, is the
/// `plan` output.
fn write_run_outputs(runner: &RunContext, run: &Run, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(&runner.temp_dir)?;
    let mut plan: Plan = run.plan.clone();
    plan.notes = run.notes.clone();
    std::fs::write(runner.temp_dir.join("plan.json"), plan.to_json())?;
    let Some(output) = &runner.output_file else { return Ok(()) };
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
    let urls = serde_json::to_string(&report::preview_urls(report)).expect("strings serialise");
    let plan_path = runner.host_temp_dir.join("plan.json").display().to_string();
    write_outputs(
        output,
        &[
            ("plan", &plan_path),
            ("plan-summary", &plan.summary),
            ("affected-units", &units),
            ("environment", &environment),
            ("preview-urls", &urls),
            ("preview-namespace", run.preview_namespace.as_deref().unwrap_or_default()),
        ],
    )
}

fn bad_input(stdout: &mut dyn Write, stderr: &mut dyn Write, bad: BadInput) -> ExitCode {
    let location =
        Location { file: bad.file, line: None, title: Some("gitops-env: bad input".into()) };
    let _ = writeln!(stdout, "{}", commands::annotation(Severity::Error, &location, &bad.message));
    let _ = writeln!(stderr, "error: {}", bad.message);
    ExitCode::from(EXIT_BAD_INPUT)
}

fn fail(stdout: &mut dyn Write, stderr: &mut dyn Write, message: &str) -> ExitCode {
    let location = Location { title: Some("gitops-env failed".into()), ..Location::default() };
    let _ = writeln!(stdout, "{}", commands::annotation(Severity::Error, &location, message));
    let _ = writeln!(stderr, "error: {message}");
    ExitCode::FAILURE
}
