//! The command line: one file per subcommand, each a prefix of the one pipeline
//! (`crate::pipeline`). Commands own argument syntax, what they print and their exit codes;
//! they build the pipeline's `Context` at the edge (reading the clock once, here) and never hold
//! a decision of their own. No stage module imports this one.
//!
//! Exit codes: 0 success or nothing to do, 1 failure, 2 bad input or configuration.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::pipeline::PipelineError;
use crate::runner::inputs::Inputs;
use crate::timestamp::Timestamp;

mod action;
mod deploy;
mod detect;
mod diff;
mod plan;
pub mod render;
mod sweep;
mod teardown;

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
    Plan(plan::PlanArgs),
    /// The manifest diff of a change between two revisions, as the PR comment would show it.
    Diff(diff::DiffArgs),
    /// Build kustomization directories as `kubectl kustomize` would.
    Render(render::RenderArgs),
    /// Which units a change between two revisions affects (read sets, then render refinement).
    Detect(detect::DetectArgs),
    /// Render an environment's units and apply them (server-side apply, prune, wait).
    Deploy(deploy::DeployArgs),
    /// Tear down a preview environment: its objects, its namespace, its inventory.
    Teardown(teardown::TeardownArgs),
    /// Tear down the previews whose time to live ran out.
    Sweep(sweep::SweepArgs),
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
    // The clock is read here, once, at the edge; the stages take the instant as data.
    let now = Timestamp::now();
    match cli.command {
        Command::Action => action::run(env, now, stdout, stderr),
        Command::Plan(args) => plan::run(args, env, now, stdout, stderr),
        Command::Diff(args) => diff::run(args, env, now, stdout, stderr),
        Command::Render(args) => render::run(&args, env, stdout, stderr),
        Command::Detect(args) => detect::run(args, env, stdout, stderr),
        Command::Deploy(args) => deploy::run(args, env, now, stdout, stderr),
        Command::Teardown(args) => teardown::run(args, now, stdout, stderr),
        Command::Sweep(args) => sweep::run(args, now, stdout, stderr),
    }
}

/// A single-threaded async runtime for the commands that reach clusters or GitHub.
fn runtime(stderr: &mut dyn Write) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
            None
        }
    }
}

/// The settings of a repository for a local command: defaults, then its config file — read from
/// the work tree, or from commit `at` when the command compares revisions (the settings of the
/// change itself).
fn local_config(repo: &Path, config_file: &str, at: Option<&str>) -> Result<Config, String> {
    match at {
        None => {
            let fs = kustomize::DiskFs::new(repo)
                .map_err(|err| format!("repository {}: {err}", repo.display()))?;
            Config::load(&fs, config_file, &Inputs::default()).map_err(|err| err.to_string())
        }
        Some(rev) => {
            let git = crate::git::GitRepo::open(repo).map_err(|err| err.to_string())?;
            let commit = git.resolve(rev).map_err(|err| err.to_string())?;
            let fs = git.tree_fs(&commit).map_err(|err| err.to_string())?;
            Config::load(&fs, config_file, &Inputs::default()).map_err(|err| err.to_string())
        }
    }
}

/// The exit code of a run that stopped before its plan.
fn exit_for(error: &PipelineError) -> ExitCode {
    match error {
        PipelineError::BadInput(_) => ExitCode::from(EXIT_BAD_INPUT),
        PipelineError::Failed(_) => ExitCode::FAILURE,
    }
}

/// Progress for a terminal: one line per step, on standard error (results go to standard output).
struct Printer<'a>(&'a mut dyn Write);

impl crate::pipeline::Progress for Printer<'_> {
    fn section(&mut self, title: &str) {
        let _ = writeln!(self.0, "{title}");
    }
    fn line(&mut self, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.0, "  {line}");
        }
    }
}

/// Where the cluster is (shared by the commands that reach one).
#[derive(Debug, clap::Args)]
struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster account).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<std::path::PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// How long to wait for deleted namespaces to be gone.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    timeout: std::time::Duration,
}

impl ClusterArgs {
    fn target(&self) -> crate::cluster::Target {
        crate::cluster::Target {
            kubeconfig: match &self.kubeconfig {
                Some(path) => crate::cluster::KubeconfigSource::File(path.clone()),
                None => crate::cluster::KubeconfigSource::Default,
            },
            context: self.context.clone(),
        }
    }

    /// This cluster in every slot: a local command talks to the one cluster it was given.
    fn clusters(&self) -> crate::pipeline::Clusters {
        crate::pipeline::Clusters { testing: Some(self.target()), production: Some(self.target()) }
    }
}

