//! `gitops-env teardown`: the pipeline for "remove this preview" — the preview is found in the
//! cluster by its slug or pull request, planned as a teardown, and removed (objects, namespace,
//! inventories), deleting only what carries gitops-env's ownership labels.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::pipeline::{Context, Revisions, RunOptions};
use crate::plan::{PreviewMatch, Trigger};
use crate::timestamp::Timestamp;

use super::{ClusterArgs, EXIT_BAD_INPUT};

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

/// Runs the command. Exit codes: 0 removed (or nothing matched), 1 failed, 2 bad input.
pub fn run(
    args: TeardownArgs,
    now: Timestamp,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let which = match (args.preview.clone(), args.pr) {
        (Some(slug), _) => PreviewMatch::Slug(slug),
        (None, Some(number)) => PreviewMatch::PullRequest(number),
        (None, None) => {
            let _ = writeln!(stderr, "error: teardown needs --preview SLUG or --pr N");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let ctx = Context {
        repo: ".".into(),
        repository: args.repository.clone(),
        config: crate::config::Config::default(),
        trigger: Trigger::Teardown(which),
        revisions: Revisions::WorkTree,
        options: RunOptions { wait_timeout: Some(args.cluster.timeout), ..RunOptions::default() },
        clusters: args.cluster.clusters(),
        github: None,
        run_url: None,
        commit: None,
        now,
        build: crate::render::Renderer::default(),
    };
    super::run_cluster_command(&ctx, stdout, stderr)
}
