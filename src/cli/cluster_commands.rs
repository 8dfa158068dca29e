//! The `deploy`, `teardown` and `sweep` commands: argument syntax, the async runtime, and
//! printing what the cluster stage (`crate::cluster`) did. Decisions live in the stages, not here.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::cluster::{
    Cluster, ClusterError, DeployOptions, KubeconfigSource, PreviewSelector, RetryPolicy, Scope,
    Target, TeardownOutcome,
};
use crate::timestamp::Timestamp;

/// Where the cluster is (shared by the cluster commands).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// How long to wait for deleted namespaces to be gone.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl ClusterArgs {
    fn target(&self) -> Target {
        Target {
            kubeconfig: match &self.kubeconfig {
                Some(path) => KubeconfigSource::File(path.clone()),
                None => KubeconfigSource::Default,
            },
            context: self.context.clone(),
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::parse_duration(text)
}

/// `gitops-env teardown`: removes a preview environment.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["preview", "pr"]))]
pub struct TeardownArgs {
    /// The preview's slug (e.g. `pr-42`, `feat-login`).
    #[arg(long, value_name = "SLUG")]
    pub preview: Option<String>,
    /// The pull request whose preview to remove.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Only previews recorded for this repository (`owner/name`), since PR numbers repeat across
    /// repositories sharing a cluster.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `gitops-env sweep`: removes previews whose time to live ran out.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Expire previews this long after creation, whatever their own TTL annotation says.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn runtime(stderr: &mut dyn Write) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot start the async runtime: {error}");
            None
        }
    }
}

fn exit_for(error: &ClusterError) -> ExitCode {
    match error {
        ClusterError::Kubeconfig { .. } => ExitCode::from(super::EXIT_BAD_INPUT),
        _ => ExitCode::FAILURE,
    }
}

fn print_teardown(outcome: &TeardownOutcome, stdout: &mut dyn Write, stderr: &mut dyn Write) {
    for object in &outcome.deleted {
        let _ = writeln!(stdout, "deleted {object}");
    }
    for (object, reason) in &outcome.skipped {
        let _ = writeln!(stdout, "kept {object}: {reason}");
    }
    for failure in &outcome.failed {
        let _ = writeln!(stderr, "error: {}", failure.error);
    }
}