/// What renders take from outside the repository, as `kubectl kustomize` spells its helm
/// flags (shared by every command that renders).
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// Inflate `helmCharts` by running helm, as `kubectl kustomize --enable-helm` does. Without
    /// it a unit with `helmCharts` fails to render, naming the kustomization and the chart.
    #[arg(long)]
    pub enable_helm: bool,
    /// The helm v3 binary: a path, or a name looked up on PATH.
    #[arg(long, value_name = "PATH", default_value = "helm")]
    pub helm_command: PathBuf,
    /// Kubernetes version used by helm for Capabilities.KubeVersion (charts that set no
    /// `kubeVersion`).
    #[arg(long, value_name = "VERSION", default_value = "")]
    pub helm_kube_version: String,
    /// Kubernetes API versions used by helm for Capabilities.APIVersions (charts that set no
    /// `apiVersions`); repeatable.
    #[arg(long, value_name = "VERSION")]
    pub helm_api_versions: Vec<String>,
    /// helm's `--debug` for every chart.
    #[arg(long)]
    pub helm_debug: bool,
    /// Where pulled charts of a pinned version are kept between runs
    /// (default: $XDG_CACHE_HOME/gitops-env/charts, else ~/.cache/gitops-env/charts).
    #[arg(long, value_name = "DIR")]
    pub chart_cache: Option<PathBuf>,
    /// Where remote bases are kept between runs: commits and tags are fetched once, branches
    /// are resolved once per run (default: $XDG_CACHE_HOME/gitops-env/remotes, else
    /// ~/.cache/gitops-env/remotes).
    #[arg(long, value_name = "DIR")]
    pub remote_cache: Option<PathBuf>,
}

impl SourceArgs {
    /// The run's renderer, with the repository's settings when the command has them.
    pub fn renderer(
        &self,
        load_restrictor: kustomize::LoadRestrictor,
        env: &[(String, String)],
        config: Option<&Config>,
    ) -> crate::render::Renderer {
        let cache = user_cache_dir(env);
        let helm = self.enable_helm.then(|| kustomize::HelmOptions {
            chart_cache: Some(self.chart_cache.clone().unwrap_or_else(|| cache.join("charts"))),
            api_versions: self.helm_api_versions.clone(),
            kube_version: self.helm_kube_version.clone(),
            debug: self.helm_debug,
            ..kustomize::HelmOptions::new(&self.helm_command)
        });
        let remotes = crate::git::remote_cache::RemoteCacheOptions::new(
            self.remote_cache.clone().unwrap_or_else(|| cache.join("remotes")),
        );
        let settings = crate::render::sources::SourceSettings {
            load_restrictor,
            helm,
            remotes: Some(remotes),
        };
        crate::render::Renderer::for_run(settings, config)
    }
}

/// The user's cache folder for gitops-env, as the XDG base directory rules place it.
fn user_cache_dir(env: &[(String, String)]) -> PathBuf {
    let var = |name: &str| {
        env.iter().find(|(key, _)| key == name).map(|(_, value)| value).filter(|v| !v.is_empty())
    };
    if let Some(dir) = var("XDG_CACHE_HOME").map(PathBuf::from).filter(|dir| dir.is_absolute()) {
        return dir.join("gitops-env");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("gitops-env"),
        None => std::env::temp_dir().join("gitops-env-cache"),
    }
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(text)
}

/// Prints what a run did, unit by unit, for a terminal.
fn print_units(run: &crate::pipeline::Run, stdout: &mut dyn Write, stderr: &mut dyn Write) {
    for unit in &run.units {
        let counts = match unit.counts() {
            Some(c) if !c.is_empty() => {
                format!(" ({} added, {} changed, {} removed)", c.added, c.changed, c.removed)
            }
            Some(_) => " (no changes)".to_owned(),
            None => String::new(),
        };
        let _ =
            writeln!(stdout, "{} {}: {}{counts}", unit.environment, unit.unit, unit.status.word());
        for url in &unit.preview_urls {
            let _ = writeln!(stdout, "  {url}");
        }
        if let Some(error) = &unit.error {
            let _ =
                writeln!(stderr, "error: {} {}: {}", unit.environment, unit.unit, error.message);
        }
    }
    for note in &run.notes {
        let _ = writeln!(stdout, "note: {note}");
    }
    for line in crate::report::resolved::lines(&run.resolved) {
        let _ = writeln!(stdout, "note: {line}");
    }
}

/// Runs a command that only acts on a cluster (teardown, sweep): kubeconfig first, then the
/// pipeline, then what happened.
fn run_cluster_command(
    ctx: &crate::pipeline::Context,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let Some(runtime) = runtime(stderr) else { return ExitCode::FAILURE };
    if let Err(err) = runtime.block_on(ctx.clusters.validate()) {
        let _ = writeln!(stderr, "error: {err}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let run = runtime.block_on(crate::pipeline::run(
        ctx,
        crate::pipeline::Stop::Deploy,
        &mut Printer(stderr),
    ));
    let run = match run {
        Ok(run) => run,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return exit_for(&err);
        }
    };
    let _ = writeln!(stdout, "{}", run.plan.summary);
    print_units(&run, stdout, stderr);
    if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
