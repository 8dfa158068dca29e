//! `gitops-env deploy`: the whole pipeline for "deploy this environment" — every unit of the
//! environment (or those named) rendered from the work tree with the repository's settings,
//! image overrides applied, infrastructure before apps, server-side apply, prune and wait.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kustomize::LoadRestrictor;

use crate::pipeline::{Clusters, Context, Revisions, RunOptions, Stop};
use crate::plan::Trigger;
use crate::render::images::parse_image_overrides;
use crate::timestamp::Timestamp;

use super::{ClusterArgs, EXIT_BAD_INPUT, Printer, SourceArgs, parse_duration};

/// `gitops-env deploy`: renders units and applies them to an environment.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The repository (the root kustomizations may read from).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// The environment to deploy, as the settings name it (default settings: testing,
    /// production).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// A unit's kustomization directory, relative to the repository (repeatable). Default: the
    /// environment's units as discovery finds them (`<root>/overlays/<env>/`,
    /// `<root>/<app>/overlays/<env>/`).
    #[arg(long = "unit", value_name = "PATH")]
    pub units: Vec<String>,
    /// The configuration file, relative to the repository.
    #[arg(long, value_name = "FILE", default_value = ".github/gitops-env.yaml")]
    pub config: String,
    /// An image override in kustomize's form (`name=newName:newTag`, …); repeatable.
    #[arg(long = "image", value_name = "OVERRIDE")]
    pub images: Vec<String>,
    /// Server-side dry run: report what would change; nothing is persisted.
    #[arg(long)]
    pub dry_run: bool,
    /// Take over fields that other field managers own.
    #[arg(long)]
    pub force_conflicts: bool,
    /// How long to wait for workloads to become ready (`0s`: do not wait).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub wait: Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// Runs the command. Exit codes: 0 deployed, 1 a unit failed (to render, apply or become
/// ready), 2 bad input (repository, settings, units, kubeconfig).
pub fn run(
    args: DeployArgs,
    env: &[(String, String)],
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let bad = |stderr: &mut dyn Write, message: String| {
        let _ = writeln!(stderr, "error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let mut config = match super::local_config(&args.repo, &args.config, None) {
        Ok(config) => config,
        Err(err) => return bad(stderr, err),
    };
    let Some(environment) = config.environment(&args.env).cloned() else {
        let names: Vec<&str> = config.environments.iter().map(|e| e.name.as_str()).collect();
        return bad(
            stderr,
            format!(
                "--env {}: not an environment of the settings ({})",
                args.env,
                names.join(", ")
            ),
        );
    };
    if !args.units.is_empty() {
        for unit in &args.units {
            let folder = args.repo.join(unit);
            if !crate::detect::units::KUSTOMIZATION_FILE_NAMES
                .iter()
                .any(|name| folder.join(name).is_file())
            {
                return bad(stderr, format!("--unit {unit}: no kustomization in that folder"));
            }
            if config.root_kind(unit).is_none() {
                let roots: Vec<&str> = config.roots.iter().map(|r| r.path.as_str()).collect();
                return bad(
                    stderr,
                    format!(
                        "--unit {unit}: not inside a root of the settings ({})",
                        roots.join(", ")
                    ),
                );
            }
        }
        config.units = args.units.iter().map(|u| u.trim_end_matches('/').to_owned()).collect();
    }
    let images = match parse_image_overrides(&args.images.join("\n")) {
        Ok(images) => images,
        Err(err) => return bad(stderr, format!("--image: {err}")),
    };
    let mut clusters = Clusters::default();
    match environment.cluster {
        crate::config::ClusterSlot::Testing => clusters.testing = Some(args.cluster.target()),
        crate::config::ClusterSlot::Production => clusters.production = Some(args.cluster.target()),
    }
    let build = args.sources.renderer(LoadRestrictor::RootOnly, env, Some(&config));
    let ctx = Context {
        repo: args.repo.clone(),
        repository: None,
        config,
        trigger: Trigger::Deploy { environment: environment.name.clone() },
        revisions: Revisions::WorkTree,
        options: RunOptions {
            dry_run: args.dry_run,
            force_conflicts: args.force_conflicts,
            wait_timeout: (!args.wait.is_zero()).then_some(args.wait),
            images,
            ..RunOptions::default()
        },
        clusters,
        github: None,
        run_url: None,
        commit: None,
        now,
        build,
    };
    let Some(runtime) = super::runtime(stderr) else { return ExitCode::FAILURE };
    if let Err(err) = runtime.block_on(ctx.clusters.validate()) {
        return bad(stderr, format!("--kubeconfig: {err}"));
    }
    let run = runtime.block_on(crate::pipeline::run(&ctx, Stop::Deploy, &mut Printer(stderr)));
    let run = match run {
        Ok(run) => run,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return super::exit_for(&err);
        }
    };
    if run.units.is_empty() {
        return bad(
            stderr,
            format!("no units found for environment {:?}; name them with --unit", args.env),
        );
    }
    super::print_units(&run, stdout, stderr);
    if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