pub fn teardown(args: TeardownArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let selector = match (args.preview, args.pr) {
        (Some(slug), _) => PreviewSelector::Slug(slug),
        (None, Some(number)) => PreviewSelector::PullRequest(number),
        (None, None) => {
            let _ = writeln!(stderr, "error: teardown needs --preview SLUG or --pr N");
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    let Some(runtime) = runtime(stderr) else { return ExitCode::FAILURE };
    let result = runtime.block_on(async {
        let cluster = Cluster::connect(&args.cluster.target(), RetryPolicy::default()).await?;
        cluster.teardown(&selector, args.repository.as_deref(), args.cluster.timeout).await
    });
    match result {
        Ok(outcome) => {
            if outcome.environments.is_empty() {
                let _ = writeln!(stdout, "no preview matches; nothing to tear down");
            }
            print_teardown(&outcome, stdout, stderr);
            if outcome.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            exit_for(&error)
        }
    }
}

pub fn sweep(
    args: SweepArgs,
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let Some(runtime) = runtime(stderr) else { return ExitCode::FAILURE };
    let result = runtime.block_on(async {
        let cluster = Cluster::connect(&args.cluster.target(), RetryPolicy::default()).await?;
        cluster.sweep(now, args.ttl, args.cluster.timeout).await
    });
    match result {
        Ok(outcome) => {
            for name in &outcome.removed {
                let _ = writeln!(stdout, "removed preview {name}");
            }
            for (name, reason) in &outcome.kept {
                let _ = writeln!(stdout, "kept preview {name}: {reason}");
            }
            print_teardown(&outcome.teardown, stdout, stderr);
            if outcome.teardown.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            exit_for(&error)
        }
    }
}

/// `gitops-env deploy`: renders units and applies them to an environment.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The repository (the root kustomizations may read from).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// The environment the units are deployed as (inventory and ownership labels).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// A unit's kustomization directory for this environment, relative to the repository
    /// (repeatable). Default: the environment's units as discovery finds them
    /// (`<root>/overlays/<env>/`, `<root>/<app>/overlays/<env>/`).
    #[arg(long = "unit", value_name = "PATH")]
    pub units: Vec<String>,
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
}

pub fn deploy(args: DeployArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    // Every unit renders before anything touches the cluster: no partial deploys on bad input.
    let fs = match kustomize::DiskFs::new(&args.repo) {
        Ok(fs) => fs,
        Err(error) => {
            let _ = writeln!(stderr, "error: --repo {}: {error}", args.repo.display());
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    let units = if args.units.is_empty() {
        let selection = crate::units::UnitSelection {
            environments: Some(vec![args.env.clone()]),
            ..crate::units::UnitSelection::default()
        };
        match crate::units::discover(&fs, &selection, &crate::units::read_kustomization) {
            Ok(found) => found
                .units
                .into_iter()
                .filter(|u| u.environment.as_deref() == Some(args.env.as_str()))
                .map(|u| u.path)
                .collect(),
            Err(error) => {
                let _ = writeln!(stderr, "error: --repo {}: {error}", args.repo.display());
                return ExitCode::from(super::EXIT_BAD_INPUT);
            }
        }
    } else {
        args.units.clone()
    };
    if units.is_empty() {
        let _ = writeln!(
            stderr,
            "error: no units found for environment {:?}; name them with --unit",
            args.env
        );
        return ExitCode::from(super::EXIT_BAD_INPUT);
    }
    let options = kustomize::BuildOptions {
        load_restrictor: kustomize::LoadRestrictor::RootOnly,
        ..Default::default()
    };
    let mut rendered = Vec::new();
    for unit in &units {
        match kustomize::build(&fs, unit, &options) {
            Ok(objects) => rendered.push((unit.clone(), objects)),
            Err(error) => {
                let _ = writeln!(stderr, "error: {unit}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let deploy_options = DeployOptions {
        force_conflicts: args.force_conflicts,
        wait_timeout: (!args.wait.is_zero()).then_some(args.wait),
        ..DeployOptions::default()
    };
    let Some(runtime) = runtime(stderr) else { return ExitCode::FAILURE };
    let result = runtime.block_on(async {
        let cluster =
            Cluster::connect(&args.cluster.target(), deploy_options.retry.clone()).await?;
        let mut success = true;
        for (unit, objects) in &rendered {
            let scope = Scope { environment: args.env.clone(), unit: unit.clone() };
            if args.dry_run {
                let pairs = cluster.dry_run(objects, &scope, &deploy_options).await?;
                for pair in pairs {
                    let verdict = match (&pair.live, &pair.would_be) {
                        (None, _) => "would create",
                        (Some(_), None) => "would prune",
                        (Some(live), Some(would_be)) if live == would_be => "unchanged",
                        (Some(_), Some(_)) => "would change",
                    };
                    let _ = writeln!(stdout, "{unit}: {verdict} {}", pair.object);
                }
                continue;
            }
            let outcome = cluster.deploy(objects, &scope, &deploy_options).await?;
            let _ = writeln!(
                stdout,
                "{unit}: applied {}, pruned {}, not ready {}, failed {}",
                outcome.applied.len(),
                outcome.pruned.len(),
                outcome.not_ready.len(),
                outcome.failed.len()
            );
            for object in &outcome.pruned {
                let _ = writeln!(stdout, "  pruned {object}");
            }
            for (object, reason) in &outcome.prune_skipped {
                let _ = writeln!(stdout, "  kept {object}: {reason}");
            }
            for not_ready in &outcome.not_ready {
                let _ = writeln!(stderr, "error: {not_ready}");
            }
            for failure in &outcome.failed {
                let _ = writeln!(stderr, "error: {}", failure.error);
            }
            success &= outcome.is_success();
        }
        Ok::<bool, ClusterError>(success)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            exit_for(&error)
        }
    }
}
