//! `gitops-env sweep`: the pipeline for "remove what has outlived its time" — the previews in
//! the cluster are listed, the sweep rule decides (PRODUCT §1), and the expired ones go.
//! Without GitHub it cannot tell whether a pull request closed: the scheduled action can.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::pipeline::{Context, Revisions, RunOptions};
use crate::plan::Trigger;
use crate::timestamp::Timestamp;

use super::{ClusterArgs, parse_duration};

/// `gitops-env sweep`: removes previews whose time to live ran out.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Expire previews this long after creation, whatever their own TTL annotation says.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Only previews recorded for this repository (`owner/name`).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Runs the command. Exit codes: 0 swept, 1 a teardown failed, 2 bad input.
pub fn run(
    args: SweepArgs,
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let ctx = Context {
        repo: ".".into(),
        repository: args.repository.clone(),
        config: crate::config::Config::default(),
        trigger: Trigger::Sweep,
        revisions: Revisions::WorkTree,
        options: RunOptions {
            wait_timeout: Some(args.cluster.timeout),
            sweep_ttl: args.ttl,
            ..RunOptions::default()
        },
        clusters: args.cluster.clusters(),
        github: None,
        run_url: None,
        commit: None,
        now,
        build: crate::render::Renderer::default(),
    };
    super::run_cluster_command(&ctx, stdout, stderr)
}
