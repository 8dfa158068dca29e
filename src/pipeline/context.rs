//! Stage 1's output: everything a run knows before it looks at anything — the repository, the
//! settings, what triggered it, how to behave, where the clusters and GitHub are, and the time.
//!
//! Commands build a `Context` at the edge (the action from the runner's environment and inputs,
//! the CLI from its arguments); the conductor only reads it. It holds no open connection: the
//! clusters are reached when a stage needs them.

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::{Cluster, RetryPolicy, Target as ClusterTarget};
use crate::config::{ClusterSlot, Config};
use crate::github::{GitHubClient, RepoName};
use crate::plan::Trigger;
use crate::render::Renderer;
use crate::render::images::ImageOverride;
use crate::timestamp::Timestamp;

/// One run of the pipeline.
#[derive(Debug)]
pub struct Context {
    /// The repository's work tree (a git checkout, unless `revisions` is `WorkTree`).
    pub repo: PathBuf,
    /// `owner/name`, recorded on previews and used to find them again.
    pub repository: Option<String>,
    pub config: Config,
    pub trigger: Trigger,
    pub revisions: Revisions,
    pub options: RunOptions,
    pub clusters: Clusters,
    /// GitHub, when a token is given: the PR's state now, comments, deployments.
    pub github: Option<GitHub>,
    /// The workflow run's page, for deployment statuses and the comment's link.
    pub run_url: Option<String>,
    /// The commit the run was started for (`GITHUB_SHA`), when the change does not say (a
    /// deploy on demand renders the checkout).
    pub commit: Option<String>,
    /// The one reading of the clock, made by the command.
    pub now: Timestamp,
    /// How units render: the run's one helm and remote cache, shared by every render.
    pub build: Renderer,
}

/// Which commits the change is between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revisions {
    /// As the event says (PRODUCT §3: a PR's merge-base, a push's `before`, …).
    FromEvent,
    /// Two revisions named by hand (`--base`, `--head`).
    Between { base: String, head: String },
    /// No diff base: every unit of the work tree is new (rendered from disk, no git needed).
    WorkTree,
}

/// How the run behaves (the action's inputs, the CLI's flags).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Post or update the sticky PR comment.
    pub comment: bool,
    /// Mirror applies and teardowns as GitHub Deployments.
    pub deployments: bool,
    /// Delete owned objects that left the render.
    pub prune: bool,
    /// Server-side dry run: nothing is persisted; the diff is the result.
    pub dry_run: bool,
    pub force_conflicts: bool,
    /// How long to wait for workloads; `None`: do not wait.
    pub wait_timeout: Option<Duration>,
    pub images: Vec<ImageOverride>,
    /// The remote to fetch missing history from when the clone is shallow.
    pub remote: String,
    /// A sweep expires previews this long after creation, whatever their own TTL says.
    pub sweep_ttl: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            comment: true,
            deployments: true,
            prune: true,
            dry_run: false,
            force_conflicts: false,
            wait_timeout: Some(Duration::from_secs(300)),
            images: Vec::new(),
            remote: "origin".to_owned(),
            sweep_ttl: None,
        }
    }
}

/// The clusters the run may use, by the slot an environment names.
#[derive(Clone, Debug, Default)]
pub struct Clusters {
    pub testing: Option<ClusterTarget>,
    pub production: Option<ClusterTarget>,
}

impl Clusters {
    /// The credentials of `slot`, if given.
    pub fn target(&self, slot: ClusterSlot) -> Option<&ClusterTarget> {
        match slot {
            ClusterSlot::Testing => self.testing.as_ref(),
            ClusterSlot::Production => self.production.as_ref(),
        }
    }

    /// Reads every kubeconfig given (no request is made), so that a broken one stops the run
    /// before anything else happens.
    pub async fn validate(&self) -> Result<(), ClusterUnavailable> {
        for slot in [ClusterSlot::Testing, ClusterSlot::Production] {
            if self.target(slot).is_some() {
                self.connect(slot).await?;
            }
        }
        Ok(())
    }

    /// Connects to `slot`'s cluster.
    pub async fn connect(&self, slot: ClusterSlot) -> Result<Cluster, ClusterUnavailable> {
        let target = self.target(slot).ok_or(ClusterUnavailable::NoCredentials(slot))?;
        Cluster::connect(target, RetryPolicy::default())
            .await
            .map_err(|error| ClusterUnavailable::Connect(slot, Box::new(error)))
    }
}

/// Why a cluster cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterUnavailable {
    #[error("no credentials were given for the {} cluster", .0.as_str())]
    NoCredentials(ClusterSlot),
    #[error("the {slot} cluster: {error}", slot = .0.as_str(), error = .1)]
    Connect(ClusterSlot, Box<crate::cluster::ClusterError>),
}

/// GitHub, for one repository.
#[derive(Debug)]
pub struct GitHub {
    pub client: GitHubClient,
    pub repo: RepoName,
}
